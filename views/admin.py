"""学籍管理: the pages every staff role may open — the overview, and (as they are
built) looking up people and records. Read only: changes live in views.registry
(学籍管理员) and views.management (管理员).
"""
from flask import Blueprint
from flask_babel import ngettext

from models import Account, utcnow
from services import dashboard
from services.columns import KINDS
from views import render_component, staff

bp = Blueprint("admin", __name__, url_prefix="/admin")
staff.restrict(bp, Account.STAFF_ROLES)


def waited(since, now) -> str:
    """How long the oldest item of a queue has waited, in the reader's language."""
    age = dashboard.age(since, now)
    if age is None:
        return ""
    unit, n = age
    if unit == "days":
        return ngettext("%(num)s 天", "%(num)s 天", n)
    return ngettext("%(num)s 小时", "%(num)s 小时", n)


@bp.get("/", strict_slashes=False)
def index():
    now = utcnow()
    overview = dashboard.overview(now)
    return render_component(
        "admin/index.html", "admin/_index.html", overview=overview, kinds=KINDS,
        corrections_waited=waited(overview.corrections.oldest, now),
        appeals_waited=waited(overview.appeals.oldest, now))
