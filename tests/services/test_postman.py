"""The postman: every message text, exactly, and a wrong messaging setting stops the start."""
import datetime
import json

import jinja2
import pytest

from services.messaging import HttpSmsGateway, MessagingError, OutboxBackend, SmtpBackend
from services.postman import TEMPLATE_DIR, Postman

SCHOOL = "示范大学"

# Every template, with fixed context, and the subject and body it must say:
# the texts students and graduates received before the texts became templates.
TEXTS = [
    ("register_code.txt", dict(code="123456", minutes=10),
     "示范大学 学信档案注册校验码",
     "【示范大学】你的学信档案注册校验码是 123456，10 分钟内有效。如非本人操作，请忽略本消息。"),
    ("recover_username_code.txt", dict(code="123456", minutes=10),
     "示范大学 学信档案找回用户名校验码",
     "【示范大学】你正在找回用户名，校验码 123456，10 分钟内有效。"
     "如非本人操作，请忽略本消息，你的账号仍然安全。"),
    ("recover_password_code.txt", dict(code="654321", minutes=10),
     "示范大学 学信档案重设密码校验码",
     "【示范大学】你正在重设密码，校验码 654321，10 分钟内有效。"
     "如非本人操作，请忽略本消息，你的账号仍然安全。"),
    ("phone_change_code.txt", dict(code="246810", minutes=10),
     "示范大学 更换手机号码校验码",
     "【示范大学】你正在把学信档案绑定的手机号码改为本号码，校验码 246810，10 分钟内有效。"),
    ("my_data_code.txt", dict(code="135790", minutes=10),
     "示范大学 学信档案下载数据校验码",
     "【示范大学】你正在下载学信档案中的全部个人数据，校验码 135790，10 分钟内有效。"
     "如非本人操作，请勿将校验码告诉他人，并立即修改密码。"),
    ("close_account_code.txt", dict(code="135790", minutes=10),
     "示范大学 学信档案注销账号校验码",
     "【示范大学】你正在注销学信档案账号，校验码 135790，10 分钟内有效。如非本人操作，请立即修改密码。"),
    ("account_closed.txt", dict(erase_after=datetime.datetime(2026, 12, 28, 17, 30)),
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案账号已注销，在线验证报告已全部关闭，你的记录仍由学校保存。"
     "账号中的个人信息将于 2026-12-29 之后删除。可以用同一证件号码重新注册。如非本人操作，请立即联系学校。"),
    ("username_changed.txt", dict(username="new@example.edu.cn"),
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案用户名已改为 new@example.edu.cn。如非本人操作，请立即联系学校。"),
    ("password_changed.txt", {},
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案密码已修改，其他设备上的登录已全部退出。如非本人操作，请立即联系学校。"),
    ("phone_changed.txt", dict(old_phone="138****0001", new_phone="139****0002"),
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案绑定手机号码已由 138****0001 改为 139****0002。"
     "如非本人操作，请立即联系学校。"),
    ("login_failures.txt", {},
     "示范大学 学信档案账号通知",
     "【示范大学】有人多次用错误的密码登录你的学信档案账号，来自该网络的登录已暂停。"
     "如果是你本人，可以用“忘记密码”通过短信校验码重设密码，立即解除；"
     "如非本人操作，请确认密码不易猜到，必要时修改密码。"),
    ("username_recovered.txt", dict(username="wang@example.edu.cn"),
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案用户名是 wang@example.edu.cn。"),
    ("password_reset.txt", {},
     "示范大学 学信档案账号通知",
     "【示范大学】你的学信档案密码已通过校验码重设，其他设备上的登录已全部退出。"
     "如非本人操作，请立即联系学校。"),
    ("id_number_released.txt", dict(withdrawn=[]),
     "示范大学 学信档案账号通知",
     "【示范大学】经学校核实，你的学信档案账号所用的证件号码属于他人，已从你的账号解除，"
     "你的登录已退出。如有疑问，请联系学校学籍管理部门。"),
    ("id_number_released.txt", dict(withdrawn=["学历证书电子注册备案表", "学位在线验证报告"]),
     "示范大学 学信档案账号通知",
     "【示范大学】经学校核实，你的学信档案账号所用的证件号码属于他人，已从你的账号解除，"
     "你的登录已退出。你在相关记录上开具的 2 份在线验证报告（学历证书电子注册备案表、学位在线验证报告）"
     "已同时撤回，查验时将显示已被学校撤回。如有疑问，请联系学校学籍管理部门。"),
    ("appeal_decided_approved.txt", dict(reference="SS2024-0007", reason=""),
     "示范大学 学信档案申诉结果",
     "你提交的证件号码申诉（编号 SS2024-0007）已通过。该证件号码已从原账号解除，"
     "你现在可以用它实名注册学信档案。"),
    ("appeal_decided_rejected.txt", dict(reference="SS2024-0007", reason="照片看不清证件号码"),
     "示范大学 学信档案申诉结果",
     "你提交的证件号码申诉（编号 SS2024-0007）未通过。原因：照片看不清证件号码。"
     "如有疑问，请联系学校学籍管理部门。"),
    ("appeal_decided_approved.txt", dict(reference="SS2024-0007", reason="", sms=True),
     "示范大学 学信档案申诉结果",
     "【示范大学】你提交的证件号码申诉（编号 SS2024-0007）已通过。该证件号码已从原账号解除，"
     "你现在可以用它实名注册学信档案。"),
    ("appeal_decided_rejected.txt", dict(reference="SS2024-0007", reason="照片看不清证件号码",
                                         sms=True),
     "示范大学 学信档案申诉结果",
     "【示范大学】你提交的证件号码申诉（编号 SS2024-0007）未通过。原因：照片看不清证件号码。"
     "如有疑问，请联系学校学籍管理部门。"),
    ("appeal_filed.txt", dict(reference="SS20240101-ABC234", sms=False,
                              status_url="https://portal.example.edu.cn/register/appeal/status"),
     "示范大学 学信档案申诉已受理",
     "你提交的证件号码申诉已收到，申诉编号 SS20240101-ABC234，请妥善保存。学籍管理部门核实后会通知你结果，"
     "通常在三个工作日内。凭申诉编号和证件号码可以查询进度：https://portal.example.edu.cn/register/appeal/status"),
    ("appeal_filed.txt", dict(reference="SS20240101-ABC234", sms=True,
                              status_url="https://portal.example.edu.cn/register/appeal/status"),
     "示范大学 学信档案申诉已受理",
     "【示范大学】你提交的证件号码申诉已收到，申诉编号 SS20240101-ABC234，请妥善保存。学籍管理部门核实后会"
     "通知你结果，通常在三个工作日内。凭申诉编号和证件号码可以查询进度："
     "https://portal.example.edu.cn/register/appeal/status"),
    ("correction_decided.txt", dict(kind="毕业证书", field="姓名", approved=True, reply="",
                                    value=""),
     "示范大学 学信档案账号通知",
     "【示范大学】你提交的更正申请（毕业证书·姓名）已采纳，记录已更新。详情请登录学信档案查看。"),
    ("correction_decided.txt", dict(kind="学历", field="毕(结)业", approved=True, reply="",
                                    value="毕业"),
     "示范大学 学信档案账号通知",
     "【示范大学】你提交的更正申请（学历·毕(结)业）已采纳，记录已更新为「毕业」。详情请登录学信档案查看。"),
    ("correction_decided.txt", dict(kind="毕业证书", field="姓名", approved=False,
                                    reply="与档案原件一致", value=None),
     "示范大学 学信档案账号通知",
     "【示范大学】你提交的更正申请（毕业证书·姓名）未采纳，理由：与档案原件一致。"
     "详情请登录学信档案查看。"),
    ("report_expiring.txt", dict(title="教育部学历证书电子注册备案表", code="ABCD EFGH 2345",
                                 expires_at=datetime.datetime(2026, 12, 28, 15, 30)),
     "示范大学 学信档案账号通知",
     "【示范大学】你的《教育部学历证书电子注册备案表》（验证码 ABCD EFGH 2345）将于 2026-12-28 到期。"
     "如需继续使用，请登录学信档案延长有效期。"),
    ("report_checked.txt", dict(title="学历证书电子注册备案表", via="web", more=0,
                                at=datetime.datetime(2026, 7, 1, 6, 30),
                                organisation="某某科技有限公司", purpose=""),
     "示范大学 学信档案查验提醒",
     "【示范大学】你的《学历证书电子注册备案表》于 2026-07-01 14:30 经网页被查验，"
     "查验方自填单位：某某科技有限公司，用途：未填。详情见学信档案查验记录。"),
    ("report_checked.txt", dict(title="学位在线验证报告", via="match", more=3,
                                at=datetime.datetime(2026, 7, 1, 6, 30),
                                organisation="某银行", purpose="开户"),
     "示范大学 学信档案查验提醒",
     "【示范大学】你的《学位在线验证报告》于 2026-07-01 14:30 经证件号码比对被查验，"
     "查验方自填单位：某银行，用途：开户。此前另有 3 次查验。详情见学信档案查验记录。"),
    ("report_checked_email.txt", dict(title="学历证书电子注册备案表", via="batch", more=2,
                                      at=datetime.datetime(2026, 7, 1, 6, 30),
                                      organisation="", purpose="入职"),
     "示范大学 学信档案查验提醒",
     "【示范大学】你的《学历证书电子注册备案表》于 2026-07-01 14:30 经批量查验被查验。\n"
     "查验方自己填写的单位：未填写\n用途：入职\n自上次提醒以来另有 2 次查验。\n"
     "每份报告每小时最多提醒一次。查验记录和关闭提醒的开关都在学信档案的报告页面。"),
    ("record_changed.txt", dict(kind="学历", fields="专业、毕(结)业"),
     "示范大学 学信档案记录变更通知",
     "【示范大学】学校更新了你的学历记录：专业、毕(结)业。详情请登录学信档案查看；"
     "如有疑问，请联系学校学籍管理部门。"),
    ("record_withdrawn.txt", dict(kind="学籍", reason="学号登记重复"),
     "示范大学 学信档案记录变更通知",
     "【示范大学】学校已撤销你的一条学籍记录，理由：学号登记重复。该记录不再显示在你的学信档案中，"
     "它的在线验证报告查验结果为“已被学校撤销”。如有疑问，请联系学校学籍管理部门。"),
    ("record_restored.txt", dict(kind="学籍"),
     "示范大学 学信档案记录变更通知",
     "【示范大学】学校已恢复你的一条学籍记录，它重新显示在你的学信档案中，"
     "仍在有效期内的在线验证报告恢复有效。"),
    ("records_bound.txt", dict(how="auto", lines=["学历：示范大学 · 本科 · 汉语言文学 · 毕业 · 2020-06-30",
                                                  "学位：示范大学 · 文学学士"], more=0),
     "示范大学 学信档案记录绑定通知",
     "【示范大学】按你的姓名和证件号码，以下 2 条记录已绑定到你的学信档案：\n"
     "学历：示范大学 · 本科 · 汉语言文学 · 毕业 · 2020-06-30\n学位：示范大学 · 文学学士\n"
     "如有疑问，请联系学校学籍管理部门。"),
    ("records_bound.txt", dict(how="approval", lines=["资助：2016-2017 · 国家助学金 · 3,000.00"],
                               more=3),
     "示范大学 学信档案记录绑定通知",
     "【示范大学】经学籍管理部门确认，以下 4 条记录已绑定到你的学信档案：\n"
     "资助：2016-2017 · 国家助学金 · 3,000.00\n另有 3 条，请登录学信档案查看。\n"
     "如有疑问，请联系学校学籍管理部门。"),
    ("records_bound.txt", dict(how="registrar", lines=["学位：示范大学 · 文学学士"], more=0),
     "示范大学 学信档案记录绑定通知",
     "【示范大学】学籍管理部门核实后，以下 1 条记录已绑定到你的学信档案：\n"
     "学位：示范大学 · 文学学士\n如有疑问，请联系学校学籍管理部门。"),
    ("bind_request_rejected.txt", dict(reason="请携带身份证到学籍科核实"),
     "示范大学 学信档案记录绑定通知",
     "【示范大学】学籍管理部门未能确认你的记录绑定申请，理由：请携带身份证到学籍科核实。"
     "详情请登录学信档案查看。"),
]


@pytest.fixture
def outbox_path(tmp_path):
    return tmp_path / "outbox.jsonl"


@pytest.fixture
def postman(outbox_path):
    backend = OutboxBackend(outbox_path)
    return Postman({"sms": backend, "email": backend}, SCHOOL)


@pytest.mark.parametrize("template_name, context, subject, body", TEXTS)
def test_every_text_says_exactly_what_it_said(postman, template_name, context, subject, body):
    message = postman.compose(template_name, channel="sms", to="13812340001", **context)
    assert (message.channel, message.to) == ("sms", "13812340001")
    assert message.subject == subject
    assert message.body == body


def test_every_template_is_pinned_above():
    templates = {path.name for path in TEMPLATE_DIR.glob("*.txt")} - {"base.txt"}
    assert templates == {name for name, *_ in TEXTS}


def test_the_school_name_comes_from_the_postman(outbox_path):
    postman = Postman({"sms": OutboxBackend(outbox_path)}, "另一所大学")
    message = postman.compose("password_changed.txt", channel="sms", to="13812340001")
    assert message.subject == "另一所大学 学信档案账号通知"
    assert message.body.startswith("【另一所大学】你的学信档案密码已修改")


def test_send_writes_one_outbox_line(postman, outbox_path):
    postman.send("register_code.txt", channel="email", to="wang@example.edu.cn",
                 code="123456", minutes=10)
    [line] = outbox_path.read_text("utf-8").splitlines()
    record = json.loads(line)
    assert list(record) == ["channel", "to", "subject", "body", "sent_at"]
    assert record["channel"] == "email" and record["to"] == "wang@example.edu.cn"
    assert record["subject"] == "示范大学 学信档案注册校验码"
    assert record["body"].startswith("【示范大学】你的学信档案注册校验码是 123456，")


def test_a_missing_variable_fails_loudly_and_sends_nothing(postman, outbox_path):
    with pytest.raises(jinja2.UndefinedError, match="minutes"):
        postman.send("register_code.txt", channel="sms", to="13812340001", code="123456")
    with pytest.raises(jinja2.UndefinedError, match="reason"):
        postman.compose("appeal_decided_rejected.txt", channel="email", to="a@b.cn",
                        reference="SS2024-0007")
    assert not outbox_path.exists()


def test_unknown_channel_and_missing_recipient(postman, outbox_path):
    with pytest.raises(MessagingError, match="channel 'fax'"):
        postman.send("password_changed.txt", channel="fax", to="x")
    with pytest.raises(MessagingError, match="recipient"):
        postman.send("password_changed.txt", channel="sms", to="  ")
    assert not outbox_path.exists()


# --- built once, at start ---------------------------------------------------------

def test_the_app_builds_its_postman_at_start(app):
    postman = app.extensions["postman"]
    assert postman.school_name == app.config["SCHOOL_NAME"]
    assert {channel: type(backend) for channel, backend in postman.backends.items()} == {
        "sms": OutboxBackend, "email": OutboxBackend}
    assert str(postman.backends["sms"].path) == app.config["OUTBOX_PATH"]


def test_a_live_app_builds_smtp_and_the_gateway(app_factory):
    app = app_factory(MESSAGE_BACKEND="live", SMS_GATEWAY_URL="https://sms.example.com/send")
    backends = app.extensions["postman"].backends
    assert type(backends["email"]) is SmtpBackend and type(backends["sms"]) is HttpSmsGateway


@pytest.mark.parametrize("config, match", [
    (dict(MESSAGE_BACKEND="pigeon"), r"MESSAGE_BACKEND='pigeon' is not valid"),
    (dict(SMS_BACKEND="smtp"), r"SMS_BACKEND='smtp' is not valid"),
    (dict(MESSAGE_BACKEND="live"), r"SMS_GATEWAY_URL must be set"),
    (dict(SMS_BACKEND="http", SMS_GATEWAY_URL="ftp://sms.example.com/"),
     r"SMS_GATEWAY_URL must be an http:// or https:// URL"),
    (dict(EMAIL_BACKEND="smtp", MAIL_FROM=""), r"MAIL_FROM must be set"),
    (dict(EMAIL_BACKEND="smtp", SMTP_PORT="smtp"), r"SMTP_PORT='smtp' is not a number"),
])
def test_a_wrong_messaging_setting_stops_the_start(app_factory, config, match):
    with pytest.raises(MessagingError, match=match):
        app_factory(**config)
