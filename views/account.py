"""账户: profile, username / phone / password changes, the passport spelling of the
name, login history, appeals, 下载我的数据, 注销账号."""
from flask import (Blueprint, Response, abort, current_app, flash, redirect, session,
                   stream_with_context, url_for)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from forms import (AccountCloseForm, AccountLatinNameClearForm, AccountLatinNameForm,
                   AccountPasswordForm, AccountPhoneForm, AccountPublicChecksForm,
                   AccountUsernameForm, AppealAnswerForm, CodeCheckForm, CodeSendForm,
                   MyDataDownloadForm, MyDataStartForm)
from models import db, utcnow
from services import accounts, appeals, challenges, closing, my_data, names, public_checks
from services.codes import CodeError
from services.errors import ServiceError
from services.messaging import MessagingError
from views import (advance, client_ip, form_error, leave_to, limit_posts, log_in, postman,
                   render_component, school_timezone, settings)
from views.codes import CodeSteps, add_code_views

bp = Blueprint("account", __name__, url_prefix="/account")

PHONE_CHALLENGE = "account_phone_change"
DATA_CHALLENGE = "account_my_data"
CLOSE_CHALLENGE = "account_close"
# What the English side of reports shows for a name without a passport spelling
# (the account page here, the staff's person page).
bp.add_app_template_filter(names.pinyin_name, "pinyin_name")


@bp.before_request
@login_required
def _signed_in():
    return None


def _done(message):
    flash(message, "info")
    return leave_to(url_for(".profile"))


def _render(section, form=None, status=200, **extra):
    return render_component("account/page.html", "account/_section.html", status,
                            section=section, form=form, **extra)


@bp.get("/", strict_slashes=False)
def profile():
    return _render("profile", profile=accounts.profile(current_user))


@bp.route("/username", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def username():
    form = AccountUsernameForm()
    if form.validate_on_submit():
        try:
            accounts.change_username(current_user, form.clean["new_username"],
                                     form.current_password.data,
                                     postman=postman(), ip=client_ip())
        except ServiceError as error:
            form_error(form, error)
        else:
            return _done(_("用户名已改为 %(username)s。", username=current_user.username))
    return _render("username", form, 422 if form.is_submitted() else 200)


@bp.route("/password", methods=["GET", "POST"])
@limit_posts("RATELIMIT_LOGIN")
def password():
    form = AccountPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data,
                                     form.new_password.data,
                                     postman=postman(), ip=client_ip())
        except ServiceError as error:
            form_error(form, error)
        else:
            # Other sessions ended with the old session version; this one is renewed.
            account = current_user._get_current_object()
            log_in(account)
            return _done(_("密码已修改，其他设备上的登录已全部退出。"))
    return _render("password", form, 422 if form.is_submitted() else 200)


@bp.route("/latin-name", methods=["GET", "POST"])
@limit_posts("RATELIMIT_FORM")
def latin_name():
    """护照姓名拼写: how the English side of the person's reports spells their name."""
    form = AccountLatinNameForm()
    if form.validate_on_submit():
        try:
            stored = names.set_passport_spelling(current_user._get_current_object(),
                                                 form.latin_name.data, ip=client_ip())
        except ServiceError as error:
            form_error(form, error, "latin_name")
        else:
            return _done(_("护照姓名拼写已保存，报告英文版显示为：%(name)s。", name=stored))
    elif not form.is_submitted():
        form.latin_name.data = current_user.latin_name or ""
    return _render("latin_name", form, 422 if form.is_submitted() else 200,
                   clear_form=AccountLatinNameClearForm(formdata=None))


@bp.post("/latin-name/clear")
@limit_posts("RATELIMIT_FORM")
def latin_name_clear():
    """Back to pinyin: the passport spelling is removed."""
    form = AccountLatinNameClearForm()
    if form.validate_on_submit():
        account = current_user._get_current_object()
        names.set_passport_spelling(account, None, ip=client_ip())
        return _done(_("已清除护照姓名拼写，报告英文版显示为姓名拼音：%(name)s。",
                       name=names.shown_name(account)))
    return _render("latin_name", AccountLatinNameForm(formdata=None), 422, clear_form=form)


@bp.route("/public-checks", methods=["GET", "POST"], endpoint="public_checks")
@limit_posts("RATELIMIT_FORM")
def public_checks_page():
    """公开查询: the switch for checks of the student's diplomas by number + name
    (views.verify diploma), and the checks that found them."""
    form = AccountPublicChecksForm()
    account = current_user._get_current_object()
    if form.validate_on_submit():
        public_checks.set_allowed(account, form.allowed.data, ip=client_ip())
        flash(_("已保存：他人可以凭证书编号和姓名查询你的学历。") if account.public_checks
              else _("已保存：公开查询已关闭，查询你的学历证书只会显示“没有查到”。"), "info")
        return leave_to(url_for(".public_checks"))
    if not form.is_submitted():
        form.allowed.data = account.public_checks
    return _render("public_checks", form, 422 if form.is_submitted() else 200,
                   checks=public_checks.for_owner(account))


def _phone_challenge():
    return accounts.phone_change(session.get(PHONE_CHALLENGE), current_user)


