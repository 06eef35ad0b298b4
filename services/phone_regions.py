"""The countries and regions a phone number may come from (the 国家或地区 select).

Mainland China, Hong Kong, Macao and Taiwan come first, with names of our own
in the translation catalogue; then the countries students and graduates of a
Chinese school most often live in (LISTED), by their name in the reader's
language (Babel's CLDR names), in pinyin order on Chinese pages and
alphabetical order on English ones; last 其他, for a number typed with + and
its country code (every region `phonenumbers` knows is accepted that way).
Listing all 245 regions would cost the registration step 3 KB more on the wire,
past its 4 KB budget. A choice's value is the ISO 3166 region code ("CN", "HK",
"US"): +1 alone does not tell the United States from Canada, and the region
also reads a national prefix (Taiwan's 0912…).
"""
import functools

import phonenumbers
from babel import Locale, UnknownLocaleError
from flask_babel import lazy_gettext as _l
from pypinyin import lazy_pinyin

DEFAULT = "CN"
COMMON = {"CN": _l("中国大陆"), "HK": _l("中国香港"), "MO": _l("中国澳门"), "TW": _l("中国台湾")}
LISTED = frozenset(
    "US CA GB IE AU NZ JP KR SG MY TH VN ID PH IN PK BD NP LK MM LA KH MN KZ UZ KG TJ "
    "RU DE FR IT ES PT NL BE CH AT SE NO DK FI PL AE SA EG NG KE ZA BR MX AR".split())
# No number is typed with this one: the + and the country code say where it is from.
OTHER = "ZZ"


def is_known(region: str) -> bool:
    return region in phonenumbers.SUPPORTED_REGIONS


def calling_code(region: str) -> int:
    return phonenumbers.country_code_for_region(region)


def region_of(number: str) -> str:
    """The choice an E.164 number belongs to ("+85251234567" → "HK", "+420…" → OTHER);
    DEFAULT otherwise."""
    if not (number or "").startswith("+"):
        return DEFAULT
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return DEFAULT
    if region in COMMON or region in LISTED:
        return region
    return OTHER if is_known(region) else DEFAULT


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse("zh_Hans" if language.startswith("zh") else language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("zh_Hans")


@functools.cache
def _others(language: str) -> tuple:
    """(region, name) of every region but the common ones, in reading order."""
    names = _babel_locale(language).territories
    chinese = language.startswith("zh")
    rows = [(region, names.get(region, region)) for region in LISTED]

    def order(row):
        return "".join(lazy_pinyin(row[1])).casefold() if chinese else row[1].casefold()
    return tuple(sorted(rows, key=order))


def choices(language: str = "zh") -> list:
    """(region, label) pairs for a select: "中国大陆 +86", …, "美国 +1", …

    The common ones carry lazy labels (translated when shown); the rest are
    named in `language`."""
    common = [(region, _Label(name, calling_code(region))) for region, name in COMMON.items()]
    return common + [(region, f"{name} +{calling_code(region)}")
                     for region, name in _others(language)] + [(OTHER, OTHER_LABEL)]


OTHER_LABEL = _l("其他（在号码前输入 + 和国家代码）")


class _Label:
    """A lazy name with its calling code, translated when the select is drawn."""

    def __init__(self, name, code: int):
        self.name, self.code = name, code

    def __str__(self):
        return f"{self.name} +{self.code}"
