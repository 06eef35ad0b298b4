"""Reading the audit log (审计日志): filters, pages, readable actions and changes.

services.audit writes entries; this module reads them for the 管理员's viewer and
its exports. ACTION_LABELS is the one table of readable action names: every
action string passed to `audit.log` anywhere in the code has a label here
(tests/services/test_auditlog.py finds them all and fails on a missing one).
"""
import datetime
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import JOIN, fn

from models import Account, AuditEntry
from services import paging
from services import settings as settings_service
from services.columns import KINDS

PAGE_SIZE = 50

ACTION_LABELS = {
    # accounts
    "account.registered": _l("实名注册"),
    "account.locked": _l("多次登录失败，登录暂停"),
    "account.username_changed": _l("修改用户名"),
    "account.password_changed": _l("修改密码"),
    "account.phone_changed": _l("更换手机号"),
    "account.username_recovered": _l("找回用户名"),
    "account.password_reset": _l("忘记密码后重设密码"),
    "account.id_released": _l("证件号码从原账号解除（申诉获批）"),
    "account.unlocked": _l("解除登录锁定"),
    "account.sessions_ended": _l("结束全部会话"),
    "account.disabled": _l("停用账号"),
    "account.enabled": _l("启用账号"),
    "account.latin_name_changed": _l("修改护照姓名拼写"),
    "account.public_checks_on": _l("允许公开查询学历"),
    "account.public_checks_off": _l("关闭公开查询学历"),
    "account.data_downloaded": _l("下载我的数据"),
    "account.closed": _l("注销账号"),
    "account.erased": _l("删除已注销账号的个人信息"),
    # staff
    "admin.created": _l("创建管理员账号"),
    "admin.password_reset": _l("重设管理员密码"),
    "admin.totp_enrolled": _l("启用动态验证码"),
    "admin.login_totp": _l("用动态验证码登录"),
    "admin.login_recovery_code": _l("用恢复码登录"),
    "admin.totp_reset": _l("重置动态验证码"),
    "staff.created": _l("新建工作人员账号"),
    "staff.role_changed": _l("修改工作人员角色"),
    "settings.changed": _l("修改系统设置"),
    "signing.rotated": _l("更换报告签名证书"),
    "audit.exported": _l("导出审计日志"),
    # appeals
    "appeal.filed": _l("提交申诉"),
    "appeal.answered": _l("证件持有人答复申诉"),
    "appeal.approved": _l("批准申诉"),
    "appeal.rejected": _l("驳回申诉"),
    # records
    "records.imported": _l("导入记录"),
    "records.exported": _l("导出查询结果"),
    "person.viewed": _l("查看个人页面"),
    "record.viewed": _l("查看记录"),
    "major_name.added": _l("添加专业英文名称"),
    "major_name.changed": _l("修改专业英文名称"),
    "major_name.deleted": _l("删除专业英文名称"),
    "import.cancelled": _l("取消导入"),
    "records.auto_bound": _l("自动绑定记录"),
    "records.bound_by_certificate": _l("凭证书编号绑定记录"),
    "records.bound_by_number": _l("凭学号或证书编号确认后绑定记录"),
    "bind_request.opened": _l("等待学籍管理部门确认绑定"),
    "bind_request.approved": _l("确认绑定记录"),
    "bind_request.rejected": _l("未确认绑定记录"),
    "record.created": _l("新建记录"),
    "record.changed": _l("修改记录"),
    "record.withdrawn": _l("撤销记录"),
    "record.restored": _l("恢复记录"),
    "record.bound": _l("手工绑定记录"),
    "record.unbound": _l("解除记录绑定"),
    "correction.filed": _l("提交更正申请"),
    "record.corrected": _l("采纳更正，修改记录"),
    "correction.rejected": _l("驳回更正申请"),
    # reports
    "report.issued": _l("生成在线验证报告"),
    "report.extended": _l("延长报告有效期"),
    "report.closed": _l("关闭报告"),
    "report.withdrawn": _l("学校撤销报告"),
    "report.alerts_on": _l("开启查验提醒"),
    "report.alerts_off": _l("关闭查验提醒"),
}

# Readable names of the other keys a `changes` document may hold.
CHANGE_LABELS = {
    "latin_name": _l("护照姓名拼写"),
    "major": _l("专业"),
    "english": _l("英文名称"),
}


def action_label(action: str):
    """The readable name of an action in the reader's language; an unknown action
    (one added without a label) shows its raw code."""
    return ACTION_LABELS.get(action, action)


def action_choices() -> list[tuple[str, object]]:
    """(code, label) for the action filter, grouped as ACTION_LABELS lists them."""
    return list(ACTION_LABELS.items())