def _render_phone_code(challenge, form=None, status=200):
    return _render("phone_code", form or CodeCheckForm(formdata=None), status,
                   code=challenges.code_step(challenge))


@bp.route("/phone", methods=["GET", "POST"])
@limit_posts("RATELIMIT_SEND_CODE")
def phone():
    form = AccountPhoneForm()
    if not form.is_submitted():
        challenge = _phone_challenge()
        if challenge:
            return _render_phone_code(challenge)
    if form.validate_on_submit():
        try:
            challenge = accounts.start_phone_change(
                current_user, form.current_password.data, form.clean["new_phone"],
                postman=postman(), ip=client_ip())
        except ServiceError as error:
            # A code that cannot go to the new number (the hourly limit) is about that number.
            form_error(form, error, "new_phone")
        except MessagingError:
            current_app.logger.exception("sending a phone-change code failed")
            form_error(form, _("校验码发送失败，请稍后再试。"), "new_phone")
        else:
            session[PHONE_CHALLENGE] = challenge.token
            flash(_("校验码已发送至新号码 %(phone)s。",
                    phone=challenges.code_step(challenge).masked_phone), "info")
            return advance(url_for(".phone"), lambda: _render_phone_code(challenge))
    return _render("phone", form, 422 if form.is_submitted() else 200)


def _phone_changed(challenge):
    shown = accounts.finish_phone_change(challenge, postman=postman(), ip=client_ip())
    session.pop(PHONE_CHALLENGE, None)
    return _done(_("手机号码已改为 %(phone)s。", phone=shown))


add_code_views(bp, CodeSteps(
    find=_phone_challenge,
    lost=lambda: redirect(url_for(".phone"), 303),
    render=lambda challenge, send_form, form, status: _render_phone_code(challenge, form, status),
    sent=lambda shown_to: _("校验码已重新发送。"),
    passed=_phone_changed,
), send_rule="/phone/send", check_rule="/phone/check", prefix="phone_code")


@bp.post("/phone/cancel")
def phone_cancel():
    session.pop(PHONE_CHALLENGE, None)
    return leave_to(url_for(".profile"))


@bp.get("/logins")
def logins():
    history = accounts.login_history(current_user)
    return _render("logins", logins=history.recent, failures=history.failures)


@bp.get("/appeals", endpoint="appeals")
def appeal_list():
    return _render("appeals", appeals=appeals.for_account(current_user),
                   answer_form=AppealAnswerForm(formdata=None))


@bp.post("/appeals/<int:appeal_id>/answer", endpoint="appeal_answer")
@limit_posts("RATELIMIT_FORM")
def answer_appeal(appeal_id):
    """The ID holder's side of an appeal against their ID number, for staff."""
    form = AppealAnswerForm()
    if form.validate_on_submit():
        try:
            answered = appeals.answer(appeal_id, current_user, form.answer.data, ip=client_ip())
        except appeals.AppealError as error:
            form_error(form, error, "answer")
        else:
            if answered is None:
                abort(404)
            flash(_("你的说明已提交，学校核实时会看到。"), "info")
            return leave_to(url_for(".appeals"))
    elif not any(a.id == appeal_id for a in appeals.for_account(current_user)):
        abort(404)
    return _render("appeals", status=422, appeals=appeals.for_account(current_user),
                   answer_form=form, answering=appeal_id)


# --- 下载我的数据: 获取校验码 → 校验码 → download (services.my_data) -------------------------

def _data_challenge():
    return my_data.find(session.get(DATA_CHALLENGE), current_user)


def _render_data(challenge=None, form=None, status=200, send_form=None, problem=None):
    """The step the export stands at: the start, the code, or the download button."""
    if challenge is None:
        return _render("my_data", form or MyDataStartForm(formdata=None), status, problem=problem)
    if my_data.ready(challenge):
        return _render("my_data_download", MyDataDownloadForm(formdata=None), status,
                       available_until=challenge.created_at + challenges.MY_DATA.lifetime)
    return _render("my_data_code", form or CodeCheckForm(formdata=None), status,
                   send_form=send_form or CodeSendForm(formdata=None),
                   code=challenges.code_step(challenge, postman=postman()))


@bp.get("/data")
def my_data_page():
    return _render_data(_data_challenge())


@bp.post("/data")
@limit_posts("RATELIMIT_SEND_CODE")
def my_data_start():
    form = MyDataStartForm()
    if not form.validate_on_submit():
        return _render_data(None, form, 422)
    try:
        challenge, shown_to = my_data.start(current_user._get_current_object(),
                                            postman=postman(), ip=client_ip())
    except CodeError as error:
        # Over the hourly limit: come back later, not in a minute.
        return _render_data(None, form, 429 if error.retry_after > 60 else 422, problem=str(error))
    except ServiceError as error:
        return _render_data(None, form, 422, problem=str(error))
    except MessagingError:
        current_app.logger.exception("sending a my-data code failed")
        return _render_data(None, form, 503, problem=_("校验码发送失败，请稍后再试。"))
    session[DATA_CHALLENGE] = challenge.token
    flash(_("校验码已发送至 %(to)s。", to=shown_to), "info")
    return advance(url_for(".my_data_page"), lambda: _render_data(challenge))


