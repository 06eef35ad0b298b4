"""Stored files: the time to serve a signed report PDF from the database.

Builds a throwaway instance (SQLite, migrations, a real signed report with a
photo), logs the owner in with Flask's test client and fetches the PDF 200
times: the owner's `/reports/<id>/pdf` and the verifier's `/verify/<code>/pdf`,
each a SELECT of the sealed row, AES-GCM to unseal it and the response. Prints
the medians (target: under 5 ms) and, for comparison, the bare `files.read`.

    .venv/bin/python bench/stored_files.py [--runs 200]
"""
import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from services import files, photos  # noqa: E402
from services.columns import KINDS  # noqa: E402
from views import send_private_file  # noqa: E402
from tests.factories import (bench_app, create_account, create_record, image_bytes,  # noqa: E402
                             issue_report, report_renderer, sign_in)


def _median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main(runs: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-stored-files-"))
    try:
        app = bench_app(folder / "instance")
        owner = create_account(app, 1)
        with models.db.connection_context():
            record = create_record("diploma", 1, account=owner.id)
            photo = photos.store_one(KINDS["diploma"], record.id, photos.small_jpeg(image_bytes()))
            models.Diploma.update(photo=photo).where(models.Diploma.id == record.id).execute()
            report = issue_report(app, owner, models.Diploma.get_by_id(record.id),
                                  render=report_renderer(app))
            size = files.get(report.pdf_path).size
        client = app.test_client()
        sign_in(client, owner.username)
        verifier = app.test_client()

        def owner_pdf():
            response = client.get(f"/reports/{report.id}/pdf")
            if response.status_code != 200:
                raise SystemExit(f"/reports/{report.id}/pdf answered {response.status_code}")

        def verifier_pdf():
            response = verifier.get(f"/verify/{report.code}/pdf")
            if response.status_code != 200:
                raise SystemExit(f"/verify/<code>/pdf answered {response.status_code}")

        def certificate():
            if verifier.get("/verify/certificate").status_code != 200:
                raise SystemExit("/verify/certificate did not answer 200")

        def serve_only():
            with app.test_request_context(), models.db.connection_context():
                response = send_private_file(report.pdf_path, mimetype="application/pdf",
                                             as_attachment=True, download_name="report.pdf")
                b"".join(response.response)

        def bare_read():
            with models.db.connection_context():
                files.read(report.pdf_path)

        for action in (owner_pdf, verifier_pdf, certificate, serve_only, bare_read):  # warm-up
            action()
        print(f"signed report PDF: {size / 1024:.0f} KB, {runs} requests each (median)")
        print(f"owner  /reports/<id>/pdf            {_median_ms(owner_pdf, runs):.2f} ms")
        print(f"public /verify/<code>/pdf           {_median_ms(verifier_pdf, runs):.2f} ms")
        print(f"baseline /verify/certificate        {_median_ms(certificate, runs):.2f} ms")
        print(f"send_private_file (SELECT, unseal)  {_median_ms(serve_only, runs):.2f} ms")
        print(f"files.read alone                    {_median_ms(bare_read, runs):.2f} ms")
        database = app.extensions.get("database")
        if hasattr(database, "close_all"):
            database.close_all()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    main(parser.parse_args().runs)
