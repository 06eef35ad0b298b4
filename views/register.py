"""实名注册: the registration wizard and the identity appeal (申诉)."""
import functools

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import (AppealForm, AppealStatusForm, CodeCheckForm, CodeSendForm, RegisterConfirmForm,
                   RegisterIdentityForm, RegisterNoticeForm)
from services import appeals, binding, challenges, registration
from services.errors import ServiceError
from views import (advance, client_ip, form_error, is_htmx, leave_to, limit_posts, log_in,
                   postman, render_component, school_timezone, settings, upload_limit)
from views.codes import CodeSteps, add_code_views

bp = Blueprint("register", __name__, url_prefix="/register")

DRAFT_KEY = "register_draft"
FORMS = {"notice": RegisterNoticeForm, "identity": RegisterIdentityForm,
         "code": CodeCheckForm, "confirm": RegisterConfirmForm}


@bp.before_request
def _anonymous_only():
    if current_user.is_authenticated and request.endpoint != "register.done":
        return redirect(url_for("home.index"), 303)
    return None


def _draft():
    return registration.find(session.get(DRAFT_KEY))


def _render(step, draft=None, form=None, status=200, send_form=None, **extra):
    """The wizard at `step`, with a fresh form (holding what was typed) unless given one."""
    if form is None:
        typed = registration.identity_typed(draft) if step == "identity" else {}
        form = FORMS[step](formdata=None, data=typed)
    context = dict(step=step, steps=registration.STEPS, reached=registration.current_step(draft),
                   form=form, eligible_since=settings()["ELIGIBLE_SINCE_YEAR"], **extra)
    if step == "code":
        code = challenges.code_step(draft, postman=postman())
        # No SMS to this number (INTERNATIONAL_SMS off): e-mail is the way, chosen already.
        channel = "sms" if code.sms_allowed or not code.email_allowed else "email"
        context.update(send_form=send_form or CodeSendForm(formdata=None, channel=channel),
                       code=code)
    if step == "confirm":
        context.update(typed=registration.identity_typed(draft))
    response = render_component("register/page.html", "register/_wizard.html", status, **context)
    if is_htmx():
        response.headers["HX-Push-Url"] = url_for(".step", step=step)
    return response


def _next(step, draft):
    """After a successful POST: the next step for htmx, a 303 for plain browsers."""
    return advance(url_for(".step", step=step), lambda: _render(step, draft))


def _out_of_order():
    """A post for a step the draft has not reached (or no draft at all): the
    person is sent to the step the draft has reached."""
    flash(_("注册信息已失效或步骤顺序不对，请从这一步继续。"), "warning")
    draft = _draft()
    target = registration.current_step(draft)
    if is_htmx():
        return _render(target, draft)
    return redirect(url_for(".step", step=target), 303)


def _draft_at(step):
    """The draft, if `step` may be posted now."""
    draft = _draft()
    return draft if draft is not None and registration.reachable(draft, step) else None


