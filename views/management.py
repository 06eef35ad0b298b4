"""系统管理 for the 管理员 only: staff accounts, settings, the audit log."""
from flask import Blueprint

from models import Account, AuditEntry
from views import render_component, staff

bp = Blueprint("management", __name__, url_prefix="/admin")
staff.restrict(bp, (Account.ADMIN,))


@bp.get("/audit")
def audit_log():
    return render_component(
        "admin/audit.html", "admin/_audit.html",
        audit=list(AuditEntry.select().order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)))
