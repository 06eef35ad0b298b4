"""The registrar's decision on a correction request."""
import pytest

from models import AuditEntry, CorrectionRequest, Diploma
from services import corrections
from services.corrections import CorrectionError
from services.columns import KINDS


@pytest.fixture
def owner(make_account):
    return make_account(username="zhang@example.edu.cn", real_name="张三")


@pytest.fixture
def file_request(app, owner, make_record, db):
    def file(field="major", proposed="汉语言文学（师范）", record=None):
        record = record or make_record("diploma", account=owner.id)
        with app.test_request_context():
            return corrections.file_request(owner, KINDS["diploma"], record, field, proposed,
                                            "与证书不一致", None,
                                            max_bytes=2 * 1024 * 1024)
    return file


def decide(app, request, approve, reply=""):
    with app.test_request_context():
        return corrections.decide(request, approve, reply, actor="office",
                                  postman=app.extensions["postman"])


def test_adopting_changes_the_record_with_an_audit_entry(app, file_request, outbox):
    request = file_request()
    before = Diploma.get_by_id(request.record_id).updated_at
    decide(app, request, True)
    record = Diploma.get_by_id(request.record_id)
    assert record.major == "汉语言文学（师范）" and record.updated_at > before
    entry = AuditEntry.get(AuditEntry.action == "record.corrected")
    assert entry.actor == "office" and "汉语言文学 -> 汉语言文学（师范）" in entry.detail
    stored = CorrectionRequest.get_by_id(request.id)
    assert stored.status == "approved" and stored.pending_key is None and stored.decided_by == "office"
    assert "已采纳" in outbox.last()["body"]


def test_a_new_request_for_the_field_is_possible_after_a_decision(app, file_request):
    first = file_request()
    decide(app, first, False, "证书原件即为汉语言文学")
    record = Diploma.get_by_id(first.record_id)
    second = file_request(proposed="汉语言文学（师范类）", record=record)
    assert second.status == "pending"


def test_declining_needs_a_reason_and_leaves_the_record(app, file_request, outbox):
    request = file_request()
    with pytest.raises(CorrectionError, match="必须写明理由"):
        decide(app, request, False, " ")
    decide(app, request, False, "与档案原件一致，无需更正")
    assert Diploma.get_by_id(request.record_id).major == "汉语言文学"
    assert "与档案原件一致" in outbox.last()["body"]
    with pytest.raises(CorrectionError, match="已经处理过"):
        decide(app, request, True)


def legacy_request(owner, record, field, proposed):
    """A pending request as filed before proposed values were checked at filing."""
    return CorrectionRequest.create(
        account=owner, kind="diploma", record_id=record.id, field=field,
        current_value=getattr(record, field) or "", proposed_value=proposed, reason="与证书不一致",
        pending_key=corrections.pending_key(KINDS["diploma"], record, field))


@pytest.mark.parametrize("field, proposed, message", [
    ("graduation_date", "2019-02-30", "不存在"),
    ("level", "大专", "层次"),
])
def test_a_value_that_breaks_the_record_rules_cannot_be_adopted(app, owner, make_record, db,
                                                                field, proposed, message):
    request = legacy_request(owner, make_record("diploma", account=owner.id), field, proposed)
    with pytest.raises(CorrectionError, match=message) as caught:
        decide(app, request, True)
    assert caught.value.field == "value"
    assert CorrectionRequest.get_by_id(request.id).status == "pending"


def test_a_value_that_breaks_a_rule_across_columns_cannot_be_adopted(app, file_request):
    # Filed: a well-formed number; but its year is not the graduation year.
    request = file_request(field="certificate_number", proposed="109991201805000001")
    with pytest.raises(CorrectionError, match="年份"):
        decide(app, request, True)
    assert CorrectionRequest.get_by_id(request.id).status == "pending"


def test_adopting_a_certificate_number_updates_its_matching_key(app, file_request):
    request = file_request(field="certificate_number", proposed="109991201905000777")
    decide(app, request, True)
    record = Diploma.get_by_id(request.record_id)
    assert record.certificate_key == "109991201905000777"


def test_cli_decides_a_correction(app, runner, file_request):
    request = file_request()
    result = runner.invoke(args=["decide-correction", str(request.id), "--reject", "--reply", "不需要"])
    assert result.exit_code == 0 and "rejected" in result.output
    assert runner.invoke(args=["decide-correction", "9999", "--approve"]).exit_code != 0


# --- amended values and values checked at filing (issue 10, queues) ----------------

