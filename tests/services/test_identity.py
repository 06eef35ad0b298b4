"""services.identity: the rules for what people type."""
import datetime
import re

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


# --- the real ID types (issue 11) ------------------------------------------------

HK_PERMIT_RESIDENCE = "810000199001010019"   # 港澳台居民居住证, Hong Kong, born 1990-01-01, 男
TW_PERMIT_RESIDENCE = "830000198512310020"   # Taiwan, born 1985-12-31, 女
MO_PERMIT_RESIDENCE = "82000020000229003X"   # Macao, born 2000-02-29
FOREIGN_2023 = "911840198503151238"          # 外国人永久居留身份证 since 2023


def test_the_real_types_come_between_the_resident_id_and_the_catch_all():
    assert identity.ID_TYPES == ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证",
                                 "外国人永久居留身份证", "港澳台居民居住证", "其他")
    assert all(len(id_type) <= 16 for id_type in identity.ID_TYPES)   # the id_type columns


@pytest.mark.parametrize("id_type, typed, expected", [
    ("护照", "E12345678", "E12345678"),              # Chinese ordinary e-passport
    ("护照", "ea1234567", "EA1234567"),              # E + letter + 7 digits, lower case
    ("护照", "Ｇ１２３４５６７８", "G12345678"),        # older passport, full width
    ("护照", "P 1234567", "P1234567"),               # public affairs
    ("护照", "D1234567", "D1234567"),                # diplomatic
    ("护照", "S12345678", "S12345678"),              # service
    ("护照", "123456789", "123456789"),              # US passport
    ("护照", "c01x00t47", "C01X00T47"),              # German passport
    ("护照", "AB 123 4567", "AB1234567"),
    ("港澳居民来往内地通行证", "H12345678", "H12345678"),
    ("港澳居民来往内地通行证", "m 1234 5678", "M12345678"),
    ("港澳居民来往内地通行证", "H1234567890", "H1234567890"),   # the older card
    ("港澳居民来往内地通行证", "ｈ１２３４５６７８", "H12345678"),
    ("台湾居民来往大陆通行证", "12345678", "12345678"),
    ("台湾居民来往大陆通行证", "１２３４ ５６７８", "12345678"),
    ("台湾居民来往大陆通行证", "1234567890", "1234567890"),      # the older booklet
    ("台湾居民来往大陆通行证", "12345678(b)", "12345678B"),
    ("外国人永久居留身份证", "usa110085031501", "USA110085031501"),   # the 2017 card
    ("外国人永久居留身份证", FOREIGN_2023, FOREIGN_2023),            # the 2023 card
    ("外国人永久居留身份证", "９１１８４０ １９８５０３１５ １２３８", FOREIGN_2023),
    ("港澳台居民居住证", HK_PERMIT_RESIDENCE, HK_PERMIT_RESIDENCE),
    ("港澳台居民居住证", "830000-19851231-0020", TW_PERMIT_RESIDENCE),
    ("港澳台居民居住证", MO_PERMIT_RESIDENCE.lower(), MO_PERMIT_RESIDENCE),
    ("港澳台居民居住证", "８２００００２０００02２９００３ｘ", MO_PERMIT_RESIDENCE),
    ("其他", "e1234 5678", "E12345678"),
])
def test_each_type_accepts_its_numbers(id_type, typed, expected):
    assert identity.normalize_id_number(typed, id_type) == expected
    # Every type keeps the folded form the catch-all gives: look-ups by number meet.
    assert expected in identity.lookup_forms(typed.replace("(", "").replace(")", ""))


