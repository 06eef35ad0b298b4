"""One way to check that someone receives a 校验码, for every flow that needs it.

Registration, 找回用户名, 忘记密码, the phone change and 注销账号 differ only in data: a
`Flow` says how long its challenge lives, how the code may travel, where it
goes and which message carries it, and whether unknown people get a decoy.
The flow's own service (registration, recovery, accounts) decides what
happens before the code and acts once it is right, then calls `finish`.
A new flow of this kind (changing an e-mail address, say) is a new `Flow` in
FLOWS and a message template, nothing more.

The codes themselves follow services.codes: valid 10 minutes, 5 wrong tries,
60 s between sends, 5 an hour to one destination.
"""
import datetime
from dataclasses import dataclass
from typing import Callable

from flask_babel import lazy_gettext as _l

from models import Challenge, utcnow
from services import codes, identity
from services.codes import CodeError
from services.errors import ServiceError
from services.postman import Reach

SMS = "sms"
EMAIL = "email"
CODE_STEP = "code"


@dataclass(frozen=True)
class Flow:
    purpose: str                  # stored on the challenge and on its codes
    lifetime: datetime.timedelta
    channels: tuple[str, ...]     # how the code may travel
    # (challenge, channel) -> the address the code goes to, None for nowhere.
    destination: Callable[[Challenge, str], str | None]
    template: str                 # the message that carries the code (templates/messages)
    steps: tuple[str, ...] = (CODE_STEP,)   # a right code moves to the step after "code"
    # Unknown people (no account) go through the same motions, with codes sent
    # nowhere that never pass, so no answer tells whether an account exists.
    decoy: bool = False
    # The lifetime counts from the last step rather than from the start.
    sliding: bool = False


@dataclass(frozen=True)
class CodeStep:
    """What a page asking for the code shows."""
    step: str
    channels: tuple[str, ...]
    resend_wait: int              # seconds until 获取校验码 works again
    masked_phone: str             # where an SMS goes; empty when that must not be shown
    email_allowed: bool
    # False when the school's SMS does not reach this (non-+86) number: e-mail instead.
    sms_allowed: bool = True
    # E-mail is not limited to edu.cn (FOREIGN_ID_ANY_EMAIL, ID type not 居民身份证).
    any_email: bool = False
    # The school sends no SMS abroad (INTERNATIONAL_SMS off): pages say so.
    international_sms: bool = True


def typed(sms: str = "phone", email: str = "username"):
    """Destination rule: the address the person typed, kept in the payload."""
    def destination(challenge: Challenge, channel: str) -> str:
        return challenge.payload[email if channel == EMAIL else sms]
    return destination


def bound(challenge: Challenge, channel: str) -> str | None:
    """Destination rule: the account's bound phone, or its username for e-mail."""
    account = challenge.account
    if account is None:
        return None
    return account.username if channel == EMAIL else account.phone


REGISTER = Flow("register", datetime.timedelta(hours=2), (SMS, EMAIL), typed(),
                "register_code.txt", steps=("notice", "identity", CODE_STEP, "confirm"),
                sliding=True)
FIND_USERNAME = Flow("recover_username", datetime.timedelta(minutes=30), (SMS,), bound,
                     "recover_username_code.txt", decoy=True)
RESET_PASSWORD = Flow("reset_password", datetime.timedelta(minutes=30), (SMS, EMAIL), bound,
                      "recover_password_code.txt", steps=(CODE_STEP, "new_password"), decoy=True)
CHANGE_PHONE = Flow("change_phone", datetime.timedelta(minutes=30), (SMS,), typed(),
                    "phone_change_code.txt")
# 下载我的数据 (services.my_data): the export holds the full ID and phone numbers, so
# the signed-in person proves again that they hold the bound phone (or e-mail).
# The lifetime counts from the start and covers the download too.
MY_DATA = Flow("my_data", datetime.timedelta(minutes=20), (SMS, EMAIL), bound,
               "my_data_code.txt", steps=(CODE_STEP, "download"))

# 注销账号 (services.closing): the code goes where the account is reached.
CLOSE_ACCOUNT = Flow("close_account", datetime.timedelta(minutes=30), (SMS, EMAIL), bound,
                     "close_account_code.txt")

FLOWS = {flow.purpose: flow
         for flow in (REGISTER, FIND_USERNAME, RESET_PASSWORD, CHANGE_PHONE, MY_DATA,
                      CLOSE_ACCOUNT)}


def flow_of(challenge: Challenge) -> Flow:
    return FLOWS[challenge.purpose]


def start(flow: Flow, *, account=None, payload: dict | None = None,
          step: str | None = None) -> Challenge:
    return Challenge.create(purpose=flow.purpose, account=account, payload=payload or {},
                            step=step or flow.steps[0])


def find(flow: Flow, token: str | None, *, account=None, now=None) -> Challenge | None:
    """The flow's challenge with this token, while it runs; with `account`, only
    if it is that account's. An expired challenge is deleted."""
    if not token:
        return None
    challenge = Challenge.get_or_none(Challenge.token == token, Challenge.purpose == flow.purpose,
                                      Challenge.finished_at.is_null())
    if challenge is None or (account is not None and challenge.account_id != account.id):
        return None
    since = challenge.updated_at if flow.sliding else challenge.created_at
    if since < (now or utcnow()) - flow.lifetime:
        challenge.delete_instance()
        return None
    return challenge


