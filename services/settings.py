"""Settings a 管理员 changes in the portal, effective at once without a restart.

config.py and PORTAL_* environment variables give the defaults; a row in the
`setting` table overrides the key it names. Only keys listed in DEFINITIONS can
be stored. Every change is an audit entry with the old and new value.
"""
import json
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import Setting, db, utcnow, write_transaction
from services import audit


@dataclass(frozen=True)
class Definition:
    key: str
    label: object  # lazy string: the name on the settings page and in the audit log


DEFINITIONS: dict[str, Definition] = {d.key: d for d in (
    Definition("SCHOOL_NAME", _l("学校名称")),
    Definition("SCHOOL_NAME_EN", _l("学校英文名称")),
    Definition("SCHOOL_NAMES", _l("曾用名")),
    Definition("SCHOOL_CONTACT", _l("联系方式")),
    Definition("ELIGIBLE_SINCE_YEAR", _l("可查询的最早毕业年份")),
    Definition("REPORT_MAX_MONTHS", _l("报告最长有效期（月）")),
    # "auto", "number" or "approval" (services.binding.MODES).
    Definition("BIND_MODE", _l("记录绑定方式")),
)}


def stored() -> dict:
    """The values changed in the portal (one query)."""
    return {row.key: json.loads(row.value) for row in Setting.select(Setting.key, Setting.value)
            if row.key in DEFINITIONS}


def current(defaults: Mapping) -> dict:
    """Every defined setting: the stored value, else the configured default."""
    values = {key: defaults.get(key) for key in DEFINITIONS}
    values.update(stored())
    return values


def save(changes: Mapping, *, defaults: Mapping, actor: str, ip: str = "") -> dict:
    """Store the keys whose value differs from the current one, in one transaction,
    and write one audit entry listing each change. Returns {key: [old, new]}."""
    unknown = set(changes) - set(DEFINITIONS)
    if unknown:
        raise KeyError(", ".join(sorted(unknown)))
    with write_transaction():
        before = current(defaults)
        changed = {key: [before[key], value] for key, value in changes.items()
                   if before[key] != value}
        for key, (_old, new) in changed.items():
            text = json.dumps(new, ensure_ascii=False)
            updated = (Setting.update(value=text, updated_at=utcnow(), updated_by=actor)
                       .where(Setting.key == key).execute())
            if not updated:
                try:
                    with db.atomic():
                        Setting.create(key=key, value=text, updated_by=actor)
                except IntegrityError:  # PostgreSQL: created meanwhile; ours is later
                    Setting.update(value=text, updated_at=utcnow(), updated_by=actor
                                   ).where(Setting.key == key).execute()
        if changed:
            audit.log("settings.changed", actor=actor, ip=ip,
                      changes={"settings": {key: [_text(old), _text(new)]
                                            for key, (old, new) in changed.items()}})
    return changed


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
