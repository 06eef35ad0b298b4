"""services.identity: the rules for what people type."""
import datetime

import pytest

from services import identity
from services.identity import IdentityError


@pytest.fixture(autouse=True)
def _app_context(app):
    # Messages are lazy translations; they render inside an app context.
    with app.test_request_context():
        yield


@pytest.mark.parametrize("typed, expected", [
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),          # lower-case x
    ("440524188001010014", "440524188001010014"),
    ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
    ("110105 19491231 002X", "11010519491231002X"),         # spaces
    ("110105-19491231-002X", "11010519491231002X"),         # hyphens
    (" 11010519491231002X\t", "11010519491231002X"),
    ("110105491231002", "11010519491231002X"),              # legacy 15 digits
    ("１１０１０５４９１２３１００２", "11010519491231002X"),      # legacy, full-width
])
def test_resident_ids_are_normalised(typed, expected):
    assert identity.normalize_resident_id(typed) == expected


@pytest.mark.parametrize("typed, fragment", [
    ("", "请填写"),
    ("110105194912310021", "校验位"),        # wrong check character
    ("11010519491231002Y", "最后一位"),
    ("1101051949123100", "18 位"),           # too short
    ("1101051949123100211", "18 位"),        # too long
    ("110105194902300023", "出生日期不存在"),  # 30 February
    ("110105194913010021", "出生日期不存在"),  # month 13
    ("11010599991231002X", "不合理"),         # future birth date
    ("11010549123100A", "数字"),             # letter in a 15-digit number
    ("11010549023000 2", "出生日期不存在"),    # legacy with 30 February
    ("991234194912310021", "地区码"),         # no such province
])
def test_bad_resident_ids_are_refused_with_a_reason(typed, fragment):
    with pytest.raises(IdentityError) as caught:
        identity.normalize_resident_id(typed)
    if fragment:
        assert fragment in str(caught.value)


def test_future_is_judged_against_today():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    first17 = f"110105{tomorrow:%Y%m%d}002"
    number = first17 + identity._check_character(first17)
    with pytest.raises(IdentityError):
        identity.normalize_resident_id(number)
    assert identity.normalize_resident_id(number, today=tomorrow) == number


