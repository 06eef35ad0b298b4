"""JSON API for HR systems: the same outcomes as /verify, with HTTP status codes.

    GET /api/v1/reports/<code>
    200 {"status": "valid", ...the report...}; each of its "fields" has
        "value" (Chinese, as recorded) and "value_en" (English)
    404 {"status": "unknown"}
    410 {"status": "expired"}, {"status": "closed"} (by its owner)
        or {"status": "withdrawn"} (by the school)
    400 {"status": "malformed"}

Times (issued_at, expires_at) are ISO 8601 in the school's time zone with its
offset ("2026-07-01T07:30:00+08:00"); dates (record_updated_at) are plain
YYYY-MM-DD, the school's day.
"""
from flask import Blueprint, jsonify

from models import Verification
from services import reports, values
from views import limit_shared, log_check, school_timezone, settings

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUS = {reports.VALID: 200, reports.EXPIRED: 410, reports.CLOSED: 410,
          reports.WITHDRAWN: 410,
          reports.UNKNOWN: 404, reports.MALFORMED: 400}


@bp.get("/reports/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def report(code):
    found = reports.lookup(code)
    if found.report is not None:
        log_check(found.report, Verification.API, outcome=found.outcome)
    response = jsonify(reports.api_body(found, school_timezone(),
                                        values.School.from_config(settings())))
    response.status_code = STATUS[found.outcome]
    response.headers["Cache-Control"] = "no-store"
    return response
