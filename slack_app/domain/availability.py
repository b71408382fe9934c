"""A standing "not right now": open to asks, at most N a week, or on a break until a day.

Pure domain logic: no Slack, no Redis. A person's setting is theirs alone; someone asking them
learns only that they are unavailable now (and, for a break, until when), never more.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum

from ..text.i18n import Language
from .working_hours import zone

MAX_WEEKLY_LIMIT = 10


class Mode(str, Enum):
    OPEN = "open"
    WEEKLY = "weekly"  # at most `weekly_limit` cards a week, in their own time zone's ISO week
    BREAK = "break"  # no new cards through `until`


@dataclass(frozen=True)
class Availability:
    mode: Mode = Mode.OPEN
    weekly_limit: int = 0
    until: date | None = None  # a break's last day

    def to_json(self) -> str:
        return json.dumps(
            {
                "mode": self.mode.value,
                "weekly_limit": self.weekly_limit,
                "until": self.until.isoformat() if self.until else "",
            }
        )

    @classmethod
    def from_json(cls, raw: str | None) -> Availability:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(
            mode=Mode(data["mode"]),
            weekly_limit=int(data.get("weekly_limit") or 0),
            until=date.fromisoformat(data["until"]) if data.get("until") else None,
        )

    def on_break(self, today: date) -> bool:
        return self.mode is Mode.BREAK and self.until is not None and today <= self.until

    def weekly(self) -> bool:
        return self.mode is Mode.WEEKLY


def weekly(limit: int) -> Availability | None:
    """At most `limit` asks a week, if that is a limit one may choose."""
    return Availability(Mode.WEEKLY, weekly_limit=limit) if 1 <= limit <= MAX_WEEKLY_LIMIT else None


def break_until(day: date, today: date) -> Availability | None:
    """A break through `day`, which must not have passed already."""
    return Availability(Mode.BREAK, until=day) if day >= today else None


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(zone(tz)).date()


def week_bounds(now: datetime, tz: str) -> tuple[float, float]:
    """Epoch seconds where the ISO week containing `now` starts and ends in time zone `tz`."""
    local = now.astimezone(zone(tz))
    monday = local.date() - timedelta(days=local.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone(tz))
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone(tz))
    return start.timestamp(), end.timestamp()


def unavailable_reason(
    availability: Availability, name: str, today: date, cards_this_week: int, lang: Language
) -> str | None:
    """Why someone can't be sent an ask now, worded kindly for the asker, or None if they can."""
    if availability.on_break(today) and availability.until:
        return lang.gettext(
            "{name} is taking a break from asks until {day} — ask someone else, or after that.",
            name=name,
            day=lang.date(availability.until),
        )
    if availability.weekly() and cards_this_week >= availability.weekly_limit:
        return lang.gettext("{name} isn't taking more asks this week — ask someone else, or next week.", name=name)
    return None


def describe(availability: Availability, today: date, cards_this_week: int, lang: Language) -> str:
    """The person's own setting, as their Home tab shows it to them."""
    if availability.on_break(today) and availability.until:
        return lang.gettext(
            "Taking a break until {day}: no new asks reach you; what you already took stays yours.",
            day=lang.date(availability.until),
        )
    if availability.weekly():
        limit = lang.ngettext("At most {count} ask a week", "At most {count} asks a week", availability.weekly_limit)
        return lang.gettext(
            "{limit} — {received} so far this week.", limit=limit, received=lang.number(cards_this_week)
        )
    return lang.gettext("Open to asks.")
