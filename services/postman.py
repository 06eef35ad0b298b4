"""The postman: every SMS and e-mail the portal sends, written and delivered.

The texts are templates in ``templates/messages`` (the school's wording,
changed without touching Python); the backends are chosen and built once, when
the app starts, so a wrong setting stops the start instead of a student's
first code.  Backend details are in services.messaging.

Numbers abroad
    Numbers are E.164 ("+8613812345678"). With the setting ``INTERNATIONAL_SMS``
    off (the school's provider reaches the mainland only), ``send`` refuses an
    SMS to a number outside +86 with :class:`SmsNotAllowed`; ``reach()`` tells
    the code flows so beforehand, so they can offer e-mail instead.

Choosing backends
    ``MESSAGE_BACKEND``  ``"outbox"`` (default): both channels go to the outbox
                         file.  ``"live"``: e-mail by SMTP, SMS by HTTP gateway.
    ``EMAIL_BACKEND``    optional per-channel override: ``"outbox"`` or ``"smtp"``.
    ``SMS_BACKEND``      optional per-channel override: ``"outbox"`` or ``"http"``.
    Any other value, or a setting the chosen backend needs that is missing or
    malformed, raises MessagingError naming the key.
"""
from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from services.messaging import (
    CHANNELS, HttpSmsGateway, Message, MessagingError, OutboxBackend, SmtpBackend,
)

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates" / "messages"

MESSAGE_BACKENDS = ("outbox", "live")
CHANNEL_BACKENDS = {"email": ("outbox", "smtp"), "sms": ("outbox", "http")}
_LIVE = {"email": "smtp", "sms": "http"}
_OVERRIDE_KEY = {"email": "EMAIL_BACKEND", "sms": "SMS_BACKEND"}


class SmsNotAllowed(MessagingError):
    """The school's SMS provider does not reach this number (INTERNATIONAL_SMS off)."""


@dataclass(frozen=True)
class Reach:
    """Where the school's messages may go, from its settings."""
    international_sms: bool = True     # INTERNATIONAL_SMS
    foreign_id_any_email: bool = False  # FOREIGN_ID_ANY_EMAIL

    def can_text(self, number: str) -> bool:
        """Whether an SMS may go to this E.164 number (legacy 11-digit: mainland)."""
        return self.international_sms or not number.startswith("+") or number.startswith("+86")


