"""登录 / 退出."""
from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from forms import LoginForm
from services import accounts, binding
from views import limit_posts, client_ip, leave_to, render_component, user_agent

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None, account) -> str:
    """Only local paths, so a crafted link cannot send people elsewhere after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.admin_index" if account.is_admin else "records.records_index")


def _render(form, status=200, message=None):
    return render_component("auth/login.html", "auth/_login.html", status,
                            form=form, message=message)


@bp.route("/login", methods=["GET", "POST"])
@limit_posts("RATELIMIT_LOGIN")
def auth_login():
    if current_user.is_authenticated:
        return redirect(url_for("home.home_index"), 303)
    form = LoginForm()
    if request.method == "GET":
        return _render(form)
    if not form.validate():
        return _render(form, 422)
    result = accounts.authenticate(form.login.data, form.password.data,
                                   ip=client_ip(), user_agent=user_agent())
    if result.locked_until:
        return _render(form, 422, _(
            "密码连续输错 %(count)s 次，账号已锁定 %(minutes)s 分钟，请在 %(until)s 之后再试，"
            "或使用“忘记密码”重设密码。",
            count=accounts.MAX_FAILED_LOGINS, minutes=accounts.LOCK_MINUTES,
            until=format_datetime(result.locked_until, "HH:mm")))
    if not result.ok:
        return _render(form, 422, _("用户名或密码不正确。"))
    binding.auto_bind(result.account, since_year=current_app.config["ELIGIBLE_SINCE_YEAR"])
    next_url = _safe_next(request.args.get("next"), result.account)
    # A fresh session at login: nothing from before login carries over.
    session.clear()
    login_user(result.account, remember=form.remember.data)
    flash(_("欢迎回来，%(name)s。", name=result.account.real_name or result.account.username), "info")
    return leave_to(next_url)


@bp.post("/logout")
def auth_logout():
    logout_user()
    session.clear()
    flash(_("你已安全退出。"), "info")
    return redirect(url_for("auth.auth_login"), 303)
