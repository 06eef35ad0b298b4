"""Settings a 管理员 changes in the portal, effective at once without a restart.

config.py and PORTAL_* environment variables give the defaults; a row in the
`setting` table overrides the key it names. Only keys listed in DEFINITIONS can
be stored. Every change is an audit entry with the old and new value.
"""
import functools
import hashlib
import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from peewee import IntegrityError

from models import SchoolLogo, Setting, db, utcnow, write_transaction
from services import audit
from services.errors import ServiceError
from services.uploads import image_format, too_many_pixels


@dataclass(frozen=True)
class Definition:
    key: str
    label: object  # lazy string: the name on the settings page and in the audit log


DEFINITIONS: dict[str, Definition] = {d.key: d for d in (
    Definition("SCHOOL_NAME", _l("学校名称")),
    Definition("SCHOOL_NAME_EN", _l("学校英文名称")),
    Definition("SCHOOL_NAMES", _l("曾用名")),
    Definition("SCHOOL_CODE", _l("学校代码")),
    Definition("SCHOOL_LOGO", _l("学校标志")),
    Definition("SCHOOL_CONTACT", _l("联系邮箱")),
    Definition("SCHOOL_OFFICE", _l("负责部门")),
    Definition("SCHOOL_PHONE", _l("联系电话")),
    Definition("SCHOOL_ADDRESS", _l("办公地址")),
    Definition("SCHOOL_HOURS", _l("办公时间")),
    Definition("ELIGIBLE_SINCE_YEAR", _l("可查询的最早毕业年份")),
    Definition("REPORT_MAX_MONTHS", _l("报告最长有效期（月）")),
    # "auto", "number" or "approval" (services.binding.MODES).
    Definition("BIND_MODE", _l("记录绑定方式")),
    Definition("TIMEZONE", _l("时区")),
    Definition("MESSAGE_SIGNATURE", _l("短信和邮件签名")),
    Definition("INTERNATIONAL_SMS", _l("向境外手机号码发送短信")),
    Definition("FOREIGN_ID_ANY_EMAIL", _l("持其他证件者可用任意邮箱接收校验码")),
    Definition("CLOSED_ACCOUNT_RETENTION_DAYS", _l("注销账号的个人信息保留天数")),
)}


_ROWS_SQL = {}  # database class -> (sql, params), built once: building it cost more than running it


def _stored_rows() -> tuple:
    """(key, stored JSON text) of each value changed in the portal, by key (one query)."""
    dialect = type(db.obj)
    if dialect not in _ROWS_SQL:
        _ROWS_SQL[dialect] = Setting.select(Setting.key, Setting.value).sql()
    sql, params = _ROWS_SQL[dialect]
    return tuple(sorted(row for row in db.execute_sql(sql, params).fetchall()
                        if row[0] in DEFINITIONS))


def stored() -> dict:
    """The values changed in the portal (one query)."""
    return {key: json.loads(value) for key, value in _stored_rows()}


def current(defaults: Mapping) -> dict:
    """Every defined setting: the stored value, else the configured default."""
    return current_and_version(defaults)[0]


def current_and_version(defaults: Mapping) -> tuple[dict, tuple]:
    """current(defaults) and its version: the stored rows as read (a tuple, equal for
    equal settings). Read from the database every time, so a change made through any
    app server shows at once; what is cached by the version (a rendered page) is
    therefore never older than the database."""
    rows = _stored_rows()
    values = {key: defaults.get(key) for key in DEFINITIONS}
    values.update((key, json.loads(value)) for key, value in rows)
    return values, rows


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


class SettingError(ServiceError):
    pass


@functools.cache
def timezones() -> frozenset:
    """The time zone names a school may choose (the IANA database)."""
    return frozenset(zoneinfo.available_timezones())


# --- former names -----------------------------------------------------------------

_SEPARATORS = re.compile(r"\s*[,，、]\s*")
_YEAR = re.compile(r"^\d{4}$")


def parse_school_names(text: str, *, this_year: int) -> list[dict]:
    """The textarea "name, from, until" (one name a line, the current name first with
    no end year) as SCHOOL_NAMES; SettingError naming the line at fault."""
    names, seen = [], set()
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        raise SettingError(_l("至少填写一行：现在的校名和启用年份。"), field="school_names")
    for number, line in enumerate(lines, start=1):
        parts = _SEPARATORS.split(line)
        if len(parts) == 2:
            parts.append("")
        if len(parts) != 3 or not parts[0]:
            raise SettingError(_l("第 %(n)s 行应为“校名, 起始年份, 结束年份”（现在的校名不填结束年份）。",
                                  n=number), field="school_names")
        name, start, until = parts
        if len(name) > 64:
            raise SettingError(_l("第 %(n)s 行的校名太长（最多 64 个字）。", n=number),
                               field="school_names")
        if name in seen:
            raise SettingError(_l("第 %(n)s 行的校名重复了。", n=number), field="school_names")
        if not _YEAR.match(start) or not 1800 <= int(start) <= this_year:
            raise SettingError(_l("第 %(n)s 行的起始年份应是 1800 到 %(year)s 之间的四位数字。",
                                  n=number, year=this_year), field="school_names")
        if until and (not _YEAR.match(until) or not int(start) <= int(until) <= this_year):
            raise SettingError(_l("第 %(n)s 行的结束年份应是不早于起始年份、不晚于 %(year)s 的四位数字。",
                                  n=number, year=this_year), field="school_names")
        if not until and number > 1:
            raise SettingError(_l("第 %(n)s 行缺少结束年份：只有第一行（现在的校名）可以不填。",
                                  n=number), field="school_names")
        if until and number == 1:
            raise SettingError(_l("第 1 行应是现在的校名，不填结束年份。"), field="school_names")
        seen.add(name)
        names.append({"name": name, "from": int(start), "until": int(until) if until else None})
    return names


