"""services.codes: the 校验码 rules, with the clock set by the tests."""
import datetime

import pytest

from models import OneTimeCode, utcnow
from services import codes
from services.codes import CodeError

T0 = datetime.datetime(2026, 11, 28, 8, 0, 0)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def issue(subject="draft-1", destination="13812345678", now=T0):
    return codes.issue("register", subject, "sms", destination, now=now)


def test_code_is_six_digits_stored_hashed_and_works_once(db):
    code = issue()
    assert len(code) == 6 and code.isdigit()
    stored = OneTimeCode.get()
    assert code not in stored.code_hash
    codes.verify("register", "draft-1", code, now=at(30))
    with pytest.raises(CodeError, match="已使用"):
        codes.verify("register", "draft-1", code, now=at(31))


def test_full_width_and_spaced_code_is_accepted(db):
    code = issue()
    typed = " ".join(chr(ord(c) + 0xFEE0) for c in code)
    codes.verify("register", "draft-1", typed, now=at(5))


def test_code_expires_after_ten_minutes(db):
    code = issue()
    with pytest.raises(CodeError, match="过期"):
        codes.verify("register", "draft-1", code, now=at(600))


def test_five_wrong_tries_burn_the_code(db):
    code = issue()
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1):
        with pytest.raises(CodeError, match=f"还可以再试 {left} 次"):
            codes.verify("register", "draft-1", wrong, now=at(10))
    with pytest.raises(CodeError, match="次数过多"):
        codes.verify("register", "draft-1", wrong, now=at(10))
    with pytest.raises(CodeError, match="次数过多"):
        codes.verify("register", "draft-1", code, now=at(11))


def test_code_is_bound_to_purpose_and_subject(db):
    code = issue()
    with pytest.raises(CodeError, match="请先获取"):
        codes.verify("reset_password", "draft-1", code, now=at(5))
    with pytest.raises(CodeError, match="请先获取"):
        codes.verify("register", "draft-2", code, now=at(5))


def test_resend_waits_sixty_seconds_and_retires_the_old_code(db):
    first = issue()
    with pytest.raises(CodeError) as caught:
        issue(now=at(30))
    assert caught.value.retry_after == 30
    assert codes.seconds_until_resend("register", "draft-1", now=at(59)) == 1
    second = issue(now=at(60))
    if first != second:
        with pytest.raises(CodeError):
            codes.verify("register", "draft-1", first, now=at(61))
    codes.verify("register", "draft-1", second, now=at(62))


def test_at_most_five_codes_an_hour_to_one_destination(db):
    for n in range(5):
        issue(subject=f"draft-{n}", now=at(n * 61))
    with pytest.raises(CodeError, match="次数过多") as caught:
        issue(subject="draft-9", now=at(400))
    assert caught.value.retry_after == 3600
    issue(subject="draft-9", destination="13900001111", now=at(400))
    issue(subject="draft-10", now=at(3601))


def test_verify_without_any_code(db):
    with pytest.raises(CodeError, match="请先获取"):
        codes.verify("register", "nothing", "123456", now=utcnow())
