"""Offers and availability as rules: what an offer may be, what the asker's answer does (the store's
scripts against a real Redis-protocol server), who can be asked this week — all without Bolt."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time

import pytest
from freezegun import freeze_time

from slack_app.domain import availability
from slack_app.domain.asks import Ask, Person, Status
from slack_app.domain.availability import Availability, Mode
from slack_app.domain.offers import (
    Kind,
    Offer,
    State,
    accepted_scope,
    ask_full,
    is_after_needed_by,
    later_errors,
    offer_kinds,
    smaller_errors,
    smaller_estimates,
    suggestion_error,
)
from slack_app.features.availabilities import Availabilities
from slack_app.text.i18n import ENGLISH

TEAM = "T0TEAM"
TODAY = date(2026, 12, 1)
NOW = time(12, 0)
PEOPLE = {
    "U0ASKER": Person("U0ASKER", "Ada"),
    "U0PRIYA": Person("U0PRIYA", "Priya Raman"),
    "U0BOT": Person("U0BOT", "Build Bot", is_bot=True),
    "U0GONE": Person("U0GONE", "Gone Person", deleted=True),
    "U0HAL": Person("U0HAL", "Hal"),
}


def new_ask(teammates=("U0HAL", "U0HANA"), estimate=60, decline="no_reason", needed_by=None, helpers_needed=1) -> Ask:
    return Ask(
        team_id=TEAM,
        asker="U0ASKER",
        text="Review the retry logic in PR 412",
        scope="retry.py only",
        estimate_minutes=estimate,
        decline_line=decline,
        teammates=list(teammates),
        needed_by=needed_by,
        helpers_needed=helpers_needed,
    )


# --- what an offer may be ---------------------------------------------------------------------


def test_a_later_day_must_be_picked_and_not_be_past_in_the_helpers_own_day():
    assert later_errors(None, None, TODAY, NOW, ENGLISH) == {"day": "Pick the day you could do it by."}
    assert "passed" in later_errors(date(2026, 11, 30), None, TODAY, NOW, ENGLISH)["day"]
    assert later_errors(TODAY, None, TODAY, NOW, ENGLISH) == {}
    assert later_errors(TODAY, time(15, 0), TODAY, NOW, ENGLISH) == {}
    assert "passed today" in later_errors(TODAY, time(9, 0), TODAY, NOW, ENGLISH)["time"]
    assert later_errors(date(2026, 12, 2), time(9, 0), TODAY, NOW, ENGLISH) == {}  # tomorrow morning is fine


def test_a_day_after_the_needed_by_is_allowed_and_noted():
    ask = new_ask(needed_by=date(2026, 12, 4))
    assert not is_after_needed_by(ask, date(2026, 12, 4))
    assert is_after_needed_by(ask, date(2026, 12, 5))
    assert not is_after_needed_by(new_ask(), date(2099, 1, 1))  # no needed-by: nothing is too late


def test_a_smaller_yes_is_strictly_less_than_the_ask():
    ask = new_ask(estimate=60)
    assert smaller_estimates(ask) == [5, 15, 30]
    assert smaller_errors(ask, 15, "", ENGLISH) == {}
    assert "less than the ask's 1 hour" in smaller_errors(ask, 60, "", ENGLISH)["minutes"]
    assert "minutes" in smaller_errors(ask, 120, "", ENGLISH) and "minutes" in smaller_errors(ask, None, "", ENGLISH)
    assert "one line" in smaller_errors(ask, 15, "x" * 151, ENGLISH)["note"]


def test_the_card_shows_the_invited_offer_first_and_a_smaller_yes_only_when_one_exists():
    assert offer_kinds(new_ask(decline="later")) == [Kind.LATER, Kind.SMALLER, Kind.SUGGEST]
    assert offer_kinds(new_ask(decline="redirect")) == [Kind.SUGGEST, Kind.LATER, Kind.SMALLER]
    assert offer_kinds(new_ask(decline="no_reason")) == [Kind.LATER, Kind.SMALLER, Kind.SUGGEST]
    assert offer_kinds(new_ask(estimate=5, decline="redirect")) == [Kind.SUGGEST, Kind.LATER]


@pytest.mark.parametrize(
    "suggested, wording",
    [
        (None, "Pick a teammate"),
        ("U0ASKER", "Ada is the one asking"),
        ("U0BOT", "Apps and bots can't help"),
        ("U0GONE", "no longer in the workspace"),
        ("U0NOSUCH", "no longer in the workspace"),
        ("U0HAL", "Hal already has this ask"),
    ],
)
def test_a_suggestion_follows_the_ask_modals_rules(suggested, wording):
    assert wording in suggestion_error(new_ask(), suggested, PEOPLE.get(suggested), ENGLISH)


def test_a_suggestion_respects_the_ten_person_cap():
    full = new_ask(teammates=[f"U0H{n}" for n in range(10)])
    assert suggestion_error(full, "U0PRIYA", PEOPLE["U0PRIYA"], ENGLISH) == ask_full(ENGLISH)
    assert suggestion_error(new_ask(), "U0PRIYA", PEOPLE["U0PRIYA"], ENGLISH) is None


def test_an_offer_round_trips_as_json_and_reads_well():
    offer = Offer("U0HAL", Kind.LATER, by=date(2026, 12, 4), at="15:00", after_needed_by=True)
    again = Offer.from_json("U0HAL", offer.to_json(), "D0ASKER 1.2")
    assert again.by == date(2026, 12, 4) and again.at == "15:00" and again.after_needed_by
    assert (again.notice_channel, again.notice_ts) == ("D0ASKER", "1.2") and again.state is State.WAITING
    assert again.when_label(ENGLISH) == "Fri 4 Dec, 15:00"
    smaller = Offer("U0HAL", Kind.SMALLER, State.ACCEPTED, minutes=15)
    assert accepted_scope(smaller, ENGLISH) == "15 minutes"  # what they gave, never "…, not 1 hour"
    assert accepted_scope(Offer("U0HAL", Kind.SMALLER, minutes=15), ENGLISH) == ""  # not accepted (yet)


# --- availability -------------------------------------------------------------------------------


def test_a_break_covers_every_day_through_its_last_and_then_lapses():
    on_break = availability.break_until(date(2026, 12, 8), TODAY)
    reason = availability.unavailable_reason(on_break, "Priya Raman", date(2026, 12, 8), 0, ENGLISH)
    assert reason == "Priya Raman is taking a break from asks until Tue 8 Dec — ask someone else, or after that."
    assert availability.unavailable_reason(on_break, "Priya Raman", date(2026, 12, 9), 0, ENGLISH) is None
    assert availability.break_until(date(2026, 11, 30), TODAY) is None  # a break can't end in the past


def test_a_weekly_limit_says_nothing_of_the_limit_itself():
    three = availability.weekly(3)
    assert availability.unavailable_reason(three, "Hana", TODAY, 2, ENGLISH) is None
    reason = availability.unavailable_reason(three, "Hana", TODAY, 3, ENGLISH)
    assert reason == "Hana isn't taking more asks this week — ask someone else, or next week." and "3" not in reason
    assert availability.weekly(0) is None and availability.weekly(11) is None and availability.weekly(10)


def test_availability_round_trips_and_defaults_to_open():
    assert Availability.from_json(None) == Availability(Mode.OPEN)
    setting = availability.break_until(date(2026, 12, 8), TODAY)
    assert Availability.from_json(setting.to_json()) == setting
    assert availability.describe(Availability(), TODAY, 4, ENGLISH) == "Open to asks."
    assert (
        availability.describe(availability.weekly(2), TODAY, 1, ENGLISH)
        == "At most 2 asks a week — 1 so far this week."
    )


def test_the_week_is_the_persons_own_iso_week():
    sunday_evening_utc = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # already Monday in Kolkata
    start, end = availability.week_bounds(sunday_evening_utc, "Asia/Kolkata")
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 12, 6, 18, 30, tzinfo=UTC)
    assert end - start == 7 * 24 * 3600
    start, _ = availability.week_bounds(sunday_evening_utc, "America/New_York")  # still Sunday there
    assert datetime.fromtimestamp(start, UTC) == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


# --- what the asker's answer does: the store's scripts ---------------------------------------------


def test_accepting_a_later_offer_makes_a_helper_and_moves_the_needed_by(with_store):
    ask = new_ask(needed_by=date(2026, 12, 4))

    async def work(store):
        await store.save_ask(ask)
        offered = await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.LATER, by=date(2026, 12, 6)))
        again = await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.LATER, by=date(2026, 12, 7)))
        stranger = await store.settle_offer(TEAM, ask.id, "U0HANA", "accept", "U0HAL")
        settled = await store.settle_offer(TEAM, ask.id, "U0ASKER", "accept", "U0HAL")
        twice = await store.settle_offer(TEAM, ask.id, "U0ASKER", "decline", "U0HAL")
        return offered, again, stranger, settled, twice

    offered, again, stranger, settled, twice = with_store(work)
    assert offered.outcome == "offered" and offered.offers["U0HAL"].state is State.WAITING
    assert again.outcome == "unchanged" and again.offers["U0HAL"].by == date(2026, 12, 6)  # one waits at a time
    assert stranger.outcome == "not_asker"
    assert settled.outcome == "offer_took_last"
    assert settled.ask.status is Status.TAKEN and settled.ask.helpers == ["U0HAL"]
    assert settled.ask.needed_by == date(2026, 12, 6) and settled.offers["U0HAL"].state is State.ACCEPTED
    assert twice.outcome == "unchanged"


def test_declining_an_offer_changes_nothing_but_the_offer(with_store):
    ask = new_ask()

    async def work(store):
        await store.save_ask(ask)
        await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.SMALLER, minutes=15))
        await store.record_offer_notice(TEAM, ask.id, "U0HAL", "D0ASKER", "1.2")
        return await store.settle_offer(TEAM, ask.id, "U0ASKER", "decline", "U0HAL"), await store.snapshot(TEAM, ask.id)

    settled, current = with_store(work)
    assert settled.outcome == "offer_declined" and settled.offers["U0HAL"].state is State.DECLINED
    assert current.offers["U0HAL"].state is State.DECLINED and current.offers["U0HAL"].notice_ts == "1.2"
    assert settled.ask.status is Status.OPEN and settled.ask.helpers == [] and settled.answers == {}


def test_a_suggestion_counts_as_a_pass_and_adds_the_person_once_within_the_cap(with_store):
    ask = new_ask(teammates=["U0HAL", "U0HANA"])

    async def work(store):
        await store.save_ask(ask)
        offered = await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.SUGGEST, suggested="U0PRIYA"))
        await store.offer(TEAM, ask.id, Offer("U0HANA", Kind.SUGGEST, suggested="U0PRIYA"))
        first = await store.settle_offer(
            TEAM, ask.id, "U0ASKER", "accept", "U0HAL", "", "Priya Raman already has this ask."
        )
        second = await store.settle_offer(
            TEAM, ask.id, "U0ASKER", "accept", "U0HANA", "", "Priya Raman already has this ask."
        )
        return offered, first, second

    offered, first, second = with_store(work)
    assert offered.answers["U0HAL"].value == "decline"
    assert first.outcome == "suggestion_sent" and first.ask.teammates == ["U0HAL", "U0HANA", "U0PRIYA"]
    assert (
        second.outcome == "suggestion_refused"
        and second.offers["U0HANA"].refusal == "Priya Raman already has this ask."
    )
    assert second.ask.teammates == ["U0HAL", "U0HANA", "U0PRIYA"]


def test_an_offer_on_a_covered_or_ended_ask_changes_nothing(with_store):
    covered, ended = new_ask(), new_ask()

    async def work(store):
        await store.save_ask(covered)
        await store.save_ask(ended)
        await store.answer(TEAM, covered.id, "U0HANA", "accept")
        await store.close(TEAM, ended.id, "cancelled", "U0ASKER")
        return (
            await store.offer(TEAM, covered.id, Offer("U0HAL", Kind.LATER, by=TODAY)),
            await store.offer(TEAM, ended.id, Offer("U0HAL", Kind.LATER, by=TODAY)),
        )

    on_covered, on_ended = with_store(work)
    assert on_covered.outcome == "already_covered" and on_covered.offers == {}
    assert on_ended.outcome == "closed" and on_ended.offers == {}


def test_taking_it_outright_withdraws_the_waiting_offer(with_store):
    ask = new_ask()

    async def work(store):
        await store.save_ask(ask)
        await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.LATER, by=TODAY))
        took = await store.answer(TEAM, ask.id, "U0HAL", "accept")
        return took, await store.settle_offer(TEAM, ask.id, "U0ASKER", "accept", "U0HAL")

    took, settled = with_store(work)
    assert took.outcome == "took_last" and took.offers["U0HAL"].state is State.WITHDRAWN
    assert settled.outcome == "unchanged" and settled.ask.helpers == ["U0HAL"]


def test_an_accepted_offer_racing_a_take_it_for_the_last_slot_has_one_winner_in_fifty_trials(with_store):
    async def work(store):
        outcomes = []
        for _ in range(50):
            ask = new_ask(teammates=["U0HAL", "U0HANA"])
            await store.save_ask(ask)
            await store.offer(TEAM, ask.id, Offer("U0HAL", Kind.SMALLER, minutes=15))
            settled, took = await asyncio.gather(
                store.settle_offer(TEAM, ask.id, "U0ASKER", "accept", "U0HAL"),
                store.answer(TEAM, ask.id, "U0HANA", "accept"),
            )
            final = await store.snapshot(TEAM, ask.id)
            assert len(final.ask.helpers) == 1 and final.ask.status is Status.TAKEN
            assert {settled.outcome, took.outcome} in (
                {"offer_took_last", "already_covered"},
                {"offer_lapsed", "took_last"},
            )
            outcomes.append(settled.outcome)
        return outcomes

    assert set(with_store(work)) <= {"offer_took_last", "offer_lapsed"}


def test_cards_received_are_counted_in_each_persons_own_week(with_store):
    ask = new_ask(teammates=["U0PRIYA"])
    ask.created_at = datetime(2026, 12, 6, 19, 0, tzinfo=UTC).timestamp()  # Monday 00:30 in Kolkata

    async def work(store):
        await store.save_ask(ask)
        monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
        return await store.cards_received(
            TEAM, {"U0PRIYA": availability.week_bounds(monday, "Asia/Kolkata")}
        ), await store.cards_received(TEAM, {"U0PRIYA": availability.week_bounds(monday, "Europe/London")})

    kolkata, london = with_store(work)
    assert kolkata == {"U0PRIYA": 1}  # her new week
    assert london == {"U0PRIYA": 0}  # it was still last week's Sunday in London


def test_the_weekly_limit_turns_over_at_each_persons_own_midnight_on_monday(with_store):
    """Hana lives in Tokyo, Hal in New York; each may have one card a week. Both got one on Sunday
    6 Dec 2026 at 14:00 UTC (Sunday 23:00 in Tokyo, 09:00 in New York). Two hours later it is Monday
    in Tokyo, so Hana can be asked again; in New York it is still Sunday, so Hal can't."""
    people = {
        "U0HANA": Person("U0HANA", "Hana", tz="Asia/Tokyo"),
        "U0HAL": Person("U0HAL", "Hal", tz="America/New_York"),
    }

    async def work(store):
        checker = Availabilities(store, people=None)
        for uid in people:
            await store.set_availability(TEAM, uid, availability.weekly(1))
        with freeze_time(datetime(2026, 12, 6, 14, 0, tzinfo=UTC), real_asyncio=True) as clock:
            before = await checker.unavailable(TEAM, people, ENGLISH)
            await store.save_ask(new_ask(teammates=["U0HANA", "U0HAL"]))
            sunday = await checker.unavailable(TEAM, people, ENGLISH)
            clock.move_to(datetime(2026, 12, 6, 16, 0, tzinfo=UTC))
            later = await checker.unavailable(TEAM, people, ENGLISH)
            clock.move_to(datetime(2026, 12, 7, 5, 0, tzinfo=UTC))  # Monday 00:00 in New York
            monday = await checker.unavailable(TEAM, people, ENGLISH)
        return before, sunday, later, monday

    before, sunday, later, monday = with_store(work)
    assert before == {}
    assert set(sunday) == {"U0HANA", "U0HAL"} and "isn't taking more asks this week" in sunday["U0HANA"]
    assert set(later) == {"U0HAL"}
    assert monday == {}
