"""How do the portal's look-ups and imports grow from a small school to 200,000 students?

For each size it seeds that many people with about 2.5 records each (bench/admin_search.py's
seeding: 200,000 people -> about 500,000 records, two in three with an account) and one
issued report per ten accounts, into a fresh database, and prints the median time (ms) of:

- automatic binding at login: the check every login makes (nothing waiting), and binding
  a new account's waiting records (services.binding.auto_bind; argon2 is left out);
- the manual binding look-up by certificate number (binding.bind_by_certificate);
- a verification by code (services.reports.lookup);
- the registrar's search: name, ID number, certificate number, filters, page 100;
- importing new 学籍 rows (services.importer.import_file, in a fresh process): seconds,
  the memory in use when it starts and the peak (ru_maxrss) during the import.

Then how each figure grew from the smallest size to the largest. Nothing is asserted.

    nice .venv/bin/python bench/scale.py               # 2,000 then 20,000; import 10,000 rows
    nice .venv/bin/python bench/scale.py --full        # 20,000 then 200,000; import 100,000 rows
    nice .venv/bin/python bench/scale.py --postgres    # also on a throwaway PostgreSQL server
"""
import argparse
import json
import os
import resource
import shutil
import subprocess  # nosec B404 # the import is measured in a fresh interpreter (its own peak memory)
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import admin_search as seeding  # noqa: E402  # bench/admin_search.py: seed, search cases, PostgreSQL
import crypto  # noqa: E402
import import_records  # noqa: E402  # bench/import_records.py: write_rows
import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402
from services import binding, importer, reports, search  # noqa: E402
from services import settings as school_settings  # noqa: E402

HERE = Path(__file__).resolve().parent


def seed_reports(count: int) -> list:
    """One report per ten accounts (their 学籍 record); a few codes to verify."""
    now = models.utcnow()
    rows, codes = [], []
    for n in range(1, count, 15):       # n % 3 == 1: the person has an account (id n + 1)
        code = reports.new_code()
        # insert_many encrypts the code and snapshot (their fields' db_value); the index is ours.
        rows.append(dict(account=n + 1, kind="enrollment", record_id=n + 1, code=code,
                         code_index=crypto.blind_index(code), snapshot="{}",
                         issued_at=now, expires_at=now.replace(year=now.year + 1)))
        if len(codes) < 50:
            codes.append(code)
    with models.db.atomic():
        seeding.insert(models.Report, rows)
    return codes


def new_accounts(count: int, runs: int) -> list:
    """Accounts for people seeded without one (n % 3 == 0): their records wait to bind."""
    made = []
    for n, name, number, _birth, _gender, has_account in seeding.people(count):
        if has_account or n == 0:
            continue
        made.append(models.Account.create(
            username=f"new{n}@bench.edu.cn", role="student", real_name=name, id_type="居民身份证",
            id_number=number, phone=f"138{n:08d}", password_hash=seeding.PASSWORD_HASH))
        if len(made) == runs:
            return made
    return made


def measure(app, count: int, samples: dict, codes: list, runs: int) -> dict:
    config = {**app.config, **school_settings.current(app.config)}  # as views/records.py passes it
    since = config["ELIGIBLE_SINCE_YEAR"]
    figures = {}
    known = models.Account.get(models.Account.username == "s1@bench.edu.cn")
    figures["login: nothing waiting"] = seeding.timed(
        lambda: len(binding.auto_bind(known, since_year=since)), runs)[0]
    made = new_accounts(count, runs * 2)
    fresh, strangers = iter(made[:runs]), iter(made[runs:])
    figures["login: binds waiting records"] = seeding.timed(
        lambda: len(binding.auto_bind(next(fresh), since_year=since)), runs)[0]
    diploma = (models.Diploma.select().where(models.Diploma.graduation_date.year == 2024,
                                             models.Diploma.account.is_null(False)).first())

    def manual():
        try:
            binding.bind_by_certificate(next(strangers), "diploma", diploma.certificate_number, 2024,
                                        diploma.school_name, config=config)
        except binding.BindingError:
            return 0    # not this account's diploma: the neutral answer, after the look-up
        return 1

    figures["binding by certificate number"] = seeding.timed(manual, runs)[0]
    found = iter(codes * runs)
    figures["verification by code"] = seeding.timed(
        lambda: int(reports.lookup(next(found)).outcome == reports.VALID), runs)[0]
    for name, wanted, page in seeding.cases(samples):
        figures[f"search: {name}"] = seeding.timed(lambda: len(search.search(wanted, page).hits), runs)[0]
    return figures