class Postman:
    """Composes messages from templates and hands them to the backend of their channel."""

    def __init__(self, backends: Mapping, school_name: str, template_dir=TEMPLATE_DIR,
                 names: Callable[[], Mapping] | None = None):
        self.backends = dict(backends)
        self.school_name = school_name
        # The school's settings as they are now (SCHOOL_NAME, MESSAGE_SIGNATURE),
        # asked for each message, so a change in the portal applies to the next one.
        self.names = names
        self._templates = jinja2.Environment(  # nosec B701 # plain-text SMS and e-mail, never HTML
            loader=jinja2.FileSystemLoader(template_dir), autoescape=False,
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self._templates.filters["in_zone"] = _in_zone

    @classmethod
    def from_config(cls, config: Mapping, names: Callable[[], Mapping] | None = None) -> Postman:
        return cls(backends_from(config), config["SCHOOL_NAME"], names=names)

    def compose(self, template_name: str, *, channel: str, to: str, **context) -> Message:
        """The message ``template_name`` says with ``context``; a missing variable raises."""
        template = self._templates.get_template(template_name)
        names = self.names() if self.names else {}
        school_name = names.get("SCHOOL_NAME") or self.school_name
        signature = names.get("MESSAGE_SIGNATURE") or school_name
        text = template.render(context, school_name=school_name, signature=signature,
                               timezone=names.get("TIMEZONE") or DEFAULT_TIMEZONE)
        # The layout (base.txt) puts the subject on the first line.
        subject, _, body = text.partition("\n")
        return Message(channel=channel, to=to, subject=subject.strip(), body=body.strip())

    def reach(self) -> Reach:
        names = self.names() if self.names else {}

        def flag(key, default):
            value = names.get(key)
            return default if value is None else _bool(value)
        return Reach(international_sms=flag("INTERNATIONAL_SMS", True),
                     foreign_id_any_email=flag("FOREIGN_ID_ANY_EMAIL", False))

    def can_text(self, number: str) -> bool:
        return self.reach().can_text(number)

    def send(self, template_name: str, *, channel: str, to: str, **context) -> None:
        if not isinstance(to, str) or not to.strip():
            raise MessagingError("message has no recipient")
        if channel == "sms" and not self.can_text(to):
            raise SmsNotAllowed("international SMS is switched off (INTERNATIONAL_SMS)")
        if channel not in self.backends:
            raise MessagingError(
                f"unknown message channel {channel!r}; use one of: "
                + ", ".join(repr(c) for c in CHANNELS)
            )
        self.backends[channel].send(self.compose(template_name, channel=channel, to=to, **context))


DEFAULT_TIMEZONE = "Asia/Shanghai"


def _in_zone(moment: datetime.datetime, zone: str) -> datetime.datetime:
    """A stored time (naive UTC) as the school reads it, in its time zone."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo(DEFAULT_TIMEZONE)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(tz)


def backends_from(config: Mapping) -> dict:
    """The backend of each channel ("sms", "email") that ``config`` asks for."""
    return {channel: backend_for(config, channel) for channel in CHANNELS}


def backend_for(config: Mapping, channel: str):
    """The backend object that sends ``channel`` ("sms"/"email") under ``config``."""
    name = _backend_name(config, channel)
    if name == "outbox":
        path = config.get("OUTBOX_PATH")
        if not path:
            raise MessagingError("OUTBOX_PATH must be set for the outbox backend")
        return OutboxBackend(path)
    if name == "smtp":
        if not (config.get("MAIL_FROM") or "").strip():
            raise MessagingError("MAIL_FROM must be set for the SMTP backend")
        return SmtpBackend(
            host=config.get("SMTP_HOST") or "127.0.0.1",
            port=_number(config, "SMTP_PORT", 25, int),
            user=config.get("SMTP_USER") or "",
            password=config.get("SMTP_PASSWORD") or "",
            starttls=_bool(config.get("SMTP_STARTTLS", False)),
            mail_from=config.get("MAIL_FROM") or "",
            timeout=_number(config, "SMTP_TIMEOUT", 10),
        )
    # name == "http"
    url = (config.get("SMS_GATEWAY_URL") or "").strip()
    if not url:
        raise MessagingError(
            "SMS_GATEWAY_URL must be set when SMS goes through the HTTP gateway "
            "(MESSAGE_BACKEND='live' or SMS_BACKEND='http')"
        )
    return HttpSmsGateway(
        url=url,
        method=config.get("SMS_GATEWAY_METHOD") or "POST",
        headers=_headers(config),
        body_template=config.get("SMS_GATEWAY_BODY", '{"to": "{to}", "text": "{body}"}'),
        timeout=_number(config, "SMS_GATEWAY_TIMEOUT", 10),
    )


def _backend_name(config: Mapping, channel: str) -> str:
    override = _choice(config, _OVERRIDE_KEY[channel], CHANNEL_BACKENDS[channel])
    if override:
        return override
    general = _choice(config, "MESSAGE_BACKEND", MESSAGE_BACKENDS, default="outbox")
    return _LIVE[channel] if general == "live" else "outbox"


def _choice(config: Mapping, key: str, allowed, default=None) -> str | None:
    value = config.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            return None
        value = default
    name = str(value).strip().lower()
    if name not in allowed:
        raise MessagingError(
            f"{key}={value!r} is not valid; use one of: "
            + ", ".join(repr(a) for a in allowed)
        )
    return name


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _number(config: Mapping, key: str, default, kind=float):
    value = config.get(key, default)
    if value is None or value == "":
        value = default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise MessagingError(f"{key}={value!r} is not a number") from None


def _headers(config: Mapping) -> dict:
    value = config.get("SMS_GATEWAY_HEADERS") or {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise MessagingError("SMS_GATEWAY_HEADERS is not valid JSON") from None
    if not isinstance(value, Mapping):
        raise MessagingError("SMS_GATEWAY_HEADERS must be a JSON object / dict")
    return dict(value)