def _data_lost():
    session.pop(DATA_CHALLENGE, None)
    flash(_("校验已失效或已用于下载，请重新获取校验码。"), "warning")
    return leave_to(url_for(".my_data_page"))


add_code_views(bp, CodeSteps(
    find=_data_challenge,
    lost=_data_lost,
    render=lambda challenge, send_form, form, status: _render_data(challenge, form, status, send_form),
    sent=lambda shown_to: _("校验码已发送至 %(to)s。", to=shown_to),
    passed=lambda challenge: advance(url_for(".my_data_page"), lambda: _render_data(challenge)),
), send_rule="/data/send", check_rule="/data/check", prefix="data_code")


@bp.post("/data/cancel")
def my_data_cancel():
    session.pop(DATA_CHALLENGE, None)
    return leave_to(url_for(".my_data_page"))


@bp.post("/data/download")
@limit_posts("RATELIMIT_FORM")
def my_data_download():
    """The ZIP, once per right code, written while it is sent (never whole in memory)."""
    form = MyDataDownloadForm()
    challenge = _data_challenge()
    if not (form.validate_on_submit() and my_data.claim(challenge, ip=client_ip())):
        return _data_lost()
    session.pop(DATA_CHALLENGE, None)
    tz, now = school_timezone(), utcnow()
    files = my_data.entries(current_user._get_current_object(), tz=tz, now=now,
                            school=settings()["SCHOOL_NAME"])
    response = Response(_from_database(my_data.zip_stream(files, tz=tz, now=now)),
                        mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{my_data.file_name(tz, now)}"')
    return response


@stream_with_context
def _from_database(chunks):
    """A body read from the database while it is sent. The request's connection went
    back to the pool when the view returned (app._db_close), so the body holds one of
    its own while it runs and gives it back at the end, or when the client goes away."""
    with db.connection_context():
        yield from chunks


# --- 注销账号 (services.closing) --------------------------------------------------

def _close_challenge():
    return closing.find(session.get(CLOSE_CHALLENGE), current_user)


def _render_close_code(challenge, send_form=None, form=None, status=200):
    return _render("close_code", form or CodeCheckForm(formdata=None), status,
                   code=challenges.code_step(challenge, postman=postman()),
                   channel=challenge.payload.get("channel", challenges.SMS),
                   sent_to=closing.sent_to(challenge), send_form=send_form)


def _students_only():
    # Staff accounts are the school's: a 管理员 ends them (staff pages), not their holder.
    if current_user.is_staff:
        abort(404)


@bp.route("/close", methods=["GET", "POST"])
@limit_posts("RATELIMIT_SEND_CODE")
def close():
    """The consequences, then the password: a 校验码 goes to the bound phone (or e-mail)."""
    _students_only()
    form = AccountCloseForm()
    if not form.is_submitted():
        challenge = _close_challenge()
        if challenge:
            return _render_close_code(challenge)
    if form.validate_on_submit():
        try:
            challenge, shown_to = closing.start(current_user._get_current_object(),
                                                form.current_password.data,
                                                postman=postman(), ip=client_ip())
        except ServiceError as error:
            form_error(form, error, "current_password")
        except MessagingError:
            current_app.logger.exception("sending a closing code failed")
            form_error(form, _("校验码发送失败，请稍后再试。"), "current_password")
        else:
            session[CLOSE_CHALLENGE] = challenge.token
            flash(_("校验码已发送至 %(to)s。", to=shown_to), "info")
            return advance(url_for(".close"), lambda: _render_close_code(challenge))
    return _render("close", form, 422 if form.is_submitted() else 200,
                   retention_days=settings()["CLOSED_ACCOUNT_RETENTION_DAYS"])


def _account_closed(challenge):
    try:
        done = closing.close(challenge, retention_days=settings()["CLOSED_ACCOUNT_RETENTION_DAYS"],
                             postman=postman(), ip=client_ip())
    except ServiceError as error:
        form = CodeCheckForm(formdata=None)
        form_error(form, error, "code")
        return _render_close_code(challenge, form=form, status=422)
    # As at 退出: nothing of this session is kept (every session ended with the close).
    session.clear()
    logout_user()
    flash(_("账号已注销，在线验证报告已全部关闭，你的记录仍由学校保存。"
            "账号中的个人信息将于 %(date)s 之后删除；可以用同一证件号码重新注册。",
            date=format_datetime(done.erase_after, "yyyy-MM-dd")), "info")
    return leave_to(url_for("auth.login"))


add_code_views(bp, CodeSteps(
    find=_close_challenge,
    lost=lambda: redirect(url_for(".close"), 303),
    render=_render_close_code,
    sent=lambda shown_to: _("校验码已重新发送至 %(to)s。", to=shown_to),
    passed=_account_closed,
), send_rule="/close/send", check_rule="/close/check", prefix="close_code")


@bp.post("/close/cancel")
def close_cancel():
    session.pop(CLOSE_CHALLENGE, None)
    return leave_to(url_for(".profile"))
