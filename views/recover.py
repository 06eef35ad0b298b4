"""找回用户名 / 忘记密码: public pages, linked from /login.

Every answer is the same whether or not the details match an account.
"""
from flask import Blueprint, abort, current_app, flash, redirect, session, url_for
from flask_babel import gettext as _

from forms import CodeStepForm, NewPasswordForm, RecoverPasswordForm, RecoverUsernameForm
from services import codes, messaging, recovery
from services.recovery import RecoveryError
from views import limit_posts, client_ip, is_htmx, leave_to, postman, render_component

bp = Blueprint("recover", __name__, url_prefix="/recover")

PURPOSES = {"username": recovery.FIND_USERNAME, "password": recovery.RESET_PASSWORD}
IDENTIFY_FORMS = {"username": RecoverUsernameForm, "password": RecoverPasswordForm}



@bp.url_value_preprocessor
def _known_flow(endpoint, values):
    if values and "flow" in values and values["flow"] not in PURPOSES:
        abort(404)


def _session_key(flow):
    return f"recover_{flow}"


def _challenge(flow):
    return recovery.find_challenge(session.get(_session_key(flow)), PURPOSES[flow])


def _render(flow, step, form=None, status=200, **extra):
    if form is None:
        form = {"identify": IDENTIFY_FORMS[flow], "code": CodeStepForm,
                "new_password": NewPasswordForm}.get(step, CodeStepForm)(formdata=None)
    return render_component("recover/page.html", "recover/_flow.html", status,
                            flow=flow, step=step, form=form, **extra)


def _current_step(flow, challenge):
    if challenge is None:
        return "identify"
    if challenge.verified_at and flow == "password":
        return "new_password"
    return "code"


def _restart(flow, message):
    """The challenge is gone (expired, finished, never started): begin again."""
    session.pop(_session_key(flow), None)
    flash(message, "warning")
    if is_htmx():
        return _render(flow, "identify")
    return redirect(url_for("recover.recover_show", flow=flow), 303)


@bp.get("/<flow>")
def recover_show(flow):
    return _render(flow, _current_step(flow, _challenge(flow)))


@bp.post("/<flow>")
@limit_posts("RATELIMIT_FORM")
def recover_identify(flow):
    form = IDENTIFY_FORMS[flow]()
    if not form.validate():
        return _render(flow, "identify", form, 422)
    if flow == "username":
        challenge = recovery.start_find_username(form.clean["real_name"], form.clean["id_number"])
    else:
        challenge = recovery.start_password_reset(form.login.data)
    session[_session_key(flow)] = challenge.token
    if is_htmx():
        return _render(flow, "code")
    return redirect(url_for("recover.recover_show", flow=flow), 303)


@bp.post("/<flow>/send")
@limit_posts("RATELIMIT_SEND_CODE")
def recover_send(flow):
    challenge = _challenge(flow)
    if challenge is None:
        return _restart(flow, _("请重新填写信息。"))
    form = CodeStepForm()
    if flow == "username":
        form.channel.data = "sms"
    if not form.validate():
        return _render(flow, "code", form, 422)
    try:
        recovery.send_code(challenge, form.channel.data, postman=postman(), ip=client_ip())
    except (RecoveryError, codes.CodeError) as error:
        form.code.errors = [str(error)]
        return _render(flow, "code", form, 422)
    except messaging.MessagingError:
        current_app.logger.exception("sending a recovery code failed")
        form.code.errors = [_("校验码发送失败，请稍后再试。")]
        return _render(flow, "code", form, 503)
    flash(_("如果信息与某个账号一致，校验码已发送到该账号绑定的手机或邮箱，10 分钟内有效。"), "info")
    return _render(flow, "code", sent=True)


@bp.post("/<flow>/check")
@limit_posts("RATELIMIT_CHECK_CODE")
def recover_check(flow):
    challenge = _challenge(flow)
    if challenge is None:
        return _restart(flow, _("请重新填写信息。"))
    form = CodeStepForm()
    if not (form.code.data or "").strip():
        form.code.errors = [_("请填写校验码。")]
        return _render(flow, "code", form, 422)
    try:
        recovery.check_code(challenge, form.code.data)
    except codes.CodeError as error:
        form.code.errors = [str(error)]
        return _render(flow, "code", form, 422)
    if flow == "username":
        masked = recovery.finish_find_username(challenge, postman=postman(), ip=client_ip())
        session.pop(_session_key(flow), None)
        return _render(flow, "result", masked_username=masked)
    if is_htmx():
        return _render(flow, "new_password")
    return redirect(url_for("recover.recover_show", flow=flow), 303)


@bp.post("/password/new")
@limit_posts("RATELIMIT_FORM")
def recover_new_password():
    challenge = _challenge("password")
    if challenge is None or challenge.verified_at is None:
        return _restart("password", _("请先完成校验码验证。"))
    form = NewPasswordForm()
    if form.validate():
        try:
            recovery.finish_password_reset(challenge, form.password.data,
                                           postman=postman(), ip=client_ip())
        except RecoveryError as error:
            form.password.errors = [str(error)]
        else:
            session.pop(_session_key("password"), None)
            flash(_("密码已重设，请用新密码登录。其他设备上的登录已全部退出。"), "info")
            return leave_to(url_for("auth.login"))
    return _render("password", "new_password", form, 422)


@bp.post("/<flow>/restart")
def recover_restart(flow):
    session.pop(_session_key(flow), None)
    if is_htmx():
        return _render(flow, "identify")
    return redirect(url_for("recover.recover_show", flow=flow), 303)
