"""申诉: deciding an appeal frees the ID number and tells both people."""
import io

import pytest
from PIL import Image

from models import Account, Appeal, AuditEntry
from services import appeals
from tests.factories import PASSWORD, walk_to


def file_appeal(client, id_number="11010519491231002X"):
    buffer = io.BytesIO()
    Image.new("RGB", (30, 40)).save(buffer, "JPEG")
    buffer.seek(0)
    response = client.post("/register/appeal", content_type="multipart/form-data", data=dict(
        real_name="周八", id_type="居民身份证", id_number=id_number,
        contact_email="zhou@example.com", photo=(buffer, "me.jpg")))
    assert response.status_code == 200
    return Appeal.get(Appeal.contact_email == "zhou@example.com")


@pytest.fixture
def squatter(make_account):
    return make_account(username="squat@example.edu.cn", real_name="周八",
                        id_number="11010519491231002X", phone="13812345678")


def decide(app, appeal, approve, reason):
    return appeals.decide(appeal, approve, reason, actor="registrar",
                          postman=app.extensions["postman"])


def test_approval_frees_the_id_and_ends_the_old_sessions(app, client, squatter, outbox, db):
    old_session = app.test_client()
    old_session.post("/login", data={"login": "squat@example.edu.cn", "password": PASSWORD})
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    owner = Account.get_by_id(squatter.id)
    assert owner.id_number is None and owner.id_number_index is None
    assert old_session.get("/account/").status_code == 302
    sms, mail = outbox.messages()[-2:]
    assert sms["channel"] == "sms" and sms["to"] == "13812345678" and "解除" in sms["body"]
    assert mail["channel"] == "email" and mail["to"] == "zhou@example.com"
    assert appeal.reference in mail["body"] and "已通过" in mail["body"]
    actions = {e.action for e in AuditEntry.select()}
    assert {"appeal.filed", "appeal.approved", "account.id_released"} <= actions


def test_after_approval_the_appellant_can_register(app, client, squatter, outbox):
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    walk_to(client, outbox, "confirm", real_name="周八")
    assert client.post("/register/confirm", data={"yes": "1"}).status_code == 303
    page = client.get("/account/appeals").get_data(as_text=True)
    assert appeal.reference in page and "已通过" in page


def test_rejection_needs_a_reason_and_keeps_the_account(app, client, squatter, outbox, db):
    appeal = file_appeal(client)
    with pytest.raises(appeals.AppealError):
        decide(app, appeal, False, "  ")
    decide(app, appeal, False, "照片看不清证件号码")
    assert Account.get_by_id(squatter.id).id_number == "11010519491231002X"
    assert "照片看不清证件号码" in outbox.last()["body"]
    with pytest.raises(appeals.AppealError):
        decide(app, appeal, True, "")


def test_status_lookup_needs_reference_and_id(client, db):
    appeal = file_appeal(client)
    typed = appeal.reference.lower().replace("-", " ")
    found = client.post("/register/appeal/status", data={"reference": typed,
                                                         "id_number": "110105491231002"})
    assert found.status_code == 200 and "待处理" in found.get_data(as_text=True)
    wrong_id = client.post("/register/appeal/status", data={"reference": appeal.reference,
                                                            "id_number": "440524188001010014"})
    assert wrong_id.status_code == 422 and "没有找到" in wrong_id.get_data(as_text=True)
    empty = client.post("/register/appeal/status", data={"reference": "", "id_number": ""})
    assert empty.status_code == 422


def test_cli_decides_an_appeal(app, client, runner, squatter, db):
    appeal = file_appeal(client)
    result = runner.invoke(args=["decide-appeal", appeal.reference, "--approve"])
    assert result.exit_code == 0, result.output
    assert Appeal.get_by_id(appeal.id).status == Appeal.APPROVED
    again = runner.invoke(args=["decide-appeal", appeal.reference, "--reject", "--reason", "x"])
    assert again.exit_code != 0 and "已经处理过" in again.output
    missing = runner.invoke(args=["decide-appeal", "SS20000101-XXXXXX", "--approve"])
    assert missing.exit_code != 0


def test_approval_unbinds_the_records_that_carry_the_id(app, client, squatter, make_record, db):
    from services import binding
    make_record("diploma", name="周八")
    binding.auto_bind(squatter, since_year=1991)
    from models import Diploma
    assert Diploma.get().account_id == squatter.id
    appeal = file_appeal(client)
    decide(app, appeal, True, "")
    assert Diploma.get().account_id is None and Diploma.get().bound_by is None
