"""How fast is the registrar's search (services.search) on a large archive?

Seeds STUDENTS people (default 200,000; two in three with an account) with
about 2.5 records each (500,000 records at the default size: every person a
学籍, half a 学历 and a 录取, 3 in 10 a 学位, 1 in 5 a 资助), with encrypted ID
and phone numbers and their blind indexes, by bulk inserts in transactions.
Then it prints the median time (ms) of each search: by name, ID number,
certificate number, student number, phone, the filters, and page 100. The
target is under 100 ms each.

    nice .venv/bin/python bench/admin_search.py [--students 200000] [--runs 7] [--postgres]

SQLite runs in a temporary folder; with --postgres the same data goes into a
throwaway PostgreSQL server started from Debian's binaries (as tests/test_postgres.py
does), and both are measured.
"""
import argparse
import datetime
import glob
import os
import random
import shutil
import socket
import statistics
import subprocess  # nosec B404 # starts Debian's PostgreSQL binaries for --postgres
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import crypto  # noqa: E402
import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402
from services import search  # noqa: E402
from stdnum.cn import ric  # noqa: E402

AREAS = ("110105", "420106", "440305", "310104", "510107")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
LEVELS = ("专科", "本科", "本科", "本科", "硕士研究生", "博士研究生")
MAJORS = ("计算机科学与技术", "汉语言文学", "数学与应用数学", "临床医学", "会计学", "英语",
          "机械工程", "法学", "物理学", "化学")
STATUSES = ("在籍（注册学籍）", "在籍（注册学籍）", "不在籍（毕业）", "不在籍（毕业）",
            "休学", "保留学籍", "退学", "不在籍（结业）")
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$bench$bench"  # nosec B105 # never checked
CHUNK_PARAMS = 30_000  # stay under SQLite's limit of bound parameters per statement


def resident_id(birth: datetime.date, n: int) -> str:
    """Unique per person: the birth day repeats every 12,000 people, the sequence then moves."""
    first17 = f"{AREAS[n % len(AREAS)]}{birth:%Y%m%d}{n // 12000 % 1000:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def people(count: int):
    """(n, name, id number, birth date, gender, has_account) for each person, always the same."""
    rng = random.Random(2026)  # nosec B311 # invented bench data, a fixed seed on purpose
    for n in range(count):
        birth = datetime.date(1970, 1, 1) + datetime.timedelta(days=n % 12000)
        number = resident_id(birth, n)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        yield n, name, number, birth, "男" if int(number[16]) % 2 else "女", n % 3 != 0


