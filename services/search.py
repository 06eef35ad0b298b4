"""查询: one search box over the five record kinds and the student accounts.

What was typed is read by its shape (`lookups`): a name (prefix), an ID number
(through the blind index), a student, certificate or candidate number, a
username or a phone number. Every look-up is an equality or a range on an
indexed column (never a leading-wildcard LIKE), so a search stays fast on
hundreds of thousands of records. The filters (kind, year, 层次, 专业, 学籍状态,
bound or not) narrow it further; a kind that has no such column drops out.

Results come kind after kind (accounts, then the record kinds in their usual
order); within a kind in the order of the index the search reads (`_order`),
never sorted afterwards, so LIMIT/OFFSET paging stays fast deep into the results.
ID numbers come back masked; nothing here returns a full one.
"""
import datetime
import functools
import operator
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from peewee import Cast, Value, fn

import crypto
from models import Account
from services import identity, phone_regions
from services.columns import KINDS, LEVELS, STATUSES
from services.errors import ServiceError

PER_PAGE = 50
MAX_PAGE = 2000
EXPORT_LIMIT = 50_000
ACCOUNT = "account"
# Every kind a result row can be, in the order results are listed.
ORDER = (ACCOUNT, *KINDS)
# The highest code point: `name < prefix || MAX_CHAR` keeps names whose next
# character lies beyond the Basic Multilingual Plane (王𠮷), which U+FFFF would cut.
MAX_CHAR = "\U0010ffff"

# The column each kind's year filter reads (the year it was admitted, graduated,
# awarded, admitted to, paid), and the columns behind 专业 and 层次.
YEAR_COLUMNS = {"enrollment": "admission_date", "diploma": "graduation_date",
                "degree": "award_date", "admission": "year", "aid": "paid_on"}
MAJOR_COLUMNS = {"enrollment": "major", "diploma": "major", "degree": "discipline",
                 "admission": "major"}
LEVEL_KINDS = ("enrollment", "diploma", "admission")
STATUS_KINDS = ("enrollment",)
BOUND_CHOICES = ("yes", "no")


class SearchError(ServiceError):
    pass


@dataclass(frozen=True)
class Criteria:
    """One search as the staff member asked it (every value already checked)."""

    q: str = ""
    kind: str = ""
    year: int | None = None
    level: str = ""
    major: str = ""
    status: str = ""
    bound: str = ""
    # The country or region a phone number typed without + is read in.
    region: str = phone_regions.DEFAULT

    @property
    def record_filters(self) -> bool:
        """Whether a filter only records have is set (accounts then drop out)."""
        return bool(self.year or self.level or self.major or self.status or self.bound)

    @property
    def empty(self) -> bool:
        return not (self.q or self.kind or self.record_filters)

    def as_args(self) -> dict:
        """The query string that asks this search again (paging, exports)."""
        values = dict(q=self.q, kind=self.kind, year=self.year or "", level=self.level,
                      major=self.major, status=self.status, bound=self.bound,
                      region="" if self.region == phone_regions.DEFAULT else self.region)
        return {key: value for key, value in values.items() if value not in ("", None)}


@dataclass(frozen=True)
class Lookups:
    """What the typed text may be; every field empty means it fits no shape."""

    name: str = ""
    id_numbers: tuple = ()
    identifiers: tuple = ()
    certificate_key: str = ""
    username: str = ""
    phone: str = ""

    def __bool__(self):
        return bool(self.name or self.id_numbers or self.identifiers or self.certificate_key
                    or self.username or self.phone)


_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
_DOTS = "\u00b7\u30fb\u2027\uff65\u2022"
_NAME = re.compile(rf"[{_CJK}A-Za-z][{_CJK}{_DOTS}A-Za-z .'\-]*")
_IDENTIFIER = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-_/]*")


