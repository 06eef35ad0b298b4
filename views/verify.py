"""在线验证: the public page where a verifier checks a report by its code or its PDF.

A verifier sees one of six outcomes and nothing else: the report (valid),
expired, closed by its owner, withdrawn by the school, no such code, or not a
valid code format.
"""
from flask import Blueprint, Response, abort, current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from forms import DiplomaCheckForm, VerifyBatchForm, VerifyForm, VerifyMatchForm, VerifyPdfForm
from models import Verification
from services import id_match, identity
from services import pdf as pdf_service
from services import clock, public_checks, reports, verify_batch
from services import signing, values
from services.columns import KINDS
from services.verify_batch import BatchError
from views import (client_ip, form_error, is_htmx, limit_shared, log_check, render_component,
                   render_public_form, school_keys, school_timezone, send_private_file, settings,
                   trusted_certificates, upload_limit)

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
    return _render_result(found, "verify/_result.html", STATUS[found.outcome])


def _render_result(found, fragment, status, match_form=None, matched=None):
    """The result page (or `fragment` for htmx); a valid report whose ID number can be
    matched carries the 核对证件号码 form (`matched`: the answer to the last try)."""
    view = (reports.latest_view(found.report, values.School.from_config(settings()), found.record)
            if found.outcome == reports.VALID else None)
    matchable = view is not None and id_match.number_of(
        found.report, found.record, snapshot=view["snapshot"]) is not None
    return render_component("verify/result.html", fragment, status,
                            found=found, view=view, grouped=reports.grouped,
                            fingerprint=school_keys().fingerprint_sha256, matchable=matchable,
                            match_form=match_form or VerifyMatchForm(formdata=None),
                            matched=matched)


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


@bp.route("/diploma", methods=["GET", "POST"])
@limit_shared("RATELIMIT_VERIFY", "verify", methods=["POST"])
def diploma():
    """公开查询: a diploma by 证书编号 + name. Found shows five fields; every other
    outcome is one "not found" (services.public_checks)."""
    form = DiplomaCheckForm()
    if form.validate_on_submit():
        found = public_checks.find(form.number.data, form.name.data,
                                   school=values.School.from_config(settings()), ip=client_ip())
        return render_component("verify/diploma.html", "verify/_diploma.html",
                                200 if found else 404, form=form, checked=True, found=found)
    if not form.is_submitted():
        return render_public_form("verify/diploma.html", "verify/_diploma.html", form=form)
    return render_component("verify/diploma.html", "verify/_diploma.html", 422, form=form)


def _batch_codes():
    """The distinct codes this batch form sent (or the BatchError saying why there are
    none to check), read once: the rate limit counts them before the view runs."""
    if "batch_codes" not in g:
        upload = request.files.get("file")
        file = (upload.filename, upload.read()) if upload and upload.filename else None
        try:
            g.batch_codes = verify_batch.collect(
                request.form.get("codes", ""), file,
                int(current_app.config["VERIFY_BATCH_MAX_BYTES"]))
        except BatchError as error:
            g.batch_codes = error
    return g.batch_codes


def _batch_cost() -> int:
    """A batch costs one check per code (at least one: a refused batch is a request too)."""
    codes = _batch_codes()
    return max(1, len(codes)) if isinstance(codes, list) else 1


@bp.route("/batch", methods=["GET", "POST"])
@upload_limit("VERIFY_BATCH_MAX_BYTES")
@limit_shared("RATELIMIT_VERIFY", "verify", methods=["POST"], cost=_batch_cost)
def batch():
    """批量查验: up to 100 codes at once, each logged in its owner's 查验记录."""
    form = VerifyBatchForm()
    valid = form.validate_on_submit()
    if form.is_submitted():
        codes = _batch_codes()
        if isinstance(codes, BatchError):
            form_error(form, codes, "codes")
        elif valid:
            return _batch_checked(form, codes)
    return render_component("verify/batch.html", "verify/_batch.html", form=form,
                            status=422 if form.is_submitted() else 200)


def _batch_checked(form, codes):
    organisation, purpose = form.organisation.data.strip(), form.purpose.data.strip()
    checked = verify_batch.check(codes, school=values.School.from_config(settings()),
                                 tz=school_timezone())
    for found, _row in checked.found:
        log_check(found.report, Verification.BATCH, organisation=organisation, purpose=purpose,
                  outcome=found.outcome)
    token = verify_batch.keep(checked.rows, organisation=organisation, purpose=purpose)
    return render_component("verify/batch.html", "verify/_batch.html", form=form,
                            rows=checked.rows, token=token, kinds=KINDS,
                            outcome_text=verify_batch.OUTCOME_TEXT)


DOWNLOADS = {"csv": ("text/csv; charset=utf-8", verify_batch.to_csv),
             "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      verify_batch.to_xlsx)}


@bp.get("/batch/<token>.csv", defaults={"fmt": "csv"})
@bp.get("/batch/<token>.xlsx", defaults={"fmt": "xlsx"})
def batch_download(token, fmt):
    """The result of a batch as it was checked (kept an hour; nothing is checked or logged again)."""
    rows = verify_batch.kept(token)
    if rows is None:
        abort(404)
    mimetype, export = DOWNLOADS[fmt]
    filename = f"verify-batch-{clock.stamp(school_timezone())}.{fmt}"
    return Response(export(rows, english=str(get_locale()) == "en"), mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def code(code):
    """What the QR code on a report opens."""
    return _outcome(reports.lookup(code))


@bp.post("/<code>/match")
@limit_shared("RATELIMIT_VERIFY", "verify")
def code_match(code):
    """核对证件号码: 一致 or 不一致, at most id_match.TRIES_PER_DAY tries a day; a report
    that is not valid answers as its page does (the whole #verify for htmx)."""
    found = reports.lookup(code)
    if found.outcome != reports.VALID:
        response = _outcome(found)
        if is_htmx():
            response.headers["HX-Retarget"] = "#verify"
            response.headers["HX-Reswap"] = "outerHTML"
        return response
    form = VerifyMatchForm()
    matched, status = None, 422
    if form.validate_on_submit():
        try:
            matched = id_match.attempt(
                found.report, form.id_number.data, record=found.record,
                log=lambda outcome: log_check(found.report, Verification.MATCH, outcome=outcome))
        except id_match.TooManyTries as error:
            form_error(form, error)
            status = 429
        except (id_match.MatchError, identity.IdentityError) as error:
            form_error(form, error)
        else:
            status = 200
    return _render_result(found, "verify/_match.html", status, match_form=form, matched=matched)


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