def insert(model, rows):
    if not rows:
        return
    size = max(1, CHUNK_PARAMS // len(rows[0]))
    for start in range(0, len(rows), size):
        model.insert_many(rows[start:start + size]).execute()


def seed(count: int) -> dict:
    """Insert everything; returns a few values to search for."""
    now = models.utcnow()
    samples = {}
    batch = {model: [] for model in (models.Account, *models.RECORD_MODELS)}

    def flush():
        with models.db.atomic():
            for model, rows in batch.items():
                insert(model, rows)
                rows.clear()

    for n, name, number, birth, gender, has_account in people(count):
        # insert_many encrypts through the fields' db_value: the plain number goes in.
        index = crypto.blind_index(number)
        person = dict(name=name, id_type="居民身份证", id_number=number, id_number_index=index,
                      created_at=now, updated_at=now)
        account_id = None
        if has_account:
            account_id = n + 1  # explicit ids: the records refer to them in the same batch
            phone = f"139{n:08d}"
            batch[models.Account].append(dict(
                id=account_id, username=f"s{n}@bench.edu.cn", role="student", real_name=name,
                id_type="居民身份证", id_number=number, id_number_index=index,
                phone=phone, phone_index=crypto.blind_index(phone),
                password_hash=PASSWORD_HASH, created_at=now))
        bound = dict(account=account_id, bound_by="auto" if account_id else None,
                     bound_at=now if account_id else None)
        year = 2000 + n % 25
        level, major = LEVELS[n % len(LEVELS)], MAJORS[n % len(MAJORS)]
        batch[models.Enrollment].append(dict(
            person, **bound, gender=gender, birth_date=birth, school_name="示范大学", level=level,
            major=major, student_number=f"{year}{n:08d}", admission_date=datetime.date(year, 9, 1),
            status=STATUSES[n % len(STATUSES)], study_mode="普通全日制"))
        if n % 2 == 0:
            graduated = datetime.date(min(year + 4, 2025), 6, 30)
            if graduated.year >= 2002:
                certificate = f"10999{1}{graduated.year}05{n:06d}"[:18].ljust(18, "0")
            else:
                certificate = f"00{n:06d}"
            batch[models.Diploma].append(dict(
                person, **bound, gender=gender, birth_date=birth, school_name="示范大学",
                level=level, major=major, graduation_date=graduated, completion="毕业",
                certificate_number=certificate, certificate_key=certificate.lstrip("0") or "0"))
            samples.setdefault("certificate", "NO." + certificate)
        if n % 10 < 3:
            degree_number = f"1099942{year + 4:04d}{n:07d}"
            batch[models.Degree].append(dict(
                person, **bound, gender=gender, birth_date=birth, awarding_unit="示范大学",
                degree="理学学士", discipline=major, award_date=datetime.date(min(year + 4, 2025), 7, 1),
                certificate_number=degree_number, certificate_key=degree_number.lstrip("0")))
        if n % 2 == 1:
            batch[models.Admission].append(dict(
                person, **bound, candidate_number=f"{year % 100:02d}42010615{n:06d}", year=year,
                major=major, level=level))
        if n % 5 == 0:
            batch[models.Aid].append(dict(
                person, **bound, school_year=f"{year}-{year + 1}", program="国家助学金",
                amount="3000.00", paid_on=datetime.date(year, 11, 1)))
        if n == count // 2 // 3 * 3 + 1:  # someone in the middle, with an account
            samples.update(name=name, surname=name[0], id_number=number,
                           student_number=f"{year}{n:08d}", phone=f"139{n:08d}")
        if len(batch[models.Enrollment]) >= 10_000:
            flush()
    flush()
    return samples


def timed(call, runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        size = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), size


def cases(samples: dict):
    c = search.criteria
    return [
        ("name (exact)", c(q=samples["name"]), 1),
        ("name prefix (surname)", c(q=samples["surname"]), 1),
        ("ID number", c(q=samples["id_number"].lower()), 1),
        ("certificate no. (NO.+zeros)", c(q=samples["certificate"]), 1),
        ("student number", c(q=samples["student_number"]), 1),
        ("phone", c(q=samples["phone"]), 1),
        ("filter: 学籍 本科 2019", c(kind="enrollment", level="本科", year="2019"), 1),
        ("filter: 休学", c(status="休学"), 1),
        ("filter: unbound 学历", c(kind="diploma", bound="no"), 1),
        ("filter: 专业 prefix + year", c(major="计算机", year="2010"), 1),
        ("page 100: 本科", c(level="本科"), 100),
        ("page 100: surname", c(q=samples["surname"]), 100),
        ("page 100: everything 2019", c(year="2019"), 100),
    ]


def measure(label: str, samples: dict, runs: int) -> None:
    print(f"\n{label}")
    print(f"{'search':<32}{'median (ms)':>12}{'rows':>6}")
    for name, wanted, page in cases(samples):
        median, rows = timed(lambda: len(search.search(wanted, page).hits), runs)
        flag = "" if median < 100 else "  <-- over 100 ms"
        print(f"{name:<32}{median:>12.1f}{rows:>6}{flag}")
    started = time.perf_counter()
    hits, cut = search.export(search.criteria(level="本科"))
    print(f"{'export rows (本科, one run)':<32}{(time.perf_counter() - started) * 1000:>12.1f}"
          f"{len(hits):>6}{' (cut at the limit)' if cut else ''}")


def run(app_config: dict, count: int, runs: int, label: str) -> None:
    app = create_app(app_config)
    with app.app_context(), models.db.connection_context():
        migration_router().run()
        started = time.perf_counter()
        samples = seed(count)
        records = sum(model.select().count() for model in models.RECORD_MODELS)
        print(f"{label}: seeded {count:,} people, {models.Account.select().count():,} accounts, "
              f"{records:,} records in {time.perf_counter() - started:.0f} s")
        measure(label, samples, runs)


def _pg(*args, check=True):
    """Run one of PostgreSQL's programs; the server refuses root, so root runs it as `postgres`."""
    command = ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)
    subprocess.run(command, check=check, capture_output=True)  # nosec B603 # fixed arguments, no shell


def postgres_server(folder: str):
    """A throwaway PostgreSQL server (Debian's binaries) in `folder`; returns (url, stop)."""
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        sys.exit("PostgreSQL is not installed (Debian's postgresql package)")
    bindir = os.path.dirname(binaries[-1])
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = os.path.join(folder, "data")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _pg(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "portal", "-E", "UTF8",
        "--locale=C.UTF-8")
    _pg(f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(folder, "log"), "start",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off")
    _pg(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "portal", "bench")
    return (f"postgresql://portal@127.0.0.1:{port}/bench",
            lambda: _pg(f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop", check=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="also measure PostgreSQL")
    args = parser.parse_args()
    base = dict(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    with tempfile.TemporaryDirectory() as temp:
        run(dict(base, INSTANCE_DIR=str(Path(temp) / "sqlite")), args.students, args.runs, "SQLite")
        if args.postgres:
            folder = tempfile.mkdtemp(prefix="bench-pg-")
            url, stop = postgres_server(folder)
            try:
                run(dict(base, INSTANCE_DIR=str(Path(temp) / "pg"), DATABASE_URL=url),
                    args.students, args.runs, "PostgreSQL")
            finally:
                stop()
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