def iso7064_check(first17):
    """The check character computed as GB 11643-1999 describes it."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


@pytest.mark.parametrize("legacy", ["440524800101001", "110105491231002", "420106900307123"])
def test_legacy_id_upgrade_inserts_19_and_computes_the_check(legacy):
    first17 = legacy[:6] + "19" + legacy[6:]
    assert identity.upgrade_legacy_id(legacy) == first17 + iso7064_check(first17)
    assert identity.normalize_resident_id(legacy) == first17 + iso7064_check(first17)


def test_public_examples_have_the_check_the_standard_gives():
    for number in ("11010519491231002X", "440524188001010014"):
        assert iso7064_check(number[:17]) == number[17]


def test_other_ids_accept_passports_and_permits():
    assert identity.normalize_id_number("e1234 5678", identity.OTHER_ID) == "E12345678"
    assert identity.normalize_id_number("Ｈ１２３４５６７８", identity.OTHER_ID) == "H12345678"
    with pytest.raises(IdentityError):
        identity.normalize_id_number("护照123", identity.OTHER_ID)
    with pytest.raises(IdentityError):
        identity.normalize_id_number("1234", identity.OTHER_ID)
    with pytest.raises(IdentityError):
        identity.normalize_id_number("11010519491231002X", "驾驶证")


def test_birth_date_and_gender_come_from_the_id():
    assert identity.birth_date_of("11010519491231002X") == datetime.date(1949, 12, 31)
    assert identity.gender_of("11010519491231002X") == "女"
    assert identity.gender_of("440524188001010014") == "男"


@pytest.mark.parametrize("name", [
    "张三", "张𠮷", "𠮷野家", "买买提·艾力", "阿依古丽・吐尔逊", "欧阳娜娜",
    "John Smith", "Mary-Jane O'Neil", "李" * 30, "〇一",
])
def test_names_are_accepted_as_typed(name):
    assert identity.normalize_name(f"  {name} ") == name


@pytest.mark.parametrize("name, fragment", [
    ("", "请填写"), ("张", "2 到 30"), ("张" * 31, "2 到 30"),
    ("张3", "只能包含"), ("张三<script>", "只能包含"), ("·张三", "开头或结尾"),
    ("张三·", "开头或结尾"),
])
def test_bad_names_are_refused(name, fragment):
    with pytest.raises(IdentityError) as caught:
        identity.normalize_name(name)
    assert fragment in str(caught.value)


def test_name_key_treats_dot_variants_and_spaces_alike():
    assert identity.name_key("买买提·艾力") == identity.name_key("买买提・艾力")
    assert identity.name_key("John Smith") == identity.name_key("john  smith")
    assert identity.name_key("张三") != identity.name_key("张叁")


@pytest.mark.parametrize("typed", [
    "13812345678", "+86 138 1234 5678", "+8613812345678", "0086 13812345678",
    "8613812345678", "138-1234-5678", "１３８１２３４５６７８", "(+86) 138 1234 5678",
])
def test_phones_are_normalised(typed):
    assert identity.normalize_phone(typed) == "+8613812345678"


@pytest.mark.parametrize("typed", ["", "12812345678", "1381234567", "138123456789", "abc"])
def test_bad_phones_are_refused(typed):
    with pytest.raises(IdentityError):
        identity.normalize_phone(typed)


def test_a_mainland_number_keeps_its_friendly_message():
    for typed in ("12812345678", "+86 1381234567"):
        with pytest.raises(IdentityError, match="11 位中国大陆手机号码"):
            identity.normalize_phone(typed)
    with pytest.raises(IdentityError, match="请填写手机号码"):
        identity.normalize_phone("  ")


@pytest.mark.parametrize("typed, region, e164", [
    ("5123 4567", "HK", "+85251234567"),            # 中国香港
    ("+852 5123 4567", "CN", "+85251234567"),       # a + overrides the choice
    ("00852-5123-4567", "CN", "+85251234567"),      # so does 00
    ("6612 3456", "MO", "+85366123456"),            # 中国澳门
    ("0912 345 678", "TW", "+886912345678"),        # 中国台湾, with its national 0
    ("+886 912 345 678", "CN", "+886912345678"),
    ("(415) 555-0123", "US", "+14155550123"),       # +1: the United States …
    ("613 555 0123", "CA", "+16135550123"),         # … and Canada
    ("07400 123456", "GB", "+447400123456"),        # United Kingdom, national 0
    ("＋４４　７４００　１２３４５６", "CN", "+447400123456"),  # full-width, from a Chinese IME
    ("００８５２５１２３４５６７", "CN", "+85251234567"),
    ("0086 138 1234 5678", "HK", "+8613812345678"),  # 0086 wins over the choice too
])
def test_numbers_from_abroad_are_stored_in_e164(typed, region, e164):
    assert identity.normalize_phone(typed, region) == e164


@pytest.mark.parametrize("typed, region, words", [
    ("2123 4567", "HK", "固定电话"),                   # a Hong Kong landline gets no SMS
    ("13812345678", "HK", "所选的国家或地区"),          # a mainland number with HK chosen
    ("+852 1234", "CN", "所选的国家或地区"),
    ("+44 20 7946 0000", "CN", "固定电话"),
    ("5123 4567", "XX", "请选择国家或地区"),           # a region nobody offered
    ("+852 5123 4567x", "CN", "只能包含数字"),
])
def test_invalid_numbers_from_abroad_are_refused_with_a_reason(typed, region, words):
    with pytest.raises(IdentityError, match=words):
        identity.normalize_phone(typed, region)


def test_numbers_are_masked_whatever_their_length():
    assert identity.mask_phone("+8613812345678") == "+86 138****5678"
    assert identity.mask_phone("+85251234567") == "+852 51****67"
    assert identity.mask_phone("+14155550123") == "+1 415***0123"
    assert identity.mask_phone("+886912345678") == "+886 91*****78"
    assert identity.mask_phone("+447400123456") == "+44 740***3456"
    assert identity.mask_phone("") == ""


def test_mainland_or_not():
    assert identity.is_mainland_phone("+8613812345678") and identity.is_mainland_phone("13812345678")
    assert not identity.is_mainland_phone("+85251234567") and not identity.is_mainland_phone("")


def test_emails_and_edu_cn():
    assert identity.normalize_email(" Li.Si@Example.EDU.cn ") == "li.si@example.edu.cn"
    assert identity.is_edu_email("a@mail.tsinghua.edu.cn")
    assert identity.is_edu_email("a@edu.cn")
    assert not identity.is_edu_email("a@notedu.cn")
    assert not identity.is_edu_email("a@example.com")
    for bad in ("", "not-an-email", "a@", "@b.cn"):
        with pytest.raises(IdentityError):
            identity.normalize_email(bad)


@pytest.mark.parametrize("password, username, id_number, fragment", [
    ("short1", "", "", "至少 8 位"),
    ("onlyletters", "", "", "字母和数字"),
    ("1234567890", "", "", "字母和数字"),
    ("wangwu2024x", "wangwu@example.edu.cn", "", "用户名"),
    ("ab31002Xcd", "", "11010519491231002X", "证件号码"),
    ("x" * 129 + "1", "", "", "最多"),
])
def test_password_rules(password, username, id_number, fragment):
    problem = identity.password_problem(password, username=username, id_number=id_number)
    assert problem is not None and fragment in str(problem)


def test_good_password_passes():
    assert identity.password_problem("correct-horse-7", username="li@x.edu.cn",
                                     id_number="11010519491231002X") is None


def test_masks():
    assert identity.mask_id("420106199001011234") == "4201**********1234"
    assert identity.mask_id("E12345678") == "E1*****78"
    assert identity.mask_phone("13812345678") == "138****5678"
    assert identity.mask_email("zhang@example.edu.cn") == "z***@example.edu.cn"
    assert identity.mask_id("") == ""


@pytest.mark.parametrize("typed", ["NO.00298959", "No.00298959", "no 00298959", "NO．00298959",
                                   "00298959", "298959", "２９８９５９", " 0029-8959 ", "№00298959"])
def test_certificate_numbers_normalise_to_one_key(typed):
    assert identity.certificate_key(typed) == "298959"


def test_certificate_key_keeps_modern_numbers_whole():
    assert identity.certificate_key("104461201905004220") == "104461201905004220"
    assert identity.certificate_key("0000") == "0"


@pytest.mark.parametrize("typed", ["", "NO.", "证书123", "12#34"])
def test_bad_certificate_numbers(typed):
    with pytest.raises(IdentityError):
        identity.certificate_key(typed)


@pytest.mark.parametrize("number, year, fragment", [
    ("104461201905004220", 2019, None),
    ("10446120010500422", 2001, None),
    ("982456", 1994, None),
    ("00298959", 1994, None),
    ("10446120190500422", 2019, "18 位"),          # one digit short
    ("104461201805004220", 2019, "年份"),          # year inside disagrees
    ("104463201905004220", 2019, "第 6 位"),        # no such type digit
    ("104461201903004220", 2019, "11–12"),         # no such level code
    ("104461201905004220", 2001, "17 位"),
    ("98 24#56", 1994, "数字和字母"),
])
def test_certificate_problem_follows_the_format_of_each_year(number, year, fragment):
    problem = identity.certificate_problem(number, year)
    assert (problem is None) if fragment is None else (fragment in str(problem))
