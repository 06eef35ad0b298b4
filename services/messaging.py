"""Outgoing SMS and e-mail: the message and the backends that deliver it.

The backends are built once, from the configuration, by services.postman,
which also writes the texts; nothing here touches Flask's ``request`` or
``current_app``.  Every failure is raised as :class:`MessagingError`, whose
text is safe to log: it never contains the message body (verification codes!),
the recipient, passwords or the gateway URL's path and query (which often
carry an API key).

Outbox (development, tests, external checks)
    ``OUTBOX_PATH``      JSON Lines file; one object per message with exactly
                         the keys ``channel, to, subject, body, sent_at``
                         (``sent_at`` is ISO 8601 UTC with offset), UTF-8,
                         non-ASCII text unescaped.  Appends are locked with
                         ``flock``, so several workers may share the file;
                         ``purge_outbox`` drops old lines under the same lock.

SMTP
    ``SMTP_HOST``, ``SMTP_PORT`` (default 127.0.0.1:25), ``SMTP_USER`` and
    ``SMTP_PASSWORD`` (login only when the user is set), ``SMTP_STARTTLS``
    (bool), ``MAIL_FROM`` (required), optional ``SMTP_TIMEOUT`` (seconds,
    default 10).  Plain-text UTF-8 messages, 7-bit transfer safe.

HTTP SMS gateway (one request per SMS)
    ``SMS_GATEWAY_URL``      http(s) URL, required for the "http" backend.
                             ``{to}`` / ``{body}`` in it are URL-encoded.
    ``SMS_GATEWAY_METHOD``   default ``POST``.
    ``SMS_GATEWAY_HEADERS``  dict, or a JSON object string (from env vars).
    ``SMS_GATEWAY_BODY``     template; ``{to}`` and ``{body}`` are the only
                             placeholders.  A template starting with ``{`` or
                             ``[`` is JSON: values are JSON-string-escaped (put
                             them inside quotes) and Content-Type defaults to
                             application/json.  Otherwise it is a form body:
                             values are URL-encoded and Content-Type defaults
                             to application/x-www-form-urlencoded.  An empty
                             template, or method GET/HEAD, sends no body.
    ``SMS_GATEWAY_TIMEOUT``  seconds, default 10.
    Any non-2xx answer (redirects are not followed), connection error or
    timeout is a failure.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import smtplib
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Mapping

import crypto

__all__ = ["MessagingError", "Message", "OutboxBackend", "SmtpBackend", "HttpSmsGateway",
           "purge_outbox"]

CHANNELS = ("sms", "email")

_PLACEHOLDER = re.compile(r"\{(to|body)\}")
# Characters json.dumps(ensure_ascii=False) leaves raw but str.splitlines()
# treats as line breaks; escaping them keeps one message == one line for
# every kind of reader.
_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}


class MessagingError(RuntimeError):
    """A message could not be sent.  The text is safe to log."""


@dataclass(frozen=True)
class Message:
    channel: str  # "sms" or "email"
    to: str
    subject: str
    body: str


# --------------------------------------------------------------------------
# Outbox
# --------------------------------------------------------------------------

class _locked:
    """``open(path, mode)`` held under ``flock(LOCK_EX)``. purge_outbox replaces the
    file by a rename while holding the lock on the old one: whoever waited on the
    old file then finds it unlinked and opens the new one instead."""

    def __init__(self, path: Path, mode: str):
        self.path, self.mode, self.fh = path, mode, None

    def __enter__(self):
        # Created for this user only: the outbox holds phone numbers and codes.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT if "a" in self.mode else os.O_RDONLY
        while True:
            fh = os.fdopen(os.open(self.path, flags, crypto.FILE_MODE), self.mode, buffering=0)
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                current = self.path.stat()
            except FileNotFoundError:
                current = None
            held = os.fstat(fh.fileno())
            if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                self.fh = fh
                return fh
            fh.close()  # replaced while we waited: lock the new file

    def __exit__(self, *exc):
        fcntl.flock(self.fh.fileno(), fcntl.LOCK_UN)
        self.fh.close()


def _sent_at(line: bytes):
    try:
        sent_at = datetime.fromisoformat(json.loads(line)["sent_at"])
    except (ValueError, KeyError, TypeError):
        return None
    return sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=timezone.utc)


def purge_outbox(path, before: datetime) -> int:
    """Drop the outbox lines sent before `before` (aware UTC); return how many.

    The kept lines go to a temporary file beside it, which replaces the outbox in
    one rename, all under the lock the writers take: a crash leaves the old file
    or the new one, never half of one, and no message is lost. Lines without a
    readable ``sent_at`` are kept."""
    path = Path(path)
    if not path.exists():
        return 0
    with _locked(path, "rb") as fh:
        kept, dropped = [], 0
        for line in fh.read().splitlines(keepends=True):
            sent_at = _sent_at(line)
            if sent_at is not None and sent_at < before:
                dropped += 1
            else:
                kept.append(line if line.endswith(b"\n") else line + b"\n")
        if not dropped:
            return 0
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".outbox-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.writelines(kept)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, os.fstat(fh.fileno()).st_mode & 0o7777)
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    return dropped


class OutboxBackend:
    """Appends each message as one JSON line to ``path``."""

    def __init__(self, path):
        self.path = Path(path)

    def send(self, message: Message) -> None:
        record = {
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "body": message.body,
            "sent_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        line = json.dumps(record, ensure_ascii=False)
        for raw, escaped in _LINE_BREAKERS.items():
            line = line.replace(raw, escaped)
        data = (line + "\n").encode("utf-8")
        try:
            crypto.private_dir(self.path.parent)
            with _locked(self.path, "ab") as fh:
                written = fh.write(data)
                # A short write on a regular file is practically unheard
                # of, but finish the line under the lock if it happens.
                while written is not None and written < len(data):
                    data = data[written:]
                    written = fh.write(data)
        except OSError as exc:
            raise MessagingError(
                f"could not append to outbox {self.path}: {exc.strerror or exc}"
            ) from exc

    def __repr__(self):
        return f"OutboxBackend({str(self.path)!r})"


# --------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------

class SmtpBackend:
    """Sends e-mail through an SMTP server (optionally STARTTLS + login)."""

    def __init__(self, host, port, user, password, starttls, mail_from, timeout):
        self.host = host
        self.port = int(port)
        self.user = user or ""
        self.password = password or ""
        self.starttls = bool(starttls)
        self.mail_from = mail_from
        self.timeout = float(timeout)

    def build(self, message: Message) -> EmailMessage:
        """The EmailMessage that ``send`` would transmit."""
        # cte_type="7bit": non-ASCII bodies get base64/quoted-printable, so
        # servers without 8BITMIME receive them intact.
        msg = EmailMessage(policy=email_policy.default.clone(cte_type="7bit"))
        try:
            msg["From"] = self.mail_from
            msg["To"] = message.to
            msg["Subject"] = message.subject
            msg["Date"] = format_datetime(datetime.now(timezone.utc))
            domain = self.mail_from.rpartition("@")[2].strip(" >") or None
            msg["Message-ID"] = make_msgid(domain=domain)
            msg.set_content(message.body, subtype="plain", charset="utf-8")
        except (ValueError, TypeError, IndexError) as exc:
            # e.g. a line break in a header value (header injection attempt)
            raise MessagingError(f"cannot build e-mail: {type(exc).__name__}") from exc
        return msg

    def send(self, message: Message) -> None:
        msg = self.build(message)
        where = f"{self.host}:{self.port}"
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.ehlo()
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise MessagingError(f"SMTP server {where} refused the recipient") from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise MessagingError(
                f"SMTP server {where} rejected the login (code {exc.smtp_code})"
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise MessagingError(
                f"SMTP server {where} refused the message (code {exc.smtp_code})"
            ) from exc
        except smtplib.SMTPException as exc:
            raise MessagingError(
                f"SMTP send via {where} failed: {type(exc).__name__}"
            ) from exc
        except TimeoutError as exc:
            raise MessagingError(f"SMTP server {where} timed out") from exc
        except OSError as exc:  # refused, unreachable, DNS, TLS
            raise MessagingError(
                f"cannot reach SMTP server {where}: {type(exc).__name__}: "
                f"{exc.strerror or exc}"
            ) from exc

    def __repr__(self):
        return f"SmtpBackend({self.host!r}, {self.port!r}, starttls={self.starttls})"


# --------------------------------------------------------------------------
# HTTP SMS gateway
# --------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 3xx then surfaces as HTTPError, i.e. a failure


_opener = urllib.request.build_opener(_NoRedirect)


def _is_json_template(template: str) -> bool:
    return template.strip()[:1] in ("{", "[")


def _fill(template: str, values: Mapping[str, str], escape) -> str:
    # One pass over the template, so a value that itself contains "{body}"
    # is never substituted again.  Only {to} and {body} are placeholders;
    # every other brace is left alone.
    return _PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), template)


def _json_escape(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _url_escape(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _form_escape(value: str) -> str:
    return urllib.parse.quote_plus(value, safe="")


class HttpSmsGateway:
    """Sends an SMS as one configurable HTTP request."""

    def __init__(self, url, method="POST", headers=None, body_template="", timeout=10):
        self.url = url
        self.method = (method or "POST").strip().upper()
        self.headers = dict(headers or {})
        self.body_template = body_template or ""
        self.timeout = float(timeout)
        parts = urllib.parse.urlsplit(url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MessagingError("SMS_GATEWAY_URL must be an http:// or https:// URL")
        self._where = f"{parts.scheme}://{parts.netloc}"

    def build(self, message: Message) -> urllib.request.Request:
        """The request that ``send`` would make."""
        values = {"to": message.to, "body": message.body}
        url = _fill(self.url, values, _url_escape)
        headers = {str(k): str(v) for k, v in self.headers.items()}
        data = None
        if self.body_template.strip() and self.method not in ("GET", "HEAD"):
            if _is_json_template(self.body_template):
                text = _fill(self.body_template, values, _json_escape)
                content_type = "application/json; charset=utf-8"
            else:
                text = _fill(self.body_template, values, _form_escape)
                content_type = "application/x-www-form-urlencoded"
            data = text.encode("utf-8")
            if not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = content_type
        return urllib.request.Request(url, data=data, headers=headers, method=self.method)

    def send(self, message: Message) -> None:
        request = self.build(message)
        try:
            with _opener.open(request, timeout=self.timeout) as response:
                status = response.status
                response.read(65536)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise MessagingError(
                f"SMS gateway {self._where} answered HTTP {exc.code}"
            ) from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise MessagingError(f"SMS gateway {self._where} timed out") from exc
            detail = getattr(reason, "strerror", None) or reason
            raise MessagingError(
                f"cannot reach SMS gateway {self._where}: {detail}"
            ) from exc
        except TimeoutError as exc:  # timeout while reading the answer
            raise MessagingError(f"SMS gateway {self._where} timed out") from exc
        except (OSError, ValueError) as exc:  # e.g. connection reset, bad header
            raise MessagingError(
                f"SMS gateway {self._where} failed: {type(exc).__name__}"
            ) from exc
        if not 200 <= status < 300:
            raise MessagingError(f"SMS gateway {self._where} answered HTTP {status}")

    def __repr__(self):
        return f"HttpSmsGateway({self.method} {self._where})"

