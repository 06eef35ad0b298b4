"""gunicorn's access log never holds a report code (issue 9, B)."""
import datetime
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from services import access_log

CODE = "AB12CD34EF56GH78"
ROOT = Path(__file__).resolve().parents[2]


def access_line(path, query="", referer="-", location=None):
    cfg = Config()
    cfg.set("accesslog", "-")
    logger = access_log.MaskedLogger(cfg)
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.access_log.addHandler(handler)
    raw_uri = path + (f"?{query}" if query else "")
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": raw_uri, "PATH_INFO": path,
               "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_REFERER": referer, "HTTP_USER_AGENT": "test"}
    headers = [("Content-Type", "text/html")] + ([("Location", location)] if location else [])
    response = SimpleNamespace(status="200 OK", sent=10, headers=headers)
    request = SimpleNamespace(headers=[("REFERER", referer)])
    logger.access(response, request, environ, datetime.timedelta(seconds=0, microseconds=1500))
    return records[-1]


@pytest.mark.parametrize("path", [f"/verify/{CODE}", f"/verify/{CODE}/pdf",
                                  f"/api/v1/reports/{CODE}", f"/verify/{CODE.lower()}",
                                  "/verify/AB12-CD34-EF56-GH78", "/verify/AB12%20CD34EF56GH78"])
def test_the_code_is_masked_in_the_request_line(path):
    line = access_line(path)
    assert "CD34" not in line.upper() and "GH78" not in line.upper(), line
    assert "AB12****" in line.upper() or "AB12" in line.upper()
    assert "****" in line


def test_a_referer_from_the_verify_page_is_masked_too():
    line = access_line("/static/portal.css", referer=f"http://portal.test/verify/{CODE}")
    assert CODE not in line and "/verify/AB12****" in line


def test_other_paths_are_logged_as_they_are():
    for path in ("/verify/pdf", "/verify/certificate", "/verify", "/records", "/reports/7"):
        assert f"GET {path} HTTP/1.1" in access_line(path)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_real_gunicorn_with_the_logger_class_logs_no_code(tmp_path, signing_keys_dir):
    """The Makefile's command line, on a free loopback port."""
    import shutil
    shutil.copytree(signing_keys_dir, tmp_path / "keys")
    makefile = (ROOT / "Makefile").read_text()
    assert "--logger-class services.access_log.MaskedLogger" in makefile
    port = free_port()
    log = tmp_path / "access.log"
    env = dict(os.environ, PORTAL_INSTANCE_DIR=str(tmp_path))
    subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "app", "init-db"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--access-logfile", str(log),
         # Leave the control socket of any other gunicorn on this machine alone.
         "--no-control-socket",
         "--logger-class", "services.access_log.MaskedLogger", "app:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/reports/{CODE}", timeout=5)
            except urllib.error.HTTPError:
                break  # 404 for an unknown code: the request was served
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        for _ in range(50):
            if log.exists() and "/api/v1/reports/" in log.read_text():
                break
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "/api/v1/reports/AB12****" in text and CODE not in text
