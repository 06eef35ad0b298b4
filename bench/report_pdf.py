"""Report PDF: where its bytes go, the time to render and to sign one, and to serve it.

Renders the sample diploma report (with a ~15 KB photo): the first report of the
process (cold: fonts, stylesheet, template, the signature's size) apart from the
steady state (median of RUNS), each split into render and sign; the signed PDF's
bytes per part; and the median time of the app's route that serves a stored
report PDF (/verify/<code>/pdf, Flask test client, SERVES requests). Budgets
(issue 12): render + sign at most 150 ms, the PDF at most 60 KB, serving < 5 ms.
Prints numbers, never asserts. On a shared machine compare ratios and look at
the load average printed last.

    nice .venv/bin/python bench/report_pdf.py [--runs 20] [--out report.pdf]
"""
import argparse
import io
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from services import pdf, signing  # noqa: E402
# The same report the tests render, so the numbers describe what is tested.
from tests.factories import sample_snapshot  # noqa: E402

SIZE_BUDGET = 60 * 1024
TIME_BUDGET_MS = 150
SERVE_BUDGET_MS = 5
PHOTO_TARGET = 15 * 1024
SERVES = 100


def sample_photo(target=PHOTO_TARGET) -> bytes:
    """A 3:4 JPEG of about `target` bytes: a soft figure on a noisy background."""
    rng = random.Random(7)  # nosec B311 # invented bench data, a fixed seed on purpose
    image = Image.new("RGB", (300, 400), (70, 110, 170))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.randrange(300), rng.randrange(400)
        shade = rng.randrange(60, 200)
        draw.ellipse((x, y, x + 12, y + 12), fill=(shade, shade, 200))
    draw.ellipse((95, 70, 205, 200), fill=(235, 200, 170))
    draw.rectangle((60, 230, 240, 400), fill=(30, 30, 40))
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    best = b""
    for quality in range(95, 10, -5):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= target:
            break
    return best


# --- bytes per part ---------------------------------------------------------------

def _ids(value, found: set):
    """Object numbers reachable from `value` without following references further."""
    if hasattr(value, "idnum"):
        found.add(value.idnum)
    return found


def parts(unsigned: bytes, signed: bytes) -> dict:
    """Bytes of the signed PDF by what they carry. The signature is everything
    signing appended (the CMS container, its field, the updated catalogue, XMP
    and cross-reference); the rest is split by the objects of the unsigned file."""
    reader = PdfReader(io.BytesIO(unsigned))
    roles = {}
    page = reader.pages[0]
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        roles[_ref(font.get("/ToUnicode"))] = "fonts"
        for descendant in font["/DescendantFonts"]:
            descriptor = descendant.get_object()["/FontDescriptor"].get_object()
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                if key in descriptor:
                    roles[_ref(descriptor.raw_get(key))] = "fonts"
    for image in page["/Resources"].get("/XObject", {}).values():
        roles[_ref(image)] = "images"
    contents = page.raw_get("/Contents")
    for ref in (contents if isinstance(contents, list) else [contents]):
        roles[_ref(ref)] = "other: page content"
    root = reader.trailer["/Root"]
    roles[_ref(root.raw_get("/Metadata"))] = "other: PDF/A (ICC profile, XMP)"
    for intent in root.get("/OutputIntents", []):
        roles[_ref(intent.get_object().raw_get("/DestOutputProfile"))] = \
            "other: PDF/A (ICC profile, XMP)"
    names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    for spec in names[1::2]:
        roles[_ref(spec.get_object()["/EF"].raw_get("/F"))] = "other: report.json"
    sizes = dict.fromkeys(("fonts", "images", "signature", "other: report.json",
                           "other: page content", "other: PDF/A (ICC profile, XMP)",
                           "other: structure"), 0)
    counted = 0
    for match in re.finditer(rb"(\d+) 0 obj\b.*?endobj", unsigned, re.S):
        role = roles.get(int(match.group(1)), "other: structure")
        sizes[role] += len(match.group(0))
        counted += len(match.group(0))
    sizes["other: structure"] += len(unsigned) - counted  # header, xref, trailer
    sizes["signature"] = len(signed) - len(unsigned)
    return sizes


def _ref(value):
    return getattr(value, "idnum", None)


# --- serving a stored PDF ---------------------------------------------------------

