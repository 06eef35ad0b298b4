"""services.messaging against real backends (a file, an SMTP server, an HTTP server),
built from configuration as services.postman does."""
import email
import email.policy
import json
import socket
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from services import messaging
from services.messaging import HttpSmsGateway, Message, MessagingError, OutboxBackend, SmtpBackend
from services.postman import backend_for

TRICKY = '您的校验码是 123456。\n请勿告诉他人 "引号" \\ {body} & a=b+c?'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(config, message):
    backend_for(config, message.channel).send(message)


def sms(body=TRICKY, to="+86 138-0013-8000"):
    return Message(channel="sms", to=to, subject="", body=body)


def mail(body=TRICKY, subject="学信档案：校验码", to="张三 <zhangsan@demo.edu.cn>"):
    return Message(channel="email", to=to, subject=subject, body=body)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------
# Outbox
# --------------------------------------------------------------------------

def read_outbox(path):
    raw = Path(path).read_bytes().decode("utf-8")
    assert raw.endswith("\n")
    return [json.loads(line) for line in raw.split("\n")[:-1]]


def test_outbox_appends_one_json_line_per_message(tmp_path):
    path = tmp_path / "deep" / "dir" / "outbox.jsonl"
    config = {"MESSAGE_BACKEND": "outbox", "OUTBOX_PATH": str(path)}
    before = datetime.now(timezone.utc).replace(microsecond=0)
    send(config, mail())
    send(config, sms(body="第二条\u2028line"))
    after = datetime.now(timezone.utc)

    records = read_outbox(path)
    assert len(records) == 2
    assert all(list(r) == ["channel", "to", "subject", "body", "sent_at"] for r in records)
    first, second = records
    assert first["channel"] == "email"
    assert first["to"] == "张三 <zhangsan@demo.edu.cn>"
    assert first["subject"] == "学信档案：校验码"
    assert first["body"] == TRICKY
    assert second == {**second, "channel": "sms", "to": "+86 138-0013-8000",
                      "subject": "", "body": "第二条\u2028line"}
    for record in records:
        sent_at = datetime.fromisoformat(record["sent_at"])
        assert sent_at.utcoffset() == timedelta(0)
        assert record["sent_at"].endswith("+00:00")
        assert before <= sent_at <= after
    # Chinese is written as text, not \u escapes; U+2028 cannot split a line.
    text = path.read_text(encoding="utf-8")
    assert "学信档案：校验码" in text and "\\u5b66" not in text
    assert text.count("\n") == 2 and len(text.splitlines()) == 2


def test_outbox_concurrent_appends_stay_whole_lines(tmp_path):
    path = tmp_path / "outbox.jsonl"
    threads, per_thread = 8, 40
    big = "长" * 3000  # several KB per line, so interleaving would show

    def worker(n):
        backend = OutboxBackend(path)
        for i in range(per_thread):
            backend.send(sms(body=f"{n}:{i}:{big}"))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    records = read_outbox(path)
    assert sorted(r["body"] for r in records) == sorted(
        f"{n}:{i}:{big}" for n in range(threads) for i in range(per_thread))


def test_outbox_unwritable_path_is_messaging_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(MessagingError, match="outbox"):
        OutboxBackend(blocker / "outbox.jsonl").send(sms())


# --------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------

class _Collect:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler.envelopes
    finally:
        controller.stop()


def smtp_config(port, **extra):
    return {"MESSAGE_BACKEND": "live", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port,
            "SMTP_USER": "", "SMTP_PASSWORD": "", "SMTP_STARTTLS": False,
            "MAIL_FROM": "no-reply@demo.edu.cn", "SMS_GATEWAY_URL": "", **extra}


