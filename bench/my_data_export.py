"""下载我的数据: memory and time of the streamed ZIP for a person with many reports.

Builds a throwaway instance (SQLite, migrations), gives one person REPORTS reports
with a PDF of PDF_KB random kilobytes each (random: it does not compress, like a
signed PDF), then streams services.my_data's ZIP and prints its size, the time,
the number and largest size of the chunks, and the peak of Python memory while
streaming (tracemalloc). Streaming means the peak stays near one PDF, not the
archive.

    .venv/bin/python bench/my_data_export.py [--reports 200] [--pdf-kb 300]
"""
import argparse
import datetime
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from services import files, my_data, reports  # noqa: E402
from tests.factories import bench_app, create_account, create_record  # noqa: E402


def main(count: int, pdf_kb: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-my-data-"))
    try:
        app = bench_app(folder / "instance")
        owner = create_account(app, 1)
        with app.app_context(), models.db.connection_context():
            record = create_record("diploma", 1, account=owner.id)
            for n in range(count):
                code = reports.new_code()
                report = models.Report.create(
                    account=owner, kind="diploma", record_id=record.id, code=code,
                    snapshot=json.dumps({"code": code}),
                    expires_at=models.utcnow() + datetime.timedelta(days=30))
                report.pdf_path = files.put(f"reports/{report.id}-b.pdf", os.urandom(pdf_kb * 1024))
                report.save(only=[models.Report.pdf_path])
            account = models.Account.get_by_id(owner.id)
            tracemalloc.start()
            started = time.perf_counter()
            total = chunks = biggest = 0
            for chunk in my_data.zip_stream(my_data.entries(account, tz="Asia/Shanghai"),
                                            tz="Asia/Shanghai"):
                total += len(chunk)
                chunks += 1
                biggest = max(biggest, len(chunk))
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"{count} reports of {pdf_kb} KB: ZIP {total / 2**20:.1f} MB in {elapsed:.2f} s "
              f"({total / 2**20 / elapsed:.0f} MB/s under tracemalloc), {chunks} chunks, "
              f"largest {biggest / 1024:.0f} KB, peak Python memory {peak / 2**20:.1f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--pdf-kb", type=int, default=300)
    options = parser.parse_args()
    main(options.reports, options.pdf_kb)
