"""Names on the English side of reports: the person's and the major's.

A person's name reads as the spelling in their passport when they set one
under 账户 (`Account.latin_name`), otherwise as pinyin of the recorded name
(surname first, as in a Chinese passport: 张三丰 → ZHANG Sanfeng). A major
reads as its English name from the table the registrar keeps (`MajorName`),
otherwise as recorded.
"""
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin

from models import MajorName
from services.errors import ServiceError

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ \-][A-Za-z]+)*")


class SpellingError(ServiceError):
    """A passport spelling that breaks the rule; str(error) is the message."""


def passport_spelling(raw: str) -> str:
    """Check a passport spelling: Latin letters, single spaces and hyphens."""
    text = " ".join(unicodedata.normalize("NFKC", raw or "").split())
    if not text:
        raise SpellingError(_l("请填写护照上的姓名拼写。"), field="latin_name")
    if len(text) > 64 or not _LATIN_NAME.fullmatch(text):
        raise SpellingError(_l("护照姓名只能包含英文字母、空格和连字符，最多 64 个字符。"),
                         field="latin_name")
    return text.upper()


def pinyin_name(name: str) -> str:
    """The recorded name in pinyin, surname in capitals: 张三丰 → ZHANG Sanfeng.

    A name without Chinese characters is returned as recorded.
    """
    name = (name or "").strip()
    if not _HAN.search(name):
        return name
    syllables = [s for s in lazy_pinyin(name[0], style=Style.NORMAL)]
    surname = "".join(syllables).upper()
    given = "".join(lazy_pinyin(name[1:], style=Style.NORMAL))
    return f"{surname} {given.capitalize()}".strip()


def english_name(record) -> str:
    """The name a reader abroad sees for the person a record describes."""
    account = record.account if record.account_id else None
    if account is not None and account.latin_name:
        return account.latin_name
    return pinyin_name(record.name)


def major_english(major: str) -> str | None:
    """The major's English name from the registrar's table, or None."""
    if not major:
        return None
    row = MajorName.get_or_none(MajorName.major == major.strip())
    return row.english if row else None
