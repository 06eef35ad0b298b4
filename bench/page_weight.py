"""Page weight: what a first visit and each wizard step cost on the wire.

Runs the real app (a temporary instance folder) through Flask's test client,
asks for brotli/gzip like a browser does, and prints the compressed bytes of
the first load (HTML + every CSS and JS file it references) and of each
registration wizard fragment. Budgets: first load <= 30 KB, fragment <= 4 KB.

    .venv/bin/python bench/page_weight.py
"""
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import models  # noqa: E402
from app import create_app  # noqa: E402
from cli import migration_router  # noqa: E402

ENCODINGS = {"br": "br", "gzip": "gzip"}
FIRST_LOAD_BUDGET = 30 * 1024
FRAGMENT_BUDGET = 4 * 1024


def weigh(client, url, encoding, **kwargs):
    method = kwargs.pop("method", "get")
    response = getattr(client, method)(url, headers={"Accept-Encoding": encoding, **kwargs.pop("headers", {})},
                                       **kwargs)
    return response, len(response.data)


def first_load(client, url, encoding):
    page, total = weigh(client, url, encoding)
    html = client.get(url).get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    rows = [(url, total)]
    for asset in assets:
        _, size = weigh(client, asset, encoding)
        rows.append((asset.split("?")[0], size))
        total += size
    return rows, total


def main():
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(dict(INSTANCE_DIR=instance, WTF_CSRF_ENABLED=False,
                              RATELIMIT_ENABLED=False))
        with models.db.connection_context():
            migration_router().run()
        for encoding in ENCODINGS:
            print(f"== first load, {encoding} ==")
            for url in ("/", "/register/", "/login"):
                rows, total = first_load(app.test_client(), url, encoding)
                for name, size in rows:
                    print(f"  {name:<36} {size:>7} B")
                verdict = "ok" if total <= FIRST_LOAD_BUDGET else "OVER BUDGET"
                print(f"  {'total ' + url:<36} {total:>7} B  ({total / 1024:.1f} KB, {verdict})")
        print("== wizard fragments (HX-Request), gzip ==")
        client = app.test_client()
        hx = {"HX-Request": "true"}
        steps = [
            ("notice", "get", "/register/", {}),
            ("identity", "post", "/register/notice", {"consent": "y"}),
            ("identity with errors", "post", "/register/identity", {"username": "x", "id_number": "1"}),
            ("code", "post", "/register/identity", dict(
                username="bench@example.edu.cn", real_name="王五", id_type="居民身份证",
                id_number="11010519491231002X", phone="13812345678",
                password="weigh-pass-1", password_confirm="weigh-pass-1")),  # nosec B106 # a throwaway account in a temporary instance
            ("code sent", "post", "/register/code/send", {"channel": "sms"}),
        ]
        for name, method, url, data in steps:
            response, size = weigh(client, url, "gzip", method=method, data=data, headers=hx)
            verdict = "ok" if size <= FRAGMENT_BUDGET else "OVER BUDGET"
            print(f"  {name:<22} status {response.status_code}  {size:>6} B on the wire"
                  f" ({response.headers.get('Content-Encoding', 'identity')}, {verdict})")


if __name__ == "__main__":
    main()
