"""审计日志: one entry per change, decision, import, export, settings change and
staff look-up. Entries are only ever added; nothing in the portal edits or
deletes them.

`account` is the person concerned (the student whose record changed, the staff
account created); `actor` is who did it (a username, "cli", or the e-mail of an
appellant). `changes` keeps old and new values field by field so the viewer can
show them with readable names in the reader's language.
"""
from models import AuditEntry


def log(action: str, *, account=None, actor: str = "", detail: str = "", ip: str = "",
        changes: dict | None = None) -> AuditEntry:
    return AuditEntry.create(account=account,
                             actor=actor or (account.username if account else ""),
                             action=action, detail=detail, ip=ip, changes=changes)


def field_changes(kind: str, record_id: int, before: dict, after: dict) -> dict:
    """The `changes` document for a record edit: only the fields whose value changed,
    each as [old, new] in their display text."""
    fields = {name: [before.get(name, ""), after.get(name, "")]
              for name in after if before.get(name, "") != after.get(name, "")}
    return {"kind": kind, "record": record_id, "fields": fields}
