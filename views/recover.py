"""找回用户名 / 忘记密码: public pages, linked from /login.

Every answer is the same whether or not the details match an account.
"""
from flask import Blueprint, abort, flash, session, url_for
from flask_babel import gettext as _

from forms import CodeCheckForm, CodeSendForm, NewPasswordForm, RecoverPasswordForm, RecoverUsernameForm
from services import challenges, recovery
from services.errors import ServiceError
from views import advance, client_ip, form_error, leave_to, limit_posts, postman, render_component
from views.codes import CodeSteps, add_code_views

bp = Blueprint("recover", __name__, url_prefix="/recover")

IDENTIFY_FORMS = {"username": RecoverUsernameForm, "password": RecoverPasswordForm}
STEP_FORMS = {"code": CodeCheckForm, "new_password": NewPasswordForm}


@bp.url_value_preprocessor
def _known_flow(endpoint, values):
    if values and "flow" in values and values["flow"] not in recovery.FLOWS:
        abort(404)


def _session_key(flow):
    return f"recover_{flow}"


def _challenge(flow):
    return recovery.find(flow, session.get(_session_key(flow)))


def _render(flow, step, form=None, status=200, challenge=None, send_form=None, **extra):
    if form is None and step != "result":
        form = (IDENTIFY_FORMS[flow] if step == "identify" else STEP_FORMS[step])(formdata=None)
    if step == "code":
        extra.update(send_form=send_form or CodeSendForm(formdata=None),
                     code=challenges.code_step(challenge, postman=postman()))
    return render_component("recover/page.html", "recover/_flow.html", status,
                            flow=flow, step=step, form=form, **extra)


def _show(flow, challenge=None):
    """The step the flow has reached: 303 to /recover/<flow>, or the fragment for htmx."""
    step = challenge.step if challenge else "identify"
    return advance(url_for(".show", flow=flow), lambda: _render(flow, step, challenge=challenge))


def _restart(flow, message):
    """The challenge is gone (expired, finished, never started): begin again."""
    session.pop(_session_key(flow), None)
    flash(message, "warning")
    return _show(flow)


@bp.get("/<flow>")
def show(flow):
    challenge = _challenge(flow)
    return _render(flow, challenge.step if challenge else "identify", challenge=challenge)


@bp.post("/<flow>")
@limit_posts("RATELIMIT_FORM")
def identify(flow):
    form = IDENTIFY_FORMS[flow]()
    if form.validate_on_submit():
        if flow == "username":
            challenge = recovery.start_find_username(form.clean["real_name"], form.clean["id_number"])
        else:
            challenge = recovery.start_password_reset(form.login.data, form.login_region.data)
        session[_session_key(flow)] = challenge.token
        return _show(flow, challenge)
    return _render(flow, "identify", form, 422)


def _code_passed(challenge, flow):
    if flow == "password":
        return _show(flow, challenge)
    masked = recovery.finish_find_username(challenge, postman=postman(), ip=client_ip())
    session.pop(_session_key(flow), None)
    return _render(flow, "result", masked_username=masked)


add_code_views(bp, CodeSteps(
    find=_challenge,
    lost=lambda flow: _restart(flow, _("请重新填写信息。")),
    render=lambda challenge, send_form, form, status, flow:
        _render(flow, "code", form, status, challenge, send_form),
    # The same words whether or not anything was sent.
    sent=lambda shown_to, flow:
        _("如果信息与某个账号一致，校验码已发送到该账号绑定的手机或邮箱，10 分钟内有效。"),
    passed=_code_passed,
), send_rule="/<flow>/send", check_rule="/<flow>/check")


@bp.post("/password/new")
@limit_posts("RATELIMIT_FORM")
def new_password():
    challenge = _challenge("password")
    if challenge is None or challenge.step != "new_password":
        return _restart("password", _("请先完成校验码验证。"))
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.finish_password_reset(challenge, form.password.data,
                                           postman=postman(), ip=client_ip())
        except ServiceError as error:
            form_error(form, error, "password")
        else:
            session.pop(_session_key("password"), None)
            flash(_("密码已重设，请用新密码登录。其他设备上的登录已全部退出。"), "info")
            return leave_to(url_for("auth.login"))
    return _render("password", "new_password", form, 422)


@bp.post("/<flow>/restart")
def restart(flow):
    session.pop(_session_key(flow), None)
    return _show(flow)
