"""One clock: times are stored in UTC and read in the school's time zone.

Every stored time is a naive UTC datetime (models.utcnow). Whatever turns one
into text for a person, or decides which day "today" is, goes through here with
the school's zone (the TIMEZONE setting: a name such as "Asia/Shanghai", or a
ZoneInfo), which the caller passes in: views use `views.school_timezone()`,
the Postman reads the setting per message. An unknown or empty name falls back
to DEFAULT_TIMEZONE, so a bad setting never breaks a page.
"""
from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import utcnow

DEFAULT_TIMEZONE = "Asia/Shanghai"
UTC = datetime.timezone.utc


def zone(name) -> ZoneInfo:
    """The ZoneInfo for `name` (a zone name or a ZoneInfo); the default when unknown."""
    if isinstance(name, datetime.tzinfo):
        return name
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local(moment: datetime.datetime, tz) -> datetime.datetime:
    """A stored time (naive UTC, or aware) as an aware time in the zone `tz`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz))


def local_date(moment: datetime.datetime, tz) -> datetime.date:
    """The day a stored time falls on in the zone `tz`."""
    return local(moment, tz).date()


def today(tz, now: datetime.datetime | None = None) -> datetime.date:
    """Today in the zone `tz` (at `now`, naive UTC, when given)."""
    return local_date(now or utcnow(), tz)


def iso(moment: datetime.datetime, tz) -> str:
    """ISO 8601 with the zone's offset, to the second: 2026-07-01T07:30:00+08:00."""
    return local(moment.replace(microsecond=0), tz).isoformat()


def parse_utc(text: str) -> datetime.datetime:
    """A stored ISO text ("…Z" or with an offset, or naive UTC) as naive UTC."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def day_start(tz, now: datetime.datetime | None = None) -> datetime.datetime:
    """The start of today in the zone `tz`, as naive UTC: the bound a count
    "per day" (the school's day, not UTC's) starts from."""
    midnight = datetime.datetime.combine(today(tz, now), datetime.time.min, tzinfo=zone(tz))
    return midnight.astimezone(UTC).replace(tzinfo=None)


def stamp(tz, now: datetime.datetime | None = None) -> str:
    """A local time for file names: 20260701-073000."""
    return local(now or utcnow(), tz).strftime("%Y%m%d-%H%M%S")
