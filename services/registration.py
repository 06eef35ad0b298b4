"""The real-name registration wizard: steps, draft state, and the final account.

The draft lives in the database, keyed by a random token the browser holds.
The server decides which step comes next; a step ahead of the draft's
progress cannot be reached.
"""
import datetime
import secrets
from pathlib import Path

from flask_babel import lazy_gettext as _l

from models import Appeal, RegistrationDraft, db, utcnow
from services import accounts, codes, identity, uploads
from services.errors import ServiceError

STEPS = ("notice", "identity", "code", "confirm")
DRAFT_LIFETIME = datetime.timedelta(hours=2)
CODE_PURPOSE = "register"


class RegistrationError(ServiceError):
    pass


def start_draft() -> RegistrationDraft:
    return RegistrationDraft.create(step=STEPS[0])


def find_draft(token: str | None, now=None):
    if not token:
        return None
    draft = RegistrationDraft.get_or_none(RegistrationDraft.token == token)
    if draft and draft.updated_at < (now or utcnow()) - DRAFT_LIFETIME:
        draft.delete_instance()
        return None
    return draft


def reachable(draft: RegistrationDraft, step: str) -> bool:
    return step in STEPS and STEPS.index(step) <= STEPS.index(draft.step)


def _move(draft: RegistrationDraft, step: str) -> None:
    draft.step = step
    draft.updated_at = utcnow()
    draft.save()


def accept_notice(draft: RegistrationDraft) -> None:
    if STEPS.index(draft.step) < STEPS.index("identity"):
        _move(draft, "identity")


def taken_fields(clean: dict) -> dict:
    """Which of username / ID number already belong to an account."""
    taken = {}
    if accounts.username_taken(clean["username"]):
        taken["username"] = _l("该用户名已被注册，请换一个；如果这是你的账号，请直接登录。")
    if accounts.id_number_taken(clean["id_number"]):
        taken["id_number"] = _l("该证件号码已被注册。")
    return taken


def save_identity(draft: RegistrationDraft, clean: dict, password: str) -> None:
    """Keep the typed identity; any change means the code must be checked again."""
    draft.data = {key: clean[key] for key in
                  ("username", "real_name", "id_type", "id_number", "phone")}
    draft.password_hash = accounts.hash_password(password)
    _move(draft, "code")


def destination(draft: RegistrationDraft, channel: str) -> str:
    if channel == "email":
        address = draft.data["username"]
        if not identity.is_edu_email(address):
            raise RegistrationError(
                _l("邮箱方式只能用于以 edu.cn 结尾的教育网邮箱；你的用户名 %(address)s 不是，请选择手机短信。",
                   address=address), field="channel")
        return address
    return draft.data["phone"]


def send_code(draft: RegistrationDraft, channel: str, *, postman, ip: str) -> str:
    """Send a code; returns the masked destination to show the student."""
    to = destination(draft, channel)
    code = codes.issue(CODE_PURPOSE, draft.token, channel, to, ip=ip)
    postman.send("register_code.txt", channel=channel, to=to,
                 code=code, minutes=codes.VALID_MINUTES)
    return identity.mask_email(to) if channel == "email" else identity.mask_phone(to)


def check_code(draft: RegistrationDraft, code: str) -> None:
    codes.verify(CODE_PURPOSE, draft.token, code)
    _move(draft, "confirm")


def back_to_identity(draft: RegistrationDraft) -> None:
    _move(draft, "identity")


def confirm(draft: RegistrationDraft, *, ip: str):
    """Create the account from a draft whose code was checked; the draft goes."""
    if draft.step != "confirm":
        raise RegistrationError(_l("请先完成前面的步骤。"))
    data = draft.data
    try:
        account = accounts.create_student(
            username=data["username"], real_name=data["real_name"], id_type=data["id_type"],
            id_number=data["id_number"], phone=data["phone"],
            password_hash=draft.password_hash, ip=ip)
    except accounts.AccountError as error:
        back_to_identity(draft)
        raise RegistrationError(str(error), field=error.field) from None
    draft.delete_instance()
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


def new_appeal_reference(now=None) -> str:
    now = now or utcnow()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"SS{now:%Y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def file_appeal(clean: dict, photo: bytes, *, upload_dir, max_bytes: int, ip: str) -> Appeal:
    import crypto  # local: keeps this change inside file_appeal while registration.py is reworked
    if photo and len(photo) <= max_bytes and uploads.too_many_pixels(photo):
        raise RegistrationError(_l("图片像素过多（上限 %(megapixels)s 百万像素），请缩小后再上传。",
                                   megapixels=uploads.MAX_UPLOAD_PIXELS // 1_000_000), field="photo")
    extension = _checked_photo(photo, max_bytes)
    reference = new_appeal_reference()
    path = Path(upload_dir) / "appeals" / f"{reference}.{extension}"
    crypto.write_private(path, photo)  # sealed: a photo of an identity document
    try:
        with db.atomic():
            appeal = Appeal.create(
                reference=reference, real_name=clean["real_name"], id_type=clean["id_type"],
                id_number=clean["id_number"], contact_email=clean["contact_email"],
                photo_path=str(path.relative_to(upload_dir)), ip=ip)
            accounts.audit("appeal.filed", actor=clean["contact_email"], detail=reference, ip=ip)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return appeal
