"""学籍管理: the pages every staff role may open — the overview, the search, one
person, one record. Read only: changes live in views.registry (学籍管理员) and
views.management (管理员). Opening a person or a record is an audit entry.
"""
from flask import Blueprint, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404
from wtforms.fields.choices import SelectChoice

from forms import StaffSearchForm
from models import Account, CorrectionRequest, LoginEvent, Report, utcnow
from services import appeals, audit, dashboard, identity, records, reports
from services import search as search_service
from services.columns import KINDS
from views import (client_ip, form_error, label_for, record_kind, render_component,
                   send_private_file, staff)

bp = Blueprint("admin", __name__, url_prefix="/admin")
staff.restrict(bp, Account.STAFF_ROLES)

SEARCH_FIELDS = ("q", "kind", "year", "level", "major", "status", "bound")


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


# --- 查询 ---------------------------------------------------------------------------

def kind_label(key: str) -> str:
    """学籍, 学历 … or 学生账户, in the reader's language."""
    if key == search_service.ACCOUNT:
        return _("学生账户")
    return label_for(KINDS[key])


def read_search():
    """The search form filled from the query string, and the search it asks for:
    None when nothing was asked or a value is wrong (the message is then beside
    its field, and `form.failed` is set)."""
    form = StaffSearchForm(formdata=request.args)
    form.kind.choices = [SelectChoice("", _("全部"))] + [
        SelectChoice(key, kind_label(key)) for key in search_service.ORDER]
    form.failed = False
    if not any(request.args.get(name) for name in SEARCH_FIELDS):
        return form, None
    try:
        wanted = search_service.criteria(region=request.args.get("region", ""),
                                         **{name: request.args.get(name, "")
                                            for name in SEARCH_FIELDS})
    except search_service.SearchError as error:
        form_error(form, error, "q")
        form.failed = True
        return form, None
    return form, wanted


def render_search(form, results=None, status: int = 200):
    return render_component("admin/search.html", "admin/_search_results.html", form=form,
                            results=results, kind_label=kind_label,
                            export_limit=search_service.EXPORT_LIMIT, status=status)


@bp.get("/search")
def search():
    form, wanted = read_search()
    if wanted is None:
        return render_search(form, status=422 if form.failed else 200)
    page = request.args.get("page", 1, type=int) or 1
    return render_search(form, search_service.search(wanted, page))


# --- one person ---------------------------------------------------------------------

@bp.get("/people/<int:account_id>")
def person(account_id):
    account = get_object_or_404(Account, Account.id == account_id,
                                Account.role == Account.STUDENT)
    sections = [(kind, records.records_of(account.id, kind)) for kind in KINDS.values()]
    issued = [(report, _report_state(report)) for report in reports.for_account(account)]
    corrections = list(CorrectionRequest.select().where(CorrectionRequest.account == account.id)
                       .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc()))
    logins = list(LoginEvent.select().where(LoginEvent.account == account.id)
                  .order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(20))
    audit.log("person.viewed", account=account, actor=current_user.username, ip=client_ip())
    return render_component(
        "admin/person.html", "admin/_person.html", account=account,
        masked_id=identity.mask_id(account.id_number or ""),
        masked_phone=identity.mask_phone(account.phone or ""), sections=sections,
        reports=issued, corrections=corrections, appeals=appeals.for_account(account),
        logins=logins, kinds=KINDS)


def _report_state(report: Report) -> str:
    if report.withdrawn_at is not None:
        return "withdrawn"
    return reports.status_of(report)


# --- one record ---------------------------------------------------------------------

@bp.get("/records/<kind_key>/<int:record_id>")
def record(kind_key, record_id):
    kind = record_kind(kind_key)
    item = get_object_or_404(kind.model, kind.model.id == record_id)
    rows = []
    for column in kind.columns:
        value = records.display_value(item, column)
        # The full number for those who keep records (they correct it); masked for 查询员.
        if column.type == "id_number" and not current_user.keeps_records:
            value = identity.mask_id(value)
        rows.append((column, value))
    issued = [(report, _report_state(report)) for report in
              Report.select().where(Report.kind == kind.key, Report.record_id == item.id)
              .order_by(Report.issued_at.desc(), Report.id.desc())]
    owner = Account.get_or_none(Account.id == item.account_id) if item.account_id else None
    audit.log("record.viewed", account=owner, actor=current_user.username, ip=client_ip(),
              detail=f"{kind.key} #{item.id}")
    return render_component("admin/record.html", "admin/_record.html", kind=kind, record=item,
                            rows=rows, owner=owner, reports=issued,
                            others=_same_person(kind, item), kinds=KINDS)


def _same_person(kind, item) -> list:
    """(kind, record) of the other records with the same ID number (blind index) or
    bound to the same account."""
    others = []
    for other in KINDS.values():
        model = other.model
        condition = None
        if item.id_number:
            condition = model.id_number.matches(item.id_number)
        if item.account_id:
            bound = model.account == item.account_id
            condition = bound if condition is None else (condition | bound)
        if condition is None:
            continue
        query = model.select().where(condition)
        if other.key == kind.key:
            query = query.where(model.id != item.id)
        others += [(other, found) for found in query.order_by(model.id).limit(100)]
    return others


@bp.get("/records/<kind_key>/<int:record_id>/photo")
def record_photo(kind_key, record_id):
    kind = record_kind(kind_key)
    item = get_object_or_404(kind.model, kind.model.id == record_id)
    return send_private_file(getattr(item, "photo", None))
