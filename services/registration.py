"""The real-name registration wizard: steps, the typed identity, the new account.

The wizard is a challenge (services.challenges.REGISTER): the browser holds
its token, the server decides which step comes next, and a step ahead of the
challenge's progress cannot be reached. The 校验码 step is the shared one.
"""
import secrets

from flask_babel import lazy_gettext as _l

from models import Appeal, Challenge, db
from services import accounts, audit, challenges, clock, files, identity, phone_regions, uploads
from services.errors import ServiceError
from services.postman import Reach

FLOW = challenges.REGISTER
STEPS = FLOW.steps
IDENTITY_FIELDS = ("username", "real_name", "id_type", "id_number", "phone")


class RegistrationError(ServiceError):
    pass


class IdentityTaken(RegistrationError):
    """The username and/or the ID number already belong to an account; `taken`
    maps each such field to its message."""

    def __init__(self, taken: dict):
        field, message = next(iter(taken.items()))
        super().__init__(message, field=field)
        self.taken = taken


def find(token: str | None):
    return challenges.find(FLOW, token)


def current_step(draft: Challenge | None) -> str:
    return draft.step if draft else STEPS[0]


def reachable(draft: Challenge | None, step: str) -> bool:
    """Whether `step` may be shown or posted now (须知 always)."""
    if step == STEPS[0]:
        return True
    return draft is not None and challenges.reachable(draft, step)


def accept_notice(draft: Challenge | None) -> Challenge:
    """Consent given: a new draft, or the same one moved on to 身份信息."""
    if draft is None:
        return challenges.start(FLOW, step="identity")
    if STEPS.index(draft.step) < STEPS.index("identity"):
        challenges.move(draft, "identity")
    return draft


def save_identity(draft: Challenge, clean: dict, password: str, *, reach: Reach = Reach()) -> None:
    """Keep the typed identity; any change means the code must be checked again.

    With no SMS abroad (`reach`), a number outside +86 needs an address the code
    may go to by e-mail (edu.cn, or any under FOREIGN_ID_ANY_EMAIL for an ID that
    is not a 居民身份证); without one the person is told at once, beside the number."""
    if not reach.can_text(clean["phone"]) and not (
            identity.is_edu_email(clean["username"])
            or (reach.foreign_id_any_email and clean["id_type"] != identity.RESIDENT_ID)):
        raise RegistrationError(
            _l("本校短信服务不支持境外号码，而你的用户名不是 edu.cn 邮箱，无法接收校验码。"
               "请填写中国大陆手机号码，或用以 edu.cn 结尾的教育网邮箱作用户名。"), field="phone")
    taken = {}
    if accounts.username_taken(clean["username"]):
        taken["username"] = _l("该用户名已被注册，请换一个；如果这是你的账号，请直接登录。")
    if accounts.id_number_taken(clean["id_number"]):
        taken["id_number"] = _l("该证件号码已被注册。")
    if taken:
        raise IdentityTaken(taken)
    draft.payload = {key: clean[key] for key in IDENTITY_FIELDS}
    draft.password_hash = accounts.hash_password(password)
    challenges.move(draft, "code")


def identity_typed(draft: Challenge | None) -> dict:
    """What was typed at 身份信息, to fill the form again (never the password); the
    国家或地区 is the stored number's own."""
    if not (draft and draft.payload):
        return {}
    typed = {key: draft.payload[key] for key in IDENTITY_FIELDS}
    typed["phone_region"] = phone_regions.region_of(typed["phone"])
    return typed


def back_to_identity(draft: Challenge) -> None:
    challenges.move(draft, "identity")


def confirm(draft: Challenge, *, ip: str):
    """Create the account from a draft whose code was checked; the draft ends.

    The unique indexes decide a race for the same username or ID number; the
    loser goes back to 身份信息 with the reason (AccountError names the field).
    """
    if draft.step != "confirm":
        raise RegistrationError(_l("请先完成前面的步骤。"))
    data = draft.payload
    try:
        account = accounts.create_student(
            username=data["username"], real_name=data["real_name"], id_type=data["id_type"],
            id_number=data["id_number"], phone=data["phone"],
            password_hash=draft.password_hash, ip=ip)
    except accounts.AccountError:
        back_to_identity(draft)
        raise
    challenges.finish(draft)
    return account


# --- appeals (申诉) ----------------------------------------------------------

def _checked_photo(data: bytes, max_bytes: int) -> str:
    """The file extension of an acceptable photo, or RegistrationError."""
    if not data:
        raise RegistrationError(_l("请上传手持证件的照片。"), field="photo")
    if len(data) > max_bytes:
        raise RegistrationError(_l("照片不能超过 2 MB，请压缩后再上传。"), field="photo")
    kind = uploads.image_format(data)
    if kind is None:
        raise RegistrationError(_l("无法识别这张图片，请上传 JPG 或 PNG 格式的照片。"), field="photo")
    if kind not in uploads.PHOTO_EXTENSIONS:
        raise RegistrationError(_l("只接受 JPG 或 PNG 格式的照片。"), field="photo")
    return uploads.PHOTO_EXTENSIONS[kind]


def new_appeal_reference(now=None, timezone=None) -> str:
    """SS<the school's date>-XXXXXX: the day the appellant filed it, as they read it."""
    day = clock.today(timezone, now)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"SS{day:%Y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def file_appeal(clean: dict, photo: bytes, *, max_bytes: int, ip: str,
                timezone=None) -> Appeal:
    if photo and len(photo) <= max_bytes and uploads.too_many_pixels(photo):
        raise RegistrationError(_l("图片像素过多（上限 %(megapixels)s 百万像素），请缩小后再上传。",
                                   megapixels=uploads.MAX_UPLOAD_PIXELS // 1_000_000), field="photo")
    extension = _checked_photo(photo, max_bytes)
    reference = new_appeal_reference(timezone=timezone)
    with db.atomic():
        # Sealed (a photo of an identity document), with its row or not at all.
        name = files.put(f"appeals/{reference}.{extension}", photo)
        appeal = Appeal.create(
            reference=reference, real_name=clean["real_name"], id_type=clean["id_type"],
            id_number=clean["id_number"], contact_email=clean["contact_email"],
            contact_phone=clean.get("contact_phone") or None, photo_path=name, ip=ip)
        audit.log("appeal.filed", actor=clean["contact_email"], detail=reference, ip=ip)
    return appeal
