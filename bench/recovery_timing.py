"""Do the recovery pages answer as fast for unknown people as for real ones?

A timing gap would tell an attacker which ID numbers are registered. This
prints the median time of each step for a real account and for details that
match nobody, and the ratio between them.

    .venv/bin/python bench/recovery_timing.py [ROUNDS]
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402
from services import accounts  # noqa: E402

PEOPLE = {
    "known": {"real_name": "赵六", "id_type": "居民身份证", "id_number": "11010519491231002X"},
    "unknown": {"real_name": "钱七", "id_type": "居民身份证", "id_number": "440524188001010014"},
}


def timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(rounds: int):
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(dict(INSTANCE_DIR=instance, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False))
        with models.db.connection_context():
            migration_router().run()
            accounts.create_student(username="zhao@example.edu.cn", real_name="赵六",
                                    id_type="居民身份证", id_number="11010519491231002X",
                                    phone="13812345678", password_hash=accounts.hash_password("x1234567"))
        samples = {who: {"identify": [], "send code": [], "wrong code": [], "reset: identify": []}
                   for who in PEOPLE}
        for _ in range(rounds):
            for who, person in PEOPLE.items():
                client = app.test_client()
                times = samples[who]
                times["identify"].append(timed(lambda: client.post("/recover/username", data=person)))
                times["send code"].append(timed(lambda: client.post("/recover/username/send",
                                                                    data={"channel": "sms"})))
                times["wrong code"].append(timed(lambda: client.post("/recover/username/check",
                                                                     data={"code": "000000"})))
                login = "zhao@example.edu.cn" if who == "known" else "nobody@example.edu.cn"
                times["reset: identify"].append(timed(lambda: client.post("/recover/password",
                                                                          data={"login": login})))
            # The hourly limit per destination would refuse later rounds.
            with models.db.connection_context():
                models.OneTimeCode.delete().execute()
        print(f"{'step':<18}{'known (ms)':>12}{'unknown (ms)':>14}{'ratio':>8}   ({rounds} rounds, medians)")
        for step in samples["known"]:
            known = statistics.median(samples["known"][step]) * 1000
            unknown = statistics.median(samples["unknown"][step]) * 1000
            print(f"{step:<18}{known:>12.2f}{unknown:>14.2f}{known / unknown:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