def school_names_text(names) -> str:
    """SCHOOL_NAMES as the textarea shows them."""
    lines = []
    for entry in names or []:
        parts = [entry["name"], str(entry.get("from") or "")]
        if entry.get("until"):
            parts.append(str(entry["until"]))
        lines.append(", ".join(parts))
    return "\n".join(lines)


# --- the logo ---------------------------------------------------------------------

LOGO_MAX_BYTES = 100 * 1024
LOGO_MAX_PIXELS = 4_000_000
LOGO_TYPES = {"image/png": "png", "image/svg+xml": "svg"}

_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# Shapes, text and paint only: no script, style sheet, foreign object, image,
# link or animation (which can set a link).
_SVG_ELEMENTS = {"svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon",
                 "text", "tspan", "defs", "title", "desc", "linearGradient", "radialGradient",
                 "stop", "clipPath", "mask", "symbol", "use", "pattern"}
_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


def check_logo(data: bytes) -> tuple[str, bytes]:
    """(content type, data) for a logo that may be shown: a PNG, or an SVG of shapes
    and text only, at most LOGO_MAX_BYTES; else SettingError beside the field."""
    if not data:
        raise SettingError(_l("请选择标志文件。"), field="logo")
    if len(data) > LOGO_MAX_BYTES:
        raise SettingError(_l("标志文件不能超过 100 KB。"), field="logo")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if too_many_pixels(data, LOGO_MAX_PIXELS) or image_format(data) != "PNG":
            raise SettingError(_l("PNG 文件已损坏或像素过多（最多 400 万像素）。"), field="logo")
        return "image/png", data
    if _svg_problem(data) is None:
        return "image/svg+xml", data
    raise SettingError(_svg_problem(data), field="logo")


def _svg_problem(data: bytes):
    """None for an SVG that is safe to show, else why not."""
    try:
        from defusedxml import ElementTree
        from defusedxml.common import DefusedXmlException
    except ImportError:  # without defusedxml no SVG is parsed at all
        return _l("标志只能是 PNG 图片。")
    not_image = _l("标志只能是 PNG 或 SVG 图片。")
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                      forbid_external=True)
    except DefusedXmlException:
        return _l("SVG 文件不能含有 DOCTYPE 或实体声明。")
    except Exception:  # not XML at all
        return not_image
    if root.tag != f"{_SVG}svg":
        return not_image
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else "?"
        name = tag[len(_SVG):] if tag.startswith(_SVG) else tag
        if not tag.startswith(_SVG) or name not in _SVG_ELEMENTS:
            return _l("SVG 文件含有不允许的元素 <%(name)s>（脚本、样式表、外部图片或链接等），"
                      "请只保留图形，或者改用 PNG。", name=str(name).rpartition("}")[2])
        for attribute, value in element.attrib.items():
            local = attribute.rpartition("}")[2].lower()
            if local.startswith("on"):
                return _l("SVG 文件含有脚本（%(name)s 属性），请删除后再上传，或者改用 PNG。",
                          name=local)
            if (local == "href" or attribute == _XLINK_HREF) and not value.strip().startswith("#"):
                return _l("SVG 文件引用了外部内容（%(value)s），请删除后再上传，或者改用 PNG。",
                          value=value[:40])
            lowered = value.lower()
            if any(not target.startswith("#") for target in _URL.findall(value)) \
                    or "javascript:" in lowered or "@import" in lowered or "expression(" in lowered:
                return _l("SVG 文件引用了外部内容（%(value)s），请删除后再上传，或者改用 PNG。",
                          value=value[:40])
    return None


def store_logo(content_type: str, data: bytes) -> dict:
    """Keep the logo's bytes in the database (every app server has them); the value
    of the SCHOOL_LOGO setting that names it."""
    digest = hashlib.sha256(data).hexdigest()
    if not SchoolLogo.select().where(SchoolLogo.sha256 == digest).exists():
        try:
            with db.atomic():
                SchoolLogo.create(sha256=digest, content_type=content_type, data=data)
        except IntegrityError:  # stored meanwhile by another request: the same bytes
            pass
    return {"sha256": digest, "type": content_type}


def logo(digest: str):
    """(content type, bytes) of a stored logo, or None."""
    row = (SchoolLogo.select(SchoolLogo.content_type, SchoolLogo.data)
           .where(SchoolLogo.sha256 == digest).first())
    return (row.content_type, bytes(row.data)) if row else None