def _posted_at(step):
    """The view gets the draft if `step` may be posted now."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper():
            draft = _draft_at(step)
            return _out_of_order() if draft is None else view(draft)
        return wrapper
    return decorate


@bp.get("/", strict_slashes=False)
def start():
    draft = _draft()
    return _render(registration.current_step(draft), draft)


@bp.get("/<step>", endpoint="step")
def show_step(step):
    if step not in registration.STEPS:
        return redirect(url_for(".start"), 303)
    draft = _draft()
    if not registration.reachable(draft, step):
        flash(_("请按顺序完成注册步骤。"), "warning")
        if is_htmx():
            return _render(registration.current_step(draft), draft)
        return redirect(url_for(".start"), 303)
    return _render(step, draft)


@bp.post("/notice")
@limit_posts("RATELIMIT_FORM")
def notice():
    form = RegisterNoticeForm()
    draft = _draft()
    if form.validate_on_submit():
        draft = registration.accept_notice(draft)
        session[DRAFT_KEY] = draft.token
        return _next("identity", draft)
    return _render("notice", draft, form, 422)


@bp.post("/identity", endpoint="identity")
@limit_posts("RATELIMIT_FORM")
@_posted_at("identity")
def save_identity(draft):
    form = RegisterIdentityForm()
    taken = {}
    if form.validate_on_submit():
        try:
            registration.save_identity(draft, form.clean, form.password.data,
                                       reach=postman().reach())
        except registration.IdentityTaken as error:
            taken = error.taken
            for field, message in taken.items():
                form_error(form, message, field)
        except registration.RegistrationError as error:
            form_error(form, error, "phone")
        else:
            return _next("code", draft)
    return _render("identity", draft, form, 422, id_taken="id_number" in taken)


add_code_views(bp, CodeSteps(
    find=lambda: _draft_at("code"),
    lost=_out_of_order,
    render=lambda draft, send_form, form, status: _render("code", draft, form, status, send_form),
    sent=lambda shown_to: _("校验码已发送至 %(to)s，10 分钟内有效。", to=shown_to),
    passed=lambda draft: _next("confirm", draft),
), send_rule="/code/send", check_rule="/code")


@bp.post("/confirm")
@limit_posts("RATELIMIT_FORM")
@_posted_at("confirm")
def confirm(draft):
    form = RegisterConfirmForm()
    if form.validate_on_submit():
        if not form.yes.data:
            registration.back_to_identity(draft)
            return _next("identity", draft)
        try:
            account = registration.confirm(draft, ip=client_ip())
        except ServiceError as error:
            # Someone else registered the same username or ID meanwhile.
            identity_form = RegisterIdentityForm(formdata=None,
                                                 data=registration.identity_typed(draft))
            form_error(identity_form, error, "id_number")
            return _render("identity", draft, identity_form, 422,
                           id_taken=error.field == "id_number")
        binding.auto_bind(account, since_year=settings()["ELIGIBLE_SINCE_YEAR"],
                          mode=settings()["BIND_MODE"], postman=postman(), ip=client_ip())
        log_in(account)
        return leave_to(url_for(".done"))
    return _render("confirm", draft, form, 422)


@bp.get("/done")
@login_required
def done():
    # All the new account's records older than the year the portal shows: said here, plainly.
    return render_template("register/done.html", early=binding.only_before(
        current_user, settings()["ELIGIBLE_SINCE_YEAR"]))


@bp.route("/appeal", methods=["GET", "POST"])
@upload_limit("APPEAL_PHOTO_MAX_BYTES")
@limit_posts("RATELIMIT_UPLOAD")
def appeal():
    # Someone stopped at 身份信息 by a taken ID number comes with it filled in.
    form = AppealForm(data=registration.identity_typed(_draft()))
    if form.validate_on_submit():
        upload = request.files.get(form.photo.name)
        try:
            filed = registration.file_appeal(
                form.clean, upload.read() if upload else b"",
                max_bytes=current_app.config["APPEAL_PHOTO_MAX_BYTES"], ip=client_ip(),
                timezone=school_timezone())
        except ServiceError as error:
            form_error(form, error, "photo")
        else:
            sent = appeals.acknowledge(filed, postman=postman(),
                                       status_url=url_for(".appeal_status", _external=True))
            return render_component("register/appeal.html", "register/_appeal.html",
                                    form=None, appeal=filed, acknowledged=sent)
    return render_component("register/appeal.html", "register/_appeal.html",
                            422 if form.is_submitted() else 200, form=form)


@bp.route("/appeal/status", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
def appeal_status():
    """申诉进度: by reference number together with the ID number it names."""
    form = AppealStatusForm()
    if form.validate_on_submit():
        found = appeals.find(form.reference.data, form.id_number.data)
        if found:
            return render_component("register/appeal_status.html", "register/_appeal_status.html",
                                    form=form, appeal=found)
        form_error(form, _("没有找到与这个申诉编号和证件号码对应的申诉，请核对后重试。"), "reference")
    return render_component("register/appeal_status.html", "register/_appeal_status.html",
                            422 if form.is_submitted() else 200, form=form)
