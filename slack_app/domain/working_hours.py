"""When a nudge may reach someone: during their working hours, in their own time zone.

Pure: no Slack, no Redis.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WORKDAY_START = time(9)
WORKDAY_END = time(18)  # exclusive: 18:00 itself is evening
WORKDAYS = frozenset({0, 1, 2, 3, 4})  # Monday to Friday, as date.weekday() numbers


def next_working_time(due: datetime, tz: str) -> datetime:
    """The earliest instant at or after `due` that is within working hours where `tz` is.

    `tz` is an IANA name as Slack's users.info gives it; an empty or unknown one counts as UTC.
    The answer is an aware UTC datetime.
    """
    if due.tzinfo is None:
        raise ValueError("due must be timezone-aware")
    local_zone = zone(tz)
    local = due.astimezone(local_zone)
    if local.weekday() in WORKDAYS and WORKDAY_START <= local.time() < WORKDAY_END:
        return due.astimezone(UTC)
    day = local.date() if local.time() < WORKDAY_START else local.date() + timedelta(days=1)
    while day.weekday() not in WORKDAYS:
        day += timedelta(days=1)
    # Built from the local wall clock, so the UTC offset is the one in force on that day, not
    # the one in force at `due`: that is what keeps 09:00 at 09:00 across a DST change.
    return datetime.combine(day, WORKDAY_START, tzinfo=local_zone).astimezone(UTC)


def zone(tz: str) -> ZoneInfo:
    """The time zone named `tz` (an IANA name, as users.info gives it); an empty or unknown one is UTC."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not even shaped like a zone name
        return ZoneInfo("UTC")
