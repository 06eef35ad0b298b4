"""What the school does to one account — 解除锁定, 结束全部会话, 停用, 启用 — shared
by the pages that show an account: which actions the signed-in staff member may
take, their forms and URLs (for the partial `admin/_account_actions.html`), and
the one way every action answers.

A student's account is acted on through views.registry (学籍管理员 and 管理员), a
staff account through views.management (管理员 only): the partial posts to the
blueprint whose access rule fits the account.
"""
from dataclasses import dataclass

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from forms import (AccountDisableForm, AccountEnableForm, AccountSessionsEndForm,
                   AccountUnlockForm)
from services import accounts
from views import is_htmx, render_component

# name -> (form class, the field a message without a field of its own goes beside)
FORMS = {
    "unlock": (AccountUnlockForm, "confirm_unlock"),
    "sessions_end": (AccountSessionsEndForm, "confirm_sessions_end"),
    "disable": (AccountDisableForm, "reason"),
    "enable": (AccountEnableForm, "confirm_enable"),
}
# The htmx answer of an action: the partial again, and the flash messages.
ANSWER = "admin/_account_actions_answer.html"


@dataclass(frozen=True)
class Action:
    name: str
    url: str
    form: object


@dataclass(frozen=True)
class Actions:
    state: accounts.AccessState
    items: list


def staff_role_label(role: str) -> str:
    return {"admin": _("管理员"), "registrar": _("学籍管理员"), "viewer": _("查询员")}.get(role, role)


def may_act(account) -> bool:
    """学籍管理员 and 管理员 act on students; only a 管理员 acts on staff accounts."""
    if not (current_user.is_authenticated and current_user.keeps_records):
        return False
    return current_user.is_admin if account.is_staff else True


def _names(account) -> list[str]:
    names = ["unlock", "sessions_end", "enable" if account.is_disabled else "disable"]
    if account.is_staff and account.id == current_user.id:
        names = [name for name in names if name != "disable"]  # nobody disables themselves
    return names


def available(account, forms=None):
    """The actions the signed-in staff member may take on `account` now (None: none).
    `forms` ({action name: form}) holds a posted form to show again with its errors."""
    if account is None or not may_act(account):
        return None
    names = _names(account)
    prefix = "management.staff_" if account.is_staff else "registry.account_"
    forms = forms or {}
    return Actions(state=accounts.access_state(account), items=[
        Action(name, url_for(prefix + name, account_id=account.id),
               forms.get(name) or FORMS[name][0](formdata=None)) for name in names])


def put_error(form, error, default_field: str) -> None:
    """A service error beside its field, or beside `default_field` when the form has
    no field of that name (the enable form has no 停用原因)."""
    name = error.field if getattr(error, "field", None) in form else default_field
    form[name].errors = [*form[name].errors, str(error)]


def act(account, name: str, do, *, page: str, done_url: str, **context):
    """Answer one action's POST: `do(form)` acts and returns the message to flash.
    Success: htmx gets the partial again (the account as it is now), a plain form a
    303 to `done_url`. Bad input or a refused action: 422, the form with its message."""
    form_class, default_field = FORMS[name]
    form = form_class()
    if form.validate_on_submit():
        try:
            message = do(form)
        except accounts.AccountError as error:
            put_error(form, error, default_field)
            if name not in _names(account):
                # Someone else acted first (disabled, enabled): this form is gone
                # from the partial, so its message goes to the flash area.
                flash(str(error), "warning")
        else:
            flash(message, "info")
            if is_htmx():
                return render_component(page, ANSWER, account=account, **context)
            return redirect(done_url, 303)
    return render_component(page, ANSWER, account=account, account_forms={name: form}, status=422,
                            **context)