@pytest.mark.parametrize("id_type, typed, fragment", [
    ("护照", "", "请填写"),
    ("护照", "ABCDEFGHI", "至少含一位数字"),             # no digit
    ("护照", "1234", "5 到 17"),
    ("护照", "E123456789012345678", "5 到 17"),
    ("护照", "E1234567#", "5 到 17"),
    ("护照", "护照E1234567", "5 到 17"),
    ("港澳居民来往内地通行证", "K12345678", "H 或 M"),
    ("港澳居民来往内地通行证", "H1234567", "H 或 M"),
    ("港澳居民来往内地通行证", "H123456789", "H 或 M"),
    ("港澳居民来往内地通行证", "12345678", "H 或 M"),
    ("台湾居民来往大陆通行证", "1234567", "8 位数字"),
    ("台湾居民来往大陆通行证", "T1234567", "8 位数字"),
    ("台湾居民来往大陆通行证", "12345678901", "8 位数字"),
    ("外国人永久居留身份证", "US1100850315011", "3 位国籍字母"),
    ("外国人永久居留身份证", "USA11008503150", "3 位国籍字母"),
    ("外国人永久居留身份证", "911840198503151230", "校验位"),
    ("外国人永久居留身份证", "911840198502301233", "出生日期不存在"),
    ("外国人永久居留身份证", "811840198503151238", "3 位国籍字母"),
    ("港澳台居民居住证", "810000199001010010", "校验位"),
    ("港澳台居民居住证", "11010519491231002X", "810000"),     # a resident ID
    ("港澳台居民居住证", "84000019900101001X", "810000"),
    ("港澳台居民居住证", "81000019900101001", "810000"),       # 17 characters
    ("港澳台居民居住证", "810000199002300019", "出生日期不存在"),
    ("港澳台居民居住证", "81000019900101X019", "前 17 位"),
    ("其他", "1234", "5 到 20"),
])
def test_each_type_refuses_bad_numbers_with_its_own_message(id_type, typed, fragment):
    with pytest.raises(IdentityError) as caught:
        identity.normalize_id_number(typed, id_type)
    assert fragment in str(caught.value)


def test_permits_with_a_birth_date_in_the_future_are_refused():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    for prefix, id_type in (("810000", "港澳台居民居住证"), ("911840", "外国人永久居留身份证")):
        first17 = f"{prefix}{tomorrow:%Y%m%d}001"
        number = first17 + identity._check_character(first17)
        with pytest.raises(IdentityError) as caught:
            identity.normalize_id_number(number, id_type)
        assert "不合理" in str(caught.value)
        assert identity.normalize_id_number(number, id_type, today=tomorrow) == number


def test_birth_date_and_sex_only_from_types_that_carry_them():
    assert [t for t in identity.ID_TYPES if identity.carries_birth_date(t)] == ["居民身份证", "港澳台居民居住证"]
    assert not identity.carries_birth_date(None)
    assert identity.birth_date_of(HK_PERMIT_RESIDENCE) == datetime.date(1990, 1, 1)
    assert identity.gender_of(HK_PERMIT_RESIDENCE) == "男"
    assert identity.gender_of(TW_PERMIT_RESIDENCE) == "女"


def test_lookup_forms_give_the_resident_and_the_folded_form():
    assert identity.lookup_forms("110105491231002") == ["11010519491231002X", "110105491231002"]
    assert identity.lookup_forms("e1234 5678") == ["E12345678"]
    assert identity.lookup_forms("12") == []


def test_every_type_has_an_english_name(app):
    from flask_babel import force_locale
    with force_locale("en"):
        english = identity.id_type_english()
    assert set(english) == set(identity.ID_TYPES)
    assert english["护照"] == "Passport"
    assert english["港澳台居民居住证"] == "Residence Permit for Hong Kong, Macao and Taiwan Residents"
    assert english["外国人永久居留身份证"] == "Foreign Permanent Resident ID Card"
    assert not any(re.search(r"[\u4e00-\u9fff]", name) for name in english.values())


@pytest.mark.parametrize("number, masked", [
    ("E12345678", "E1*****78"),
    ("H1234567890", "H1*******90"),
    ("12345678", "12****78"),
    ("USA110085031501", "USA1*******1501"),
    (HK_PERMIT_RESIDENCE, "8100**********0019"),
])
def test_every_type_is_masked(number, masked):
    assert identity.mask_id(number) == masked
