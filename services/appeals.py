"""申诉: deciding identity appeals, and what the people involved are told."""
import re
import unicodedata

from flask_babel import lazy_gettext as _l

from models import Account, Appeal, db, utcnow
from services import accounts, audit, binding, identity, messaging, reports
from services.columns import KINDS
from services.errors import ServiceError


class AppealError(ServiceError):
    pass


def normalize_reference(typed: str) -> str:
    text = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", typed or "").upper())
    return f"{text[:10]}-{text[10:]}" if len(text) > 10 else text


def find(reference: str, id_number: str):
    """An appeal by its reference, only together with the ID number it names."""
    appeal = Appeal.get_or_none(Appeal.reference == normalize_reference(reference))
    if appeal and appeal.id_number in identity.lookup_forms(id_number):
        return appeal
    return None


PER_PAGE = 50


def queue(status: str, page: int = 1, per_page: int = PER_PAGE):
    """One page of the appeals in `status`, oldest first: (items, how many in all,
    the page shown: a page past the end shows the last one)."""
    query = Appeal.select().where(Appeal.status == status)
    total = query.count()
    page = min(max(page, 1), max(-(-total // per_page), 1))
    items = list(query.order_by(Appeal.created_at, Appeal.id).paginate(page, per_page))
    return items, total, page


def pending_count() -> int:
    return Appeal.select().where(Appeal.status == Appeal.PENDING).count()


def current_holder(appeal: Appeal):
    """The account that holds the appealed ID number now, if any."""
    return Account.get_or_none(Account.id_number.matches(appeal.id_number))


def for_account(account: Account):
    """Appeals against the account's ID number. Shown to the holder as a neutral
    notice: never the reference (it lets the appellant follow the appeal) nor who
    filed it."""
    if not account.id_number:
        return []
    return list(Appeal.select().where(Appeal.id_number.matches(account.id_number))
                .order_by(Appeal.created_at.desc()))


ANSWER_MAX = 500


def answer(appeal_id: int, account: Account, text: str, *, ip: str = "") -> Appeal | None:
    """The ID holder's answer to a pending appeal against their ID number, for staff.

    Returns None when `account` does not hold the appeal's ID number (the caller
    answers 404: a stranger learns nothing). Only the answer columns are written."""
    text = (text or "").strip()
    if not account.id_number:
        return None
    appeal = Appeal.get_or_none(Appeal.id == appeal_id,
                                Appeal.id_number.matches(account.id_number))
    if appeal is None:
        return None
    if not text:
        raise AppealError(_l("请填写你的说明。"), field="answer")
    if len(text) > ANSWER_MAX:
        raise AppealError(_l("最多 500 字。"), field="answer")
    with db.atomic():
        written = Appeal.update(holder_answer=text, holder_answered_at=utcnow()).where(
            Appeal.id == appeal.id, Appeal.status == Appeal.PENDING).execute()
        if not written:
            raise AppealError(_l("学校已经处理了这条申诉，不能再补充说明。"), field="answer")
        audit.log("appeal.answered", account=account, ip=ip, detail=appeal.reference)
    return Appeal.get_by_id(appeal.id)


def _to_appellant(appeal: Appeal, template_name: str, postman, **context) -> None:
    """E-mail to the contact address and, when the appellant gave a phone, the same
    text by SMS. Both are tried; the first failure is raised afterwards."""
    failure = None
    destinations = [("email", appeal.contact_email)]
    if appeal.contact_phone:
        destinations.append(("sms", appeal.contact_phone))
    for channel, to in destinations:
        try:
            postman.send(template_name, channel=channel, to=to, sms=channel == "sms",
                         reference=appeal.reference, **context)
        except messaging.MessagingError as error:
            failure = failure or error
    if failure:
        raise failure


def acknowledge(appeal: Appeal, *, postman, status_url: str) -> bool:
    """The acknowledgement with the reference, by e-mail and SMS. The appeal stands
    if a message fails (the page shows the reference too): False then."""
    try:
        _to_appellant(appeal, "appeal_filed.txt", postman, status_url=status_url)
    except messaging.MessagingError:
        return False
    return True


def _tell_appellant(appeal: Appeal, postman) -> None:
    approved = appeal.status == Appeal.APPROVED
    _to_appellant(appeal, "appeal_decided_approved.txt" if approved
                  else "appeal_decided_rejected.txt", postman, reason=appeal.decision_reason)


def decide(appeal: Appeal, approve: bool, reason: str, *, actor: str, postman,
           ip: str = "") -> Appeal:
    """Approve or reject a pending appeal. Approval frees the ID number at once."""
    reason = (reason or "").strip()
    if appeal.status != Appeal.PENDING:
        raise AppealError(_l("这条申诉已经处理过了。"))
    if not approve and not reason:
        raise AppealError(_l("驳回申诉时必须写明理由。"))
    previous_owner = None
    withdrawn = []
    status = Appeal.APPROVED if approve else Appeal.REJECTED
    decided_at = utcnow()
    with db.atomic():
        # The first write, guarded by the status read: of two decisions at once,
        # the second finds nothing pending and changes nothing.
        if not Appeal.update(status=status, decision_reason=reason, decided_at=decided_at).where(
                Appeal.id == appeal.id, Appeal.status == Appeal.PENDING).execute():
            raise AppealError(_l("这条申诉已经处理过了。"))
        appeal.status, appeal.decision_reason, appeal.decided_at = status, reason, decided_at
        if approve:
            previous_owner = current_holder(appeal)
            if previous_owner:
                # Reports the previous holder issued on the moved records stop
                # verifying (as withdrawn by the school), in the same transaction.
                withdrawn = reports.withdraw_valid(
                    previous_owner, binding.records_carrying(previous_owner, appeal.id_number),
                    actor=actor, ip=ip, why=f"appeal {appeal.reference}", now=decided_at)
                binding.release(previous_owner, appeal.id_number)
                Account.update({Account.id_number: None, Account.id_number_index: None,
                                Account.session_version: Account.session_version + 1}).where(
                    Account.id == previous_owner.id).execute()
                previous_owner.id_number = None
                audit.log("account.id_released", account=previous_owner, actor=actor, ip=ip,
                               detail=appeal.reference)
        audit.log("appeal.approved" if approve else "appeal.rejected", actor=actor, ip=ip,
                       detail=appeal.reference)
    if previous_owner:
        accounts.notify(previous_owner, "id_number_released.txt", postman=postman,
                        withdrawn=[KINDS[report.kind].report_title for report in withdrawn])
    _tell_appellant(appeal, postman)
    return appeal
