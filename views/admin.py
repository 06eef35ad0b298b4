"""学籍管理: the pages every staff role may open — the overview, and (as they are
built) looking up people and records. Read only: changes live in views.registry
(学籍管理员) and views.management (管理员).
"""
from flask import Blueprint

from models import Account, Appeal, CorrectionRequest
from views import render_component, staff

bp = Blueprint("admin", __name__, url_prefix="/admin")
staff.restrict(bp, Account.STAFF_ROLES)


@bp.get("/", strict_slashes=False)
def index():
    return render_component(
        "admin/index.html", "admin/_index.html",
        pending_corrections=CorrectionRequest.select().where(
            CorrectionRequest.status == CorrectionRequest.PENDING).count(),
        pending_appeals=Appeal.select().where(Appeal.status == Appeal.PENDING).count())
