"""One FlaskForm per screen or wizard step.

Field rules live in services.identity; the forms call them and keep the
normalised values in `form.clean` for the views.
"""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import FileStorage
from wtforms import (BooleanField, PasswordField, RadioField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError

from services import columns, identity, reports

ID_TYPE_CHOICES = [SelectChoice(identity.RESIDENT_ID, _l("居民身份证")),
                   SelectChoice(identity.OTHER_ID, _l("其他（护照、港澳台居民证件等）"))]
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


def id_type_field():
    return RadioField(_l("证件类型"), choices=ID_TYPE_CHOICES, default=identity.RESIDENT_ID,
                      invalid_choice_message=_l("请选择证件类型。"))


class IdTypeMixin:
    """Keeps the ID type (its field's choices check it) in `clean` with the other values."""

    def validate_id_type(self, field):
        self.clean[field.name] = field.data


class RegisterNoticeForm(PortalForm):
    consent = BooleanField(_l("我已阅读并同意以上须知"),
                           validators=[InputRequired(_l("请先阅读须知并勾选同意。"))])


class RegisterIdentityForm(IdTypeMixin, CleanForm):
    username = StringField(_l("用户名"), description=_l("用电子邮箱地址作用户名，登录和找回账号时使用。"))
    real_name = StringField(_l("姓名"), description=_l("与证件上的姓名一致，生僻字请照实输入。"))
    id_type = id_type_field()
    id_number = StringField(_l("证件号码"), description=_l("15 位旧号码会自动转换为 18 位。"))
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
        self._normalise(field, identity.normalize_phone)

    def validate_password(self, field):
        problem = identity.password_problem(
            field.data or "", username=self.clean.get("username", self.username.data or ""),
            id_number=self.clean.get("id_number", ""))
        if problem:
            raise ValidationError(str(problem))


class RegisterConfirmForm(PortalForm):
    yes = SubmitField(_l("是，信息无误"))
    no = SubmitField(_l("否，返回修改"))


class AppealForm(IdTypeMixin, CleanForm):
    real_name = StringField(_l("姓名"))
    id_type = id_type_field()
    id_number = StringField(_l("证件号码"))
    contact_email = StringField(_l("联系邮箱"), description=_l("处理结果会发送到这个邮箱。"))
    photo = FileField(_l("手持证件照片"),
                      description=_l("本人手持证件的照片，能看清面部和证件号码；JPG 或 PNG，不超过 2 MB。"))

    def validate_real_name(self, field):
        self._normalise(field, identity.normalize_name)

    def validate_id_number(self, field):
        self._normalise(field, identity.normalize_id_number, self.id_type.data)

    def validate_contact_email(self, field):
        self._normalise(field, identity.normalize_email)


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


class RecoverPasswordForm(PortalForm):
    login = StringField(_l("用户名"), description=_l("也可以填写手机号码或证件号码。"),
                        validators=[DataRequired(_l("请填写用户名、手机号码或证件号码。"))])


class NewPasswordForm(PortalForm):
    password = PasswordField(_l("新密码"), description=NEW_PASSWORD_HINT)
    password_confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("password", PASSWORDS_DIFFER)])


class AccountUsernameForm(CleanForm):
    new_username = StringField(_l("新用户名"), description=_l("电子邮箱地址。"))
    current_password = PasswordField(_l("当前密码"))

    def validate_new_username(self, field):
        self._normalise(field, identity.normalize_email)


class AccountPhoneForm(CleanForm):
    new_phone = StringField(_l("新手机号码"), description=_l("校验码会发送到新号码。"))
    current_password = PasswordField(_l("当前密码"))

    def validate_new_phone(self, field):
        self._normalise(field, identity.normalize_phone)


class AccountPasswordForm(PortalForm):
    current_password = PasswordField(_l("当前密码"))
    new_password = PasswordField(_l("新密码"), description=NEW_PASSWORD_HINT)
    password_confirm = PasswordField(_l("确认新密码"),
                                     validators=[EqualTo("new_password", PASSWORDS_DIFFER)])


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


class CorrectionForm(PortalForm):
    # Choices are the record's fields without a pending request, set by the view.
    field = SelectField(_l("有误的项目"), invalid_choice_message=_l("请选择有误的项目。"))
    proposed_value = StringField(_l("正确的内容"))
    reason = TextAreaField(_l("理由"), description=_l("例如：与毕业证书原件不一致。最多 500 字。"))
    evidence = FileField(_l("证明材料（可选）"), description=_l("JPG、PNG 或 PDF，不超过 2 MB。"))


class ReportIssueForm(PortalForm):
    # The allowed range comes from config; services.reports checks it and says so.
    months = RadioField(_l("有效期"), validate_choice=False, default="3")


class ReportExtendForm(PortalForm):
    months = SelectField(_l("延长至（自今天起）"), validate_choice=False, default="3")


class VerifyForm(PortalForm):
    code = StringField(_l("在线验证码"), description=_l("报告上的 16 位验证码，字母不分大小写，可以带空格或连字符。"),
                       validators=[DataRequired(_l("请填写在线验证码。"))])
    organisation = StringField(_l("单位名称（可选）"), description=_l("报告的主人能在查验记录中看到你的单位和用途。"),
                               validators=[Length(max=100, message=_l("最多 100 个字。"))])
    purpose = StringField(_l("用途（可选）"), validators=[Length(max=100, message=_l("最多 100 个字。"))])

    def validate_code(self, field):
        if reports.normalize_code(field.data) is None:
            raise ValidationError(_l("这不是有效的在线验证码格式：验证码由 16 位字母和数字组成。"))


NO_PDF = _l("请选择要查验的 PDF 文件。")


class VerifyPdfForm(PortalForm):
    pdf = FileField(_l("报告 PDF 文件"), description=_l("本校签发的在线验证报告 PDF，不超过 2 MB。"),
                    validators=[FileRequired(NO_PDF)])

    def validate_pdf(self, field):
        # An empty file is no report either.
        if not field.data.read(1):
            raise ValidationError(NO_PDF)
        field.data.seek(0)


class AdminDecisionForm(PortalForm):
    decision = RadioField(_l("决定"), choices=[SelectChoice("approve", _l("采纳 / 通过")),
                                              SelectChoice("reject", _l("不采纳 / 不通过"))],
                          invalid_choice_message=_l("请选择采纳还是不采纳。"))
    reply = TextAreaField(_l("答复"), description=_l("不采纳或不通过时必须写明理由；学生会看到这段话。"))


class AdminImportForm(PortalForm):
    # Choices are the record kinds, set by the view.
    kind = SelectField(_l("记录类别"), invalid_choice_message=_l("请选择记录类别。"))
    table = FileField(_l("数据文件"), description=_l("CSV（UTF-8 或 GB18030）或 XLSX，第一行为中文列名。"),
                      validators=[FileRequired(_l("请选择数据文件。"))])
    photos = FileField(_l("照片压缩包（可选）"), description=_l("ZIP，照片以学号或证书编号命名。"))


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


class StaffSearchForm(PortalForm):
    """查询 (a GET form: a search changes nothing, so it needs no CSRF token).
    services.search checks the values; the kind choices are set by the view."""

    class Meta:
        csrf = False

    q = StringField(_l("查询内容"),
                    description=_l("姓名（或姓名开头）、证件号码、学号、证书编号、考生号、用户名或手机号码"))
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
