"""实名注册: the registration wizard and the identity appeal (申诉)."""
import functools

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms import AppealForm, AppealStatusForm, RegisterCodeForm, RegisterConfirmForm, RegisterIdentityForm, RegisterNoticeForm
from services import appeals, binding, codes, identity, messaging, registration
from services.registration import RegistrationError
from views import limit_posts, client_ip, is_htmx, leave_to, log_in, postman, render_component

bp = Blueprint("register", __name__, url_prefix="/register")

DRAFT_KEY = "register_draft"
FORMS = {"notice": RegisterNoticeForm, "identity": RegisterIdentityForm,
         "code": RegisterCodeForm, "confirm": RegisterConfirmForm}



@bp.before_request
def _anonymous_only():
    if current_user.is_authenticated and request.endpoint not in ("register.register_done",):
        return redirect(url_for("home.index"), 303)
    return None


def _draft():
    return registration.find_draft(session.get(DRAFT_KEY))


def _render(step, draft=None, form=None, status=200, **extra):
    if form is None:
        form = FORMS[step](formdata=None, data=_initial(step, draft))
    context = dict(step=step, steps=registration.STEPS, draft=draft, form=form,
                   eligible_since=current_app.config["ELIGIBLE_SINCE_YEAR"], **extra)
    if step == "code" and draft:
        context.update(masked_phone=identity.mask_phone(draft.data["phone"]),
                       edu_email=identity.is_edu_email(draft.data["username"]),
                       resend_wait=codes.seconds_until_resend(registration.CODE_PURPOSE, draft.token))
    response = render_component("register/page.html", "register/_wizard.html", status, **context)
    if is_htmx():
        response.headers["HX-Push-Url"] = url_for("register.register_step", step=step)
    return response


def _initial(step, draft):
    if step == "identity" and draft and draft.data:
        return dict(draft.data)
    return {}


def _go(step, draft, message=None):
    """After a successful POST: the next step for htmx, a 303 for plain browsers."""
    if message:
        flash(message, "info")
    if is_htmx():
        return _render(step, draft)
    return redirect(url_for("register.register_step", step=step), 303)


@bp.get("/", strict_slashes=False)
def register_start():
    draft = _draft()
    return _render(draft.step if draft else "notice", draft)


@bp.get("/<step>")
def register_step(step):
    if step not in registration.STEPS:
        return redirect(url_for("register.register_start"), 303)
    draft = _draft()
    if step == "notice":
        return _render(step, draft)
    if draft is None or not registration.reachable(draft, step):
        flash(_("请按顺序完成注册步骤。"), "warning")
        if is_htmx():
            return _render(draft.step if draft else "notice", draft)
        return redirect(url_for("register.register_start"), 303)
    return _render(step, draft)


