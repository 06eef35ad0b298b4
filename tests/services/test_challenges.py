"""services.challenges: one flow for every check by 校验码, driven by its Flow entry."""
import datetime
import shutil

import pytest

from models import Challenge, OneTimeCode, utcnow
from services import challenges
from services.challenges import EMAIL, SMS, Flow
from services.codes import CodeError
from services.errors import ServiceError
from services.messaging import OutboxBackend
from services.postman import TEMPLATE_DIR, Postman

T0 = datetime.datetime(2026, 11, 28, 8, 0, 0)
TYPED = {"username": "wang@example.edu.cn", "phone": "+8613812345678"}


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)




def draft(step="code", **payload):
    return challenges.start(challenges.REGISTER, payload={**TYPED, **payload}, step=step)


def test_every_flow_is_declared_once():
    assert set(challenges.FLOWS) == {"register", "recover_username", "reset_password",
                                     "change_phone", "my_data", "close_account"}
    for flow in challenges.FLOWS.values():
        assert challenges.CODE_STEP in flow.steps and set(flow.channels) <= {SMS, EMAIL}
    assert challenges.FIND_USERNAME.decoy and challenges.RESET_PASSWORD.decoy
    assert not challenges.REGISTER.decoy and not challenges.CHANGE_PHONE.decoy
    assert not challenges.CLOSE_ACCOUNT.decoy


# --- start, find, move ---------------------------------------------------------

def test_find_by_token_and_flow_only(db, make_account):
    challenge = draft()
    assert challenges.find(challenges.REGISTER, challenge.token).id == challenge.id
    assert challenges.find(challenges.CHANGE_PHONE, challenge.token) is None
    assert challenges.find(challenges.REGISTER, "other-token") is None
    assert challenges.find(challenges.REGISTER, None) is None


def test_find_only_the_accounts_own(db, make_account):
    owner, other = make_account(), make_account(username="other@example.edu.cn",
                                                id_number="440524188001010014")
    challenge = challenges.start(challenges.CHANGE_PHONE, account=owner,
                                 payload={"phone": "+8613900001111"})
    assert challenges.find(challenges.CHANGE_PHONE, challenge.token, account=owner)
    assert challenges.find(challenges.CHANGE_PHONE, challenge.token, account=other) is None


def test_lifetime_counts_from_the_start(db):
    challenge = challenges.start(challenges.RESET_PASSWORD)
    Challenge.update(created_at=T0, updated_at=at(29 * 60)).execute()
    assert challenges.find(challenges.RESET_PASSWORD, challenge.token, now=at(30 * 60 - 1))
    assert challenges.find(challenges.RESET_PASSWORD, challenge.token, now=at(30 * 60 + 1)) is None
    assert Challenge.select().count() == 0          # an expired challenge is deleted


def test_the_wizards_lifetime_counts_from_its_last_step(db):
    challenge = draft()
    Challenge.update(created_at=T0, updated_at=at(3600)).execute()
    assert challenges.find(challenges.REGISTER, challenge.token, now=at(3 * 3600 - 1))
    assert challenges.find(challenges.REGISTER, challenge.token, now=at(3 * 3600 + 1)) is None


def test_steps_are_reached_in_order(db):
    challenge = draft(step="identity")
    assert challenges.reachable(challenge, "notice") and challenges.reachable(challenge, "identity")
    assert not challenges.reachable(challenge, "code")
    assert not challenges.reachable(challenge, "elsewhere")


def test_moving_back_to_the_code_step_undoes_the_check(db, fixed_code, postman):
    challenge = draft()
    challenges.send_code(challenge, SMS, postman=postman, ip="")
    challenges.check_code(challenge, fixed_code)
    assert challenge.step == "confirm" and challenge.verified_at is not None
    challenges.move(challenge, "identity")
    reloaded = Challenge.get_by_id(challenge.id)
    assert reloaded.step == "identity" and reloaded.verified_at is None


# --- send_code -------------------------------------------------------------------

def test_code_goes_to_the_typed_phone(db, outbox, postman):
    challenge = draft()
    shown = challenges.send_code(challenge, SMS, postman=postman, ip="10.0.0.1")
    assert shown == "+86 138****5678"
    message = outbox.last()
    assert message["channel"] == "sms" and message["to"] == "+8613812345678"
    assert "注册校验码" in message["body"] and "10 分钟内有效" in message["body"]
    assert OneTimeCode.get().ip == "10.0.0.1"


def test_email_only_to_edu_cn(db, outbox, postman):
    assert challenges.send_code(draft(), EMAIL, postman=postman, ip="") == "w***@example.edu.cn"
    assert outbox.last()["to"] == "wang@example.edu.cn"
    with pytest.raises(ServiceError, match="edu.cn") as refused:
        challenges.send_code(draft(username="wang@example.com"), EMAIL, postman=postman, ip="")
    assert refused.value.field == "channel" and len(outbox.messages()) == 1


def test_only_the_flows_channels(db, make_account, outbox, postman):
    challenge = challenges.start(challenges.CHANGE_PHONE, account=make_account(),
                                 payload={"phone": "+8613900001111"})
    with pytest.raises(ServiceError, match="请选择获取校验码的方式") as refused:
        challenges.send_code(challenge, EMAIL, postman=postman, ip="")
    assert refused.value.field == "channel" and outbox.messages() == []