def lookups(typed: str, region: str = phone_regions.DEFAULT) -> Lookups:
    """Read the search text by its shape; several shapes may fit (an 11-digit
    number is a phone number, a student number and a certificate number at once),
    and each costs one exact index look-up. A phone number is read in `region`
    unless it starts with + or 00, and looked up in E.164 as it is stored."""
    text = unicodedata.normalize("NFKC", typed or "").strip()
    if not text:
        return Lookups()
    name = text if _NAME.fullmatch(text) and len(text) <= 30 else ""
    username = text.lower() if "@" in text and " " not in text else ""
    ids, identifiers, key, phone = [], [], "", ""
    folded = identity.fold(text)
    if not username and _IDENTIFIER.fullmatch(folded) and len(folded) <= 32:
        identifiers = list(dict.fromkeys((text, folded, folded.upper())))
        ids = identity.lookup_forms(folded)
        try:
            key = identity.certificate_key(folded)
        except identity.IdentityError:
            key = ""
    if not username:
        try:
            phone = identity.normalize_phone(text, region)
        except identity.IdentityError:
            phone = ""
    return Lookups(name=name, id_numbers=tuple(dict.fromkeys(ids)), identifiers=tuple(identifiers),
                   certificate_key=key, username=username, phone=phone)


def criteria(*, q="", kind="", year="", level="", major="", status="", bound="",
             region="") -> Criteria:
    """The search from what was typed, or SearchError naming the field that is wrong."""
    q = unicodedata.normalize("NFKC", q or "").strip()
    region = region or phone_regions.DEFAULT
    if not phone_regions.is_known(region):
        raise SearchError(_l("请选择国家或地区。"), field="region")
    if len(q) > 100:
        raise SearchError(_l("查询内容最多 100 个字符。"), field="q")
    if q and not lookups(q, region):
        raise SearchError(_l("无法识别查询内容：请输入姓名、证件号码、学号、证书编号、考生号、用户名或手机号码。"),
                          field="q")
    if kind and kind not in ORDER:
        raise SearchError(_l("请选择记录类型。"), field="kind")
    year_value = None
    year = (year or "").strip() if isinstance(year, str) else year
    if year:
        text = unicodedata.normalize("NFKC", str(year))
        if not re.fullmatch(r"\d{4}", text) or not 1900 <= int(text) <= 2100:
            raise SearchError(_l("年份应为四位数字，如 2019。"), field="year")
        year_value = int(text)
    if level and level not in LEVELS:
        raise SearchError(_l("请选择层次。"), field="level")
    major = unicodedata.normalize("NFKC", major or "").strip()
    if len(major) > 128:
        raise SearchError(_l("专业最多 128 个字符。"), field="major")
    if status and status not in STATUSES:
        raise SearchError(_l("请选择学籍状态。"), field="status")
    if bound and bound not in BOUND_CHOICES:
        raise SearchError(_l("请选择是否已绑定。"), field="bound")
    return Criteria(q=q, kind=kind, year=year_value, level=level, major=major, status=status,
                    bound=bound, region=region)


# --- the query ---------------------------------------------------------------------

def _prefix(column, text: str):
    return (column >= text) & (column < text + MAX_CHAR)


def _any(conditions):
    return functools.reduce(operator.or_, conditions) if conditions else None


def _all(conditions):
    return functools.reduce(operator.and_, conditions) if conditions else None


def _text_condition(key: str, model, found: Lookups):
    """The typed text as conditions on one kind's indexed columns; None when it cannot match."""
    conditions = []
    name_column = model.real_name if key == ACCOUNT else model.name
    if found.name:
        conditions.append(_prefix(name_column, found.name))
    conditions += [model.id_number.matches(number) for number in found.id_numbers]
    if key == ACCOUNT:
        if found.username:
            conditions.append(model.username == found.username)
        if found.phone:
            conditions.append(model.phone.matches(found.phone))
    elif key == "enrollment" and found.identifiers:
        conditions.append(model.student_number.in_(found.identifiers))
    elif key == "admission" and found.identifiers:
        conditions.append(model.candidate_number.in_(found.identifiers))
    elif key == "diploma" and found.certificate_key:
        conditions += [model.certificate_key == found.certificate_key,
                       model.school_number_key == found.certificate_key]
    elif key == "degree" and found.certificate_key:
        conditions.append(model.certificate_key == found.certificate_key)
    return _any(conditions)


