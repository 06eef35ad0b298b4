"""Requests/s, p50 and p99 of the portal against a bare Flask app served the same way.

Both are served as `make run` serves the portal (gunicorn --workers 1 --threads 8)
on a throwaway instance (SQLite, migrations, a student with RECORDS records,
rate limiter off: PORTAL_RATELIMIT_ENABLED=false). Uses `wrk` when it is
installed, else a small Python load generator (CONNECTIONS threads with
keep-alive, which shares the machine's CPUs with the server: compare the ratio,
not the absolute numbers). Prints one line per page and the ratio to the bare app.

    nice .venv/bin/python bench/throughput.py [--seconds 5] [--connections 8] [--records 12]
"""
import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess  # nosec B404 # starts gunicorn and wrk
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BARE = "from flask import Flask\napp = Flask(__name__)\n\n\n@app.get('/')\ndef hello():\n    return 'Hello, World!'\n"
KIND_KEYS = ("enrollment", "diploma", "degree", "admission", "aid")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app_spec: str, cwd: Path, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(  # nosec B603 # our own gunicorn, fixed arguments
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "8", app_spec],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{app_spec} did not start")


def seed(instance: Path, records: int) -> str:
    """The instance's database, a student with records; returns the session cookie."""
    os.environ["PORTAL_INSTANCE_DIR"] = str(instance)
    import models
    from app import create_app
    from cli import migration_router
    from tests.factories import create_account, create_record, sign_in
    app = create_app(dict(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False))
    with app.app_context(), models.db.connection_context():
        migration_router().run()
    student = create_account(app, username="zhang@example.edu.cn")
    for n in range(records):
        key = KIND_KEYS[n % len(KIND_KEYS)]
        extra = dict(paid_on=f"2016-11-{n + 1:02d}") if key == "aid" else {}
        create_record(key, n + 1, account=student.id, **extra)
    client = app.test_client()
    sign_in(client, "zhang@example.edu.cn")
    return client.get_cookie("session").value


def load_python(port: int, path: str, cookie: str, seconds: float, connections: int):
    latencies, stop = [], time.perf_counter() + seconds
    headers = {"Cookie": f"session={cookie}"} if cookie else {}

    def worker():
        conn, mine = http.client.HTTPConnection("127.0.0.1", port), []
        while time.perf_counter() < stop:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
            mine.append(time.perf_counter() - start)
        conn.close()
        latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return (len(latencies) / seconds, statistics.median(latencies) * 1000,
            latencies[int(len(latencies) * 0.99) - 1] * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--records", type=int, default=12)
    args = parser.parse_args()
    if shutil.which("wrk"):
        print("wrk found, but this first cut measures with the Python generator")  # TODO: wrk
    folder = Path(tempfile.mkdtemp(prefix="throughput-"))
    processes = []
    try:
        (folder / "bare.py").write_text(BARE)
        cookie = seed(folder / "instance", args.records)
        env = dict(os.environ, PORTAL_INSTANCE_DIR=str(folder / "instance"),
                   PORTAL_RATELIMIT_ENABLED="false", PYTHONPATH=str(ROOT))
        bare, bare_port = serve("bare:app", folder, env)
        portal, portal_port = serve("app:create_app()", ROOT, env)
        processes += [bare, portal]
        load_python(bare_port, "/", "", 1, args.connections)  # warm up
        base = load_python(bare_port, "/", "", args.seconds, args.connections)
        print(f"{'bare Flask /':24} {base[0]:8.0f} req/s  p50 {base[1]:6.2f} ms  p99 {base[2]:6.2f} ms")
        for path, with_cookie in (("/login", False), ("/verify", False), ("/records/", True)):
            load_python(portal_port, path, cookie if with_cookie else "", 1, args.connections)
            rps, p50, p99 = load_python(portal_port, path, cookie if with_cookie else "",
                                        args.seconds, args.connections)
            print(f"{'portal ' + path:24} {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                  f"  {rps / base[0]:.2f}× bare")
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