@dataclass(frozen=True)
class Filters:
    actor: str = ""
    action: str = ""
    person: str = ""
    since: datetime.datetime | None = None   # UTC, inclusive
    until: datetime.datetime | None = None   # UTC, exclusive

    def describe(self) -> str:
        """The filters as one line for the export's own audit entry."""
        parts = [f"{name}={value:%Y-%m-%d %H:%M}" if isinstance(value, datetime.datetime)
                 else f"{name}={value}"
                 for name, value in (("actor", self.actor), ("action", self.action),
                                     ("person", self.person), ("since_utc", self.since),
                                     ("until_utc", self.until)) if value]
        return " ".join(parts) or "all"


def day_bounds(first: datetime.date | None, last: datetime.date | None, tz_name: str):
    """The UTC instants (naive, as stored) that open `first` and close `last`, both
    days read in the school's time zone `tz_name`: [since, until)."""
    zone = zoneinfo.ZoneInfo(tz_name)

    def utc_midnight(day):
        local = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
        return local.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    since = utc_midnight(first) if first else None
    until = utc_midnight(last + datetime.timedelta(days=1)) if last else None
    return since, until


def _where(filters: Filters) -> list:
    conditions = []
    if filters.actor:
        conditions.append(AuditEntry.actor == filters.actor)
    if filters.action:
        conditions.append(AuditEntry.action == filters.action)
    if filters.person:
        conditions.append(AuditEntry.account.in_(
            Account.select(Account.id).where(Account.username == filters.person)))
    if filters.since:
        conditions.append(AuditEntry.at >= filters.since)
    if filters.until:
        conditions.append(AuditEntry.at < filters.until)
    return conditions


def search(filters: Filters):
    """Entries matching `filters`, newest first, with the person's id and username
    loaded in the same query."""
    query = (AuditEntry.select(AuditEntry, Account.id, Account.username)
             .join(Account, JOIN.LEFT_OUTER, on=(AuditEntry.account == Account.id)))
    conditions = _where(filters)
    if conditions:
        query = query.where(*conditions)
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def count(filters: Filters) -> int:
    """How many entries match, counted over the indexes alone."""
    query = AuditEntry.select(fn.COUNT(AuditEntry.id))
    conditions = _where(filters)
    if conditions:
        query = query.where(*conditions)
    return query.scalar() or 0


@dataclass(frozen=True)
class Page(paging.Paged):
    entries: list
    number: int
    total: int
    size: int = PAGE_SIZE


def page(filters: Filters, number: int = 1, size: int = PAGE_SIZE) -> Page:
    """One page of matching entries (two queries: the count and the page)."""
    query = search(filters)
    total = count(filters)
    pages = max(1, -(-total // size))
    number = min(max(1, number), pages)
    return Page(list(query.paginate(number, size)), number, total, size)


@dataclass(frozen=True)
class Change:
    label: object
    old: str
    new: str


def readable_changes(changes, english: bool) -> tuple[str, list[Change]]:
    """An entry's `changes` as (heading, [Change]) with readable field names:
    record columns by their label for the kind, settings by their DEFINITIONS label;
    a key nobody describes stays as it is."""
    if not isinstance(changes, dict):
        return "", []
    heading, rows = "", []
    kind = KINDS.get(changes.get("kind"))
    if kind is not None:
        heading = f"{kind.english if english else kind.label} #{changes.get('record', '')}"
        for attr, values in _pairs(changes.get("fields")):
            column = next((c for c in kind.columns if c.attr == attr), None)
            label = attr if column is None else (column.english if english else column.header)
            rows.append(Change(label, *values))
    for key, values in _pairs(changes.get("settings")):
        definition = settings_service.DEFINITIONS.get(key)
        rows.append(Change(definition.label if definition else key, *values))
    known = {"kind", "record", "fields", "settings"}
    for key, value in changes.items():
        if key in known:
            continue
        label = CHANGE_LABELS.get(key, key)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            rows.append(Change(label, _text(value[0]), _text(value[1])))
        else:
            rows.append(Change(label, "", _text(value)))
    return heading, rows


def _pairs(mapping) -> Iterator[tuple[str, tuple[str, str]]]:
    if not isinstance(mapping, dict):
        return
    for key, values in mapping.items():
        if isinstance(values, (list, tuple)) and len(values) == 2:
            yield key, (_text(values[0]), _text(values[1]))
        else:
            yield key, ("", _text(values))


def _text(value) -> str:
    return "" if value is None else str(value)


def detail_text(entry, english: bool) -> str:
    """The entry's detail as one line (exports): its changes, else its plain detail."""
    heading, rows = readable_changes(entry.changes, english)
    text = "; ".join(f"{row.label}: {row.old} → {row.new}" for row in rows)
    if text and heading:
        text = f"{heading}: {text}"
    return " — ".join(part for part in (text, entry.detail or "") if part)
