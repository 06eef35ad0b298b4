"""How long does a big enrollment import take on SQLite?

Writes N valid enrollment rows (real check characters) to a temporary CSV,
imports them into a fresh temporary instance, then imports the same file
again (every row unchanged), and prints the times.

    .venv/bin/python bench/import_records.py [N]
"""
import csv
import datetime
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402
from services import importer  # noqa: E402
from services.columns import KINDS  # noqa: E402
from stdnum.cn import ric  # noqa: E402

AREAS = ("110105", "420106", "440305", "310104", "510107")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


def resident_id(rng: random.Random, birth: datetime.date, male: bool) -> str:
    sequence = rng.randrange(1, 999)
    if sequence % 2 != male:
        sequence += 1 if sequence < 998 else -1
    first17 = f"{rng.choice(AREAS)}{birth:%Y%m%d}{sequence:03d}"
    return first17 + ric.calc_check_digit(first17 + "0")


def write_rows(path: Path, count: int) -> None:
    rng = random.Random(2019)  # nosec B311 # invented bench rows, a fixed seed on purpose
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(KINDS["enrollment"].headers)
        for n in range(count):
            male = rng.random() < 0.5
            birth = datetime.date(1998, 1, 1) + datetime.timedelta(days=rng.randrange(3 * 365))
            year = 2016 + n % 8
            writer.writerow([
                rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN), "男" if male else "女",
                birth.isoformat(), "汉族", "居民身份证", resident_id(rng, birth, male), "示范大学",
                "本科", "计算机学院", f"{year}级{n % 12 + 1}班", "计算机科学与技术", f"{year}{n:07d}",
                "普通全日制", f"{year}-09-01", "4", "普通高等教育", "在籍（注册学籍）", f"{year + 4}-06-30",
            ])


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        source = Path(temp) / "enrollment.csv"
        write_rows(source, count)
        data = source.read_bytes()
        app = create_app(dict(INSTANCE_DIR=str(Path(temp) / "instance"),
                              WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False))
        with app.app_context(), models.db.connection_context():
            migration_router().run()
            print(f"rows: {count}  file: {len(data) / 1024 / 1024:.1f} MB")
            for label in ("first import", "re-import"):
                started = time.perf_counter()
                result = importer.import_file("enrollment", source.name, data, actor="bench")
                total = time.perf_counter() - started
                print(f"{label}: validate {result.seconds_validating:.1f} s, "
                      f"write {result.seconds_writing:.1f} s, total {total:.1f} s, "
                      f"{count / total:,.0f} rows/s (created {result.created}, "
                      f"updated {result.updated}, unchanged {result.unchanged})")
            print(f"records in database: {models.Enrollment.select().count()}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
