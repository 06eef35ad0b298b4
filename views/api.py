"""JSON API for HR systems: the same outcomes as /verify, with HTTP status codes.

    GET /api/v1/reports/<code>
    200 {"status": "valid", ...the report...}; each of its "fields" has
        "value" (Chinese, as recorded) and "value_en" (English)
    404 {"status": "unknown"}
    410 {"status": "expired"}, {"status": "closed"} (by its owner)
        or {"status": "withdrawn"} (by the school)
    400 {"status": "malformed"}

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
from flask import Blueprint, jsonify, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from extensions import csrf
from models import Verification
from services import id_match, identity, reports, values
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


def _error(status: int, message):
    """{"status": "error", "message": Chinese, "message_en": English}, whatever the
    caller's language."""
    with force_locale("zh"):
        chinese = str(message)
    response = jsonify(status="error", message=chinese, message_en=english(message))
    response.status_code = status
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
        return _error(400, _l("请求体应为 JSON 对象，含字符串字段 id_number。"))
    try:
        matched = id_match.attempt(
            found.report, typed, record=found.record,
            log=lambda outcome: log_check(found.report, Verification.MATCH, outcome=outcome))
    except id_match.TooManyTries as error:
        return _error(429, error.args[0])
    except (id_match.MatchError, identity.IdentityError) as error:
        return _error(400, error.args[0])
    response = jsonify(match=matched)
    response.headers["Cache-Control"] = "no-store"
    return response
