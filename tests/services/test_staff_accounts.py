"""services.staff_accounts: the 管理员 keeps staff accounts; the last 管理员 stays."""
import pytest

from models import Account, AuditEntry, LoginSession, StaffTotp
from services import accounts, staff_accounts, staff_auth
from services.staff_accounts import StaffError
from tests.factories import staff_account


@pytest.fixture
def boss(db):
    return staff_account("boss")


def test_create_a_member(boss):
    member = staff_accounts.create(" Ｄesk.Li ", Account.VIEWER, "Front-desk-42", actor=boss,
                                   ip="10.0.0.1")
    assert (member.username, member.role, member.is_staff) == ("desk.li", "viewer", True)
    assert accounts.authenticate("desk.li", "Front-desk-42", ip="", user_agent="").ok
    assert not staff_auth.is_enrolled(member)
    entry = AuditEntry.get(AuditEntry.action == "staff.created")
    assert (entry.account_id, entry.actor, entry.ip) == (member.id, "boss", "10.0.0.1")
    assert entry.changes["fields"]["role"] == ["", "viewer"]


@pytest.mark.parametrize("username, role, password, field", [
    ("", "viewer", "Front-desk-42", "username"),
    ("ab", "viewer", "Front-desk-42", "username"),
    ("li si", "viewer", "Front-desk-42", "username"),
    ("-li", "viewer", "Front-desk-42", "username"),
    ("desk", "student", "Front-desk-42", "role"),
    ("desk", "", "Front-desk-42", "role"),
    ("desk", "viewer", "short1", "password"),
    ("desk", "viewer", "desk-2026-x", "password"),
    ("boss", "viewer", "Front-desk-42", "username"),
])
def test_create_refusals(boss, username, role, password, field):
    with pytest.raises(StaffError) as refused:
        staff_accounts.create(username, role, password, actor=boss)
    assert refused.value.field == field
    assert Account.select().count() == 1


def test_change_role_is_audited(boss):
    member = staff_account("frontdesk", Account.VIEWER)
    assert staff_accounts.change_role(member, Account.REGISTRAR, actor=boss) == "viewer"
    assert Account.get_by_id(member.id).role == "registrar"
    entry = AuditEntry.get(AuditEntry.action == "staff.role_changed")
    assert entry.changes["fields"]["role"] == ["viewer", "registrar"] and entry.actor == "boss"
    with pytest.raises(StaffError, match="没有变化"):
        staff_accounts.change_role(member, Account.REGISTRAR, actor=boss)
    with pytest.raises(StaffError):
        staff_accounts.change_role(member, Account.STUDENT, actor=boss)


def test_nobody_demotes_or_disables_themselves(boss):
    staff_account("other")  # a second 管理员: the refusal is about oneself
    with pytest.raises(StaffError, match="自己") as refused:
        staff_accounts.change_role(boss, Account.VIEWER, actor=boss)
    assert refused.value.field == "role"
    with pytest.raises(StaffError, match="自己"):
        staff_accounts.disable(boss, "休假", actor=boss)
    assert Account.get_by_id(boss.id).role == "admin" and not Account.get_by_id(boss.id).is_disabled


def test_the_last_enabled_admin_stays(boss):
    other = staff_account("other")
    staff_accounts.disable(other, "离职", actor=boss)
    # other is disabled: boss is the last enabled 管理员, and other cannot act any more.
    for attempt in (lambda: staff_accounts.change_role(boss, Account.VIEWER, actor=other),
                    lambda: staff_accounts.disable(boss, "x", actor=other),
                    lambda: staff_accounts.enable(other, actor=other)):
        with pytest.raises(StaffError, match="已不是启用中的管理员"):
            attempt()
    # Without the actor check (a caller such as the shell), the rule itself holds.
    admins = {boss.id}
    with pytest.raises(StaffError, match="最后一个"):
        staff_accounts._may_lose_admin(other, boss, admins, "role")


def test_a_demoted_admin_can_no_longer_act(boss):
    other = staff_account("other")
    staff_accounts.change_role(other, Account.REGISTRAR, actor=boss)
    with pytest.raises(StaffError, match="已不是启用中的管理员"):
        staff_accounts.create("desk", Account.VIEWER, "Counter-2026", actor=other)


def test_disable_and_enable_a_member(boss):
    member = staff_account("frontdesk", Account.REGISTRAR)
    staff_accounts.disable(member, "离职", actor=boss, ip="10.0.0.1")
    result = accounts.authenticate("frontdesk", "Desk-pass-2026", ip="", user_agent="")
    assert result.disabled and result.disabled_reason == "离职"
    staff_accounts.enable(member, actor=boss)
    assert accounts.authenticate("frontdesk", "Desk-pass-2026", ip="", user_agent="").ok
    actions = [e.action for e in AuditEntry.select().where(AuditEntry.account == member.id)
               .order_by(AuditEntry.id)]
    assert actions[-2:] == ["account.disabled", "account.enabled"]


def test_reset_second_factor_ends_sessions(boss):
    member = staff_account("frontdesk", Account.REGISTRAR)
    staff_auth.pending_secret(member)
    StaffTotp.update(enrolled_at=StaffTotp.created_at).execute()
    assert staff_auth.is_enrolled(member)
    accounts.start_login_session(member, ip="", user_agent="")
    staff_accounts.reset_second_factor(member, actor=boss, ip="10.0.0.1")
    assert not staff_auth.is_enrolled(member) and staff_auth.factor_for(member) is None
    assert LoginSession.select().where(LoginSession.ended_at.is_null()).count() == 0
    entry = AuditEntry.get(AuditEntry.action == "admin.totp_reset")
    assert (entry.account_id, entry.actor, entry.ip) == (member.id, "boss", "10.0.0.1")


def test_students_are_no_staff_members(boss, make_account):
    student = make_account()
    with pytest.raises(StaffError, match="没有这个工作人员账号"):
        staff_accounts.change_role(student, Account.ADMIN, actor=boss)
    assert Account.get_by_id(student.id).role == "student"