def _posted_at(step):
    """The view gets the draft if `step` may be posted now; otherwise the person
    is sent to the step the draft has reached."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper():
            draft = _draft()
            if draft is not None and registration.reachable(draft, step):
                return view(draft)
            flash(_("注册信息已失效或步骤顺序不对，请从这一步继续。"), "warning")
            target = draft.step if draft else "notice"
            if is_htmx():
                return _render(target, draft)
            return redirect(url_for("register.register_step", step=target), 303)
        return wrapper
    return decorate


@bp.post("/notice")
@limit_posts("RATELIMIT_FORM")
def register_notice():
    form = RegisterNoticeForm()
    draft = _draft()
    if not form.validate():
        return _render("notice", draft, form, 422)
    if draft is None:
        draft = registration.start_draft()
        session[DRAFT_KEY] = draft.token
    registration.accept_notice(draft)
    return _go("identity", draft)


@bp.post("/identity")
@limit_posts("RATELIMIT_FORM")
@_posted_at("identity")
def register_identity(draft):
    form = RegisterIdentityForm()
    taken = {}
    if form.validate():
        taken = registration.taken_fields(form.clean)
        if not taken:
            registration.save_identity(draft, form.clean, form.password.data)
            return _go("code", draft)
    for field, message in taken.items():
        getattr(form, field).errors.append(message)
    return _render("identity", draft, form, 422, id_taken="id_number" in taken)


@bp.post("/code/send")
@limit_posts("RATELIMIT_SEND_CODE")
@_posted_at("code")
def register_code_send(draft):
    form = RegisterCodeForm()
    if not form.validate():
        return _render("code", draft, form, 422)
    try:
        shown_to = registration.send_code(draft, form.channel.data,
                                          postman=postman(), ip=client_ip())
    except RegistrationError as error:
        form.channel.errors.append(str(error))
        return _render("code", draft, form, 422)
    except codes.CodeError as error:
        form.code.errors.append(str(error))
        return _render("code", draft, form, 429 if error.retry_after > 60 else 422)
    except messaging.MessagingError:
        current_app.logger.exception("sending a registration code failed")
        form.code.errors.append(_("校验码发送失败，请稍后再试。"))
        return _render("code", draft, form, 503)
    flash(_("校验码已发送至 %(to)s，10 分钟内有效。", to=shown_to), "info")
    form.code.data = ""
    return _render("code", draft, form)


@bp.post("/code")
@limit_posts("RATELIMIT_CHECK_CODE")
@_posted_at("code")
def register_code_check(draft):
    form = RegisterCodeForm()
    if not form.validate():
        return _render("code", draft, form, 422)
    if not (form.code.data or "").strip():
        form.code.errors.append(_("请填写校验码。"))
        return _render("code", draft, form, 422)
    try:
        registration.check_code(draft, form.code.data)
    except codes.CodeError as error:
        form.code.errors.append(str(error))
        return _render("code", draft, form, 422)
    return _go("confirm", draft)


@bp.post("/confirm")
@limit_posts("RATELIMIT_FORM")
@_posted_at("confirm")
def register_confirm(draft):
    form = RegisterConfirmForm()
    if not form.validate():
        return _render("confirm", draft, form, 422)
    if not form.yes.data:
        registration.back_to_identity(draft)
        return _go("identity", draft)
    try:
        account = registration.confirm(draft, ip=client_ip())
    except RegistrationError as error:
        # Someone else registered the same username or ID meanwhile.
        identity_form = RegisterIdentityForm(formdata=None, data=dict(draft.data))
        getattr(identity_form, error.field or "id_number").errors = [str(error)]
        response = _render("identity", draft, identity_form, 422,
                           id_taken=error.field == "id_number")
        return response
    binding.auto_bind(account, since_year=current_app.config["ELIGIBLE_SINCE_YEAR"])
    log_in(account)
    return leave_to(url_for("register.register_done"))


@bp.get("/done")
@login_required
def register_done():
    return render_template("register/done.html")


@bp.route("/appeal", methods=["GET", "POST"])
@limit_posts("RATELIMIT_UPLOAD")
def register_appeal():
    form = AppealForm()
    if request.method == "GET":
        draft = _draft()
        if draft and draft.data:
            form = AppealForm(formdata=None, data={key: draft.data.get(key) for key in
                                                   ("real_name", "id_type", "id_number")})
        return render_component("register/appeal.html", "register/_appeal.html", form=form)
    if form.validate():
        upload = request.files.get(form.photo.name)
        try:
            appeal = registration.file_appeal(
                form.clean, upload.read() if upload else b"",
                upload_dir=current_app.config["UPLOAD_DIR"],
                max_bytes=current_app.config["APPEAL_PHOTO_MAX_BYTES"], ip=client_ip())
        except RegistrationError as error:
            form.photo.errors.append(str(error))
        else:
            return render_component("register/appeal.html", "register/_appeal.html",
                                    form=None, appeal=appeal)
    return render_component("register/appeal.html", "register/_appeal.html", 422, form=form)


@bp.route("/appeal/status", methods=["GET", "POST"])
@limit_posts("RATELIMIT_CHECK_CODE")
def register_appeal_status():
    """申诉进度: by reference number together with the ID number it names."""
    form = AppealStatusForm()
    if not form.is_submitted():
        return render_component("register/appeal_status.html", "register/_appeal_status.html",
                                form=form)
    if form.validate():
        appeal = appeals.find(form.reference.data, form.id_number.data)
        if appeal:
            return render_component("register/appeal_status.html", "register/_appeal_status.html",
                                    form=form, appeal=appeal)
        form.reference.errors = [_("没有找到与这个申诉编号和证件号码对应的申诉，请核对后重试。")]
    return render_component("register/appeal_status.html", "register/_appeal_status.html", 422,
                            form=form)
