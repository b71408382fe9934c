"""Exactly once and never lost at the worst moments: two carriers racing, Slack failing for a stretch,
Redis losing its data, a weekly digest polled by several instances.

Run alone with `python -m pytest -m reliability`.
"""

from __future__ import annotations

import asyncio

import pytest
from fake_slack import FakeSlack
from test_ask_flow import ASKER, HAL, HANA

from slack_app.domain.asks import Ask
from slack_app.wiring.app import create_app

pytestmark = pytest.mark.reliability


def _ask() -> Ask:
    return Ask(
        team_id="T0TEAM",
        asker=ASKER,
        text="Review pull request 7",
        scope="retry.py",
        estimate_minutes=15,
        decline_line="no_reason",
        teammates=[HAL, HANA],
    )


def notices_to_asker(fake: FakeSlack) -> list:
    """Messages in the asker's DM carrying a notice's marker (not the summary)."""
    return [message for message in fake.dms(ASKER) if (message.metadata or {}).get("event_type") == "slack_ask_post"]


def test_two_carriers_at_once_on_one_ask_post_its_notice_once(settings, fake_slack, run):
    """Two instances' routers carry out one ask at the same moment (an entry taken over from a live holder,
    an intent, a sweep): one holds the ask, the other leaves it, and the asker is told once."""
    two = [create_app(settings).services for _ in range(2)]

    async def race() -> list:
        ask = _ask()
        await two[0].store.save_ask(ask)
        assert (await two[0].router.carry_out(ask.team_id, ask.id)).done  # sent, nothing owed
        fake_slack.latency = 0.1
        fake_slack.fail("chat.postMessage", status=503)  # the first try fails; the client tries again soon
        await two[0].store.owe(
            ask.team_id, ask.id, posts={"check_in:1": {"kind": "notice", "notice": "check_in", "snoozed": False}}
        )
        outcomes = await asyncio.gather(*(services.router.carry_out(ask.team_id, ask.id) for services in two))
        for services in two:
            await services.store.redis.aclose()
        return outcomes

    outcomes = run(race())
    fake_slack.settle(quiet=0.5)

    assert len(notices_to_asker(fake_slack)) == 1
    assert sorted(outcome.busy for outcome in outcomes) == [False, True]  # one held it, one left it
