"""Report PDF: size, and the time to render and to sign one.

Renders the sample diploma report (with a ~15 KB photo) ten times, signs each,
and prints the medians and the size of the signed PDF. Budgets: at most 80 KB
per PDF; render + sign well under a second.

    .venv/bin/python bench/report_pdf.py [--out report.pdf]
"""
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from services import pdf, signing  # noqa: E402
# The same report the tests render, so the numbers describe what is tested.
from tests.factories import sample_snapshot  # noqa: E402

RUNS = 10
SIZE_BUDGET = 80 * 1024
TIME_BUDGET = 1.0
PHOTO_TARGET = 15 * 1024


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


def main():
    out_path = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
    photo = sample_photo()
    snapshot = sample_snapshot(photo)
    with tempfile.TemporaryDirectory() as key_dir:
        keys = signing.load_or_create(key_dir, "示范大学", "Demonstration University")
        pdf.render_report(snapshot, keys)  # warm up: font loading, imports
        render_times, sign_times, sizes = [], [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            unsigned = pdf.render_unsigned(snapshot, keys)
            middle = time.perf_counter()
            signed = pdf.sign(unsigned, snapshot, keys)
            end = time.perf_counter()
            render_times.append(middle - start)
            sign_times.append(end - middle)
            sizes.append(len(signed))
        start = time.perf_counter()
        check = pdf.check_pdf(signed, keys)
        check_time = time.perf_counter() - start
    render_ms = statistics.median(render_times) * 1000
    sign_ms = statistics.median(sign_times) * 1000
    size = max(sizes)
    print(f"photo            {len(photo) / 1024:7.1f} KB")
    print(f"signed PDF       {size / 1024:7.1f} KB  (budget {SIZE_BUDGET // 1024} KB)"
          f"  {'ok' if size <= SIZE_BUDGET else 'OVER'}")
    print(f"render (median)  {render_ms:7.0f} ms  of {RUNS}")
    print(f"sign (median)    {sign_ms:7.0f} ms  of {RUNS}")
    total = render_ms + sign_ms
    print(f"render + sign    {total:7.0f} ms  (budget {TIME_BUDGET * 1000:.0f} ms)"
          f"  {'ok' if total <= TIME_BUDGET * 1000 else 'OVER'}")
    print(f"check_pdf        {check_time * 1000:7.0f} ms  ok={check.ok}")
    if out_path:
        Path(out_path).write_bytes(signed)
        print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
