"""Rules for the identity data people type: ID numbers, names, phones, e-mail.

Every function takes what the person typed (full-width digits from a Chinese
input method, spaces, hyphens, a lower-case x) and either returns the
normalised value or raises IdentityError with a message for the person.
"""
import datetime
import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from services import phone_regions
from services.errors import ServiceError

RESIDENT_ID = "居民身份证"
PASSPORT = "护照"
HK_MACAO_PERMIT = "港澳居民来往内地通行证"
TAIWAN_PERMIT = "台湾居民来往大陆通行证"
FOREIGN_PERMANENT_ID = "外国人永久居留身份证"
RESIDENCE_PERMIT = "港澳台居民居住证"
OTHER_ID = "其他"
# The order of every list of 证件类型: the resident ID first, the catch-all last.
ID_TYPES = (RESIDENT_ID, PASSPORT, HK_MACAO_PERMIT, TAIWAN_PERMIT, FOREIGN_PERMANENT_ID,
            RESIDENCE_PERMIT, OTHER_ID)
# Numbers laid out as GB 11643: birth date in characters 7–14, sex in the 17th.
BIRTH_DATE_TYPES = (RESIDENT_ID, RESIDENCE_PERMIT)


def id_type_english() -> dict:
    """The English name of every 证件类型, from the translation catalogue.

    Call it under `flask_babel.force_locale("en")` (services.values does).
    """
    return {RESIDENT_ID: pgettext("证件类型", "居民身份证"),
            PASSPORT: pgettext("证件类型", "护照"),
            HK_MACAO_PERMIT: pgettext("证件类型", "港澳居民来往内地通行证"),
            TAIWAN_PERMIT: pgettext("证件类型", "台湾居民来往大陆通行证"),
            FOREIGN_PERMANENT_ID: pgettext("证件类型", "外国人永久居留身份证"),
            RESIDENCE_PERMIT: pgettext("证件类型", "港澳台居民居住证"),
            OTHER_ID: pgettext("证件类型", "其他")}


def carries_birth_date(id_type: str | None) -> bool:
    """Whether numbers of this type hold the birth date and sex (birth_date_of, gender_of)."""
    return id_type in BIRTH_DATE_TYPES


class IdentityError(ServiceError):
    """A value the person typed breaks a rule; str(error) is the message."""


def fold(raw: str) -> str:
    """Full-width to half-width (NFKC), then drop spaces and hyphens."""
    text = unicodedata.normalize("NFKC", raw or "")
    return re.sub(r"[\s\-‐‑‒–—－_]", "", text)


# --- ID numbers ------------------------------------------------------------

PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split())


