"""When an ask's timers come due: computed from data on the ask, in the asker's time zone."""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from slack_app.domain.asks import Ask
from slack_app.features.lifecycle import check_in_due, expiry_deadline, expiry_due, iso_week, thanks_reminder_due


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def ask(**fields) -> Ask:
    base = dict(
        team_id="T0TEAM",
        asker="U0ASKER",
        text="Review the retry logic",
        scope="retry.py",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=["U0HELP1"],
    )
    return Ask(**{**base, **fields})


@pytest.mark.parametrize(
    "tz, needed_by, expected",
    [
        ("Europe/London", date(2026, 11, 24), utc(2026, 11, 25, 0)),  # end of the day, GMT
        ("Asia/Tokyo", date(2026, 11, 24), utc(2026, 11, 24, 15)),  # midnight in Tokyo is 15:00 UTC
        ("America/New_York", date(2026, 11, 24), utc(2026, 11, 25, 5)),
        ("America/New_York", date(2026, 10, 31), utc(2026, 11, 1, 4)),  # still EDT at that midnight
        ("Europe/London", date(2026, 3, 28), utc(2026, 3, 29, 0)),  # the night the clocks go forward
    ],
)
def test_an_untaken_ask_expires_at_the_end_of_its_needed_by_day_where_the_asker_lives(tz, needed_by, expected):
    assert expiry_due(ask(asker_tz=tz, needed_by=needed_by)) == expected


def test_without_a_date_an_ask_expires_three_days_after_it_was_sent():
    sent = utc(2026, 11, 20, 10, 30)
    assert expiry_due(ask(created_at=sent.timestamp())) == utc(2026, 11, 23, 10, 30)


@pytest.mark.parametrize(
    "tz, taken, estimate, expected",
    [
        # a day later, inside working hours: unchanged
        ("Europe/London", utc(2026, 11, 17, 10), 30, utc(2026, 11, 18, 10)),
        # a day later is 19:00 in Tokyo (10:00 UTC): waits for Tokyo's 09:00 next morning
        ("Asia/Tokyo", utc(2026, 11, 17, 10), 30, utc(2026, 11, 19, 0)),
        # Friday afternoon in New York + 1 day = Saturday: Monday 09:00 EST
        ("America/New_York", utc(2026, 11, 20, 19), 60, utc(2026, 11, 23, 14)),
        # half a day: 8 × 4 h = 32 h, Tuesday 10:00 → Wednesday 18:00 London is after hours → Thursday 09:00
        ("Europe/London", utc(2026, 11, 17, 10), 240, utc(2026, 11, 19, 9)),
        # across New York's fall-back: Saturday 31 Oct → Monday 2 Nov 09:00 EST = 14:00 UTC
        ("America/New_York", utc(2026, 10, 30, 20), 30, utc(2026, 11, 2, 14)),
    ],
)
def test_check_in_comes_after_the_estimate_allows_and_in_working_hours(tz, taken, estimate, expected):
    assert check_in_due(ask(asker_tz=tz, taken_at=taken.timestamp(), estimate_minutes=estimate)) == expected


def test_check_in_with_a_needed_by_date_comes_the_working_morning_after():
    due = check_in_due(
        ask(asker_tz="Asia/Kolkata", needed_by=date(2026, 11, 20), taken_at=utc(2026, 11, 18).timestamp())
    )
    assert due == utc(2026, 11, 23, 3, 30)  # Friday's deadline → Monday 09:00 IST


@pytest.mark.parametrize(
    "tz, done, expected",
    [
        ("Europe/London", utc(2026, 11, 17, 15), utc(2026, 11, 18, 15)),
        ("Europe/London", utc(2026, 11, 17, 20), utc(2026, 11, 19, 9)),  # 24 h later is evening
        (
            "Australia/Sydney",
            utc(2026, 4, 3, 22),
            utc(2026, 4, 5, 23),
        ),  # Sat 09:00 AEDT +1d → Mon 09:00 AEST after DST ends
    ],
)
def test_a_forgotten_thank_you_is_suggested_a_day_later_in_working_hours(tz, done, expected):
    assert thanks_reminder_due(ask(asker_tz=tz, done_at=done.timestamp())) == expected


@pytest.mark.parametrize(
    "moment, tz, week",
    [
        (utc(2026, 11, 22, 23, 30), "UTC", "2026-W47"),  # Sunday night UTC
        (utc(2026, 11, 22, 23, 30), "Asia/Tokyo", "2026-W48"),  # already Monday in Tokyo
        (utc(2027, 1, 1, 12), "UTC", "2026-W53"),  # ISO weeks straddle the new year
    ],
)
def test_kudos_are_filed_under_the_iso_week_of_the_workspace(moment, tz, week):
    assert iso_week(moment, tz) == week


def test_timers_use_the_ask_s_data_not_the_clock_they_are_computed_on():
    taken = utc(2026, 11, 17, 10).timestamp()
    with freeze_time("2030-01-01"):
        later = check_in_due(ask(asker_tz="Europe/London", taken_at=taken))
    assert later == utc(2026, 11, 18, 10)


def test_a_reopened_ask_never_expires_the_moment_its_helper_steps_back():
    sent = utc(2026, 11, 20, 10)
    stepped_back = utc(2026, 11, 23, 9)  # an hour before it would have expired
    reopened = ask(created_at=sent.timestamp(), reopened_at=stepped_back.timestamp())

    assert expiry_deadline(ask(created_at=sent.timestamp())) == utc(2026, 11, 23, 10)
    assert expiry_deadline(reopened) == utc(2026, 11, 24, 9)  # a day's grace to find someone else