def reachable(challenge: Challenge, step: str) -> bool:
    steps = flow_of(challenge).steps
    return step in steps and steps.index(step) <= steps.index(challenge.step)


def move(challenge: Challenge, step: str, now=None) -> None:
    """Go to `step`; at or before the code step, the code must be checked again."""
    steps = flow_of(challenge).steps
    if CODE_STEP in steps and steps.index(step) <= steps.index(CODE_STEP):
        challenge.verified_at = None
    challenge.step = step
    challenge.updated_at = now or utcnow()
    challenge.save()


def _id_type(challenge: Challenge) -> str | None:
    if challenge.account is not None:
        return challenge.account.id_type
    return (challenge.payload or {}).get("id_type")


def any_email(challenge: Challenge, reach: Reach) -> bool:
    """Whether a code may go to any e-mail address, not only edu.cn: where the school
    allows it (FOREIGN_ID_ANY_EMAIL) for a person whose ID is not a 居民身份证."""
    id_type = _id_type(challenge)
    return reach.foreign_id_any_email and bool(id_type) and id_type != identity.RESIDENT_ID


SMS_ABROAD_OFF = _l("本校短信服务不支持境外号码，请用邮箱获取校验码。")


def _destination(flow: Flow, challenge: Challenge, channel: str,
                 reach: Reach = Reach()) -> str | None:
    """Where a code goes; e-mail only to edu.cn addresses (or any, see `any_email`),
    SMS only to numbers the school's provider reaches."""
    if channel not in flow.channels:
        raise ServiceError(_l("请选择获取校验码的方式。"), field="channel")
    address = flow.destination(challenge, channel)
    if channel == SMS and address and not reach.can_text(address):
        if flow.decoy:
            return None   # the same answer as for anyone; the page explains the rule
        if EMAIL in flow.channels:
            raise ServiceError(SMS_ABROAD_OFF, field="channel")
        raise ServiceError(_l("本校短信服务不支持境外号码，无法向这个号码发送校验码。"),
                           field="channel")
    if (channel == EMAIL and address and not identity.is_edu_email(address)
            and not any_email(challenge, reach)):
        if flow.decoy:
            return None
        raise ServiceError(
            _l("邮箱方式只能用于以 edu.cn 结尾的教育网邮箱；你的用户名 %(address)s 不是，请选择手机短信。",
               address=address), field="channel")
    return address


def send_code(challenge: Challenge, channel: str, *, postman, ip: str, now=None) -> str:
    """Issue a code and send it; returns the destination masked for the screen
    (empty in decoy flows). With no destination the code is issued all the
    same, to "nowhere", so the resend and hourly limits behave alike."""
    flow = flow_of(challenge)
    to = _destination(flow, challenge, channel, postman.reach())
    # Nowhere, but a nowhere that fills up like a real destination: the account's,
    # or a keyed hash of what was typed (recovery puts it in the payload).
    nowhere = (f"account:{challenge.account_id}" if challenge.account_id
               else challenge.payload.get("typed", challenge.token))
    code = codes.issue(flow.purpose, challenge.token, channel, to or f"nowhere:{nowhere}",
                       ip=ip, now=now)
    if to is None:
        return ""
    postman.send(flow.template, channel=channel, to=to, code=code, minutes=codes.VALID_MINUTES)
    if flow.decoy:
        return ""
    return identity.mask_email(to) if channel == EMAIL else identity.mask_phone(to)


def check_code(challenge: Challenge, code: str, now=None) -> None:
    """Accept the code (or raise CodeError) and move to the step after it."""
    flow = flow_of(challenge)
    now = now or utcnow()
    codes.verify(flow.purpose, challenge.token, code, now=now)
    if flow.decoy and challenge.account is None:
        # Nobody received this code; a lucky guess must not look different.
        raise CodeError(_l("校验码不正确。"))
    following = flow.steps[flow.steps.index(CODE_STEP) + 1:]
    if following:
        challenge.step = following[0]
    challenge.verified_at = challenge.updated_at = now
    challenge.save()


def finish(challenge: Challenge, now=None) -> None:
    """The flow is done: the challenge is no longer found and keeps nothing typed."""
    challenge.finished_at = now or utcnow()
    challenge.payload = {}
    challenge.password_hash = None
    challenge.save()


def code_step(challenge: Challenge, now=None, postman=None) -> CodeStep:
    """What the code page shows; `postman` tells where the school's messages may go."""
    flow = flow_of(challenge)
    reach = postman.reach() if postman is not None else Reach()
    phone = None if flow.decoy or SMS not in flow.channels else flow.destination(challenge, SMS)
    email = None if flow.decoy or EMAIL not in flow.channels else flow.destination(challenge, EMAIL)
    anywhere = not flow.decoy and any_email(challenge, reach)
    return CodeStep(
        step=challenge.step, channels=flow.channels,
        resend_wait=codes.seconds_until_resend(flow.purpose, challenge.token, now),
        masked_phone=identity.mask_phone(phone) if phone else "",
        email_allowed=EMAIL in flow.channels and (flow.decoy or identity.is_edu_email(email or "")
                                                  or (anywhere and bool(email))),
        sms_allowed=not phone or reach.can_text(phone),
        any_email=anywhere, international_sms=reach.international_sms)