def test_resend_waits_sixty_seconds(db, outbox, postman):
    challenge = draft()
    challenges.send_code(challenge, SMS, postman=postman, ip="", now=T0)
    with pytest.raises(CodeError, match="30 秒后") as refused:
        challenges.send_code(challenge, SMS, postman=postman, ip="", now=at(30))
    assert refused.value.retry_after == 30 and len(outbox.messages()) == 1
    challenges.send_code(challenge, SMS, postman=postman, ip="", now=at(60))
    assert len(outbox.messages()) == 2


# --- check_code and finish -----------------------------------------------------------

def test_right_code_moves_to_the_next_step(db, fixed_code, postman):
    challenge = draft()
    challenges.send_code(challenge, SMS, postman=postman, ip="")
    with pytest.raises(CodeError, match="还可以再试 4 次"):
        challenges.check_code(challenge, "000043")
    challenges.check_code(challenge, fixed_code)
    reloaded = Challenge.get_by_id(challenge.id)
    assert reloaded.step == "confirm" and reloaded.verified_at is not None


def test_a_flow_whose_code_step_is_last_stays_there(db, make_account, fixed_code, postman):
    challenge = challenges.start(challenges.CHANGE_PHONE, account=make_account(),
                                 payload={"phone": "+8613900001111"})
    challenges.send_code(challenge, SMS, postman=postman, ip="")
    challenges.check_code(challenge, fixed_code)
    assert challenge.step == "code" and challenge.verified_at is not None


def test_finish_keeps_nothing_typed(db):
    challenge = draft()
    challenge.password_hash = "$argon2id$hash"
    challenges.finish(challenge)
    reloaded = Challenge.get_by_id(challenge.id)
    assert reloaded.finished_at is not None
    assert reloaded.payload == {} and reloaded.password_hash is None
    assert challenges.find(challenges.REGISTER, challenge.token) is None


# --- decoys ------------------------------------------------------------------------

def test_decoy_issues_a_code_to_nowhere_and_sends_nothing(db, outbox, fixed_code, postman):
    challenge = challenges.start(challenges.FIND_USERNAME, account=None)
    assert challenges.send_code(challenge, SMS, postman=postman, ip="") == ""
    assert outbox.messages() == []
    issued = OneTimeCode.get()
    assert issued.subject == challenge.token and issued.purpose == "recover_username"
    # The same limits as for a real account: a second code waits.
    with pytest.raises(CodeError, match="秒后"):
        challenges.send_code(challenge, SMS, postman=postman, ip="")
    # Even the right code never passes.
    with pytest.raises(CodeError, match="校验码不正确"):
        challenges.check_code(challenge, fixed_code)
    assert Challenge.get_by_id(challenge.id).verified_at is None


def test_decoy_flows_never_show_where_a_code_went(db, make_account, outbox, postman):
    account = make_account(username="zhao@example.edu.cn", phone="13812345678")
    challenge = challenges.start(challenges.RESET_PASSWORD, account=account)
    assert challenges.send_code(challenge, SMS, postman=postman, ip="") == ""
    assert outbox.last()["to"] == "+8613812345678"
    step = challenges.code_step(challenge)
    assert step.masked_phone == "" and step.email_allowed and step.channels == (SMS, EMAIL)


def test_decoy_email_to_a_non_edu_username_goes_nowhere(db, make_account, outbox, postman):
    account = make_account(username="sun@example.com", phone="13900002222")
    challenge = challenges.start(challenges.RESET_PASSWORD, account=account)
    assert challenges.send_code(challenge, EMAIL, postman=postman, ip="") == ""
    assert outbox.messages() == [] and OneTimeCode.select().count() == 1


# --- what the code step shows ----------------------------------------------------------

def test_code_step_for_the_wizard(db, postman):
    challenge = draft(username="wang@example.com")
    step = challenges.code_step(challenge, now=utcnow())
    assert (step.step, step.masked_phone, step.email_allowed, step.resend_wait) == \
           ("code", "+86 138****5678", False, 0)
    challenges.send_code(challenge, SMS, postman=postman, ip="")
    assert 59 <= challenges.code_step(challenge).resend_wait <= 60


# --- another flow is configuration ------------------------------------------------

def test_a_new_flow_is_one_entry_and_one_template(db, make_account, outbox, monkeypatch, tmp_path):
    change_email = Flow("change_email", datetime.timedelta(minutes=30), (EMAIL,),
                        challenges.typed(email="email"), "email_change_code.txt")
    monkeypatch.setitem(challenges.FLOWS, change_email.purpose, change_email)
    shutil.copy(TEMPLATE_DIR / "base.txt", tmp_path)
    (tmp_path / "email_change_code.txt").write_text(
        '{% extends "base.txt" %}{% block subject %}更换邮箱校验码{% endblock %}'
        '{% block body %}校验码 {{ code }}，{{ minutes }} 分钟内有效。{% endblock %}', "utf-8")
    postman = Postman({EMAIL: OutboxBackend(outbox.path)}, "示范大学", template_dir=tmp_path)

    challenge = challenges.start(change_email, account=make_account(),
                                 payload={"email": "new@example.edu.cn"})
    assert challenges.send_code(challenge, EMAIL, postman=postman, ip="") == "n***@example.edu.cn"
    assert outbox.last()["to"] == "new@example.edu.cn"
    assert outbox.last()["subject"] == "示范大学 更换邮箱校验码"
    challenges.check_code(challenge, outbox.last_code())
    assert challenges.find(change_email, challenge.token).verified_at is not None
