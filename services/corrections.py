"""校对 / 更正申请: a student asks the registrar to correct one field of a record.

The record itself never changes here; the registrar decides (administration
work). One pending request per field at a time: a unique key that is set only
while the request is pending lets the database settle two requests at once.
"""
import datetime
import secrets

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import CorrectionRequest, Record, db, utcnow
from services import accounts, audit, files, identity, messaging, uploads
from services.columns import KINDS, Column, InvalidValue, Kind, clean, clean_id_number, clean_values
from services.errors import ServiceError
from services.records import display_value, format_value

MAX_REASON = 500
PER_PAGE = 50


class CorrectionError(ServiceError):
    pass


def pending_key(kind: Kind, record: Record, attr: str) -> str:
    return f"{kind.key}:{record.id}:{attr}"


def _evidence_extension(data: bytes, max_bytes: int) -> str:
    if len(data) > max_bytes:
        raise CorrectionError(_l("证明材料不能超过 2 MB。"), field="evidence")
    if data.startswith(b"%PDF-"):
        problem = uploads.pdf_problem(data)
        if problem == "encrypted":
            raise CorrectionError(_l("证明材料是加密的 PDF，请上传未加密的文件。"), field="evidence")
        if problem:
            raise CorrectionError(_l("证明材料不是有效的 PDF 文件，请重新导出后再上传。"),
                                  field="evidence")
        return "pdf"
    if uploads.too_many_pixels(data):
        raise CorrectionError(_l("图片像素过多（上限 %(megapixels)s 百万像素），请缩小后再上传。",
                                 megapixels=uploads.MAX_UPLOAD_PIXELS // 1_000_000), field="evidence")
    kind = uploads.image_format(data)
    if kind not in uploads.PHOTO_EXTENSIONS:
        raise CorrectionError(_l("证明材料只接受 JPG、PNG 或 PDF 文件。"), field="evidence")
    return uploads.PHOTO_EXTENSIONS[kind]


# 证件类型 and 证件号码 go together: a number is checked by its type's rule.
ID_PAIR = {"id_type": "id_number", "id_number": "id_type"}


def pending_companion(record: Record, attr: str):
    """The value a pending request proposes for the other half of the ID pair of
    `attr` (证件类型 for 证件号码 and back), or None."""
    other = ID_PAIR.get(attr)
    kind = next((k for k in KINDS.values() if k.model is type(record)), None)
    if other is None or kind is None:
        return None
    request = CorrectionRequest.get_or_none(
        CorrectionRequest.kind == kind.key, CorrectionRequest.record_id == record.id,
        CorrectionRequest.field == other, CorrectionRequest.status == CorrectionRequest.PENDING)
    return request.proposed_value if request else None


def checked_value(record: Record, column: Column, typed: str, field: str,
                  today: datetime.date | None = None) -> str:
    """`typed` as the record would show it, once it passes the column's own rule
    (a choice among the column's choices, a real date, a valid ID number for the
    record's ID type, or for the type a pending correction of 证件类型 proposes …);
    CorrectionError beside `field` otherwise. `today` is the school's day (dates
    may not lie after it)."""
    try:
        if column.type == "id_number":
            id_type = (pending_companion(record, "id_number") or getattr(record, "id_type", None)
                       or identity.RESIDENT_ID)
            stored = clean_id_number(typed, id_type)
        else:
            stored = clean(column, typed, today)
    except (InvalidValue, identity.IdentityError) as error:
        raise CorrectionError(str(error), field=field) from None
    return format_value(column, stored)


def file_request(account, kind: Kind, record: Record, attr: str, proposed: str, reason: str,
                 evidence: bytes | None, *, max_bytes: int, ip: str = "",
                 today: datetime.date | None = None):
    columns = {column.attr: column for column in kind.columns}
    if attr not in columns:
        raise CorrectionError(_l("请选择有误的项目。"), field="field")
    proposed = (proposed or "").strip()
    reason = (reason or "").strip()
    current = display_value(record, columns[attr])
    if not proposed:
        raise CorrectionError(_l("请填写正确的内容。"), field="proposed_value")
    if len(proposed) > 200:
        raise CorrectionError(_l("正确的内容最多 200 字。"), field="proposed_value")
    # Checked before anything is filed: the registrar gets values the record can take.
    proposed = checked_value(record, columns[attr], proposed, "proposed_value", today)
    if proposed == current:
        raise CorrectionError(_l("填写的内容与记录中的一样。"), field="proposed_value")
    if not reason:
        raise CorrectionError(_l("请说明理由，例如依据哪份材料。"), field="reason")
    if len(reason) > MAX_REASON:
        raise CorrectionError(_l("理由最多 500 字。"), field="reason")
    extension = _evidence_extension(evidence, max_bytes) if evidence else None
    try:
        with db.atomic():
            # Sealed (it may show an ID number), with its request or not at all.
            name = (files.put(f"evidence/{secrets.token_hex(12)}.{extension}", evidence)
                    if extension else None)
            request = CorrectionRequest.create(
                account=account, kind=kind.key, record_id=record.id, field=attr,
                current_value=current, proposed_value=proposed, reason=reason,
                evidence_path=name, pending_key=pending_key(kind, record, attr))
            audit.log("correction.filed", account=account, ip=ip,
                           detail=f"{kind.key}:{record.id}:{attr}")
    except IntegrityError:
        raise CorrectionError(_l("这一项已有一条待处理的更正申请，请等学校处理后再提交。"),
                              field="field") from None
    return request


def for_account(account):
    return list(CorrectionRequest.select().where(CorrectionRequest.account == account)
                .order_by(CorrectionRequest.created_at.desc(), CorrectionRequest.id.desc()))


def queue(status: str, page: int = 1, per_page: int = PER_PAGE):
    """One page of the requests in `status`, oldest first: (items, how many in all,
    the page shown: a page past the end shows the last one)."""
    query = CorrectionRequest.select().where(CorrectionRequest.status == status)
    total = query.count()
    page = min(max(page, 1), max(-(-total // per_page), 1))
    items = list(query.order_by(CorrectionRequest.created_at, CorrectionRequest.id)
                 .paginate(page, per_page))
    return items, total, page


def pending_count() -> int:
    return CorrectionRequest.select().where(
        CorrectionRequest.status == CorrectionRequest.PENDING).count()


def pending_fields(kind: Kind, record: Record) -> set:
    return {request.field for request in CorrectionRequest.select().where(
        CorrectionRequest.kind == kind.key, CorrectionRequest.record_id == record.id,
        CorrectionRequest.status == CorrectionRequest.PENDING)}


# --- the registrar's decision ---------------------------------------------------

DERIVED = {"certificate_number": ("certificate_key",), "school_number": ("school_number_key",)}


def decide(correction: CorrectionRequest, approve: bool, reply: str, *, actor: str, postman,
           ip: str = "", value: str | None = None) -> CorrectionRequest:
    """Adopt (the record changes, with an audit entry) or decline with a reason.

    `value`, when given, is the registrar's amended value (the student typed
    「毕业了」, the registrar adopts 毕业); empty means the value as the student
    typed it. Either must pass the record's rules; a broken rule is reported
    beside the `value` field and nothing is written."""
    reply = (reply or "").strip()
    typed = (value or "").strip()
    if correction.status != CorrectionRequest.PENDING:
        raise CorrectionError(_l("这条更正申请已经处理过了。"))
    if not approve and not reply:
        raise CorrectionError(_l("不采纳时必须写明理由。"), field="reply")
    kind = KINDS[correction.kind]
    column = kind.column(correction.field)
    status = CorrectionRequest.APPROVED if approve else CorrectionRequest.REJECTED
    decided_at = utcnow()
    adopted = None
    with db.atomic():
        # The first write, guarded by the status read: of two decisions at once,
        # the second finds nothing pending and changes nothing.
        if not CorrectionRequest.update(
                status=status, reply=reply or None, decided_at=decided_at, decided_by=actor,
                pending_key=None).where(CorrectionRequest.id == correction.id,
                                        CorrectionRequest.status == CorrectionRequest.PENDING
                                        ).execute():
            raise CorrectionError(_l("这条更正申请已经处理过了。"))
        if approve:
            adopted = _adopt(correction, kind, column, typed or correction.proposed_value,
                             amended=bool(typed) and typed != correction.proposed_value,
                             actor=actor, ip=ip)
            CorrectionRequest.update(adopted_value=adopted).where(
                CorrectionRequest.id == correction.id).execute()
            correction.adopted_value = adopted
        correction.status, correction.reply = status, reply or None
        correction.decided_at, correction.decided_by, correction.pending_key = decided_at, actor, None
        if not approve:
            audit.log("correction.rejected", actor=actor, ip=ip, account=correction.account,
                      detail=str(correction.id))
    shown = identity.mask_id(adopted) if adopted and column.type == "id_number" else adopted
    try:
        accounts.notify(correction.account, "correction_decided.txt", postman=postman,
                        kind=kind.label, field=column.header, approved=approve, reply=reply,
                        value=shown)
    except messaging.MessagingError:
        pass  # the decision stands; the student sees it on 我的更正申请
    return correction


def _adopt(correction: CorrectionRequest, kind: Kind, column: Column, typed: str, *,
           amended: bool, actor: str, ip: str) -> str:
    """Write the adopted value into its one column (with its look-up columns) and
    the record's update date; one audit entry with the old and new value."""
    record = kind.model.get_or_none(kind.model.id == correction.record_id)
    if record is None:
        raise CorrectionError(_l("这条记录已不存在，不能采纳。"))
    raw = {c.attr: display_value(record, c) for c in kind.columns}
    raw[correction.field] = typed
    values, problems = clean_values(kind, raw)
    companion = pending_companion(record, correction.field)
    if problems and companion:
        # Half of the ID pair while the other half waits too (a 护照 number on a
        # record of 居民身份证): the pair as proposed may pass where this half alone
        # cannot; only this half is written, the other waits for its own decision.
        values, problems = clean_values(kind, {**raw, ID_PAIR[correction.field]: companion})
    if problems:
        raise CorrectionError(_l("按记录的规则，新的内容不能采用：%(problems)s",
                                 problems="；".join(f"{h}：{m}" for h, m in problems)),
                              field="value")
    old = display_value(record, column)
    changed = [correction.field, *DERIVED.get(correction.field, ())]
    fields = kind.model._meta.fields
    update = {fields[attr]: values.get(attr) for attr in changed}
    for attr in changed:
        index_name = getattr(fields[attr], "index_name", None)
        if index_name:
            update[fields[index_name]] = values.get(index_name)
    update[fields["updated_at"]] = utcnow()
    # Only the corrected column, its look-up columns and the update date.
    kind.model.update(update).where(kind.model.id == record.id).execute()
    new = format_value(column, values.get(correction.field))
    audit.log("record.corrected", actor=actor, ip=ip, account=correction.account,
              detail=f"{kind.key}:{record.id}:{correction.field}: {old} -> {new} "
                     f"(request {correction.id}{', amended by the registrar' if amended else ''})",
              changes=audit.field_changes(kind.key, record.id, {correction.field: old},
                                          {correction.field: new}))
    return new
