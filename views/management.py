"""系统管理 for the 管理员 only: staff accounts, settings, the audit log."""
from flask import Blueprint, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import StaffCreateForm, StaffRoleForm, StaffSecondFactorResetForm
from models import Account, AuditEntry
from services import accounts, staff_accounts, staff_auth
from views import account_actions as actions_ui
from views import client_ip, form_error, is_htmx, leave_to, limit_posts, render_component, staff

bp = Blueprint("management", __name__, url_prefix="/admin")
staff.restrict(bp, (Account.ADMIN,))


@bp.get("/audit")
def audit_log():
    return render_component(
        "admin/audit.html", "admin/_audit.html",
        audit=list(AuditEntry.select().order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(50)))


# --- 工作人员账号 -------------------------------------------------------------------

def _staff_page(form, status=200):
    members = staff_accounts.staff_list()
    return render_component("admin/staff.html", "admin/_staff.html", form=form, members=members,
                            enrolled=staff_auth.enrolled_ids(m.id for m in members),
                            status=status)


@bp.get("/staff")
def staff_list():
    return _staff_page(StaffCreateForm(formdata=None))


@bp.post("/staff")
@limit_posts("RATELIMIT_FORM")
def staff_create():
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            account = staff_accounts.create(form.username.data, form.role.data, form.password.data,
                                            actor=current_user, ip=client_ip())
        except accounts.AccountError as error:
            form_error(form, error, "username")
        else:
            flash(_("已创建工作人员账号 %(username)s（%(role)s）。本人首次登录时需要设置动态验证码。",
                    username=account.username, role=actions_ui.staff_role_label(account.role)),
                  "info")
            return leave_to(url_for(".staff_list"))
    return _staff_page(form, status=422)


def _member(account_id: int) -> Account:
    return get_object_or_404(Account, Account.id == account_id,
                             Account.role.in_(Account.STAFF_ROLES))


def _detail_context(account: Account, role_form=None, reset_form=None) -> dict:
    return {"role_form": role_form or StaffRoleForm(formdata=None, role=account.role),
            "reset_form": reset_form or StaffSecondFactorResetForm(formdata=None),
            "enrolled": staff_auth.is_enrolled(account)}


def _detail(account: Account, status=200, **forms):
    return render_component("admin/staff_account.html", "admin/_staff_account_answer.html",
                            account=account, status=status, **_detail_context(account, **forms))


@bp.get("/staff/<int:account_id>")
def staff_detail(account_id):
    return _detail(_member(account_id))


def _done(account: Account, message: str):
    """After a change on the staff page: htmx gets the page's card again, a plain
    form a 303 back to the page."""
    flash(message, "info")
    if is_htmx():
        return _detail(account)
    return leave_to(url_for(".staff_detail", account_id=account.id))


@bp.post("/staff/<int:account_id>/role")
@limit_posts("RATELIMIT_FORM")
def staff_role(account_id):
    account = _member(account_id)
    form = StaffRoleForm()
    if form.validate_on_submit():
        try:
            old = staff_accounts.change_role(account, form.role.data, actor=current_user,
                                             ip=client_ip())
        except accounts.AccountError as error:
            form_error(form, error, "role")
        else:
            return _done(account, _("%(username)s 的角色已从%(old)s改为%(new)s。",
                                    username=account.username,
                                    old=actions_ui.staff_role_label(old),
                                    new=actions_ui.staff_role_label(account.role)))
    return _detail(account, status=422, role_form=form)


@bp.post("/staff/<int:account_id>/second-factor/reset")
@limit_posts("RATELIMIT_FORM")
def staff_second_factor_reset(account_id):
    account = _member(account_id)
    form = StaffSecondFactorResetForm()
    if form.validate_on_submit():
        try:
            staff_accounts.reset_second_factor(account, actor=current_user, ip=client_ip())
        except accounts.AccountError as error:
            form_error(form, error, "confirm_reset")
        else:
            return _done(account, _("已重置 %(username)s 的动态验证码，下次登录时重新设置。",
                                    username=account.username))
    return _detail(account, status=422, reset_form=form)


# The actions of admin/_account_actions.html on a staff account.

def _act(account_id: int, name: str, do):
    account = _member(account_id)
    return actions_ui.act(account, name, lambda form: do(account, form),
                          page="admin/staff_account.html",
                          done_url=url_for(".staff_detail", account_id=account.id),
                          **_detail_context(account))


@bp.post("/staff/<int:account_id>/unlock")
@limit_posts("RATELIMIT_FORM")
def staff_unlock(account_id):
    def do(account, _form):
        accounts.unlock(account, actor=current_user.username, ip=client_ip())
        return _("已解除 %(username)s 的登录锁定。", username=account.username)
    return _act(account_id, "unlock", do)


@bp.post("/staff/<int:account_id>/sessions/end")
@limit_posts("RATELIMIT_FORM")
def staff_sessions_end(account_id):
    def do(account, _form):
        accounts.end_sessions(account, actor=current_user.username, ip=client_ip())
        return _("%(username)s 已在所有设备上退出登录。", username=account.username)
    return _act(account_id, "sessions_end", do)


@bp.post("/staff/<int:account_id>/disable")
@limit_posts("RATELIMIT_FORM")
def staff_disable(account_id):
    def do(account, form):
        staff_accounts.disable(account, form.reason.data, actor=current_user, ip=client_ip())
        return _("已停用 %(username)s。", username=account.username)
    return _act(account_id, "disable", do)


@bp.post("/staff/<int:account_id>/enable")
@limit_posts("RATELIMIT_FORM")
def staff_enable(account_id):
    def do(account, _form):
        staff_accounts.enable(account, actor=current_user, ip=client_ip())
        return _("已启用 %(username)s。", username=account.username)
    return _act(account_id, "enable", do)
