"""JSON API for HR systems: the same outcomes as /verify, with HTTP status codes.

    GET /api/v1/reports/<code>
    200 {"status": "valid", ...the report...}
    404 {"status": "unknown"}
    410 {"status": "expired"} or {"status": "closed"}
    400 {"status": "malformed"}
"""
from flask import Blueprint, jsonify

from models import Verification
from services import reports
from views import client_ip, limit_shared

bp = Blueprint("api", __name__, url_prefix="/api/v1")

STATUS = {reports.VALID: 200, reports.EXPIRED: 410, reports.CLOSED: 410,
          reports.UNKNOWN: 404, reports.MALFORMED: 400,
          reports.WITHDRAWN: 410}


@bp.get("/reports/<code>")
@limit_shared("RATELIMIT_VERIFY", "verify")
def report(code):
    found = reports.lookup(code)
    if found.report is not None:
        reports.log_verification(found.report, Verification.API, ip=client_ip())
    response = jsonify(reports.api_body(found))
    response.status_code = STATUS[found.outcome]
    response.headers["Cache-Control"] = "no-store"
    return response