def _check_character(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


def upgrade_legacy_id(id15: str) -> str:
    """15-digit ID (area + YYMMDD + sequence) to the 18-digit form."""
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + _check_character(first17)


def normalize_resident_id(raw: str, today: datetime.date | None = None) -> str:
    number = fold(raw).upper()
    if not number:
        raise IdentityError(_l("请填写证件号码。"))
    if len(number) == 15:
        if not number.isdigit():
            raise IdentityError(_l("15 位身份证号码只能由数字组成。"))
        number = upgrade_legacy_id(number)
    elif len(number) != 18:
        raise IdentityError(_l("居民身份证号码应为 18 位（或旧版 15 位）。"))
    if not number[:17].isdigit() or not re.fullmatch(r"[0-9X]", number[17]):
        raise IdentityError(_l("身份证号码前 17 位应为数字，最后一位为数字或 X。"))
    try:
        birth = ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        raise IdentityError(_l("身份证号码中的出生日期不存在。")) from None
    if birth > (today or datetime.date.today()):
        raise IdentityError(_l("身份证号码中的出生日期不合理。"))
    if number[17] != _check_character(number[:17]):
        raise IdentityError(_l("身份证号码校验位不正确，请核对后重新输入。"))
    # Only the province is checked: county codes are renamed and retired over the
    # years while the ID numbers issued under them stay valid for life.
    if number[:2] not in PROVINCE_CODES:
        raise IdentityError(_l("身份证号码中的地区码无效。"))
    return number


def normalize_other_id(raw: str) -> str:
    """The catch-all rule (其他, and the national data's 其他). Every type's number
    is stored in this form (folded, upper case), so this rule alone finds a number
    whatever type the person chose: see `lookup_forms`."""
    number = fold(raw).upper()
    if not re.fullmatch(r"[A-Z0-9]{5,20}", number):
        raise IdentityError(_l("证件号码应为 5 到 20 位字母或数字。"))
    return number


def _typed(raw: str) -> str:
    number = fold(raw).upper()
    if not number:
        raise IdentityError(_l("请填写证件号码。"))
    return number


# Chinese passports: ordinary e-passports E + 8 digits or E + a letter (not I, O) + 7
# digits, the older G + 8 digits; diplomatic (D), service (S) and public-affairs (P)
# passports a letter + 7 digits (S also + 8).
_CHINESE_PASSPORT = re.compile(r"E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8}|[DPS]\d{7}|S\d{8}")
# Any other country's: no nationality is asked, so only the shape all share.
_FOREIGN_PASSPORT = re.compile(r"(?=[A-Z]*\d)[A-Z0-9]{5,17}")


def normalize_passport(raw: str) -> str:
    number = _typed(raw)
    if _CHINESE_PASSPORT.fullmatch(number) or _FOREIGN_PASSPORT.fullmatch(number):
        return number
    raise IdentityError(_l("护照号码应为 5 到 17 位字母和数字，至少含一位数字，"
                           "如中国护照 E12345678。"))


def normalize_hk_macao_permit(raw: str) -> str:
    """H (Hong Kong) or M (Macao) + 8 digits; the card before 2013 had 10 digits."""
    number = _typed(raw)
    if not re.fullmatch(r"[HM](\d{8}|\d{10})", number):
        raise IdentityError(_l("港澳居民来往内地通行证号码应为 H 或 M 加 8 位数字"
                               "（旧版证件为 10 位数字）。"))
    return number


def normalize_taiwan_permit(raw: str) -> str:
    """8 digits (the card since 2015); the older booklet had up to 10 characters,
    8 digits and the issue count, often written in brackets: 12345678(B)."""
    number = re.sub(r"[()]", "", _typed(raw))
    if not re.fullmatch(r"\d{8}(?:[0-9A-Z]{1,2})?", number):
        raise IdentityError(_l("台湾居民来往大陆通行证号码应为 8 位数字（旧版证件为 10 位）。"))
    return number


def _check_gb11643(number: str, today: datetime.date | None, *, what) -> None:
    """An 18-character number laid out as GB 11643: a real birth date, not in the
    future, and the check character (`what` names the document in the messages)."""
    if not re.fullmatch(r"\d{17}[0-9X]", number):
        raise IdentityError(_l("%(what)s号码应为 18 位，前 17 位为数字，最后一位为数字或 X。",
                               what=what))
    try:
        birth = ric.get_birth_date(number)
    except stdnum_errors.ValidationError:
        raise IdentityError(_l("%(what)s号码中的出生日期不存在。", what=what)) from None
    if birth.year < 1900 or birth > (today or datetime.date.today()):
        raise IdentityError(_l("%(what)s号码中的出生日期不合理。", what=what))
    if number[17] != _check_character(number[:17]):
        raise IdentityError(_l("%(what)s号码校验位不正确，请核对后重新输入。", what=what))


def normalize_foreign_permanent_id(raw: str, today: datetime.date | None = None) -> str:
    """The 2017 card: the holder's ISO country code (3 letters) + 12 digits; the card
    since 2023: 18 characters starting with 9, laid out and checked as GB 11643."""
    number = _typed(raw)
    if re.fullmatch(r"[A-Z]{3}\d{12}", number):
        return number
    if len(number) == 18 and number.startswith("9"):
        _check_gb11643(number, today, what=_l("外国人永久居留身份证"))
        return number
    raise IdentityError(_l("外国人永久居留身份证号码应为 3 位国籍字母加 12 位数字（2017 年版），"
                           "或以 9 开头的 18 位号码（2023 年版）。"))


RESIDENCE_PERMIT_AREAS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}


def normalize_residence_permit(raw: str, today: datetime.date | None = None) -> str:
    """18 characters like a resident ID, with the area code 810000 (Hong Kong),
    820000 (Macao) or 830000 (Taiwan)."""
    number = _typed(raw)
    if len(number) != 18 or number[:6] not in RESIDENCE_PERMIT_AREAS:
        raise IdentityError(_l("港澳台居民居住证号码应为 18 位，以 810000（香港）、"
                               "820000（澳门）或 830000（台湾）开头。"))
    _check_gb11643(number, today, what=_l("居住证"))
    return number


