"""Working hours in the recipient's own time zone, checked against exact UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from slack_app.domain.working_hours import WORKDAY_END, WORKDAY_START, WORKDAYS, next_working_time


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "due", "expected"),
    [
        # Tuesday 22:00 GMT → Wednesday 09:00 GMT.
        ("Europe/London", utc(2026, 1, 13, 22), utc(2026, 1, 14, 9)),
        # Tuesday 22:00 EST → Wednesday 09:00 EST.
        ("America/New_York", utc(2026, 1, 14, 3), utc(2026, 1, 14, 14)),
        # Wednesday 06:00 IST, before work → 09:00 IST the same day.
        ("Asia/Kolkata", utc(2026, 1, 14, 0, 30), utc(2026, 1, 14, 3, 30)),
        # Friday 18:30 JST → Monday 09:00 JST.
        ("Asia/Tokyo", utc(2026, 1, 16, 9, 30), utc(2026, 1, 19, 0)),
        # Friday 19:00 GMT → Monday 09:00 GMT.
        ("Europe/London", utc(2026, 1, 16, 19), utc(2026, 1, 19, 9)),
        # Saturday 10:00 AEDT (still Friday in UTC) → Monday 09:00 AEDT (still Sunday in UTC).
        ("Australia/Sydney", utc(2026, 1, 16, 23), utc(2026, 1, 18, 22)),
        # Sunday 23:59 EST → Monday 09:00 EST.
        ("America/New_York", utc(2026, 1, 19, 4, 59), utc(2026, 1, 19, 14)),
    ],
    ids=[
        "london-night",
        "new-york-night",
        "kolkata-early",
        "tokyo-friday-evening",
        "london-friday-evening",
        "sydney-weekend",
        "new-york-sunday-night",
    ],
)
def test_outside_working_hours_moves_to_the_next_local_nine_oclock(tz, due, expected):
    assert next_working_time(due, tz) == expected


@pytest.mark.parametrize(
    ("tz", "due"),
    [
        ("Asia/Kolkata", utc(2026, 1, 14, 12, 29)),  # Wednesday 17:59 IST
        ("Asia/Kolkata", utc(2026, 1, 14, 12, 29, 59, 999999)),  # the last instant before 18:00
        ("America/New_York", utc(2026, 1, 14, 14)),  # Wednesday 09:00 EST exactly
        ("Asia/Tokyo", utc(2026, 1, 19, 3, 17, 42)),  # Monday 12:17:42 JST
        ("Australia/Sydney", utc(2026, 1, 15, 22)),  # Friday 09:00 AEDT, Thursday in UTC
    ],
)
def test_inside_working_hours_is_unchanged(tz, due):
    assert next_working_time(due, tz) == due


def test_eighteen_hundred_exactly_is_already_evening():
    # Wednesday 18:00 IST → Thursday 09:00 IST.
    assert next_working_time(utc(2026, 1, 14, 12, 30), "Asia/Kolkata") == utc(2026, 1, 15, 3, 30)
    # Friday 18:00 JST → Monday 09:00 JST.
    assert next_working_time(utc(2026, 1, 16, 9), "Asia/Tokyo") == utc(2026, 1, 19, 0)


@pytest.mark.parametrize(
    ("tz", "due", "expected"),
    [
        # New York springs forward on Sunday 2026-03-08: Friday evening was EST (-5), Monday 09:00
        # is EDT (-4), so 13:00 UTC and not 14:00.
        ("America/New_York", utc(2026, 3, 7, 1), utc(2026, 3, 9, 13)),
        # ... and from inside the skipped hour's night (Sunday 01:30 EST).
        ("America/New_York", utc(2026, 3, 8, 6, 30), utc(2026, 3, 9, 13)),
        # New York falls back on Sunday 2026-11-01: Friday 19:00 EDT → Monday 09:00 EST = 14:00 UTC.
        ("America/New_York", utc(2026, 10, 30, 23), utc(2026, 11, 2, 14)),
        # Both occurrences of the repeated 01:30 that Sunday.
        ("America/New_York", utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 14)),
        ("America/New_York", utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 14)),
        # London springs forward on Sunday 2026-03-29: Monday 09:00 BST = 08:00 UTC.
        ("Europe/London", utc(2026, 3, 28, 12), utc(2026, 3, 30, 8)),
        # London falls back on Sunday 2026-10-25: Friday 18:00 BST → Monday 09:00 GMT = 09:00 UTC.
        ("Europe/London", utc(2026, 10, 23, 17), utc(2026, 10, 26, 9)),
        # Sydney falls back on Sunday 2026-04-05: Friday 18:00 AEDT → Monday 09:00 AEST.
        ("Australia/Sydney", utc(2026, 4, 3, 7), utc(2026, 4, 5, 23)),
    ],
    ids=[
        "new-york-spring-friday",
        "new-york-spring-sunday",
        "new-york-fall-friday",
        "new-york-fall-first-0130",
        "new-york-fall-second-0130",
        "london-spring",
        "london-fall",
        "sydney-fall",
    ],
)
def test_dst_changes_keep_nine_oclock_local(tz, due, expected):
    assert next_working_time(due, tz) == expected


@pytest.mark.parametrize("tz", ["", "Mars/Olympus", "../etc/passwd"])
def test_an_empty_or_unknown_time_zone_counts_as_utc(tz):
    assert next_working_time(utc(2026, 1, 13, 22), tz) == utc(2026, 1, 14, 9)
    assert next_working_time(utc(2026, 1, 13, 12), tz) == utc(2026, 1, 13, 12)


def test_the_answer_is_utc_whatever_offset_due_was_given_in():
    due = datetime(2026, 1, 14, 4, tzinfo=timezone(timedelta(hours=2)))  # Wednesday 02:00 UTC

    answer = next_working_time(due, "Europe/London")

    assert answer == utc(2026, 1, 14, 9) and answer.tzinfo is UTC
    assert next_working_time(utc(2026, 1, 14, 10), "Asia/Tokyo").tzinfo is UTC  # Wednesday 19:00 JST


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        next_working_time(datetime(2026, 1, 14, 9), "Europe/London")


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"])
def test_every_quarter_hour_across_dst_changes_lands_on_the_earliest_working_instant(tz):
    # Six weeks spanning New York's and London's spring changes and Sydney's autumn one, in
    # quarter hours, which every one of these zones' offsets is a multiple of.
    zone = ZoneInfo(tz)
    instants = [utc(2026, 3, 1) + timedelta(minutes=15) * i for i in range(4 * 24 * 42)]

    def working(instant: datetime) -> bool:
        local = instant.astimezone(zone)
        return local.weekday() in WORKDAYS and WORKDAY_START <= local.time() < WORKDAY_END

    earliest = None  # the first working instant at or after the one being checked
    for due in reversed(instants):
        earliest = due if working(due) else earliest
        if earliest is not None:
            assert next_working_time(due, tz) == earliest, (tz, due)
