"""账户: profile, username / phone / password changes, login history, appeals."""
from flask import Blueprint, current_app, flash, redirect, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import AccountPasswordForm, AccountPhoneForm, AccountUsernameForm, CodeStepForm
from models import LoginEvent
from services import accounts, appeals, codes, identity, messaging, recovery
from views import limit_posts, client_ip, is_htmx, leave_to, log_in, postman, render_component

bp = Blueprint("account", __name__, url_prefix="/account")

PHONE_CHALLENGE = "account_phone_change"


@bp.before_request
@login_required
def _signed_in():
    return None



def _done(message):
    flash(message, "info")
    return leave_to(url_for("account.account_profile"))


def _render(section, form=None, status=200, **extra):
    return render_component("account/page.html", "account/_section.html", status,
                            section=section, form=form, **extra)


@bp.get("/", strict_slashes=False)
def account_profile():
    return render_component(
        "account/page.html", "account/_section.html", section="profile",
        masked_id=identity.mask_id(current_user.id_number or ""),
        masked_phone=identity.mask_phone(current_user.phone or ""))


@bp.route("/username", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def account_username():
    form = AccountUsernameForm()
    if not form.is_submitted():
        return _render("username", form)
    if form.validate():
        try:
            accounts.change_username(current_user, form.clean["new_username"],
                                     form.current_password.data,
                                     postman=postman(), ip=client_ip())
        except accounts.AccountError as error:
            getattr(form, error.field).errors = [str(error)]
        else:
            return _done(_("用户名已改为 %(username)s。", username=current_user.username))
    return _render("username", form, 422)


@bp.route("/password", methods=["GET", "POST"])
@limit_posts("RATELIMIT_LOGIN")
def account_password():
    form = AccountPasswordForm()
    if not form.is_submitted():
        return _render("password", form)
    if form.validate():
        try:
            accounts.change_password(current_user, form.current_password.data,
                                     form.new_password.data,
                                     postman=postman(), ip=client_ip())
        except accounts.AccountError as error:
            getattr(form, error.field).errors = [str(error)]
        else:
            # Other sessions ended with the old session version; this one is renewed.
            account = current_user._get_current_object()
            log_in(account)
            return _done(_("密码已修改，其他设备上的登录已全部退出。"))
    return _render("password", form, 422)


def _phone_challenge():
    challenge = recovery.find_challenge(session.get(PHONE_CHALLENGE), accounts.PHONE_CHANGE)
    if challenge and challenge.account_id == current_user.id:
        return challenge
    return None


def _render_phone_code(challenge, form=None, status=200, sent=False):
    return _render("phone_code", form or CodeStepForm(formdata=None), status,
                   masked_new_phone=identity.mask_phone(challenge.payload["phone"]), sent=sent)


@bp.route("/phone", methods=["GET", "POST"])
@limit_posts("RATELIMIT_SEND_CODE")
def account_phone():
    form = AccountPhoneForm()
    if not form.is_submitted():
        challenge = _phone_challenge()
        if challenge:
            return _render_phone_code(challenge)
        return _render("phone", form)
    if form.validate():
        try:
            challenge = accounts.start_phone_change(
                current_user, form.current_password.data, form.clean["new_phone"],
                postman=postman(), ip=client_ip())
        except accounts.AccountError as error:
            getattr(form, error.field).errors = [str(error)]
        except codes.CodeError as error:
            form.new_phone.errors = [str(error)]
        except messaging.MessagingError:
            current_app.logger.exception("sending a phone-change code failed")
            form.new_phone.errors = [_("校验码发送失败，请稍后再试。")]
        else:
            session[PHONE_CHALLENGE] = challenge.token
            flash(_("校验码已发送至新号码 %(phone)s。", phone=identity.mask_phone(challenge.payload["phone"])), "info")
            if is_htmx():
                return _render_phone_code(challenge, sent=True)
            return redirect(url_for("account.account_phone"), 303)
    return _render("phone", form, 422)


@bp.post("/phone/send")
@limit_posts("RATELIMIT_SEND_CODE")
def account_phone_send():
    challenge = _phone_challenge()
    if challenge is None:
        return redirect(url_for("account.account_phone"), 303)
    try:
        accounts.resend_phone_code(challenge, postman=postman(), ip=client_ip())
    except codes.CodeError as error:
        form = CodeStepForm(formdata=None)
        form.code.errors = [str(error)]
        return _render_phone_code(challenge, form, 422)
    flash(_("校验码已重新发送。"), "info")
    return _render_phone_code(challenge, sent=True)


@bp.post("/phone/check")
@limit_posts("RATELIMIT_CHECK_CODE")
def account_phone_check():
    challenge = _phone_challenge()
    if challenge is None:
        return redirect(url_for("account.account_phone"), 303)
    form = CodeStepForm()
    try:
        if not (form.code.data or "").strip():
            raise codes.CodeError(_("请填写校验码。"))
        accounts.confirm_phone_change(challenge, form.code.data,
                                      postman=postman(), ip=client_ip())
    except codes.CodeError as error:
        form.code.errors = [str(error)]
        return _render_phone_code(challenge, form, 422)
    session.pop(PHONE_CHALLENGE, None)
    return _done(_("手机号码已改为 %(phone)s。", phone=identity.mask_phone(challenge.payload["phone"])))


@bp.post("/phone/cancel")
def account_phone_cancel():
    session.pop(PHONE_CHALLENGE, None)
    return leave_to(url_for("account.account_profile"))


@bp.get("/logins")
def account_logins():
    recent = list(LoginEvent.select()
                  .where(LoginEvent.account == current_user.id, LoginEvent.success == True)  # noqa: E712
                  .order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(20))
    failures = LoginEvent.select().where(LoginEvent.account == current_user.id,
                                         LoginEvent.success == False)  # noqa: E712
    # "Since the last success" means before the current session's own login.
    if len(recent) > 1:
        failures = failures.where(LoginEvent.at > recent[1].at)
    return _render("logins", logins=recent,
                   failures=list(failures.order_by(LoginEvent.at.desc()).limit(50)))


@bp.get("/appeals")
def account_appeals():
    return _render("appeals", appeals=appeals.for_account(current_user))