def normalize_id_number(raw: str, id_type: str = RESIDENT_ID,
                        today: datetime.date | None = None) -> str:
    """The number in its stored form by the rule of its 证件类型."""
    if id_type == RESIDENT_ID:
        return normalize_resident_id(raw, today=today)
    if id_type == PASSPORT:
        return normalize_passport(raw)
    if id_type == HK_MACAO_PERMIT:
        return normalize_hk_macao_permit(raw)
    if id_type == TAIWAN_PERMIT:
        return normalize_taiwan_permit(raw)
    if id_type == FOREIGN_PERMANENT_ID:
        return normalize_foreign_permanent_id(raw, today=today)
    if id_type == RESIDENCE_PERMIT:
        return normalize_residence_permit(raw, today=today)
    if id_type == OTHER_ID:
        return normalize_other_id(raw)
    raise IdentityError(_l("请选择证件类型。"))


def lookup_forms(typed: str) -> list:
    """The stored forms a typed number may have, whatever its type: the resident ID
    form (a 15-digit number becomes 18) and the folded form every other type keeps.
    Look-ups by number (login, appeals, search) compare these and ignore the type,
    so a record of the national data's 其他 and an account's 护照 meet."""
    forms = []
    for rule in (normalize_resident_id, normalize_other_id):
        try:
            forms.append(rule(typed))
        except IdentityError:
            continue
    return list(dict.fromkeys(forms))


def birth_date_of(resident_id: str) -> datetime.date:
    """From a number of a type that `carries_birth_date`."""
    return ric.get_birth_date(resident_id)


def gender_of(resident_id: str) -> str:
    return "男" if int(resident_id[16]) % 2 else "女"


# --- names -----------------------------------------------------------------

