"""services.crypto and the SensitiveField built on it."""
import pytest
from cryptography.exceptions import InvalidTag

import models
from services import crypto


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


def test_same_value_encrypts_differently_each_time(app):
    assert crypto.encrypt("13812345678") != crypto.encrypt("13812345678")


def test_tampered_ciphertext_is_refused(app):
    token = crypto.encrypt("secret")
    flipped = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(InvalidTag):
        crypto.decrypt(flipped)


def test_keys_persist_in_the_instance_folder(app, app_factory, tmp_path):
    token = crypto.encrypt("11010519491231002X")
    index = crypto.blind_index("x")
    app_factory()  # same instance folder: the keys on disk are reused
    assert crypto.decrypt(token) == "11010519491231002X"
    assert crypto.blind_index("x") == index
    key = tmp_path / "instance" / "keys" / "data.key"
    assert key.stat().st_mode & 0o077 == 0
