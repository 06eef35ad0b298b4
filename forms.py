"""One FlaskForm per screen or wizard step.

Field rules live in services.identity; the forms call them and keep the
normalised values in `form.clean` for the views.
"""
import datetime
import re

from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import (BooleanField, HiddenField, PasswordField, RadioField, SelectField,
                     StringField, SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from services import auditlog, clock, columns, identity, phone_regions, reports, staff_accounts
from services.columns import Kind

# The English names are the catalogue's 证件类型 table (identity.id_type_english).
ID_TYPE_CHOICES = [SelectChoice(id_type, lazy_pgettext("证件类型", id_type))
                   for id_type in identity.ID_TYPES]
CHANNEL_CHOICES = [SelectChoice("sms", _l("手机短信")), SelectChoice("email", _l("邮箱"))]
NEW_PASSWORD_HINT = _l("至少 8 位，须包含字母和数字，不能包含用户名或证件号码。")
PASSWORDS_DIFFER = _l("两次输入的密码不一致。")


class PortalForm(FlaskForm):
    """Flask-WTF mixes uploaded files into the form data: a file sent where text is
    expected is treated as empty, so the field's own message explains it."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            # DOM ids are kebab-case across the site; field names stay as services know them.
            options.setdefault("id", (options.get("prefix", "") + options["name"]).replace("_", "-"))
            return super().bind_field(form, unbound_field, options)

    def process(self, *args, **kwargs):
        super().process(*args, **kwargs)
        for field in self:
            if isinstance(field.data, FileStorage) and not isinstance(field, FileField):
                field.data = ""
                field.raw_data = [""]


class CleanForm(PortalForm):
    """A form whose validators store normalised values in `self.clean`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.clean = {}

    def _normalise(self, field, rule, *args):
        try:
            self.clean[field.name] = rule(field.data or "", *args)
        except identity.IdentityError as error:
            raise ValidationError(str(error)) from None


def phone_region_field():
    """国家或地区 beside a phone number (services.phone_regions); the choices are set
    per request, in the reader's language, by `PhoneRegionMixin`."""
    return SelectField(_l("国家或地区"), default=phone_regions.DEFAULT,
                       description=_l("手机号码所属的国家或地区；号码以 + 或 00 开头时以号码中的国家代码为准。"),
                       invalid_choice_message=_l("请选择国家或地区。"))


class PhoneRegionMixin:
    """Fills every 国家或地区 select (a field named `…region`) with its choices."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        language = str(get_locale() or "zh")
        for field in self:
            if field.name.endswith("region") and isinstance(field, SelectField):
                field.choices = phone_regions.choices(language)


def id_type_field():
    return SelectField(_l("证件类型"), choices=ID_TYPE_CHOICES, default=identity.RESIDENT_ID,
                       invalid_choice_message=_l("请选择证件类型。"),
                       description=_l("“其他”用于以上都不是的证件。"))


class IdTypeMixin:
    """Keeps the ID type (its field's choices check it) in `clean` with the other values."""

    def validate_id_type(self, field):
        self.clean[field.name] = field.data


class RegisterNoticeForm(PortalForm):
    consent = BooleanField(_l("我已阅读并同意以上须知"),
                           validators=[InputRequired(_l("请先阅读须知并勾选同意。"))])


class RegisterIdentityForm(PhoneRegionMixin, IdTypeMixin, CleanForm):
    username = StringField(_l("用户名"), description=_l("用电子邮箱地址作用户名，登录和找回账号时使用。"))
    real_name = StringField(_l("姓名"), description=_l("与证件上的姓名一致，生僻字请照实输入。"))
    id_type = id_type_field()
    id_number = StringField(_l("证件号码"), description=_l("15 位旧号码会自动转换为 18 位。"))
    phone_region = phone_region_field()
    phone = StringField(_l("手机号码"), description=_l("用于接收校验码，找回密码时也会用到。"))
    password = PasswordField(_l("密码"), description=NEW_PASSWORD_HINT)
    password_confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", PASSWORDS_DIFFER)])

    def validate_username(self, field):
        self._normalise(field, identity.normalize_email)

    def validate_real_name(self, field):
        self._normalise(field, identity.normalize_name)

    def validate_id_number(self, field):
        self._normalise(field, identity.normalize_id_number, self.id_type.data)

    def validate_phone(self, field):
        self._normalise(field, identity.normalize_phone, self.phone_region.data)

    def validate_password(self, field):
        problem = identity.password_problem(
            field.data or "", username=self.clean.get("username", self.username.data or ""),
            id_number=self.clean.get("id_number", ""))
        if problem:
            raise ValidationError(str(problem))


class RegisterConfirmForm(PortalForm):
    yes = SubmitField(_l("是，信息无误"))
    no = SubmitField(_l("否，返回修改"))


class AppealForm(PhoneRegionMixin, IdTypeMixin, CleanForm):
    real_name = StringField(_l("姓名"))
    id_type = id_type_field()
    id_number = StringField(_l("证件号码"))
    contact_email = StringField(_l("联系邮箱"), description=_l("处理结果会发送到这个邮箱。"))
    contact_phone_region = phone_region_field()
    contact_phone = StringField(_l("手机号码"),
                                description=_l("可以不填。填写后，申诉编号和处理结果也会用短信发给你。"))
    photo = FileField(_l("手持证件照片"),
                      description=_l("本人手持证件的照片，能看清面部和证件号码；JPG 或 PNG，不超过 2 MB。"))

    def validate_real_name(self, field):
        self._normalise(field, identity.normalize_name)

    def validate_id_number(self, field):
        self._normalise(field, identity.normalize_id_number, self.id_type.data)

    def validate_contact_email(self, field):
        self._normalise(field, identity.normalize_email)

    def validate_contact_phone(self, field):
        """Optional: empty stays None; anything typed must be a phone number."""
        if (field.data or "").strip():
            self._normalise(field, identity.normalize_phone, self.contact_phone_region.data)
        else:
            self.clean[field.name] = None


class LoginForm(PortalForm):
    login = StringField(_l("用户名"), description=_l("也可以填写手机号码或证件号码。"),
                        validators=[DataRequired(_l("请填写用户名、手机号码或证件号码。"))])
    password = PasswordField(_l("密码"), validators=[InputRequired(_l("请填写密码。"))])
    remember = BooleanField(_l("在这台设备上保持登录"))


class CodeSendForm(PortalForm):
    """获取校验码, in every flow that sends one (the page shows it inside the code form)."""

    channel = RadioField(_l("获取方式"), choices=CHANNEL_CHOICES, default="sms",
                         invalid_choice_message=_l("请选择获取校验码的方式。"))


class CodeCheckForm(PortalForm):
    """校验码, in every flow that checks one."""

    code = StringField(_l("校验码"), description=_l("6 位数字，10 分钟内有效。"),
                       validators=[DataRequired(_l("请填写校验码。"))])


class RecoverUsernameForm(IdTypeMixin, CleanForm):
    real_name = StringField(_l("姓名"))
    id_type = id_type_field()
    id_number = StringField(_l("证件号码"))

    def validate_real_name(self, field):
        self._normalise(field, identity.normalize_name)

    def validate_id_number(self, field):
        self._normalise(field, identity.normalize_id_number, self.id_type.data)


class RecoverPasswordForm(PhoneRegionMixin, PortalForm):
    login = StringField(_l("用户名"), description=_l("也可以填写手机号码或证件号码。"),
                        validators=[DataRequired(_l("请填写用户名、手机号码或证件号码。"))])
    login_region = phone_region_field()


class NewPasswordForm(PortalForm):
    password = PasswordField(_l("新密码"), description=NEW_PASSWORD_HINT)
    password_confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", PASSWORDS_DIFFER)])


class AccountUsernameForm(CleanForm):
    new_username = StringField(_l("新用户名"), description=_l("电子邮箱地址。"))
    current_password = PasswordField(_l("当前密码"))

    def validate_new_username(self, field):
        self._normalise(field, identity.normalize_email)


class AccountPhoneForm(PhoneRegionMixin, CleanForm):
    new_phone_region = phone_region_field()
    new_phone = StringField(_l("新手机号码"), description=_l("校验码会发送到新号码。"))
    current_password = PasswordField(_l("当前密码"))

    def validate_new_phone(self, field):
        self._normalise(field, identity.normalize_phone, self.new_phone_region.data)


class AccountPasswordForm(PortalForm):
    current_password = PasswordField(_l("当前密码"))
    new_password = PasswordField(_l("新密码"), description=NEW_PASSWORD_HINT)
    password_confirm = PasswordField(_l("确认新密码"),
                                     validators=[EqualTo("new_password", PASSWORDS_DIFFER)])


class AccountCloseForm(PortalForm):
    """注销账号, first step: the password; a 校验码 follows (services.closing)."""

    current_password = PasswordField(_l("当前密码"))


class AppealStatusForm(PortalForm):
    reference = StringField(_l("申诉编号"), description=_l("提交申诉时页面上显示的编号，如 SS20261128-ABC234。"),
                            validators=[DataRequired(_l("请填写申诉编号。"))])
    id_number = StringField(_l("证件号码"), validators=[DataRequired(_l("请填写证件号码。"))])


class RecordBindForm(PortalForm):
    kind = RadioField(_l("记录类别"), choices=[SelectChoice("diploma", _l("学历")),
                                              SelectChoice("degree", _l("学位"))],
                      default="diploma", invalid_choice_message=_l("请选择记录类别。"))
    certificate_number = StringField(_l("证书编号"),
                                     description=_l("2001 年以前的证书可能有学校编号和印刷序列号两个编号，可任填其一，“NO.”和前面的 0 可省略。"))
    year = StringField(_l("毕业年份"), description=_l("学位请填获学位年份，如 1998。"))
    # Choices are the school's names over the years, set by the view from config.
    school = SelectField(_l("毕业学校"), invalid_choice_message=_l("请从列表中选择学校名称。"))

    def validate_certificate_number(self, field):
        try:
            identity.certificate_key(field.data or "")
        except identity.IdentityError as error:
            raise ValidationError(str(error)) from None

    def validate_year(self, field):
        text = identity.fold(field.data or "")
        if not (text.isdigit() and len(text) == 4):
            raise ValidationError(_l("请填写 4 位数字的年份，如 1998。"))
        field.data = text


class NumberCheckForm(PortalForm):
    """验证学号或证书编号 (BIND_MODE "number"): one number of the student's own records."""
    number = StringField(_l("学号或证书编号"),
                         description=_l("填写你的任意一条记录上的学号、学历证书编号或学位证书编号。"),
                         validators=[DataRequired(_l("请填写学号或证书编号。")),
                                     Length(max=64, message=_l("最多 64 个字。"))])


class ConfirmationRequestForm(PortalForm):
    """Ask the registrar to confirm the waiting records (BIND_MODE "approval")."""


class CorrectionForm(PortalForm):
    # Choices are the record's fields without a pending request, set by the view.
    field = SelectField(_l("有误的项目"), invalid_choice_message=_l("请选择有误的项目。"))
    proposed_value = StringField(_l("正确的内容"))
    reason = TextAreaField(_l("理由"), description=_l("例如：与毕业证书原件不一致。最多 500 字。"))
    evidence = FileField(_l("证明材料（可选）"), description=_l("JPG、PNG 或 PDF，不超过 2 MB。"))


def value_field(column, label, description=None):
    """The input for a value of one record column (services.columns.Column): a select
    of the column's own choices, otherwise text (the templates' `value_field` macro
    makes dates a date input). The service checks the value with the column's rule
    and puts its message beside the field, so the select does not check it here."""
    if column is not None and column.type == "choice":
        return SelectField(label, description=description, validate_choice=False,
                           choices=[SelectChoice("", _l("请选择"))]
                           + [SelectChoice(choice, choice) for choice in column.choices])
    return StringField(label, description=description)


def correction_form(column, description=None):
    """CorrectionForm whose 正确的内容 fits the chosen column."""
    class TypedCorrectionForm(CorrectionForm):
        pass
    TypedCorrectionForm.proposed_value = value_field(column, _l("正确的内容"), description)
    return TypedCorrectionForm


class ReportIssueForm(PortalForm):
    # The allowed range comes from config; services.reports checks it and says so.
    months = RadioField(_l("有效期"), validate_choice=False, default="3")
    # Unticked (the default): the report shows the ID number masked (Report.full_id).
    full_id = BooleanField(_l("在报告上显示完整的证件号码"),
                           description=_l("不勾选时，报告只显示证件号码的前 4 位和后 4 位，"
                                          "如 4201**********452X；查验单位可以输入他们掌握的号码，"
                                          "核对是否一致。"))
    alert_checks = BooleanField(_l("查验提醒"), description=_l(
        "有人查验这份报告时发短信告诉我（短信收不到时改发电子邮件），每小时最多一条。"))


class ReportAlertsForm(PortalForm):
    """查验提醒 on or off: the page writes which into the form, so sending it twice
    (a double click, a second tab) does the same thing twice, never the opposite."""

    alert_checks = HiddenField()

    def validate_alert_checks(self, field):
        if field.data not in ("on", "off"):
            raise ValidationError(_l("请用页面上的按钮开启或关闭查验提醒。"))


class ReportExtendForm(PortalForm):
    months = SelectField(_l("延长至（自今天起）"), validate_choice=False, default="3")


class ReportCloseForm(PortalForm):
    """确认关闭: only a post that carries the confirmation closes a report."""

    confirm = HiddenField()  # the page writes value="yes"; no default, so a bare POST lacks it

    def validate_confirm(self, field):
        if field.data != "yes":
            raise ValidationError(_l("关闭报告需要确认：请看清下面的说明，再按“确认关闭”。"))


class VerifyForm(PortalForm):
    code = StringField(_l("在线验证码"), description=_l("报告上的 16 位验证码，字母不分大小写，可以带空格或连字符。"),
                       validators=[DataRequired(_l("请填写在线验证码。"))])
    organisation = StringField(_l("单位名称（可选）"), description=_l("报告的主人能在查验记录中看到你的单位和用途。"),
                               validators=[Length(max=100, message=_l("最多 100 个字。"))])
    purpose = StringField(_l("用途（可选）"), validators=[Length(max=100, message=_l("最多 100 个字。"))])

    def validate_code(self, field):
        if reports.normalize_code(field.data) is None:
            raise ValidationError(_l("这不是有效的在线验证码格式：验证码由 16 位字母和数字组成。"))


class VerifyBatchForm(PortalForm):
    """批量查验: codes pasted and/or a CSV/XLSX with a column of codes (services.verify_batch)."""
    codes = TextAreaField(_l("在线验证码（每行一个，最多 100 个）"),
                          description=_l("可以用换行、逗号、顿号或空格分隔；字母不分大小写，验证码中可以带空格或连字符。"))
    file = FileField(_l("或上传 CSV / XLSX 文件"),
                     description=_l("验证码放在一列中：表头为“验证码”的列，没有这样的表头时用第一列。"))
    organisation = StringField(_l("单位名称"), description=_l("报告的主人能在查验记录中看到你的单位和用途。"),
                               validators=[DataRequired(_l("请填写单位名称。")),
                                           Length(max=100, message=_l("最多 100 个字。"))])
    purpose = StringField(_l("用途"), validators=[DataRequired(_l("请填写查验用途。")),
                                                 Length(max=100, message=_l("最多 100 个字。"))])


class VerifyMatchForm(PortalForm):
    """核对证件号码 on a valid report; services.id_match normalises and checks it."""

    id_number = StringField(_l("证件号码"),
                            description=_l("输入你掌握的报告主人的证件号码，系统只回答一致或不一致。"),
                            validators=[DataRequired(_l("请填写证件号码。"))])


NO_PDF = _l("请选择要查验的 PDF 文件。")


class VerifyPdfForm(PortalForm):
    pdf = FileField(_l("报告 PDF 文件"), description=_l("本校签发的在线验证报告 PDF，不超过 2 MB。"),
                    validators=[FileRequired(NO_PDF)])

    def validate_pdf(self, field):
        # An empty file is no report either.
        if not field.data.read(1):
            raise ValidationError(NO_PDF)
        field.data.seek(0)


class DiplomaCheckForm(CleanForm):
    """公开查询: a diploma by its number and the graduate's name (services.public_checks)."""
    number = StringField(_l("证书编号"),
                         description=_l("学历证书上的证书编号；2001 年以前的证书也可以填学校编号。可带“NO.”，前面的 0 可省略。"),
                         validators=[DataRequired(_l("请填写证书编号。")),
                                     Length(max=40, message=_l("证书编号最多 40 个字符。"))])
    name = StringField(_l("姓名"), description=_l("证书上的姓名。"),
                       validators=[DataRequired(_l("请填写持证人姓名。"))])

    def validate_number(self, field):
        if not field.errors:   # one message beside the field: too long says enough
            self._normalise(field, identity.certificate_key)

    def validate_name(self, field):
        self._normalise(field, identity.normalize_name)


class AccountPublicChecksForm(PortalForm):
    """公开查询 on or off for the account's diplomas."""
    allowed = BooleanField(_l("允许他人凭证书编号和我的姓名查询我的学历"),
                           description=_l("关闭后，任何人查询你的学历证书都只会看到“没有查到”。"))


class AdminDecisionForm(PortalForm):
    decision = RadioField(_l("决定"), choices=[SelectChoice("approve", _l("采纳 / 通过")),
                                              SelectChoice("reject", _l("不采纳 / 不通过"))],
                          invalid_choice_message=_l("请选择采纳还是不采纳。"))
    reply = TextAreaField(_l("答复"), description=_l("不采纳或不通过时必须写明理由；学生会看到这段话。"))


def admin_correction_form(column):
    """The registrar's decision on a correction request, with the value to adopt
    in the column's own input (an amended value, or the student's as typed)."""
    class AdminCorrectionForm(AdminDecisionForm):
        pass
    AdminCorrectionForm.value = value_field(
        column, _l("采纳的内容"),
        _l("默认是学生填写的内容；需要改正时（例如改为规范的选项）在这里修改，再选“采纳”。"))
    return AdminCorrectionForm


class AdminImportForm(PortalForm):
    # Choices are the record kinds, set by the view.
    kind = SelectField(_l("记录类别"), invalid_choice_message=_l("请选择记录类别。"))
    table = FileField(_l("数据文件"), description=_l("CSV（UTF-8 或 GB18030）或 XLSX，第一行为中文列名。"),
                      validators=[FileRequired(_l("请选择数据文件。"))])
    photos = FileField(_l("照片压缩包（可选）"), description=_l("ZIP，照片以学号或证书编号命名。"))


class ImportBatchForm(PortalForm):
    """导入 or 取消 for an import batch: the batch is in the URL, the form carries CSRF."""


class SecondFactorForm(PortalForm):
    """动态验证码: the registrar's second factor at login."""

    code = StringField(_l("动态验证码"),
                       description=_l("身份验证器应用上显示的 6 位数字；手机不在身边时，可以填写一个恢复码。"))


class SecondFactorEnrolForm(PortalForm):
    code = StringField(_l("动态验证码"),
                       description=_l("添加后，填写身份验证器应用上现在显示的 6 位数字。"))


class AppealAnswerForm(PortalForm):
    answer = TextAreaField(_l("你的说明"),
                           description=_l("例如：这个证件号码是我本人的，可以提供证件原件。最多 500 字。"))

    def validate_answer(self, field):
        text = (field.data or "").strip()
        if not text:
            raise ValidationError(_l("请填写你的说明。"))
        if len(text) > 500:
            raise ValidationError(_l("最多 500 字。"))
        field.data = text


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class AuditFilterForm(PortalForm):
    """审计日志's filters: a GET form (no CSRF token: it changes nothing), read from
    the query string. Dates are days in the school's time zone."""

    class Meta:
        csrf = False

    actor = StringField(_l("操作人"), filters=[_strip],
                        validators=[Length(max=254, message=_l("最多 254 个字符。"))])
    action = SelectField(_l("操作"), default="", invalid_choice_message=_l("请从列表中选择操作。"))
    person = StringField(_l("当事人（用户名）"), filters=[_strip],
                         validators=[Length(max=254, message=_l("最多 254 个字符。"))])
    date_from = StringField(_l("起始日期"), filters=[_strip])
    date_to = StringField(_l("截止日期"), filters=[_strip])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [SelectChoice("", _l("全部操作")),
                               *(SelectChoice(code, label) for code, label in auditlog.action_choices())]
        self.first_day = self.last_day = None

    @staticmethod
    def _day(field):
        if not field.data:
            return None
        try:
            return datetime.date.fromisoformat(field.data)
        except ValueError:
            raise ValidationError(_l("请按 年-月-日 填写日期，例如 2026-01-31。")) from None

    def validate_date_from(self, field):
        self.first_day = self._day(field)

    def validate_date_to(self, field):
        self.last_day = self._day(field)
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValidationError(_l("截止日期不能早于起始日期。"))


# --- 学籍管理员: one record by hand ----------------------------------------------

REQUIRED_HINT = _l("必填。")


class RecordForm(PortalForm):
    """Create or edit one record; `record_form` adds a field per column of the kind.
    The values are checked by services.keeping (the import's rules), not here."""

    # The values the form showed, as JSON: an edit writes only what differs from them.
    original = HiddenField()

    def values(self) -> dict:
        return {name: field.data for name, field in self._fields.items()
                if name not in ("original", "photo", "csrf_token")}


def record_form(kind: Kind, labels: dict, photo_label: str | None, current: dict, **options):
    """A RecordForm for `kind`: choice columns are selects, dates are date inputs, the
    rest text; `labels` maps each column to its label in the reader's language and
    `current` holds the values shown, so a stored value outside the list stays selectable."""
    class Form(RecordForm):
        pass

    for column in kind.columns:
        hint = REQUIRED_HINT if column.required else None
        if column.type == "choice":
            choices = [SelectChoice("", "—")] + [SelectChoice(choice, choice) for choice in column.choices]
            value = current.get(column.attr)
            if value and value not in column.choices:
                choices.append(SelectChoice(value, value))
            field = SelectField(labels[column.attr], choices=choices, validate_choice=False,
                                description=hint)
        elif column.type == "date":
            field = StringField(labels[column.attr], description=hint, render_kw={"type": "date"})
        else:
            field = StringField(labels[column.attr], description=hint)
        setattr(Form, column.attr, field)
    if photo_label:
        Form.photo = FileField(photo_label, description=_l(
            "JPG 或 PNG，不超过 2 MB；会裁成 3:4，存为 120×160 像素。不换照片就留空。"))
    return Form(**options)


class RecordWithdrawForm(PortalForm):
    withdraw_reason = TextAreaField(_l("撤销理由"),
                                    description=_l("绑定的学生会在短信里看到这段理由。最多 500 字。"))


class RecordRestoreForm(PortalForm):
    pass


class RecordAssignForm(PortalForm):
    """Bind a record by hand to a student account."""

    bind_username = StringField(_l("学生账号的用户名"))
    bind_reason = TextAreaField(_l("绑定理由"), description=_l("记入审计日志。最多 500 字。"))


class RecordUnbindForm(PortalForm):
    unbind_reason = TextAreaField(_l("解除绑定的理由"), description=_l("记入审计日志。最多 500 字。"))


# --- 系统设置 (管理员) -------------------------------------------------------------

_PHONE = re.compile(r"^[0-9+\-()（） ]{5,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _required_text(label, max_length):
    def check(form, field):
        field.data = (field.data or "").strip()
        if not field.data:
            raise ValidationError(_l("请填写%(label)s。", label=label))
        if len(field.data) > max_length:
            raise ValidationError(_l("最多 %(n)s 个字。", n=max_length))
    return check


def _optional_text(max_length):
    def check(form, field):
        field.data = (field.data or "").strip()
        if len(field.data) > max_length:
            raise ValidationError(_l("最多 %(n)s 个字。", n=max_length))
    return check


class SettingsForm(PortalForm):
    """The school's settings (services.settings); the view fills the time zone choices."""

    school_name = StringField(_l("学校名称（中文）"), validators=[_required_text(_l("学校名称"), 64)])
    school_name_en = StringField(_l("学校英文名称"),
                                 validators=[_required_text(_l("学校英文名称"), 128)])
    school_names = TextAreaField(
        _l("校名沿革"), render_kw={"rows": 4},
        description=_l("每行一个校名：校名, 起始年份, 结束年份。第一行是现在的校名，不填结束年份。"
                       "绑定以前的学历证书时，学生可以选这些校名。"))
    school_code = StringField(_l("学校代码"), description=_l("5 位数字。"))
    logo = FileField(_l("学校标志"), description=_l("PNG 或 SVG（只含图形，不含脚本和外部链接），不超过 100 KB；"
                                                "显示在网页顶部和报告 PDF 上。不选文件则保留现在的标志。"))
    remove_logo = BooleanField(_l("不再显示标志"))
    school_contact = StringField(_l("联系邮箱"))
    school_office = StringField(_l("负责部门"), validators=[_optional_text(64)])
    school_phone = StringField(_l("联系电话"), description=_l("可以不填。例如 010-12345678。"))
    school_address = StringField(_l("办公地址"), validators=[_optional_text(128)])
    school_hours = StringField(_l("办公时间"), validators=[_optional_text(128)],
                               description=_l("例如：工作日 8:30–11:30，14:00–17:00。"))
    eligible_since_year = StringField(_l("可查询的最早毕业年份"),
                                      description=_l("更早毕业的学历记录不在本网站提供。"))
    report_max_months = StringField(_l("报告最长有效期（月）"), description=_l("1 到 12。"))
    closed_account_retention_days = StringField(
        _l("注销账号的个人信息保留天数"),
        description=_l("学生注销账号后，姓名、手机号码、登录记录和报告文件再保留这么多天，然后删除。1 到 3650。"))
    bind_mode = SelectField(_l("记录绑定方式"), invalid_choice_message=_l("请从列表中选择绑定方式。"),
                            description=_l("学生注册或登录后，姓名和证件号码相符的记录怎样绑定到账号。"))
    timezone = SelectField(_l("时区"), invalid_choice_message=_l("请从列表中选择时区。"),
                           description=_l("网页和报告 PDF 上的日期、时间都按这个时区显示。"))
    message_signature = StringField(
        _l("短信和邮件签名"),
        description=_l("每条短信和邮件开头【】里的文字，应与短信服务商备案的签名一致；不填则用学校名称。"))
    international_sms = BooleanField(
        _l("向境外手机号码发送短信"),
        description=_l("短信服务商只能发往中国大陆（+86）号码时取消勾选：境外号码改用邮箱接收校验码，"
                       "通知发到用作用户名的邮箱。"))
    foreign_id_any_email = BooleanField(
        _l("持其他证件者可用任意邮箱接收校验码"),
        description=_l("勾选后，证件类型不是居民身份证的人注册和找回密码时，校验码可以发到任意邮箱，"
                       "不限于 edu.cn 邮箱。"))

    def validate_school_code(self, field):
        field.data = (field.data or "").strip()
        if not re.fullmatch(r"\d{5}", field.data):
            raise ValidationError(_l("学校代码是 5 位数字。"))

    def validate_school_contact(self, field):
        field.data = (field.data or "").strip()
        if not _EMAIL.match(field.data) or len(field.data) > 254:
            raise ValidationError(_l("请填写有效的邮箱地址，例如 registrar@example.edu.cn。"))

    def validate_school_phone(self, field):
        field.data = (field.data or "").strip()
        if field.data and not _PHONE.match(field.data):
            raise ValidationError(_l("电话号码只能有数字、空格、+、- 和括号，5 到 32 个字符。"))

    def validate_eligible_since_year(self, field):
        this_year = clock.today(str(get_timezone())).year  # the school's year
        text = (field.data or "").strip()
        if not re.fullmatch(r"\d{4}", text) or not 1949 <= int(text) <= this_year:
            raise ValidationError(_l("请填写 1949 到 %(year)s 之间的年份。", year=this_year))
        field.data = text

    def validate_report_max_months(self, field):
        text = (field.data or "").strip()
        if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= 12:
            raise ValidationError(_l("请填写 1 到 12 之间的整数。"))
        field.data = text

    def validate_closed_account_retention_days(self, field):
        text = (field.data or "").strip()
        if not re.fullmatch(r"\d{1,4}", text) or not 1 <= int(text) <= 3650:
            raise ValidationError(_l("请填写 1 到 3650 之间的整数。"))
        field.data = text

    def validate_message_signature(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) > 16:
            raise ValidationError(_l("最多 16 个字。"))
        if any(char in field.data for char in "【】[]\r\n"):
            raise ValidationError(_l("不用填写【】，只填写里面的文字。"))


class CertificateUploadForm(PortalForm):
    certificate = FileField(_l("证书（PEM）"), validators=[FileRequired(_l("请选择证书文件。"))],
                            description=_l("以 -----BEGIN CERTIFICATE----- 开头的 .crt 或 .pem 文件。"))
    private_key = FileField(_l("私钥（PEM，未加密）"), validators=[FileRequired(_l("请选择私钥文件。"))],
                            description=_l("与这张证书对应的私钥，以 -----BEGIN PRIVATE KEY----- 开头。"))


class CertificateGenerateForm(PortalForm):
    confirm = BooleanField(_l("我确认：从现在起用新生成的自签名证书签发报告"),
                           validators=[DataRequired(_l("请先勾选确认。"))])
# --- the school acts on accounts (学籍管理员: students; 管理员: staff) ---------------

STAFF_ROLE_CHOICES = [SelectChoice("admin", _l("管理员")), SelectChoice("registrar", _l("学籍管理员")),
                      SelectChoice("viewer", _l("查询员"))]
CHOOSE_ROLE = _l("请选择角色。")


def confirm_field(label):
    """A checkbox that must be ticked: the confirmation of an action on an account."""
    return BooleanField(label, validators=[InputRequired(_l("请先勾选确认。"))])


class StaffCreateForm(PortalForm):
    username = StringField(_l("用户名"),
                           description=_l("3–64 位小写字母、数字或 . _ @ -，登录时使用。"))
    role = SelectField(_l("角色"), choices=STAFF_ROLE_CHOICES, invalid_choice_message=CHOOSE_ROLE)
    password = PasswordField(_l("初始密码"), description=_l(
        "至少 8 位，须包含字母和数字，不能包含用户名。请当面告诉本人；首次登录时需要设置动态验证码。"))

    # Every field checked at once (the service checks again when it creates).
    def validate_username(self, field):
        try:
            field.data = staff_accounts.normalize_username(field.data)
        except staff_accounts.StaffError as error:
            raise ValidationError(str(error)) from None

    def validate_password(self, field):
        problem = identity.password_problem(field.data or "", username=self.username.data or "")
        if problem:
            raise ValidationError(str(problem))


class StaffRoleForm(PortalForm):
    role = SelectField(_l("新角色"), choices=STAFF_ROLE_CHOICES, invalid_choice_message=CHOOSE_ROLE)


class AccountDisableForm(PortalForm):
    reason = TextAreaField(_l("停用原因"), description=_l(
        "必填，最多 200 字。账号的主人登录时会看到这段话。停用后该账号在所有设备上立即退出。"))


class AccountEnableForm(PortalForm):
    confirm_enable = confirm_field(_l("确认启用这个账号"))


class AccountUnlockForm(PortalForm):
    confirm_unlock = confirm_field(_l("确认解除这个账号的登录锁定"))


class AccountSessionsEndForm(PortalForm):
    confirm_sessions_end = confirm_field(_l("确认让这个账号在所有设备上退出登录"))


class StaffSecondFactorResetForm(PortalForm):
    confirm_reset = confirm_field(_l("确认重置动态验证码（该账号在所有设备上退出，下次登录重新设置）"))


class StaffSearchForm(PhoneRegionMixin, PortalForm):
    """查询 (a GET form: a search changes nothing, so it needs no CSRF token).
    services.search checks the values; the kind choices are set by the view."""

    class Meta:
        csrf = False

    q = StringField(_l("查询内容"),
                    description=_l("姓名（或姓名开头）、证件号码、学号、证书编号、考生号、用户名或手机号码"))
    region = phone_region_field()
    kind = SelectField(_l("类型"), validate_choice=False)
    year = StringField(_l("年份"), description=_l("入学、毕业、授予、录取或发放的年份"))
    level = SelectField(_l("层次"), validate_choice=False,
                        choices=[SelectChoice("", _l("全部"))] + [SelectChoice(level, level)
                                                                 for level in columns.LEVELS])
    major = StringField(_l("专业"), description=_l("专业名称或其开头"))
    status = SelectField(_l("学籍状态"), validate_choice=False,
                         choices=[SelectChoice("", _l("全部"))] + [SelectChoice(status, status)
                                                                  for status in columns.STATUSES])
    bound = SelectField(_l("绑定"), validate_choice=False,
                        choices=[SelectChoice("", _l("全部")), SelectChoice("yes", _l("已绑定账户")),
                                 SelectChoice("no", _l("未绑定"))])


# --- names on the English side (issue 11) -------------------------------------------
# Checked by services.names (set_passport_spelling, add_major, update_major); the
# views put its messages beside the field.

class AccountLatinNameForm(PortalForm):
    latin_name = StringField(_l("护照姓名拼写"), description=_l(
        "与护照上的英文姓名一致，姓在前，如 ZHANG SANFENG；只能包含英文字母、空格和连字符。"))


class AccountLatinNameClearForm(PortalForm):
    """清除护照姓名拼写 (back to pinyin): the CSRF token alone."""


class MyDataStartForm(PortalForm):
    """下载我的数据 → 获取校验码: the CSRF token alone."""


class MyDataDownloadForm(PortalForm):
    """下载我的数据, after a right code: the CSRF token alone."""


class MajorNameForm(PortalForm):
    major = StringField(_l("专业"), description=_l("与记录中的专业名称完全一致。"))
    english = StringField(_l("英文名称"))
    # Set by the quick-add forms of the list of majors without an English name, so
    # that a message goes beside that row's field.
    quick = HiddenField()


class MajorEnglishForm(PortalForm):
    english = StringField(_l("英文名称"))


class MajorDeleteForm(PortalForm):
    """删除 one English name: the CSRF token alone."""
