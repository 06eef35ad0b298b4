"""fields: SensitiveField and SensitiveJSONField, encrypted at rest with a look-up index."""
import crypto
import models


def test_values_are_encrypted_at_rest_and_found_by_index(db, make_account):
    account = make_account(id_number="11010519491231002X", phone="13812345678")
    raw = db.execute_sql("SELECT id_number, phone, id_number_index FROM account WHERE id = ?",
                         (account.id,)).fetchone()
    assert "11010519491231002X" not in raw[0] and raw[0].startswith("v1:")
    assert "13812345678" not in raw[1]
    assert raw[2] == crypto.blind_index("11010519491231002X")
    found = models.Account.get(models.Account.id_number.matches("11010519491231002X"))
    assert found.id == account.id and found.id_number == "11010519491231002X"
    assert not models.Account.select().where(
        models.Account.id_number.matches("440524188001010014")).exists()


def test_changing_a_value_moves_its_index(db, make_account):
    account = make_account(phone="13812345678")
    account.phone = "13900001111"
    account.save()
    assert models.Account.get(models.Account.phone.matches("13900001111")).id == account.id
    assert not models.Account.select().where(models.Account.phone.matches("13812345678")).exists()


def test_clearing_a_value_clears_its_index(db, make_account):
    account = make_account(phone="13812345678")
    account.phone = None
    account.save()
    raw = db.execute_sql("SELECT phone, phone_index FROM account WHERE id = ?",
                         (account.id,)).fetchone()
    assert raw == (None, None)
    assert models.Account.get_by_id(account.id).phone is None


def test_json_documents_are_encrypted_at_rest(db):
    draft = models.Challenge.create(
        purpose="register", step="identity",
        payload={"real_name": "张三", "id_number": "11010519491231002X"})
    raw = db.execute_sql("SELECT payload FROM challenge WHERE id = ?",
                         (draft.id,)).fetchone()[0]
    assert raw.startswith("v1:") and "11010519491231002X" not in raw
    assert models.Challenge.get_by_id(draft.id).payload == {
        "real_name": "张三", "id_number": "11010519491231002X"}