def _year_condition(key: str, model, year: int):
    column = getattr(model, YEAR_COLUMNS[key])
    if key == "admission":
        return column == year
    return (column >= datetime.date(year, 1, 1)) & (column < datetime.date(year + 1, 1, 1))


def _residual(column):
    """`column || ''`: the same value, but no index can serve it. When the results
    follow a range's index (a name, a 专业 prefix, a year), an equality filter such
    as 层次 must be checked on the rows that index gives, not steer the database
    (without statistics, SQLite prefers any equality index and then sorts everything)."""
    return column.concat("")


def _filters(key: str, model, wanted: Criteria, ranged: bool = False):
    """The filters as conditions on one kind; False when the kind has no such column.
    `ranged`: the results follow a range's index (see `_residual`)."""
    if wanted.kind and wanted.kind != key:
        return False
    if key == ACCOUNT:
        return [model.role == Account.STUDENT] if not wanted.record_filters else False
    conditions = []
    if wanted.year:
        conditions.append(_year_condition(key, model, wanted.year))
    if wanted.level:
        if key not in LEVEL_KINDS:
            return False
        level = _residual(model.level) if ranged else model.level
        conditions.append(level == wanted.level)
    if wanted.major:
        if key not in MAJOR_COLUMNS:
            return False
        conditions.append(_prefix(getattr(model, MAJOR_COLUMNS[key]), wanted.major))
    if wanted.status:
        if key not in STATUS_KINDS:
            return False
        status = _residual(model.status) if ranged else model.status
        conditions.append(status == wanted.status)
    if wanted.bound:
        owner = (model.account + 0) if ranged else model.account
        conditions.append(owner.is_null(wanted.bound == "no"))
    return conditions


def _text(node):
    return Cast(node, "TEXT")


def _columns(key: str, model):
    """(number, place, year) of one kind: what the result table shows beside the name."""
    if key == ACCOUNT:
        return model.username, Value(""), model.created_at
    number, place = {
        "enrollment": lambda: (model.student_number,
                               model.school_name.concat(" · ").concat(model.major)),
        "diploma": lambda: (fn.COALESCE(model.certificate_number, model.school_number),
                            model.school_name.concat(" · ").concat(model.major)),
        "degree": lambda: (model.certificate_number,
                           model.degree.concat(" · ").concat(model.discipline)),
        "admission": lambda: (model.candidate_number, model.major),
        "aid": lambda: (model.school_year, model.program),
    }[key]()
    return number, place, getattr(model, YEAR_COLUMNS[key])


MODELS = {ACCOUNT: Account, **{key: kind.model for key, kind in KINDS.items()}}


def _part(key: str, wanted: Criteria, found: Lookups | None):
    """One kind's query, in the order its index gives (no sort step), and the query
    that counts its rows; None when the kind cannot match."""
    model = MODELS[key]
    order = _order(key, model, wanted, found)
    conditions = _filters(key, model, wanted, ranged=len(order) > 1)
    if conditions is False:
        return None
    if found is not None:
        text = _text_condition(key, model, found)
        if text is None:
            return None
        conditions = [*conditions, text]
    number, place, year = _columns(key, model)
    is_account = key == ACCOUNT
    name = model.real_name if is_account else model.name
    query = model.select(
        model.id.alias("id"),
        name.alias("name"),
        _text(model.id_number).alias("id_cipher"),
        _text(number).alias("number"),
        _text(place).alias("place"),
        _text(year).alias("year"),
        (model.id if is_account else model.account).alias("account_id"),
        _text(model.disabled_at if is_account else model.withdrawn_at).alias("withdrawn"),
    )
    where = _all(conditions)
    counted = model.select(fn.COUNT(model.id))
    if where is not None:
        query, counted = query.where(where), counted.where(where)
    return query.order_by(*order), counted