def test_adopting_as_typed_writes_one_audit_entry_with_old_and_new(app, file_request, outbox):
    request = file_request()
    decide(app, request, True)
    [entry] = AuditEntry.select().where(AuditEntry.action == "record.corrected")
    assert entry.changes == {"kind": "diploma", "record": request.record_id,
                             "fields": {"major": ["汉语言文学", "汉语言文学（师范）"]}}
    assert "已采纳，记录已更新为「汉语言文学（师范）」" in outbox.last()["body"]


def test_an_amended_choice_is_adopted(app, owner, make_record, db, outbox):
    record = make_record("diploma", account=owner.id, completion="结业")
    request = legacy_request(owner, record, "completion", "毕业了")
    with pytest.raises(CorrectionError, match="不是可选的值") as caught:
        decide(app, request, True)                      # as typed: not one of the choices
    assert caught.value.field == "value"
    with app.test_request_context():
        corrections.decide(request, True, "", actor="office", postman=app.extensions["postman"],
                           value="毕业")
    stored = Diploma.get_by_id(record.id)
    assert stored.completion == "毕业" and stored.updated_at > record.updated_at
    entry = AuditEntry.get(AuditEntry.action == "record.corrected")
    assert entry.changes["fields"] == {"completion": ["结业", "毕业"]}
    assert "amended" in entry.detail
    assert "记录已更新为「毕业」" in outbox.last()["body"]
    assert CorrectionRequest.get_by_id(request.id).status == "approved"


def test_an_amended_date_is_adopted_in_its_stored_form(app, file_request, db):
    request = file_request(field="graduation_date", proposed="2019-07-02")
    with app.test_request_context():
        corrections.decide(request, True, "", actor="office", postman=app.extensions["postman"],
                           value="2019年6月30日")
    assert str(Diploma.get_by_id(request.record_id).graduation_date) == "2019-06-30"
    assert AuditEntry.get(AuditEntry.action == "record.corrected").changes["fields"] == \
        {"graduation_date": ["2019-07-01", "2019-06-30"]}


def test_an_invalid_amended_value_changes_nothing(app, file_request, db, outbox):
    request = file_request(field="graduation_date", proposed="2019-07-02")
    sent = len(outbox.messages())
    with pytest.raises(CorrectionError, match="不存在") as caught:
        with app.test_request_context():
            corrections.decide(request, True, "", actor="office",
                               postman=app.extensions["postman"], value="2019-02-30")
    assert caught.value.field == "value"
    assert str(Diploma.get_by_id(request.record_id).graduation_date) == "2019-07-01"
    assert CorrectionRequest.get_by_id(request.id).status == "pending"
    assert not AuditEntry.select().where(AuditEntry.action == "record.corrected").exists()
    assert len(outbox.messages()) == sent


def test_the_write_touches_only_the_corrected_column(app, file_request, db):
    request = file_request()
    # Someone else changes another column after the request was read.
    Diploma.update(president="李明").where(Diploma.id == request.record_id).execute()
    decide(app, request, True)
    stored = Diploma.get_by_id(request.record_id)
    assert (stored.major, stored.president) == ("汉语言文学（师范）", "李明")


@pytest.mark.parametrize("field, proposed, message", [
    ("graduation_date", "2019-02-30", "不存在"),
    ("graduation_date", "毕业那年", "无法识别的日期"),
    ("level", "大专", "不是可选的值"),
    ("completion", "毕业了", "不是可选的值"),
    ("id_number", "110105194912310021", "校验"),
])
def test_a_proposed_value_is_checked_before_it_is_filed(file_request, field, proposed, message):
    with pytest.raises(CorrectionError, match=message) as caught:
        file_request(field=field, proposed=proposed)
    assert caught.value.field == "proposed_value"
    assert CorrectionRequest.select().count() == 0


def test_a_proposed_value_is_filed_in_its_stored_form(file_request):
    assert file_request(field="graduation_date", proposed="2019/6/30").proposed_value == "2019-06-30"
    assert file_request(field="level", proposed="硕士 研究生").proposed_value == "硕士研究生"
    with pytest.raises(CorrectionError, match="一样"):
        file_request(field="level", proposed="本 科")          # the record's own value, spaced


def test_queue_pages_oldest_first(owner, make_record, db):
    record = make_record("diploma", account=owner.id)
    fields = ("major", "level", "duration", "study_mode", "president")
    made = [legacy_request(owner, record, field, "x") for field in fields]
    items, total, page = corrections.queue("pending", 2, per_page=2)
    assert (total, page, [i.id for i in items]) == (5, 2, [made[2].id, made[3].id])
    assert corrections.queue("pending", 99, per_page=2)[2] == 3
    assert corrections.pending_count() == 5