_CJK = (
    "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_DOTS = "\u00b7\u30fb\u2027\uff65\u2022"
_NAME = re.compile(rf"[{_CJK}{_DOTS}A-Za-z .'\-]+")


def normalize_name(raw: str) -> str:
    """Check a real name. It is kept exactly as typed but for outer spaces."""
    name = (raw or "").strip()
    if not name:
        raise IdentityError(_l("请填写姓名。"))
    if not 2 <= len(name) <= 30:
        raise IdentityError(_l("姓名应为 2 到 30 个字。"))
    if not _NAME.fullmatch(name):
        raise IdentityError(_l("姓名只能包含汉字、间隔号“·”或英文字母。"))
    if name[0] in _DOTS or name[-1] in _DOTS:
        raise IdentityError(_l("间隔号“·”不能出现在姓名开头或结尾。"))
    return name


def name_key(name: str) -> str:
    """The form two names are compared in: one kind of middle dot, no spaces, one case."""
    folded = unicodedata.normalize("NFKC", name or "")
    folded = re.sub(f"[{_DOTS}]", "\u00b7", folded)
    return re.sub(r"\s+", "", folded).casefold()


# --- phones and e-mail -----------------------------------------------------

# Types a text message reaches: +1 numbers are FIXED_LINE_OR_MOBILE, as North
# American numbering does not tell mobiles apart.
_MOBILE_TYPES = frozenset({phonenumbers.PhoneNumberType.MOBILE,
                           phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE})
MAINLAND_CODE = "+86"


def _mainland(national: str) -> str:
    """A mainland number as today: 11 digits starting 1[3-9], kept as E.164."""
    if len(national) == 13 and national.startswith("86"):
        national = national[2:]
    if not re.fullmatch(r"1[3-9]\d{9}", national):
        raise IdentityError(_l("请填写 11 位中国大陆手机号码，如 13812345678。"))
    return MAINLAND_CODE + national


def normalize_phone(raw: str, region: str = phone_regions.DEFAULT) -> str:
    """A mobile number in E.164 ("+8613812345678", "+85251234567").

    `region` is the 国家或地区 chosen beside the number; a number typed with + or
    00 in front carries its own country code, which wins over the choice.
    """
    number = fold(raw).replace("(", "").replace(")", "").replace(".", "")
    if not number:
        raise IdentityError(_l("请填写手机号码。"))
    if number.startswith("00"):
        number = "+" + number[2:]
    if number.startswith(MAINLAND_CODE):
        return _mainland(number[len(MAINLAND_CODE):])
    if not number.startswith("+"):
        region = region or phone_regions.DEFAULT
        if region == phone_regions.OTHER:
            raise IdentityError(_l("请在号码前输入 + 和国家代码，如 +44 7911 123456。"))
        if not phone_regions.is_known(region):
            raise IdentityError(_l("请选择国家或地区。"))
        if region == phone_regions.DEFAULT:
            return _mainland(number)
    if not re.fullmatch(r"\+?\d{4,17}", number):
        raise IdentityError(_l("手机号码只能包含数字，国际号码可以用 + 开头。"))
    try:
        parsed = phonenumbers.parse(number, None if number.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise IdentityError(_l("手机号码无效，请核对号码和所选的国家或地区。")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise IdentityError(_l("手机号码无效，请核对号码和所选的国家或地区。"))
    if phonenumbers.number_type(parsed) not in _MOBILE_TYPES:
        raise IdentityError(_l("这是固定电话号码，请填写能接收短信的手机号码。"))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mainland_phone(number: str) -> bool:
    """Whether a stored number is a mainland one (E.164 +86, or an 11-digit number
    written before numbers were stored in E.164)."""
    return bool(number) and (number.startswith(MAINLAND_CODE) or not number.startswith("+"))


def normalize_email(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise IdentityError(_l("请填写电子邮箱地址。"))
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise IdentityError(_l("请填写有效的电子邮箱地址，如 name@example.edu.cn。")) from None
    return result.normalized.lower()


def is_edu_email(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1].lower()
    return domain == "edu.cn" or domain.endswith(".edu.cn")


# --- passwords -------------------------------------------------------------

def password_problem(password: str, *, username: str = "", id_number: str = ""):
    """The first rule the password breaks, or None."""
    if len(password) < 8:
        return _l("密码至少 8 位。")
    if len(password) > 128:
        return _l("密码最多 128 位。")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return _l("密码须同时包含字母和数字。")
    lowered = password.lower()
    local_part = username.split("@", 1)[0].lower()
    if local_part and len(local_part) >= 3 and local_part in lowered:
        return _l("密码不能包含用户名。")
    if id_number and (id_number.lower() in lowered or id_number[-6:].lower() in lowered):
        return _l("密码不能包含证件号码。")
    return None


# --- masking ---------------------------------------------------------------

def mask_id(number: str) -> str:
    if not number:
        return ""
    if len(number) >= 15:
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    keep = 2 if len(number) > 4 else 1
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


def mask_phone(number: str) -> str:
    """+86 138****5678, +852 51****67, +1 415***0123: the country code stays, the
    middle of the national number is hidden."""
    if not number:
        return ""
    country = ""
    if number.startswith("+"):
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            parsed = None
        if parsed is not None:
            country = f"+{parsed.country_code} "
            number = phonenumbers.national_significant_number(parsed)
        else:
            number = number[1:]
    size = len(number)
    head, tail = (3, 4) if size >= 10 else (2, 2) if size >= 6 else (1, 1)
    if size <= head + tail:
        head, tail = min(head, size // 3), min(tail, size // 3)
    return country + number[:head] + "*" * max(size - head - tail, 1) + number[size - tail:]


def mask_email(address: str) -> str:
    local, _, domain = (address or "").partition("@")
    if not domain:
        return address
    return local[:1] + "***@" + domain


# --- certificate numbers -----------------------------------------------------

_NO_PREFIX = re.compile(r"^(?:NO|N0|№)\.?")
CERTIFICATE_TYPES = {"1": "普通高等教育", "5": "成人高等教育", "6": "高等教育自学考试", "7": "网络教育"}
CERTIFICATE_LEVELS = {"01": "博士研究生", "02": "硕士研究生", "04": "第二学士", "05": "本科", "06": "专科"}


def certificate_key(typed: str) -> str:
    """The form certificate numbers are matched in.

    `NO.00298959`, `No 00298959`, `００２９８９５９` and `298959` all give `298959`.
    """
    text = fold(typed).upper().replace("．", ".")
    text = _NO_PREFIX.sub("", text).lstrip(".")
    if not text or not re.fullmatch(r"[0-9A-Z]+", text):
        raise IdentityError(_l("请填写证书编号（只含数字，可带“NO.”）。"))
    return text.lstrip("0") or "0"


def certificate_problem(number: str, graduation_year: int):
    """What is wrong with a diploma number for its year (docs/domain.md), or None."""
    if graduation_year >= 2002:
        expected = 18
    elif graduation_year == 2001:
        expected = 17
    else:
        return None if re.fullmatch(r"[0-9A-Z.]{1,24}", number.upper()) else _l(
            "证书编号只能包含数字和字母。")
    if not number.isdigit() or len(number) != expected:
        return _l("%(year)s 年的学历证书编号应为 %(n)s 位数字。", year=graduation_year, n=expected)
    if number[5] not in CERTIFICATE_TYPES:
        return _l("证书编号第 6 位（学历类别）应为 1、5、6 或 7。")
    if number[6:10] != str(graduation_year):
        return _l("证书编号中的年份 %(found)s 与毕业年份 %(year)s 不一致。",
                  found=number[6:10], year=graduation_year)
    if number[10:12] not in CERTIFICATE_LEVELS:
        return _l("证书编号第 11–12 位（层次）应为 01、02、04、05 或 06。")
    return None
