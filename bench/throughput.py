"""Requests/s, p50 and p99 of the portal against a bare Flask app served the same way.

Both are served as `make run` serves the portal (gunicorn, WORKERS processes as the
Makefile chooses them for the in-memory limiter: one, with 8 threads) on a
throwaway instance (SQLite, migrations, a student with RECORDS records and a
valid report, rate limiter off: PORTAL_RATELIMIT_ENABLED=false). `wrk` drives
them (one thread, CONNECTIONS connections, keep-alive); without wrk, a small
Python load generator does (threads that share the machine's CPUs with the
server: compare the ratio, not the absolute numbers). Prints one line per page
under load with the ratio to the bare app, then each page on its own (one
connection): p50 and p99. Each ratio compares the page with the bare app
measured just before it (the machine may be shared).

    nice .venv/bin/python bench/throughput.py [--seconds 5] [--connections 8] [--records 12]
        [--workers 1] [--python]
"""
import argparse
import http.client
import os
import re
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app_spec: str, cwd: Path, env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(  # nosec B603 # our own gunicorn, fixed arguments
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "8", app_spec],
        cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{app_spec} did not start")


def seed(instance: Path, records: int) -> tuple[str, str]:
    """The instance's database, a student with records and a valid diploma report;
    returns the session cookie and the report's code."""
    os.environ["PORTAL_INSTANCE_DIR"] = str(instance)
    import models
    from app import create_app
    from cli import migration_router
    from tests.factories import sign_in, student_with_records
    app = create_app(dict(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False))
    with app.app_context(), models.db.connection_context():
        migration_router().run()
    _, report = student_with_records(app, records)
    client = app.test_client()
    sign_in(client, "zhang@example.edu.cn")
    return client.get_cookie("session").value, report.code


def check(port: int, path: str, cookie: str) -> None:
    """One request first: a page that does not answer 200 stops the bench."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", path, headers={"Cookie": f"session={cookie}"} if cookie else {})
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"{path} answered {response.status}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def load_wrk(port: int, path: str, cookie: str, seconds: float, connections: int):
    """wrk's requests/s, p50 and p99 (ms); a non-2xx answer stops the bench."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: session={cookie}"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"],  # nosec B603 # wrk, fixed arguments
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{path}: wrk saw non-2xx answers\n{out}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, _ms(latency["50"]), _ms(latency["99"])


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
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--python", action="store_true", help="the Python generator even with wrk")
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") and not args.python
    load = load_wrk if use_wrk else load_python
    print(f"load: {'wrk -t1' if use_wrk else 'Python threads'}, {args.connections} connections, "
          f"{args.seconds:g} s a page; gunicorn --workers {args.workers} --threads 8; "
          f"load average {os.getloadavg()[0]:.2f}")
    folder = Path(tempfile.mkdtemp(prefix="throughput-"))
    processes = []
    try:
        (folder / "bare.py").write_text(BARE)
        cookie, code = seed(folder / "instance", args.records)
        env = dict(os.environ, PORTAL_INSTANCE_DIR=str(folder / "instance"),
                   PORTAL_RATELIMIT_ENABLED="false", PYTHONPATH=str(ROOT))
        bare, bare_port = serve("bare:app", folder, env, args.workers)
        portal, portal_port = serve("app:create_app()", ROOT, env, args.workers)
        processes += [bare, portal]
        pages = [("bare Flask /", bare_port, "/", "")] + [
            ("portal " + label, portal_port, path, cookie if signed_in else "")
            for label, path, signed_in in (
                ("/login", "/login", False), ("/verify", "/verify", False),
                ("/verify/<code>", f"/verify/{code}", False),
                ("/records", "/records/", True), ("/reports", "/reports/", True))]
        alone = []
        for label, port, path, with_cookie in pages:
            check(port, path, with_cookie)
            load(port, path, with_cookie, 1, args.connections)  # warm up
            # The machine is shared: each page is compared with the bare app measured
            # right before it, not minutes earlier under another load.
            base = load(bare_port, "/", "", args.seconds, args.connections)[0]
            rps, p50, p99 = load(port, path, with_cookie, args.seconds, args.connections)
            ratio = "" if port == bare_port else f"  {rps / base:.2f}× bare ({base:.0f})"
            print(f"{label:24} {rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms{ratio}",
                  flush=True)
            alone.append((label, load(port, path, with_cookie, min(args.seconds, 3), 1)))
        print("each page on its own (one connection):")
        for label, (rps, p50, p99) in alone:
            print(f"{label:24} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  ({rps:.0f} req/s)")
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
