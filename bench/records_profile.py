"""What does a logged-in student's GET /records cost? (issue 12, per-request cost)

Builds a throwaway instance (SQLite file, migrations), a student with RECORDS records
of all five kinds, signs in through /login, then serves /records REQUESTS times
through Flask's test client (no HTTP server): prints the SQL queries per request,
the mean time per request, and cProfile's top functions by cumulative time.

    nice .venv/bin/python bench/records_profile.py [--records 12] [--requests 300] [--top 25]
"""
import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402
from tests.factories import create_account, create_record, sign_in  # noqa: E402

KIND_KEYS = ("enrollment", "diploma", "degree", "admission", "aid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=12)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="records-profile-"))
    try:
        app = create_app(dict(INSTANCE_DIR=str(folder / "instance"), RATELIMIT_ENABLED=False,
                              WTF_CSRF_ENABLED=False, PORTAL_BASE_URL="http://portal.test"))
        with app.app_context(), models.db.connection_context():
            migration_router().run()
        student = create_account(app, username="zhang@example.edu.cn")
        for n in range(args.records):
            key = KIND_KEYS[n % len(KIND_KEYS)]
            extra = dict(paid_on=f"2016-11-{n + 1:02d}") if key == "aid" else {}
            create_record(key, n + 1, account=student.id, **extra)
        client = app.test_client()
        sign_in(client, "zhang@example.edu.cn")
        warm = client.get("/records/")  # warm: templates, settings
        if warm.status_code != 200:
            raise SystemExit(f"/records/ answered {warm.status_code}")

        queries = []
        database = models.db.obj
        original = database.execute_sql
        database.execute_sql = lambda sql, *a, **k: (queries.append(sql), original(sql, *a, **k))[1]
        client.get("/records/")
        database.execute_sql = original
        print(f"SQL queries per GET /records ({args.records} records): {len(queries)}")

        start = time.perf_counter()
        for _ in range(args.requests):
            client.get("/records/")
        elapsed = time.perf_counter() - start
        print(f"mean {elapsed / args.requests * 1000:.2f} ms per request "
              f"({args.requests / elapsed:.0f} req/s, one thread, test client)")

        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get("/records/")
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