def serve_times(photo: bytes) -> tuple[float, int]:
    """(median ms, status) of GET /verify/<code>/pdf for one issued report."""
    instance = Path(tempfile.mkdtemp(prefix="report-pdf-bench-"))
    os.environ["PORTAL_INSTANCE_DIR"] = str(instance)
    import models
    from app import create_app
    from cli import migration_router
    from tests.factories import create_account, create_record, issue_report, report_renderer
    app = create_app(dict(RATELIMIT_ENABLED=False, TESTING=True))
    with app.app_context(), models.db.connection_context():
        migration_router().run()
    owner = create_account(app, username="zhang@example.edu.cn")
    from services import files
    with app.app_context(), models.db.connection_context():
        files.put("photos/diploma/bench-photo.jpg", photo)
    record = create_record("diploma", account=owner.id, photo="photos/diploma/bench-photo.jpg")
    with app.app_context(), models.db.connection_context():
        report = issue_report(app, owner, record, render=report_renderer(app))
    client = app.test_client()
    url = f"/verify/{report.code}/pdf"
    times, status = [], None
    for _ in range(SERVES + 5):
        start = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append(time.perf_counter() - start)
        status = response.status_code
    return statistics.median(times[5:]) * 1000, status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out")
    args = parser.parse_args()
    photo = sample_photo()
    snapshot = sample_snapshot(photo)
    with tempfile.TemporaryDirectory() as key_dir:
        keys = signing.load_or_create(key_dir, "示范大学", "Demonstration University")
        start = time.perf_counter()
        unsigned = pdf.render_unsigned(snapshot, keys)
        middle = time.perf_counter()
        signed = pdf.sign(unsigned, snapshot, keys)
        cold = (middle - start) * 1000, (time.perf_counter() - middle) * 1000
        render_times, sign_times, render_cpu, sign_cpu, sizes = [], [], [], [], []
        for _ in range(args.runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            unsigned = pdf.render_unsigned(snapshot, keys)
            middle, middle_cpu = time.perf_counter(), time.process_time()
            signed = pdf.sign(unsigned, snapshot, keys)
            end, end_cpu = time.perf_counter(), time.process_time()
            render_times.append((middle - start) * 1000)
            sign_times.append((end - middle) * 1000)
            render_cpu.append((middle_cpu - start_cpu) * 1000)
            sign_cpu.append((end_cpu - middle_cpu) * 1000)
            sizes.append(len(signed))
        start = time.perf_counter()
        check = pdf.check_pdf(signed, keys)
        check_ms = (time.perf_counter() - start) * 1000
    size = max(sizes)
    print(f"photo              {len(photo):7d} B  ({len(photo) / 1024:.1f} KB)")
    print(f"signed PDF         {size:7d} B  ({size / 1024:.1f} KB, budget {SIZE_BUDGET // 1024} KB)"
          f"  {'ok' if size <= SIZE_BUDGET else 'OVER'}")
    for part, count in parts(unsigned, signed).items():
        print(f"  {part:32s} {count:7d} B  {100 * count / len(signed):4.1f} %")
    render_ms, sign_ms = statistics.median(render_times), statistics.median(sign_times)
    print(f"cold: render {cold[0]:5.0f} ms  sign {cold[1]:5.0f} ms  (first report of the process)")
    # CPU time (this process only) moves less than wall time when others share the CPUs.
    print(f"render (median)    {render_ms:7.0f} ms  of {args.runs}  (min {min(render_times):.0f};"
          f" CPU median {statistics.median(render_cpu):.0f}, min {min(render_cpu):.0f})")
    print(f"sign (median)      {sign_ms:7.0f} ms  of {args.runs}  (min {min(sign_times):.0f};"
          f" CPU median {statistics.median(sign_cpu):.0f}, min {min(sign_cpu):.0f})")
    total = render_ms + sign_ms
    print(f"render + sign      {total:7.0f} ms  (budget {TIME_BUDGET_MS} ms)"
          f"  {'ok' if total <= TIME_BUDGET_MS else 'OVER'}")
    print(f"check_pdf          {check_ms:7.0f} ms  ok={check.ok}"
          f"  snapshot as issued={check.snapshot == snapshot}")
    serve_ms, status = serve_times(photo)
    print(f"serve stored PDF   {serve_ms:7.2f} ms  median of {SERVES}, GET /verify/<code>/pdf"
          f" -> {status}  (budget {SERVE_BUDGET_MS} ms)")
    print(f"load average       {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f"  ({os.cpu_count()} CPUs)")
    if args.out:
        Path(args.out).write_bytes(signed)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