def test_smtp_delivers_utf8_message(smtp_server):
    controller, received = smtp_server
    send(smtp_config(controller.port), mail())

    assert len(received) == 1
    envelope = received[0]
    assert envelope.mail_from == "no-reply@demo.edu.cn"
    assert envelope.rcpt_tos == ["zhangsan@demo.edu.cn"]
    assert max(envelope.content) < 128  # 7-bit clean on the wire
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["To"].addresses[0].display_name == "张三"
    assert msg["To"].addresses[0].addr_spec == "zhangsan@demo.edu.cn"
    assert msg["From"] == "no-reply@demo.edu.cn"
    assert msg["Subject"] == "学信档案：校验码"
    assert msg["Message-ID"].endswith("@demo.edu.cn>")
    assert abs(msg["Date"].datetime - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg.get_content().rstrip("\n") == TRICKY


def test_smtp_header_injection_is_refused(smtp_server):
    controller, received = smtp_server
    with pytest.raises(MessagingError):
        send(smtp_config(controller.port), mail(subject="hi\r\nBcc: evil@example.com"))
    assert received == []


def test_smtp_nothing_listening_is_messaging_error():
    port = free_port()
    with pytest.raises(MessagingError, match=f"127.0.0.1:{port}") as info:
        send(smtp_config(port), mail())
    assert TRICKY not in str(info.value)


# --------------------------------------------------------------------------
# HTTP SMS gateway
# --------------------------------------------------------------------------

class _GatewayHandler(BaseHTTPRequestHandler):
    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append({
            "method": self.command,
            "path": self.path,
            "headers": self.headers,
            "body": self.rfile.read(length),
        })
        time.sleep(self.server.delay)
        status = 200 if self.path == "/elsewhere" else self.server.status
        self.send_response(status)
        if 300 <= status < 400:  # a gateway that moved: must not be followed
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GatewayHandler)
    server.requests, server.status, server.delay = [], 200, 0
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def sms_config(url, **extra):
    return {"MESSAGE_BACKEND": "live", "OUTBOX_PATH": "/nonexistent/outbox.jsonl",
            "SMS_GATEWAY_URL": url, "SMS_GATEWAY_METHOD": "POST",
            "SMS_GATEWAY_HEADERS": {}, "SMS_GATEWAY_TIMEOUT": 5,
            "SMS_GATEWAY_BODY": '{"to": "{to}", "text": "{body}"}', **extra}


def test_gateway_json_body(gateway):
    config = sms_config(gateway.url + "/v1/sms?phone={to}&k=1",
                        SMS_GATEWAY_HEADERS='{"Authorization": "Bearer s3cret"}')
    send(config, sms())

    [req] = gateway.requests
    assert req["method"] == "POST"
    path, _, query = req["path"].partition("?")
    assert path == "/v1/sms"
    assert urllib.parse.parse_qs(query) == {"phone": ["+86 138-0013-8000"], "k": ["1"]}
    assert req["headers"]["Content-Type"].startswith("application/json")
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    assert json.loads(req["body"].decode("utf-8")) == {"to": "+86 138-0013-8000", "text": TRICKY}
    assert "您的校验码".encode("utf-8") in req["body"]  # raw UTF-8, not \u escapes


def test_gateway_form_body_and_custom_content_type(gateway):
    config = sms_config(gateway.url + "/send", SMS_GATEWAY_METHOD="put",
                        SMS_GATEWAY_BODY="  mobile={to}&content={body}&sign=【示范大学】")
    send(config, sms())
    config["SMS_GATEWAY_HEADERS"] = {"Content-Type": "text/plain; charset=utf-8"}
    send(config, sms(body="x"))

    form, custom = gateway.requests
    assert form["method"] == "PUT"
    assert form["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert urllib.parse.parse_qs(form["body"].decode("utf-8").strip()) == {
        "mobile": ["+86 138-0013-8000"], "content": [TRICKY], "sign": ["【示范大学】"]}
    assert custom["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert custom["headers"].get_all("Content-Type") == ["text/plain; charset=utf-8"]


def test_gateway_get_sends_no_body(gateway):
    send(sms_config(gateway.url + "/sms?to={to}&msg={body}", SMS_GATEWAY_METHOD="GET"), sms())
    [req] = gateway.requests
    assert req["method"] == "GET" and req["body"] == b""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)
    assert query == {"to": ["+86 138-0013-8000"], "msg": [TRICKY]}


@pytest.mark.parametrize("status", [500, 404, 302, 307])
def test_gateway_error_status_is_messaging_error(gateway, status):
    gateway.status = status
    with pytest.raises(MessagingError, match=f"HTTP {status}") as info:
        send(sms_config(gateway.url + "/sms?key=APIKEY"), sms())
    assert "APIKEY" not in str(info.value) and TRICKY not in str(info.value)
    assert len(gateway.requests) == 1


def test_gateway_timeout_is_messaging_error(gateway):
    gateway.delay = 1.0
    with pytest.raises(MessagingError, match="timed out"):
        send(sms_config(gateway.url, SMS_GATEWAY_TIMEOUT=0.2), sms())


