"""Launch day: a whole team starts at once, against a fake Slack enforcing Slack's real tiers (bursts allowed,
429 + Retry-After beyond) and slack-ask with its production rate settings."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from fake_slack import FakeSlack, person
from slack_requests import TEAM, SlackRequests

from slack_app.playground import payloads
from slack_app.wiring.app import REDIS_CONNECTIONS, create_app
from slack_app.wiring.server import ThreadedServer

pytestmark = pytest.mark.reliability
PEOPLE = 40
REFUSED = "Couldn't check these teammates"


def _view(call) -> dict:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_forty_first_time_askers_naming_forty_first_time_teammates_at_once(settings, redis_sync):
    fake = FakeSlack(token="xoxb-test-token", rate_window=60.0)  # Slack's own minute
    askers = [f"U3ASK{n:03d}" for n in range(PEOPLE)]
    teammates = [f"U3MATE{n:03d}" for n in range(PEOPLE)]
    for uid in askers + teammates:
        fake.users[uid] = person(uid, f"First Timer {uid[-3:]}")
    fake.start()
    server = ThreadedServer(create_app(replace(settings, slack_api_url=fake.api_url, slack_rate_window=60.0))).start()
    slack = SlackRequests(server.url, settings.signing_secret, fake)

    def first_day(n: int) -> tuple[float, int, str]:
        """One person's /ask and Send: (seconds until their modal opened, presses of Send, what the last said)."""
        asker, trigger = askers[n], f"launch.{n}.trigger"
        fields = payloads.command_fields(
            asker, "", team=TEAM, response_url=fake.response_url("cmd"), trigger_id=trigger
        )
        started = time.monotonic()
        assert slack.send_form(fields).status == 200
        opened = fake.wait_for(
            lambda: [c for c in fake.calls_to("views.open") if c.args.get("trigger_id") == trigger],
            timeout=10,
            what=f"{asker}'s modal",
        )[0]
        opened_in = opened.at - started
        view = {**_view(opened), "id": f"V3LAUNCH{n:03d}"}
        values = SlackRequests.ask_values(teammates=[teammates[n]])
        for presses in (1, 2):  # a coaching suggestion is answered by sending again
            reply = slack.send_interaction(payloads.view_submission(asker, view, values, team=TEAM))
            assert reply.status == 200
            if not reply.body:
                return opened_in, presses, ""
            if REFUSED in reply.body:
                break
        return opened_in, presses, reply.body

    try:
        with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
            outcomes = list(pool.map(first_day, range(PEOPLE)))
        fake.wait_for(lambda: all(fake.dms(uid) for uid in teammates), timeout=60, what="every card")
        fake.wait_for(lambda: all(fake.dms(uid) for uid in askers), timeout=30, what="every summary")
        fake.settle(quiet=0.5)
    finally:
        server.stop()
        fake.stop()

    opened_in = sorted(seconds for seconds, _, _ in outcomes)
    print(f"40 modals: slowest opened {opened_in[-1]:.2f} s after its /ask; 429s from Slack: {dict(fake.rate_limited)}")
    assert opened_in[-1] < 3.0, opened_in[-5:]
    assert [said for _, _, said in outcomes] == [""] * PEOPLE  # every Send taken, none refused
    assert max(presses for _, presses, _ in outcomes) == 1  # on the first press
    assert all(len(fake.dms(uid)) == 1 and "ask_accept" in fake.dms(uid)[0].action_ids() for uid in teammates)
    assert not fake.calls_to("views.open") or not fake.rate_limited.get("views.open")
    assert not fake.violations, fake.violations


def test_a_burst_right_after_a_start_finds_its_redis_connections_open(settings, fake_slack, redis_sync):
    """A started app has opened its Redis connections before anyone asks, so the first burst after a deploy
    waits for none to open (two hundred opened mid-burst put the last modal ~25 % later: BENCHMARKS.md):
    forty /ask at once open forty modals and not one Redis connection."""

    def connections_received() -> int:
        return int(redis_sync.info("stats")["total_connections_received"])

    before_start = connections_received()
    server = ThreadedServer(create_app(settings)).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        started = connections_received()
        with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
            replies = list(pool.map(lambda n: slack.slash_ask(f"U3ASK{n:03d}", f"Review PR {n}"), range(PEOPLE)))
        fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.open")) == PEOPLE, timeout=10, what="every modal")
        after_burst = connections_received()
    finally:
        server.stop()

    assert [reply.status for reply in replies] == [200] * PEOPLE
    assert started - before_start >= REDIS_CONNECTIONS
    assert after_burst == started
