"""系统管理 for the 管理员 only: staff accounts, settings, signing certificates and
the audit log.

The audit log is read only here: it is filtered, paged and exported, never
edited or deleted (there is no such route; tests/views/test_audit_log.py checks).
"""

from flask import Blueprint, Response, abort, current_app, flash, g, request, url_for
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from playhouse.flask_utils import get_object_or_404

from forms import (AuditFilterForm, CertificateGenerateForm, CertificateUploadForm, SettingsForm,
                   StaffCreateForm, StaffRoleForm, StaffSecondFactorResetForm)
from models import Account
from services import (accounts, audit, auditlog, binding, clock, exports, signing, staff_accounts,
                      staff_auth)
from services import settings as settings_service
from services.errors import ServiceError
from views import account_actions as actions_ui
from views import (client_ip, form_error, is_htmx, leave_to, limit_posts, render_component,
                   school_keys, school_timezone, settings, staff)

bp = Blueprint("management", __name__, url_prefix="/admin")
staff.restrict(bp, (Account.ADMIN,))

FILTER_KEYS = ("actor", "action", "person", "date_from", "date_to")
EXPORT_LIMIT = 100_000


def _english() -> bool:
    return str(get_locale()) == "en"


def _filters():
    """The filter form read from the query string, and the filters it means (None
    when a value is wrong: the form then carries the message beside the field)."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return form, None
    since, until = auditlog.day_bounds(form.first_day, form.last_day, str(get_timezone()))
    return form, auditlog.Filters(actor=form.actor.data or "", action=form.action.data or "",
                                  person=form.person.data or "", since=since, until=until)


def _query_args(**extra) -> dict:
    """The filters as typed (so links keep them), plus `extra`."""
    args = {key: request.args[key] for key in FILTER_KEYS if request.args.get(key)}
    args.update(extra)
    return args


@bp.get("/audit")
def audit_log():
    form, filters = _filters()
    try:
        number = int(request.args.get("page", 1))
    except ValueError:
        number = 1
    result = auditlog.page(filters, number) if filters is not None else None
    english = _english()
    rows = [(entry, auditlog.readable_changes(entry.changes, english))
            for entry in (result.entries if result else [])]
    return _render(form, result, rows, status=200 if filters is not None else 422)


def _render(form, result, rows, status):
    """The page, or for htmx the results only; when the filter form asked, its
    fields come along out of band, so their messages show or clear."""
    return render_component(
        "admin/audit.html", "admin/_audit_results.html", form=form, result=result, rows=rows,
        action_label=auditlog.action_label, query_args=_query_args,
        oob_filters=is_htmx() and request.headers.get("HX-Trigger") == "audit-filters",
        status=status)


@bp.get("/audit/export.<fmt>")
def audit_export(fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    form, filters = _filters()
    if filters is None:
        return _render(form, None, [], status=422)
    english = _english()
    headers = [_("时间（%(zone)s）", zone=school_timezone()), _("操作人"), _("IP 地址"), _("当事人"), _("操作"), _("操作代码"), _("内容")]
    entries = list(auditlog.search(filters).limit(EXPORT_LIMIT))
    rows = [[format_datetime(entry.at, "yyyy-MM-dd HH:mm:ss"), entry.actor, entry.ip,
             entry.account.username if entry.account_id else "",
             str(auditlog.action_label(entry.action)), entry.action,
             auditlog.detail_text(entry, english)] for entry in entries]
    audit.log("audit.exported", actor=current_user.username, ip=client_ip(),
              detail=f"{fmt} rows={len(rows)} {filters.describe()}")
    stamp = clock.stamp(school_timezone())
    if fmt == "csv":
        body, mimetype = exports.to_csv(headers, rows), "text/csv; charset=utf-8"
    else:
        body = exports.to_xlsx(headers, rows, title="audit")
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=audit-{stamp}.{fmt}"})


# --- 系统设置 ----------------------------------------------------------------------

# Form field -> setting, for the plain text fields saved as typed.
_TEXT_FIELDS = {"school_name": "SCHOOL_NAME", "school_name_en": "SCHOOL_NAME_EN",
                "school_code": "SCHOOL_CODE", "school_contact": "SCHOOL_CONTACT",
                "school_office": "SCHOOL_OFFICE", "school_phone": "SCHOOL_PHONE",
                "school_address": "SCHOOL_ADDRESS", "school_hours": "SCHOOL_HOURS",
                "timezone": "TIMEZONE", "message_signature": "MESSAGE_SIGNATURE",
                "bind_mode": "BIND_MODE"}
_NUMBER_FIELDS = {"eligible_since_year": "ELIGIBLE_SINCE_YEAR",
                  "report_max_months": "REPORT_MAX_MONTHS",
                  "closed_account_retention_days": "CLOSED_ACCOUNT_RETENTION_DAYS"}
_BOOL_FIELDS = {"international_sms": "INTERNATIONAL_SMS",
                "foreign_id_any_email": "FOREIGN_ID_ANY_EMAIL"}


def _settings_form(school: dict, submitted: bool) -> SettingsForm:
    initial = None
    if not submitted:
        initial = {field: school.get(key) or "" for field, key in _TEXT_FIELDS.items()}
        initial.update({field: str(school.get(key) or "") for field, key in _NUMBER_FIELDS.items()})
        initial["school_names"] = settings_service.school_names_text(school.get("SCHOOL_NAMES"))
        initial.update({field: bool(school.get(key)) for field, key in _BOOL_FIELDS.items()})
    form = SettingsForm(data=initial)
    form.timezone.choices = sorted(settings_service.timezones())
    form.bind_mode.choices = list(binding.MODES.items())
    return form


def _changes(form: SettingsForm) -> dict | None:
    """The settings the valid form asks for; None (errors beside the fields) otherwise."""
    changes = {key: form[field].data for field, key in _TEXT_FIELDS.items()}
    changes.update({key: int(form[field].data) for field, key in _NUMBER_FIELDS.items()})
    changes.update({key: bool(form[field].data) for field, key in _BOOL_FIELDS.items()})
    ok = True
    try:
        names = settings_service.parse_school_names(form.school_names.data,
                                                    this_year=clock.today(school_timezone()).year)
        if names[0]["name"] != changes["SCHOOL_NAME"]:
            raise settings_service.SettingError(
                _("第 1 行应是现在的校名“%(name)s”。", name=changes["SCHOOL_NAME"]),
                field="school_names")
        changes["SCHOOL_NAMES"] = names
    except ServiceError as error:
        form_error(form, error, "school_names")
        ok = False
    upload = form.logo.data
    if upload and getattr(upload, "filename", ""):
        try:
            changes["SCHOOL_LOGO"] = settings_service.check_logo(upload.read())
        except ServiceError as error:
            form_error(form, error, "logo")
            ok = False
    elif form.remove_logo.data:
        changes["SCHOOL_LOGO"] = None
    return changes if ok else None


@bp.route("/settings", methods=["GET", "POST"])
def settings_edit():
    submitted = request.method == "POST"
    form = _settings_form(settings(), submitted)
    if form.validate_on_submit():
        changes = _changes(form)
        if changes is not None:
            if changes.get("SCHOOL_LOGO"):
                changes["SCHOOL_LOGO"] = settings_service.store_logo(*changes["SCHOOL_LOGO"])
            changed = settings_service.save(changes, defaults=current_app.config,
                                            actor=current_user.username, ip=client_ip())
            g.pop("settings", None)  # this request's copy is stale now
            if changed:
                labels = "、".join(str(settings_service.DEFINITIONS[key].label) for key in changed)
                flash(_("设置已保存，立即生效：%(labels)s。", labels=labels), "info")
            else:
                flash(_("没有改动。"), "info")
            return leave_to(url_for(".settings_edit"))
    return render_component("admin/settings.html", "admin/_settings.html", form=form,
                            status=422 if submitted else 200)


# --- 签名证书 ----------------------------------------------------------------------

def _certificate_page(upload_form, generate_form, status=200):
    current = school_keys()
    return render_component(
        "admin/certificate.html", "admin/_certificate.html", status,
        current=signing.describe(current), history=signing.history(),
        upload_form=upload_form, generate_form=generate_form)


def _rotated(key_pem: bytes, cert_pem: bytes):
    row = signing.rotate(key_pem, cert_pem, current=school_keys(), actor=current_user.username,
                         ip=client_ip())
    g.pop("school_keys", None)
    flash(_("新的签名证书已启用（指纹 %(fp)s…），新签发的报告立即用它签名；以前签发的报告仍可查验。",
            fp=row.fingerprint[:16].upper()), "info")
    return leave_to(url_for(".certificate"))


@bp.route("/settings/certificate", methods=["GET", "POST"])
def certificate():
    form = CertificateUploadForm()
    if form.validate_on_submit():
        try:
            return _rotated(form.private_key.data.read(), form.certificate.data.read())
        except ServiceError as error:
            form_error(form, error, "certificate")
    return _certificate_page(form, CertificateGenerateForm(formdata=None),
                             status=422 if form.is_submitted() else 200)


@bp.post("/settings/certificate/generate")
def certificate_generate():
    form = CertificateGenerateForm()
    if form.validate_on_submit():
        school = settings()
        key_pem, cert_pem = signing.generate(school["SCHOOL_NAME"], school["SCHOOL_NAME_EN"])
        try:
            return _rotated(key_pem, cert_pem)
        except ServiceError as error:
            form_error(form, error, "confirm")
    return _certificate_page(CertificateUploadForm(formdata=None), form, status=422)


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
