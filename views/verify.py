"""在线验证: the public page where a verifier checks a report by its code or its PDF.

A verifier sees one of six outcomes and nothing else: the report (valid),
expired, closed by its owner, withdrawn by the school, no such code, or not a
valid code format.
"""
from flask import Blueprint, Response, abort
from flask_babel import lazy_gettext as _l

from forms import VerifyForm, VerifyPdfForm
from models import Verification
from services import pdf as pdf_service
from services import reports
from services import signing, values
from views import (limit_shared, log_check, render_component, render_public_form, school_keys,
                   send_private_file, settings, trusted_certificates, upload_limit)

bp = Blueprint("verify", __name__, url_prefix="/verify")

# services.pdf speaks Chinese only; the verifier reads these in their language.
PDF_PROBLEMS = {
    pdf_service.NOT_PDF: _l("不是 PDF 文件。"),
    pdf_service.UNSIGNED: _l("这份 PDF 没有数字签名。"),
    pdf_service.TAMPERED: _l("签名无效，或者文件在签名后被修改过。"),
    pdf_service.NOT_OURS: _l("这份 PDF 不是本校签发的。"),
    pdf_service.NO_DATA: _l("这份 PDF 没有附带报告数据。"),
}

STATUS = {reports.VALID: 200, reports.EXPIRED: 410, reports.CLOSED: 410,
          reports.WITHDRAWN: 410,
          reports.UNKNOWN: 404, reports.MALFORMED: 422}


def _outcome(found, form=None, channel=Verification.WEB):
    if found.report is not None:
        log_check(found.report, channel, organisation=form.organisation.data if form else "",
                  purpose=form.purpose.data if form else "", outcome=found.outcome)
    view = (reports.latest_view(found.report, values.School.from_config(settings()), found.record)
            if found.outcome == reports.VALID else None)
    return render_component("verify/result.html", "verify/_result.html", STATUS[found.outcome],
                            found=found, view=view, grouped=reports.grouped,
                            fingerprint=school_keys().fingerprint_sha256)


# Loading the forms is free; only checks count against the per-IP limit (the
# form's POST, the code's page and PDF, the PDF check and the API).
@bp.route("/", methods=["GET", "POST"], strict_slashes=False)
@limit_shared("RATELIMIT_VERIFY", "verify", methods=["POST"])
def index():
    form = VerifyForm()
    if form.validate_on_submit():
        return _outcome(reports.lookup(form.code.data), form)
    if not form.is_submitted():
        return render_public_form("verify/index.html", "verify/_form.html", form=form)
    return render_component("verify/index.html", "verify/_form.html", form=form, status=422)


@bp.get("/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def code(code):
    """What the QR code on a report opens."""
    return _outcome(reports.lookup(code))


@bp.get("/<code>/pdf")
@limit_shared("RATELIMIT_VERIFY", "verify")
def code_pdf(code):
    found = reports.lookup(code)
    if found.outcome != reports.VALID:
        abort(404)
    return send_private_file(found.report.pdf_path,
                             mimetype="application/pdf", as_attachment=True,
                             download_name=f"report-{found.report.code}.pdf")


@bp.get("/certificate")
def certificate():
    """The school's signing certificate, to check report PDFs offline."""
    return _pem(school_keys().cert_pem, "school-signing.crt")


@bp.get("/certificates")
def certificates():
    """Every certificate the school has signed reports with: the current one and the
    retired ones (PDFs signed before a rotation are checked against those)."""
    current = school_keys()
    history = signing.history() or []
    if not history:
        history = [dict(signing.describe(current), retired_at=None)]
    return render_component("verify/certificates.html", "verify/_certificates.html",
                            current=current, history=history)


@bp.get("/certificate/<fingerprint>")
def certificate_by_fingerprint(fingerprint):
    """One current or retired certificate, by its SHA-256 fingerprint."""
    fingerprint = fingerprint.lower()
    if fingerprint == school_keys().fingerprint_sha256:
        return certificate()
    pem = signing.certificate_pem(fingerprint) if len(fingerprint) == 64 else None
    if pem is None:
        abort(404)
    return _pem(pem, f"school-signing-{fingerprint[:16]}.crt")


def _pem(pem: bytes, filename: str):
    return Response(pem, mimetype="application/x-pem-file",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/pdf", methods=["GET", "POST"])
@upload_limit("VERIFY_PDF_MAX_BYTES")
@limit_shared("RATELIMIT_VERIFY", "verify", methods=["POST"])
def pdf():
    form = VerifyPdfForm()
    if form.validate_on_submit():
        return _checked(form, pdf_service.check_pdf(form.pdf.data.read(), school_keys(),
                                                    trusted_certificates()))
    return render_component("verify/pdf.html", "verify/_pdf.html", form=form,
                            status=422 if form.is_submitted() else 200)


def _checked(form, check):
    """A valid signature is not enough: the signed data must be a report we issued, as issued."""
    found = matched = None
    if check.ok:
        found = reports.lookup(check.snapshot.get("code", ""))
        if found.report is not None:
            matched = reports.issued_as(found.report, check.snapshot)
            if matched:
                log_check(found.report, Verification.PDF, outcome=found.outcome)
    status = 200 if matched and found.outcome == reports.VALID else 422
    problem = PDF_PROBLEMS.get(check.problem, check.problem)
    return render_component("verify/pdf.html", "verify/_pdf.html", status, form=form,
                            check=check, problem=problem, found=found, matched=matched)
