"""crypto: encryption at rest and the keyed look-up index."""
import pytest
from cryptography.exceptions import InvalidTag

import crypto


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
