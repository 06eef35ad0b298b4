"""在线验证: the public page where a verifier checks a report by its code or its PDF.

A verifier sees one of five outcomes and nothing else: the report (valid),
expired, closed by its owner, no such code, or not a valid code format.
"""
from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms import VerifyForm, VerifyPdfForm
from models import Verification
from services import pdf, reports
from views import client_ip, limit_shared, render_component, school_keys, send_report_pdf

bp = Blueprint("verify", __name__, url_prefix="/verify")

# services.pdf speaks Chinese only; the verifier reads these in their language.
PDF_PROBLEMS = {
    pdf.NOT_PDF: _l("不是 PDF 文件。"),
    pdf.UNSIGNED: _l("这份 PDF 没有数字签名。"),
    pdf.TAMPERED: _l("签名无效，或者文件在签名后被修改过。"),
    pdf.NOT_OURS: _l("这份 PDF 不是本校签发的。"),
    pdf.NO_DATA: _l("这份 PDF 没有附带报告数据。"),
}

STATUS = {reports.VALID: 200, reports.EXPIRED: 410, reports.CLOSED: 410,
          reports.UNKNOWN: 404, reports.MALFORMED: 422}


def _outcome(found, form=None, channel=Verification.WEB):
    if found.report is not None:
        reports.log_verification(found.report, channel, ip=client_ip(),
                                 organisation=form.organisation.data if form else "",
                                 purpose=form.purpose.data if form else "")
    view = reports.latest_view(found.report) if found.outcome == reports.VALID else None
    return render_component("verify/result.html", "verify/_result.html", STATUS[found.outcome],
                            found=found, view=view, grouped=reports.grouped,
                            fingerprint=school_keys().fingerprint_sha256)


@bp.route("/", methods=["GET", "POST"], strict_slashes=False)
@limit_shared("RATELIMIT_VERIFY", "verify")
def verify_index():
    form = VerifyForm() if request.method == "POST" else VerifyForm(formdata=None)
    if request.method == "POST":
        if not form.validate():
            return render_component("verify/index.html", "verify/_form.html", 422, form=form)
        found = reports.lookup(form.code.data)
        if found.outcome == reports.MALFORMED:
            form.code.errors = [_("这不是有效的在线验证码格式：验证码由 16 位字母和数字组成。")]
            return render_component("verify/index.html", "verify/_form.html", 422, form=form)
        return _outcome(found, form)
    return render_component("verify/index.html", "verify/_form.html", form=form)


@bp.get("/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def verify_code(code):
    """What the QR code on a report opens."""
    return _outcome(reports.lookup(code))


@bp.get("/<code>/pdf")
@limit_shared("RATELIMIT_VERIFY", "verify")
def verify_code_pdf(code):
    found = reports.lookup(code)
    if found.outcome != reports.VALID:
        abort(404)
    return send_report_pdf(found.report)


@bp.get("/certificate")
def verify_certificate():
    """The school's signing certificate, to check report PDFs offline."""
    return Response(school_keys().cert_pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "attachment; filename=school-signing.crt"})


@bp.route("/pdf", methods=["GET", "POST"])
@limit_shared("RATELIMIT_VERIFY", "verify")
def verify_pdf():
    form = VerifyPdfForm() if request.method == "POST" else VerifyPdfForm(formdata=None)
    if request.method == "GET":
        return render_component("verify/pdf.html", "verify/_pdf.html", form=form)
    upload = request.files.get(form.pdf.name)
    data = upload.read() if upload else b""
    if not form.validate() or not data:
        form.pdf.errors = [_("请选择要查验的 PDF 文件。")]
        return render_component("verify/pdf.html", "verify/_pdf.html", 422, form=form)
    check = pdf.check_pdf(data, school_keys())
    found = matched = None
    if check.ok:
        found = reports.lookup(check.snapshot.get("code", ""))
        if found.report is not None:
            matched = reports.snapshot_of(found.report) == check.snapshot
            if matched:
                reports.log_verification(found.report, Verification.PDF, ip=client_ip())
    status = 200 if matched and found.outcome == reports.VALID else 422
    problem = PDF_PROBLEMS.get(check.problem, check.problem)
    return render_component("verify/pdf.html", "verify/_pdf.html", status, form=form,
                            check=check, problem=problem, found=found, matched=matched)
