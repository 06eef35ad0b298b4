"""`flask --app app purge` (issue 9, D): expired drafts, challenges and codes, and
old outbox lines, go; what a running flow or a rate limit still needs stays."""
import datetime
import json
import threading

import time_machine

from models import Challenge, LoginSession, OneTimeCode
from services import messaging

T0 = datetime.datetime(2027, 3, 1, 8, 0, 0)


def ago(**delta):
    return T0 - datetime.timedelta(**delta)


def code(created, used=False, index="dest-1"):
    return OneTimeCode.create(purpose="register", subject="s", channel="sms",
                              destination_index=index, code_hash="h", created_at=created,
                              expires_at=created + datetime.timedelta(minutes=10),
                              used_at=created if used else None)


def test_purge_removes_what_has_expired_and_keeps_the_rest(runner, db):
    old_challenge = Challenge.create(purpose="reset_password", created_at=ago(minutes=31))
    live_challenge = Challenge.create(purpose="reset_password", created_at=ago(minutes=29))
    unknown_recent = Challenge.create(purpose="something_new", created_at=ago(hours=3))
    unknown_old = Challenge.create(purpose="something_new", created_at=ago(days=2))
    # A registration lives 2 hours from its last step.
    old_draft = Challenge.create(purpose="register", step="identity", updated_at=ago(hours=3),
                                 created_at=ago(hours=3))
    live_draft = Challenge.create(purpose="register", step="identity", updated_at=ago(minutes=90),
                                  created_at=ago(hours=5))
    used_old = code(ago(minutes=61), used=True)
    expired_old = code(ago(hours=5))
    used_recent = code(ago(minutes=30), used=True)  # still counts for the hourly limit
    expired_recent = code(ago(minutes=50))          # expired, but counts too
    live = code(ago(minutes=2))

    with time_machine.travel(T0, tick=False):
        result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert {c.id for c in Challenge.select()} == {live_challenge.id, unknown_recent.id,
                                                  live_draft.id}
    assert {c.id for c in OneTimeCode.select()} == {used_recent.id, expired_recent.id, live.id}
    assert "3 challenge" in result.output
    assert "2 code" in result.output
    assert old_challenge and unknown_old and old_draft and used_old and expired_old


def outbox_line(sent_at, to="13800138000"):
    return json.dumps({"channel": "sms", "to": to, "subject": "", "body": "校验码 123456",
                       "sent_at": sent_at.replace(tzinfo=datetime.timezone.utc)
                       .isoformat(timespec="seconds")}, ensure_ascii=False)


def test_purge_drops_outbox_lines_older_than_the_retention(app_factory, tmp_path):
    app = app_factory(OUTBOX_RETENTION_DAYS=30)
    path = tmp_path / "outbox.jsonl"
    app.config["OUTBOX_PATH"] = str(path)
    lines = [outbox_line(ago(days=45), "old-1"), outbox_line(ago(days=31), "old-2"),
             "not json at all", outbox_line(ago(days=29), "new-1"), outbox_line(ago(hours=1), "new-2")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o640)
    with time_machine.travel(T0, tick=False):
        result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    kept = path.read_text(encoding="utf-8").splitlines()
    assert kept == lines[2:]  # a line that cannot be dated is kept, never guessed
    assert "2 outbox line" in result.output
    assert path.stat().st_mode & 0o777 == 0o640


def test_purge_without_an_outbox_file_is_fine(app_factory, tmp_path):
    app = app_factory()
    app.config["OUTBOX_PATH"] = str(tmp_path / "none" / "outbox.jsonl")
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0 and "0 outbox line" in result.output
    assert not (tmp_path / "none" / "outbox.jsonl").exists()


def test_messages_sent_while_the_outbox_is_purged_are_never_lost(tmp_path):
    """Writers append under the outbox's flock while purges rewrite the file; every
    message written after the start must be in the file at the end."""
    path = tmp_path / "outbox.jsonl"
    long_ago = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(days=60)
    path.write_text("".join(outbox_line(long_ago, f"old-{n}") + "\n" for n in range(2000)),
                    encoding="utf-8")
    backend = messaging.OutboxBackend(path)
    writers, per_writer, rounds = 4, 50, 20
    barrier = threading.Barrier(writers + 1)
    errors = []

    def write(n):
        barrier.wait()
        try:
            for i in range(per_writer):
                backend.send(messaging.Message(channel="sms", to=f"w{n}-{i}", subject="", body="x"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def purge():
        barrier.wait()
        for _ in range(rounds):
            messaging.purge_outbox(path, before=datetime.datetime.now(datetime.timezone.utc)
                                   - datetime.timedelta(days=30))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads.append(threading.Thread(target=purge))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    sent = {json.loads(line)["to"] for line in path.read_text(encoding="utf-8").splitlines()}
    assert {f"w{n}-{i}" for n in range(writers) for i in range(per_writer)} <= sent
    assert not any(to.startswith("old-") for to in sent)


def test_purge_expires_import_batches_left_pending_a_day(runner, db):
    from models import ImportBatch

    def batch(name, uploaded, status="pending"):
        return ImportBatch.create(kind="enrollment", filename=name, uploaded_by="office",
                                  uploaded_at=uploaded, status=status, file_data=b"a,b\n1,2\n")

    old = batch("old.csv", ago(hours=25))
    stuck = batch("stuck.csv", ago(days=2), status="committing")
    recent = batch("recent.csv", ago(hours=23))
    done = batch("done.csv", ago(days=3), status="committed")
    with time_machine.travel(T0, tick=False):
        result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "2 expired import batch" in result.output, result.output
    after = {b.filename: b for b in ImportBatch.select()}
    assert after["old.csv"].status == after["stuck.csv"].status == "expired"
    assert after["old.csv"].file_data is None and after["stuck.csv"].file_data is None
    assert after["recent.csv"].status == "pending" and after["recent.csv"].file_data == b"a,b\n1,2\n"
    # Committed batches keep their history (their file was dropped at commit).
    assert after["done.csv"].status == "committed" and after["done.csv"].file_data == b"a,b\n1,2\n"
    assert old and stuck and recent and done


def test_purge_forgets_login_sessions_ended_a_month_ago(runner, db, make_account):
    account = make_account()
    ended_long_ago = LoginSession.create(token_hash="a" * 64, account=account,
                                         ended_at=ago(days=31))
    ended_lately = LoginSession.create(token_hash="b" * 64, account=account, ended_at=ago(days=29))
    live = LoginSession.create(token_hash="c" * 64, account=account, created_at=ago(days=400))
    with time_machine.travel(T0, tick=False):
        result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert {s.id for s in LoginSession.select()} == {ended_lately.id, live.id}
    assert "1 ended login session" in result.output and ended_long_ago