def import_child(args) -> None:
    """In a fresh process: import the CSV into the instance, print seconds and peak memory."""
    config = dict(INSTANCE_DIR=args.instance, RATELIMIT_ENABLED=False)
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    app = create_app(config)
    with app.app_context(), models.db.connection_context():
        ready = reset_peak()
        data = Path(args.import_child).read_bytes()
        started = time.perf_counter()
        result = importer.import_file("enrollment", "enrollment.csv", data,
                                      max_bytes=len(data), actor="bench")
        print(json.dumps(dict(seconds=time.perf_counter() - started, created=result.created,
                              validating=result.seconds_validating, writing=result.seconds_writing,
                              ready_mb=ready / 1024,
                              peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


def reset_peak() -> int:
    """Forget the start-up's peak memory (Linux: clear_refs 5 resets VmHWM, which
    ru_maxrss reports); the memory in use now, in KB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass    # not Linux, or not allowed: ru_maxrss keeps the start-up's peak
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def timed_import(instance: str, database_url: str, source: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--import-child", str(source),
               "--instance", instance]
    if database_url:
        command += ["--database-url", database_url]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # nosec B603 # this interpreter, fixed arguments
    if done.returncode != 0:
        sys.exit(f"the import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(label: str, count: int, runs: int, source: Path, rows: int, folder: Path, database_url: str = "") -> dict:
    instance = folder / f"{label}-{count}"
    config = dict(INSTANCE_DIR=str(instance), WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    with app.app_context(), models.db.connection_context():
        migration_router().run()
        started = time.perf_counter()
        samples = seeding.seed(count)
        if database_url:    # the seeding gave accounts their ids: move PostgreSQL's sequence past them
            table = models.Account._meta.table_name
            models.db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608 # the model's own table name
                                  f"(SELECT MAX(id) FROM {table}))")
        codes = seed_reports(count)
        records = sum(model.select().count() for model in models.RECORD_MODELS)
        print(f"\n{label}, {count:,} people: {models.Account.select().count():,} accounts, {records:,} records, "
              f"{models.Report.select().count():,} reports, seeded in {time.perf_counter() - started:.0f} s")
        figures = measure(app, count, samples, codes, runs)
    models.db.close()
    imported = timed_import(str(instance), database_url, source)
    figures[f"import {rows:,} rows (s)"] = imported["seconds"]
    figures["import: peak memory (MB)"] = imported["peak_mb"]
    figures["import: above start-up (MB)"] = imported["peak_mb"] - imported["ready_mb"]
    for name, value in figures.items():
        unit = "" if name.endswith(("(s)", "(MB)")) else " ms"
        print(f"  {name:<44}{value:>10.1f}{unit}")
    print(f"  (import: checking {imported['validating']:.1f} s, writing {imported['writing']:.1f} s, "
          f"{rows / imported['seconds']:,.0f} rows/s; the process had {imported['ready_mb']:.0f} MB before)")
    return figures


def growth(label: str, sizes: list, results: list) -> None:
    small, large = results[0], results[-1]
    factor = sizes[-1] / sizes[0]
    print(f"\n{label}: growth from {sizes[0]:,} to {sizes[-1]:,} people ({factor:.0f}x the rows)")
    print(f"  {'figure':<44}{sizes[0]:>10,}{sizes[-1]:>10,}{'ratio':>8}")
    for name in small:
        ratio = large[name] / small[name] if small[name] else float("nan")
        print(f"  {name:<44}{small[name]:>10.1f}{large[name]:>10.1f}{ratio:>7.1f}x")


def measure_all(label: str, sizes: list, args, source: Path, folder: Path, database_url_for) -> None:
    results = []
    for count in sizes:
        url, stop = database_url_for(count)
        try:
            results.append(run(label, count, args.runs, source, args.import_rows, folder, url))
        finally:
            stop()
    growth(label, sizes, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="20,000 and 200,000 people, import 100,000 rows")
    parser.add_argument("--sizes", type=int, nargs="+", help="numbers of people (default 2,000 20,000)")
    parser.add_argument("--import-rows", type=int, help="rows to import (default 10,000; 100,000 with --full)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    parser.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--import-child", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_child:
        import_child(args)
        return
    sizes = args.sizes or ([20_000, 200_000] if args.full else [2_000, 20_000])
    args.import_rows = args.import_rows or (100_000 if args.full else 10_000)
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        source = folder / "enrollment.csv"
        import_records.write_rows(source, args.import_rows)
        print(f"import file: {args.import_rows:,} rows, {source.stat().st_size / 1024 / 1024:.1f} MB")
        if args.sqlite:
            measure_all("SQLite", sizes, args, source, folder, lambda count: ("", lambda: None))
        if args.postgres:
            def server(count):
                pg_folder = tempfile.mkdtemp(prefix="bench-pg-")
                url, stop = seeding.postgres_server(pg_folder)

                def stopped():
                    stop()
                    shutil.rmtree(pg_folder, ignore_errors=True)
                return url, stopped
            measure_all("PostgreSQL", sizes, args, source, folder, server)


if __name__ == "__main__":
    main()