def _order(key: str, model, wanted: Criteria, found: Lookups | None):
    """The order of the index the main range condition reads, so the database walks
    that index instead of sorting: a typed name alphabetically, a 专业 prefix by
    major, a year newest day first; otherwise newest record first."""
    if found is not None and found.name:
        return (model.real_name if key == ACCOUNT else model.name), model.id
    if wanted.major and key in MAJOR_COLUMNS:
        return getattr(model, MAJOR_COLUMNS[key]), model.id
    if wanted.year and key != "admission" and key != ACCOUNT:
        return getattr(model, YEAR_COLUMNS[key]).desc(), model.id.desc()
    return (model.id.desc(),)


def _parts(wanted: Criteria) -> list:
    """(kind, query, count query) for each kind that can match, in the order results are listed."""
    found = lookups(wanted.q, wanted.region) if wanted.q else None
    return [(key, *part) for key in ORDER if (part := _part(key, wanted, found)) is not None]


def _rows(wanted: Criteria, offset: int, limit: int) -> list:
    """Rows `offset` to `offset + limit` of the search, kind after kind. Each kind is
    read from its index in order; a kind passed over whole is counted (one index
    scan) to know how far into the next one the page starts."""
    rows = []
    for key, query, counted in _parts(wanted):
        if len(rows) >= limit:
            break
        found = [dict(row, kind=key) for row in
                 query.limit(limit - len(rows)).offset(offset).dicts()]
        if found:
            offset = 0
            rows += found
        elif offset:
            offset = max(0, offset - counted.scalar())
    return rows


@dataclass(frozen=True)
class Hit:
    kind: str
    id: int
    name: str
    masked_id: str
    number: str
    place: str
    year: str
    account_id: int | None
    username: str
    withdrawn: bool


@dataclass(frozen=True)
class Results:
    hits: list
    page: int
    has_next: bool
    per_page: int = PER_PAGE
    criteria: Criteria = field(default_factory=Criteria)

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1


def _hits(rows) -> list:
    rows = list(rows)
    owners = sorted({row["account_id"] for row in rows if row["account_id"]})
    usernames = {}
    for start in range(0, len(owners), 10_000):  # under SQLite's bound-parameter limit
        usernames.update(Account.select(Account.id, Account.username)
                         .where(Account.id.in_(owners[start:start + 10_000])).tuples())
    hits = []
    for row in rows:
        number = crypto.decrypt(row["id_cipher"]) if row["id_cipher"] else ""
        year = row["year"] or ""
        hits.append(Hit(kind=row["kind"], id=row["id"], name=row["name"] or "",
                        masked_id=identity.mask_id(number), number=row["number"] or "",
                        place=row["place"] or "", year=str(year)[:4],
                        account_id=row["account_id"],
                        username=usernames.get(row["account_id"], ""),
                        withdrawn=bool(row["withdrawn"])))
    return hits


def search(wanted: Criteria, page: int = 1, per_page: int = PER_PAGE) -> Results:
    """One page of results (page 1 is the first)."""
    page = min(max(int(page), 1), MAX_PAGE)
    rows = _rows(wanted, (page - 1) * per_page, per_page + 1)
    return Results(hits=_hits(rows[:per_page]), page=page, has_next=len(rows) > per_page,
                   per_page=per_page, criteria=wanted)


def export(wanted: Criteria, limit: int | None = None) -> tuple[list, bool]:
    """Every hit up to `limit` (EXPORT_LIMIT), and whether there were more (the export was cut)."""
    limit = EXPORT_LIMIT if limit is None else limit
    rows = _rows(wanted, 0, limit + 1)
    return _hits(rows[:limit]), len(rows) > limit
