"""Migration 017_e164_phones.py: phone numbers in E.164.

Numbers were stored as 11 mainland digits ("13812345678"); they are now stored
in E.164 ("+8613812345678"), so that numbers from abroad ("+85251234567") fit
beside them and the SMS gateway gets one format. This converts the stored
mainland numbers: Account.phone (encrypted, with its blind index, which is
rebuilt from the new value) and the phone typed into a registration draft or a
phone change still under way (Challenge.payload, encrypted JSON). The keys are
loaded by create_app before migrations run (as for 006). Idempotent: a value
already starting with + is left alone. Rollback turns +86 numbers back into 11
digits; numbers from abroad stay as they are (the old code cannot have them).
"""
import json
import re

import peewee as pw
from peewee_migrate import Migrator

import crypto

MAINLAND = re.compile(r"1[3-9]\d{9}")
E164_MAINLAND = re.compile(r"\+861[3-9]\d{9}")


def to_e164(number):
    return "+86" + number if isinstance(number, str) and MAINLAND.fullmatch(number) else number


def from_e164(number):
    return number[3:] if isinstance(number, str) and E164_MAINLAND.fullmatch(number) else number


def _convert(database, change):
    param = database.param
    for row_id, value in database.execute_sql(
            'SELECT id, phone FROM "account" WHERE phone IS NOT NULL').fetchall():
        old = crypto.decrypt(value)
        new = change(old)
        if new != old:
            database.execute_sql(
                f'UPDATE "account" SET phone = {param}, phone_index = {param} WHERE id = {param}',  # nosec B608 # fixed names
                (crypto.encrypt(new), crypto.blind_index(new), row_id))
    for row_id, value in database.execute_sql(
            'SELECT id, payload FROM "challenge" WHERE payload IS NOT NULL').fetchall():
        payload = json.loads(crypto.decrypt(value))
        if not isinstance(payload, dict) or "phone" not in payload:
            continue
        new = change(payload["phone"])
        if new != payload["phone"]:
            payload["phone"] = new
            database.execute_sql(
                f'UPDATE "challenge" SET payload = {param} WHERE id = {param}',  # nosec B608 # fixed names
                (crypto.encrypt(json.dumps(payload, ensure_ascii=False)), row_id))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_convert, database, to_e164)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_convert, database, from_e164)
