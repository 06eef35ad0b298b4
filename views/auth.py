"""登录 / 退出."""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from forms import LoginForm
from services import accounts, binding
from views import (settings, staff)
from views import (client_ip, leave_to, limit_posts, log_in, postman, render_component,
                   render_public_form, safe_local_path, user_agent)

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limit_posts("RATELIMIT_LOGIN")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"), 303)
    form = LoginForm()
    message = None
    disabled = False
    if form.validate_on_submit():
        result = accounts.authenticate(form.login.data, form.password.data,
                                       ip=client_ip(), user_agent=user_agent(),
                                       postman=postman())
        if result.locked_until:
            message = _(
                "密码输错次数过多，从这个网络登录已锁定，请在 %(until)s 之后再试。"
                "如果是你本人，可以用“忘记密码”通过短信校验码重设密码，立即解除锁定。",
                until=format_datetime(result.locked_until, "HH:mm"))
        elif result.disabled:
            # Only after the right password: a guess learns nothing from this.
            message = _("该账号已被学校停用：%(reason)s", reason=result.disabled_reason)
            disabled = True
        elif not result.ok:
            message = _("用户名或密码不正确。")
        else:
            return _signed_in(result.account, remember=form.remember.data)
    if not form.is_submitted():
        return render_public_form("auth/login.html", "auth/_login.html", form=form,
                                  message=None, disabled=False)
    return render_component("auth/login.html", "auth/_login.html", form=form, message=message,
                            disabled=disabled, status=422)


def _signed_in(account, remember: bool):
    binding.auto_bind(account, since_year=settings()["ELIGIBLE_SINCE_YEAR"],
                      mode=settings()["BIND_MODE"], postman=postman(), ip=client_ip())
    next_url = safe_local_path(request.args.get("next"), url_for(
        "admin.index" if account.is_staff else "records.index"))
    if staff.needs_second_factor(account):
        return staff.begin(account, next_url)
    log_in(account, remember=remember)
    flash(_("欢迎回来，%(name)s。", name=account.real_name or account.username), "info")
    return leave_to(next_url)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends this login on the server: a copied session or remember cookie
        # stops working; the account's other devices stay logged in.
        accounts.end_login_session(current_user._get_current_object())
    # Cleared BEFORE logout_user, which leaves the marker that makes
    # Flask-Login delete the remember cookie in this response.
    session.clear()
    logout_user()
    flash(_("你已安全退出。"), "info")
    return redirect(url_for(".login"), 303)
