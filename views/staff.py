"""动态验证码: the registrar's second factor, between the password and the session.

After a right password a registrar account is not logged in: the session holds a
pending marker (account id, session version, second-factor generation, time, the
page to go to) for `staff_auth.PENDING_SECONDS`. The code page (or, the first
time, the enrolment page) completes the login. `passed()` tells the admin pages
that this session went through it.
"""
import functools
import time

import segno
from flask import Blueprint, abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from forms import SecondFactorEnrolForm, SecondFactorForm
from models import Account
from services import staff_auth
from views import (client_ip, form_error, leave_to, limit_posts, log_in, render_component,
                   settings)

bp = Blueprint("staff", __name__)

PENDING = "staff_pending"
PASSED = "staff_second_factor"


def begin(account, next_url: str):
    """Called by the login view after a right password for a staff account."""
    session.clear()
    session[PENDING] = {"id": account.id, "v": account.session_version,
                        "g": staff_auth.generation(account), "at": int(time.time()),
                        "next": next_url}
    if staff_auth.is_enrolled(account):
        return leave_to(url_for("staff.second_factor"))
    return leave_to(url_for("staff.enrol"))


def restrict(bp: Blueprint, roles: tuple[str, ...]) -> None:
    """The one access rule of a staff blueprint: a stranger is asked to log in, a
    student is told the page does not exist (404), a staff member whose role is
    not in `roles` is refused (403), and a staff session that did not pass the
    second factor (an old cookie, a remember-me cookie) logs in again."""
    bp.staff_roles = roles

    @bp.before_request
    @login_required
    def _staff_only():
        if not current_user.is_staff:
            abort(404)
        if not passed():
            logout_user()
            session.clear()
            flash(_("学籍管理员账号需要重新登录并填写动态验证码。"), "warning")
            return leave_to(url_for("auth.login", next=request.path))
        if current_user.role not in roles:
            abort(403)
        return None


def needs_second_factor(account) -> bool:
    return staff_auth.needs_second_factor(account)


def passed() -> bool:
    """Whether the signed-in staff member got in through the second factor."""
    return current_user.is_authenticated and session.get(PASSED) == current_user.get_id()


def _pending():
    """The account waiting for its second factor, or None when there is no marker,
    it is older than PENDING_SECONDS, or the account changed since (new password,
    too many wrong codes, no longer staff)."""
    marker = session.get(PENDING)
    if not isinstance(marker, dict):
        return None
    try:
        age = time.time() - int(marker["at"])
        account = Account.get_or_none(Account.id == int(marker["id"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not -60 <= age <= staff_auth.PENDING_SECONDS or account is None:
        return None
    if (not staff_auth.needs_second_factor(account)
            or account.session_version != marker.get("v")
            or staff_auth.generation(account) != marker.get("g")):
        return None
    return account


def _back_to_password(message: str):
    session.pop(PENDING, None)
    flash(message, "warning")
    return leave_to(url_for("auth.login"))


def _complete(account):
    """Log in now; the session remembers that the second factor was passed."""
    next_url = session[PENDING].get("next") or url_for("admin.index")
    log_in(account)
    session[PASSED] = account.get_id()
    return next_url


def _password_passed(view):
    """The view gets the account whose password was right a moment ago; anyone
    else goes home (already logged in) or back to the password."""
    @functools.wraps(view)
    def wrapper():
        if current_user.is_authenticated:
            return redirect(url_for("home.index"), 303)
        account = _pending()
        if account is None:
            return _back_to_password(_("登录已超时，请重新输入密码。"))
        return view(account)
    return wrapper


@bp.route("/login/code", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
@_password_passed
def second_factor(account):
    if not staff_auth.is_enrolled(account):
        return leave_to(url_for(".enrol"))
    form = SecondFactorForm()
    if form.is_submitted():
        try:
            how = staff_auth.verify(account, form.code.data, at=time.time(), ip=client_ip())
        except staff_auth.SecondFactorError as error:
            if error.restart:
                return _back_to_password(str(error))
            form_error(form, error, "code")
        else:
            next_url = _complete(account)
            flash(_("欢迎回来，%(name)s。", name=account.real_name or account.username), "info")
            if how == "recovery":
                flash(_("你用了一个恢复码，还剩 %(count)s 个。", count=staff_auth.recovery_codes_left(account)),
                      "warning")
            return leave_to(next_url)
    return render_component("auth/second_factor.html", "auth/_second_factor.html", form=form,
                            status=422 if form.is_submitted() else 200)


@bp.route("/login/enrol", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
@_password_passed
def enrol(account):
    if staff_auth.is_enrolled(account):
        return leave_to(url_for(".second_factor"))
    secret = staff_auth.pending_secret(account)
    form = SecondFactorEnrolForm()
    if form.is_submitted():
        try:
            recovery = staff_auth.confirm_enrolment(account, form.code.data, at=time.time(),
                                                    ip=client_ip())
        except staff_auth.SecondFactorError as error:
            if error.restart:
                return _back_to_password(str(error))
            form_error(form, error, "code")
        else:
            next_url = _complete(account)
            # Shown once, in this answer: only their hashes are stored.
            response = render_component("auth/enrol.html", "auth/_enrol.html",
                                        recovery_codes=recovery, next_url=next_url)
            response.headers["Cache-Control"] = "no-store"
            return response
    uri = staff_auth.provisioning_uri(account, secret, settings()["SCHOOL_NAME"])
    response = render_component(
        "auth/enrol.html", "auth/_enrol.html", form=form, account=account,
        qr_svg=segno.make(uri, error="m").svg_inline(scale=4, title=_("动态验证码二维码")),
        grouped_secret=staff_auth.grouped(secret),
        status=422 if form.is_submitted() else 200)
    response.headers["Cache-Control"] = "no-store"
    return response
