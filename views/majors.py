"""专业英文名称 (/admin/majors): the table of majors' English names that the English
side of reports reads (services.names). 学籍管理员 and 管理员 add, edit and delete
names; a 查询员 is refused by the rule of the registry blueprint, to which this
module adds its routes (views.register_blueprints imports it before registering
the blueprints). Every change is an audit entry with the old and new name.
"""
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from forms import MajorDeleteForm, MajorEnglishForm, MajorNameForm
from models import MajorName
from services import names
from views import client_ip, form_error, is_htmx, limit_posts, render_component
from views.registry import bp

PAGE = "admin/majors.html"
FRAGMENT = "admin/_majors.html"


def _where() -> dict:
    """The list's search text and page number, kept in the query string of the
    forms posted from the list so that an answer shows the same rows."""
    query = " ".join(request.args.get("q", "").split())[:128]
    return {"q": query, "page": max(request.args.get("page", 1, type=int) or 1, 1)}


def list_url(q: str = "", page: int = 1, endpoint: str = ".majors", **values) -> str:
    """A URL of the list (or of a form posted from it) that keeps the search and page."""
    if q:
        values["q"] = q
    if page > 1:
        values["page"] = page
    return url_for(endpoint, **values)


def _render(status: int = 200, **context):
    where = _where()
    table = names.majors_page(where["q"], where["page"])
    missing, missing_total = names.missing_majors()
    context.setdefault("add_form", MajorNameForm(formdata=None))
    context.setdefault("quick_form", None)
    context.setdefault("edit_form", None)
    context.setdefault("editing", None)
    # The CSRF token of the forms in the rows (the same token for every form).
    return render_component(PAGE, FRAGMENT, status, table=table, q=where["q"],
                            missing=missing, missing_total=missing_total,
                            token_form=MajorDeleteForm(formdata=None), list_url=list_url,
                            **context)


def _done(message: str):
    """After a change: htmx gets the list as it is now (swapped in place, with the
    message); a plain form a 303 to the list with the same search and page."""
    flash(message, "info")
    if is_htmx():
        return _render()
    return redirect(list_url(**_where()), 303)


@bp.get("/majors")
def majors():
    return _render()


@bp.post("/majors/add")
@limit_posts("RATELIMIT_FORM")
def majors_add():
    form = MajorNameForm()
    if form.validate_on_submit():
        try:
            row = names.add_major(form.major.data, form.english.data,
                                  actor=current_user.username, ip=client_ip())
        except names.MajorNameError as error:
            form_error(form, error, "english")
        else:
            return _done(_("已添加「%(major)s」的英文名称：%(english)s。", major=row.major,
                           english=row.english))
    if form.quick.data:
        # A quick 添加 of the list of majors without an English name: the message
        # goes beside that row (or the top form's 专业 if the row is gone).
        if form.major.data in names.missing_majors()[0]:
            return _render(422, quick_form=form)
    return _render(422, add_form=form)


def _row(major_id: int) -> MajorName:
    row = MajorName.get_or_none(MajorName.id == major_id)
    if row is None:
        abort(404)
    return row


@bp.post("/majors/<int:major_id>/edit")
@limit_posts("RATELIMIT_FORM")
def majors_edit(major_id):
    row = _row(major_id)
    form = MajorEnglishForm()
    if form.validate_on_submit():
        try:
            changed = names.update_major(row.id, form.english.data,
                                         actor=current_user.username, ip=client_ip())
        except names.MajorNameError as error:
            form_error(form, error, "english")
        else:
            if changed is None:
                abort(404)
            return _done(_("已保存「%(major)s」的英文名称：%(english)s。", major=changed.major,
                           english=changed.english))
    return _render(422, edit_form=form, editing=row.id)


@bp.post("/majors/<int:major_id>/delete")
@limit_posts("RATELIMIT_FORM")
def majors_delete(major_id):
    row = _row(major_id)
    form = MajorDeleteForm()
    if not form.validate_on_submit():
        flash(" ".join(str(m) for messages in form.errors.values() for m in messages), "warning")
        return _render(422)
    if names.delete_major(row.id, actor=current_user.username, ip=client_ip()) is None:
        abort(404)
    return _done(_("已删除「%(major)s」的英文名称，报告中这个专业按记录原样显示。",
                   major=row.major))
