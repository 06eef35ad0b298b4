"""系统管理 for the 管理员 only: staff accounts, settings, the audit log.

The audit log is read only here: it is filtered, paged and exported, never
edited or deleted (there is no such route; tests/views/test_audit_log.py checks).
"""
from flask import Blueprint, Response, abort, request
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user

from forms import AuditFilterForm
from models import Account, utcnow
from services import audit, auditlog, exports
from views import client_ip, is_htmx, render_component, staff

bp = Blueprint("management", __name__, url_prefix="/admin")
staff.restrict(bp, (Account.ADMIN,))

FILTER_KEYS = ("actor", "action", "person", "date_from", "date_to")
EXPORT_LIMIT = 100_000


def _english() -> bool:
    return str(get_locale()) == "en"


def _filters():
    """The filter form read from the query string, and the filters it means (None
    when a value is wrong: the form then carries the message beside the field)."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return form, None
    since, until = auditlog.day_bounds(form.first_day, form.last_day, str(get_timezone()))
    return form, auditlog.Filters(actor=form.actor.data or "", action=form.action.data or "",
                                  person=form.person.data or "", since=since, until=until)


def _query_args(**extra) -> dict:
    """The filters as typed (so links keep them), plus `extra`."""
    args = {key: request.args[key] for key in FILTER_KEYS if request.args.get(key)}
    args.update(extra)
    return args


@bp.get("/audit")
def audit_log():
    form, filters = _filters()
    try:
        number = int(request.args.get("page", 1))
    except ValueError:
        number = 1
    result = auditlog.page(filters, number) if filters is not None else None
    english = _english()
    rows = [(entry, auditlog.readable_changes(entry.changes, english))
            for entry in (result.entries if result else [])]
    return _render(form, result, rows, status=200 if filters is not None else 422)


def _render(form, result, rows, status):
    """The page, or for htmx the results only; when the filter form asked, its
    fields come along out of band, so their messages show or clear."""
    return render_component(
        "admin/audit.html", "admin/_audit_results.html", form=form, result=result, rows=rows,
        action_label=auditlog.action_label, query_args=_query_args,
        oob_filters=is_htmx() and request.headers.get("HX-Trigger") == "audit-filters",
        status=status)


@bp.get("/audit/export.<fmt>")
def audit_export(fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    form, filters = _filters()
    if filters is None:
        return _render(form, None, [], status=422)
    english = _english()
    headers = [_("时间"), _("操作人"), _("IP 地址"), _("当事人"), _("操作"), _("操作代码"), _("内容")]
    entries = list(auditlog.search(filters).limit(EXPORT_LIMIT))
    rows = [[format_datetime(entry.at, "yyyy-MM-dd HH:mm:ss"), entry.actor, entry.ip,
             entry.account.username if entry.account_id else "",
             str(auditlog.action_label(entry.action)), entry.action,
             auditlog.detail_text(entry, english)] for entry in entries]
    audit.log("audit.exported", actor=current_user.username, ip=client_ip(),
              detail=f"{fmt} rows={len(rows)} {filters.describe()}")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        body, mimetype = exports.to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(headers, rows, title="audit")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=audit-{stamp}.{fmt}"})

