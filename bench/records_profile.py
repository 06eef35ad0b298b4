"""What does each page cost? (issue 12, per-request cost)

Builds a throwaway instance (SQLite file, migrations), a student with RECORDS records
of all five kinds and a valid report, signs in through /login, then serves each page
REQUESTS times through Flask's test client (no HTTP server): prints the SQL queries
per request, the mean time per request, and cProfile's top functions by cumulative
(or --sort tottime) time. /login, /verify and /verify/<code> are asked for without
the session cookie, /records and /reports with it.

    nice .venv/bin/python bench/records_profile.py [--records 12] [--requests 300] [--top 25]
        [--page /records/ --page /verify/CODE ...] [--sort cumulative|tottime]

CODE in a --page stands for the seeded report's code.
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
from tests.factories import sign_in, student_with_records  # noqa: E402

PAGES = ("/login", "/verify", "/verify/CODE", "/records/", "/reports/")
SIGNED_IN = ("/records", "/reports")


def seed(app, records: int) -> str:
    """A student with `records` records and one valid diploma report; returns its code."""
    with app.app_context(), models.db.connection_context():
        migration_router().run()
    _, report = student_with_records(app, records)
    return report.code


def counting(queries: list):
    database = models.db.obj
    original = database.execute_sql

    def execute_sql(sql, *args, **kwargs):
        queries.append(sql)
        return original(sql, *args, **kwargs)

    database.execute_sql = execute_sql
    return lambda: setattr(database, "execute_sql", original)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=12)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--page", action="append", help=f"default: {' '.join(PAGES)}")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--sql", action="store_true", help="print each page's SQL")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="records-profile-"))
    try:
        app = create_app(dict(INSTANCE_DIR=str(folder / "instance"), RATELIMIT_ENABLED=False,
                              WTF_CSRF_ENABLED=False, PORTAL_BASE_URL="http://portal.test"))
        code = seed(app, args.records)
        student = app.test_client()
        sign_in(student, "zhang@example.edu.cn")
        anonymous = app.test_client()
        for page in args.page or PAGES:
            path = page.replace("CODE", code)
            client = student if path.startswith(SIGNED_IN) else anonymous
            warm = client.get(path)  # warm: templates, settings
            if warm.status_code != 200:
                raise SystemExit(f"{page} answered {warm.status_code}")
            queries = []
            restore = counting(queries)
            client.get(path)
            restore()
            print(f"== {page}: {len(queries)} SQL queries per request")
            if args.sql:
                print("\n".join(f"   {sql}" for sql in queries))
            start = time.perf_counter()
            for _ in range(args.requests):
                client.get(path)
            elapsed = time.perf_counter() - start
            print(f"mean {elapsed / args.requests * 1000:.2f} ms per request "
                  f"({args.requests / elapsed:.0f} req/s, one thread, test client)")
            if args.top:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.requests):
                    client.get(path)
                profile.disable()
                pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
