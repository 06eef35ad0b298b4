"""JSON API for HR systems: the same outcomes as /verify, with HTTP status codes.

    GET /api/v1/reports/<code>
    200 {"status": "valid", ...the report...}; each of its "fields" has
        "value" (Chinese, as recorded) and "value_en" (English)
    404 {"status": "unknown"}
    410 {"status": "expired"}, {"status": "closed"} (by its owner)
        or {"status": "withdrawn"} (by the school)
    400 {"status": "malformed"}

    POST /api/v1/reports/batch  {"codes": [...], "organisation": "…", "purpose": "…"}
    200 {"results": [{"code": <as typed>, "status": …, …}]}: each distinct code once,
        in order, shaped as the single answer above
    400 {"status": "error", "message": "<中文>", "message_en": "<English>"}

    POST /api/v1/reports/<code>/match  {"id_number": "…"}
    200 {"match": true} or {"match": false}: whether it is the report's ID number
        (normalised as people type it: full-width, lower-case x, 15 digits)
    a report that is not valid: the status and body of GET /api/v1/reports/<code>
    400 {"status": "error", "message": "…", "message_en": "…"}: no JSON object with
        "id_number", or not a valid ID number (no try)
    429 the same shape: the report's 5 tries of the last 24 hours are used up

Times (issued_at, expires_at) are ISO 8601 in the school's time zone with its
offset ("2026-07-01T07:30:00+08:00"); dates (record_updated_at) are plain
YYYY-MM-DD, the school's day.
"""
from flask import Blueprint, g, jsonify, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from extensions import csrf
from models import Verification
from services import id_match, identity, reports, values, verify_batch
from services.verify_batch import BatchError
from views import english, limit_shared, log_check, school_timezone, settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUS = {reports.VALID: 200, reports.EXPIRED: 410, reports.CLOSED: 410,
          reports.WITHDRAWN: 410,
          reports.UNKNOWN: 404, reports.MALFORMED: 400}


@bp.get("/reports/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def report(code):
    return _report(reports.lookup(code))


def _report(found):
    if found.report is not None:
        log_check(found.report, Verification.API, outcome=found.outcome)
    response = jsonify(reports.api_body(found, school_timezone(),
                                        values.School.from_config(settings())))
    response.status_code = STATUS[found.outcome]
    response.headers["Cache-Control"] = "no-store"
    return response


def api_error(message, status: int = 400):
    """An error an HR system reads: {"status": "error", "message": 中文, "message_en": English}."""
    with force_locale("zh"):
        chinese = str(message)
    response = jsonify(status="error", message=chinese, message_en=english(message))
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


NOT_AN_OBJECT = _l("请求体必须是 JSON 对象，例如 {\"codes\": [\"…\"], \"organisation\": \"…\", \"purpose\": \"…\"}。")
NOT_TEXT = _l("organisation 和 purpose 必须是字符串。")


def _batch_codes():
    """The distinct codes of this batch request (or the error to answer with), read once:
    the rate limit counts them before the view runs."""
    if "batch_codes" not in g:
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            g.batch_codes = BatchError(NOT_AN_OBJECT)
        else:
            try:
                g.batch_codes = verify_batch.codes_from_list(body.get("codes"))
            except BatchError as error:
                g.batch_codes = error
    return g.batch_codes


def _batch_cost() -> int:
    codes = _batch_codes()
    return len(codes) if isinstance(codes, list) else 1


@bp.post("/reports/batch")
@csrf.exempt  # no cookie or session is read: the JSON body is all there is
@limit_shared("RATELIMIT_VERIFY", "verify", cost=_batch_cost)
def reports_batch():
    codes = _batch_codes()
    if isinstance(codes, BatchError):
        return api_error(codes.args[0])
    body = request.get_json(force=True, silent=True)
    organisation, purpose = body.get("organisation", ""), body.get("purpose", "")
    if not isinstance(organisation, str) or not isinstance(purpose, str):
        return api_error(NOT_TEXT)
    tz, school = school_timezone(), values.School.from_config(settings())
    checked = verify_batch.check(codes, school=school, tz=tz)
    for found, _row in checked.found:
        log_check(found.report, Verification.BATCH, organisation=organisation, purpose=purpose,
                  outcome=found.outcome)
    results = []
    for found, row in checked.pairs:
        answer = reports.api_body(found, tz, school)
        answer.pop("code", None)
        results.append({"code": row.typed, **answer})
    response = jsonify(results=results)
    response.headers["Cache-Control"] = "no-store"
    return response


# An HR system's JSON POST carries no CSRF token: it sends no cookies to ride on.
@bp.post("/reports/<code>/match")
@csrf.exempt
@limit_shared("RATELIMIT_VERIFY", "verify")
def report_match(code):
    found = reports.lookup(code)
    if found.outcome != reports.VALID:
        return _report(found)
    body = request.get_json(silent=True)
    typed = body.get("id_number") if isinstance(body, dict) else None
    if not isinstance(typed, str):
        return api_error(_l("请求体应为 JSON 对象，含字符串字段 id_number。"))
    try:
        matched = id_match.attempt(
            found.report, typed, record=found.record,
            log=lambda outcome: log_check(found.report, Verification.MATCH, outcome=outcome))
    except id_match.TooManyTries as error:
        return api_error(error.args[0], 429)
    except (id_match.MatchError, identity.IdentityError) as error:
        return api_error(error.args[0])
    response = jsonify(match=matched)
    response.headers["Cache-Control"] = "no-store"
    return response
