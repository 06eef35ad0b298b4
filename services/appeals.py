"""申诉: deciding identity appeals, and what the people involved are told."""
import re
import unicodedata

from flask_babel import lazy_gettext as _l

from models import Account, Appeal, db, utcnow
from services import accounts, binding, identity, messaging
from services.errors import ServiceError


class AppealError(ServiceError):
    pass


def normalize_reference(typed: str) -> str:
    text = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", typed or "").upper())
    return f"{text[:10]}-{text[10:]}" if len(text) > 10 else text


def _id_candidates(typed: str):
    for rule in (identity.normalize_resident_id, identity.normalize_other_id):
        try:
            yield rule(typed)
        except identity.IdentityError:
            continue


def find(reference: str, id_number: str):
    """An appeal by its reference, only together with the ID number it names."""
    appeal = Appeal.get_or_none(Appeal.reference == normalize_reference(reference))
    if appeal and appeal.id_number in set(_id_candidates(id_number)):
        return appeal
    return None


def current_holder(appeal: Appeal):
    """The account that holds the appealed ID number now, if any."""
    return Account.get_or_none(Account.id_number.matches(appeal.id_number))


def for_account(account: Account):
    if not account.id_number:
        return []
    return list(Appeal.select().where(Appeal.id_number.matches(account.id_number))
                .order_by(Appeal.created_at.desc()))


def _tell_appellant(appeal: Appeal, config) -> None:
    school = config["SCHOOL_NAME"]
    if appeal.status == Appeal.APPROVED:
        body = (f"你提交的证件号码申诉（编号 {appeal.reference}）已通过。该证件号码已从原账号解除，"
                f"你现在可以用它实名注册学信档案。")
    else:
        body = (f"你提交的证件号码申诉（编号 {appeal.reference}）未通过。原因：{appeal.decision_reason}。"
                f"如有疑问，请联系学校学籍管理部门。")
    messaging.send(config, messaging.Message(
        channel="email", to=appeal.contact_email, subject=f"{school} 学信档案申诉结果", body=body))


def decide(appeal: Appeal, approve: bool, reason: str, *, actor: str, config, ip: str = "") -> Appeal:
    """Approve or reject a pending appeal. Approval frees the ID number at once."""
    reason = (reason or "").strip()
    if appeal.status != Appeal.PENDING:
        raise AppealError(_l("这条申诉已经处理过了。"))
    if not approve and not reason:
        raise AppealError(_l("驳回申诉时必须写明理由。"))
    previous_owner = None
    with db.atomic():
        appeal.status = Appeal.APPROVED if approve else Appeal.REJECTED
        appeal.decision_reason = reason
        appeal.decided_at = utcnow()
        appeal.save()
        if approve:
            previous_owner = current_holder(appeal)
            if previous_owner:
                binding.release(previous_owner, appeal.id_number)
                previous_owner.id_number = None
                previous_owner.session_version += 1
                previous_owner.save()
                accounts.audit("account.id_released", account=previous_owner, actor=actor, ip=ip,
                               detail=appeal.reference)
        accounts.audit("appeal.approved" if approve else "appeal.rejected", actor=actor, ip=ip,
                       detail=appeal.reference)
    if previous_owner:
        accounts.notify(previous_owner,
                        "经学校核实，你的学信档案账号所用的证件号码属于他人，已从你的账号解除，"
                        "你的登录已退出。如有疑问，请联系学校学籍管理部门。", config=config)
    _tell_appellant(appeal, config)
    return appeal