def test_gateway_unreachable_is_messaging_error():
    with pytest.raises(MessagingError, match="cannot reach SMS gateway"):
        send(sms_config(f"http://127.0.0.1:{free_port()}/sms"), sms())


# --------------------------------------------------------------------------
# Backend selection
# --------------------------------------------------------------------------

BASE = {"OUTBOX_PATH": "/tmp/outbox.jsonl", "MAIL_FROM": "no-reply@demo.edu.cn",
        "SMS_GATEWAY_URL": "https://sms.example.com/send"}


@pytest.mark.parametrize("overrides, email_backend, sms_backend", [
    ({}, OutboxBackend, OutboxBackend),
    ({"MESSAGE_BACKEND": "outbox"}, OutboxBackend, OutboxBackend),
    ({"MESSAGE_BACKEND": "live"}, SmtpBackend, HttpSmsGateway),
    ({"MESSAGE_BACKEND": " Live "}, SmtpBackend, HttpSmsGateway),
    ({"MESSAGE_BACKEND": "live", "SMS_BACKEND": "outbox"}, SmtpBackend, OutboxBackend),
    ({"MESSAGE_BACKEND": "live", "EMAIL_BACKEND": "outbox"}, OutboxBackend, HttpSmsGateway),
    ({"MESSAGE_BACKEND": "outbox", "EMAIL_BACKEND": "smtp"}, SmtpBackend, OutboxBackend),
    ({"MESSAGE_BACKEND": "outbox", "SMS_BACKEND": "http", "EMAIL_BACKEND": ""},
     OutboxBackend, HttpSmsGateway),
])
def test_backend_selection(overrides, email_backend, sms_backend):
    config = {**BASE, **overrides}
    assert type(backend_for(config, "email")) is email_backend
    assert type(backend_for(config, "sms")) is sms_backend


def test_backend_settings_are_read_from_config():
    config = {**BASE, "MESSAGE_BACKEND": "live", "SMTP_HOST": "mail.demo.edu.cn",
              "SMTP_PORT": "587", "SMTP_STARTTLS": "true", "SMTP_USER": "u",
              "SMS_GATEWAY_METHOD": "put", "SMS_GATEWAY_TIMEOUT": "3",
              "SMS_GATEWAY_HEADERS": '{"X-Key": "k"}'}
    smtp = backend_for(config, "email")
    assert (smtp.host, smtp.port, smtp.starttls, smtp.user) == ("mail.demo.edu.cn", 587, True, "u")
    http = backend_for(config, "sms")
    assert (http.method, http.timeout, http.headers) == ("PUT", 3.0, {"X-Key": "k"})
    outbox = backend_for({**config, "MESSAGE_BACKEND": "outbox"}, "sms")
    assert outbox.path == Path("/tmp/outbox.jsonl")


@pytest.mark.parametrize("overrides, match", [
    ({"MESSAGE_BACKEND": "smtp"}, r"MESSAGE_BACKEND.*'outbox', 'live'"),
    ({"EMAIL_BACKEND": "http"}, r"EMAIL_BACKEND.*'outbox', 'smtp'"),
    ({"SMS_BACKEND": "smtp"}, r"SMS_BACKEND.*'outbox', 'http'"),
    ({"MESSAGE_BACKEND": "live", "SMS_GATEWAY_URL": ""}, r"SMS_GATEWAY_URL must be set"),
    ({"SMS_BACKEND": "http", "SMS_GATEWAY_URL": "  "}, r"SMS_GATEWAY_URL must be set"),
    ({"SMS_BACKEND": "http", "SMS_GATEWAY_URL": "file:///etc/passwd"}, r"http:// or https://"),
    ({"SMS_BACKEND": "http", "SMS_GATEWAY_HEADERS": "{nope"}, r"SMS_GATEWAY_HEADERS"),
    ({"SMS_BACKEND": "http", "SMS_GATEWAY_HEADERS": "[1]"}, r"SMS_GATEWAY_HEADERS"),
    ({"SMS_BACKEND": "http", "SMS_GATEWAY_TIMEOUT": "soon"}, r"SMS_GATEWAY_TIMEOUT"),
])
def test_bad_config_is_messaging_error(overrides, match):
    config = {**BASE, **overrides}
    with pytest.raises(MessagingError, match=match):
        backend_for(config, "email" if "EMAIL_BACKEND" in overrides else "sms")


def test_message_is_frozen():
    with pytest.raises(AttributeError):
        sms().body = "changed"
    assert messaging.Message is Message
