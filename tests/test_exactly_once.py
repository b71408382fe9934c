"""Exactly once and never lost at the worst moments: two carriers racing, Slack failing for a stretch,
Redis losing its data, a weekly digest polled by several instances.

Run alone with `python -m pytest -m reliability`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import redis
from fake_slack import FakeSlack
from redis.asyncio import Redis as AsyncRedis
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, HUGO, send_ask, stored_ask
from test_cli import clean_env, kill, start_instance
from test_effects import TEN, _asks_sent, owed_nothing, told_someone_is_on_it
from test_offer_flow import PRIYA, offer, offer_dm

from slack_app.domain.asks import Ask
from slack_app.domain.offers import Kind, Offer
from slack_app.features import digests as digests_module
from slack_app.observability import REGISTRY
from slack_app.slack.effects import GROUP, STREAMS, Carried, EffectQueue
from slack_app.store.store import (
    EFFECT_SHARDS,
    answers_key,
    effect_shard,
    effect_stream_key,
    offers_key,
    owed_key,
)
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

pytestmark = pytest.mark.reliability


def effects_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("slack_ask_effects_total", {"outcome": outcome}) or 0.0


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


@pytest.mark.parametrize("where", ["one server", "a cluster"])
def test_two_carriers_at_once_on_one_ask_post_its_notice_once(settings, fake_slack, run, request, where):
    """Two instances' routers carry out one ask at the same moment (an entry taken over from a live holder,
    an intent, a sweep): one holds the ask, the other leaves it, and the asker is told once. (Before the
    ask's lease: the first post failed once and was retried by the client while the second carrier searched
    the DM, found nothing and posted too: two notices.)"""
    if where == "a cluster":
        settings = replace(settings, redis_url=request.getfixturevalue("cluster_url"), redis_cluster=True)
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


# --- a Slack incident: 503 with an HTML page for a stretch ------------------------------------------------

INCIDENT_SECONDS = 4.0  # issue 23 measured 20 s; the backoff is scaled with EFFECT_RETRY_SECONDS=1


def test_twenty_accepts_during_a_slack_incident_each_tell_their_asker_once_afterwards(
    settings, fake_slack, redis_sync, run
):
    server = ThreadedServer(create_app(replace(settings, effect_retry_seconds=1.0))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        asks = run(_asks_sent(settings.redis_url, 20))
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="every ask sent")
        cards = {card.metadata["event_payload"]["ask_id"]: card for card in fake_slack.dms(HAL)}
        fake_slack.outage("chat.postMessage", "chat.update", seconds=INCIDENT_SECONDS)
        started = time.monotonic()
        for ask in asks:
            assert slack.click(HAL, cards[ask.id], "ask_accept").status == 200
        accepted_in = time.monotonic() - started
        fake_slack.wait_for(lambda: told_someone_is_on_it(fake_slack) >= 20, timeout=60, what="every asker told")
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="nothing owed")
        fake_slack.settle(quiet=1.0)
        health = json.loads(urllib.request.urlopen(server.url + "/healthz").read())
    finally:
        server.stop()

    assert accepted_in < INCIDENT_SECONDS  # every accept came during the incident
    assert told_someone_is_on_it(fake_slack) == 20  # each asker told once: none lost, none twice
    assert all("You're on it" in card.all_text for card in fake_slack.dms(HAL))  # cards updated in place
    assert len(fake_slack.dms(HAL)) == 20
    assert health["effects"] == {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0}


# --- past the limit: a dead letter, listed, retried, dropped ------------------------------------------------


def cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = clean_env(
        SLACK_BOT_TOKEN=settings.bot_token,
        SLACK_SIGNING_SECRET=settings.signing_secret,
        REDIS_URL=settings.redis_url,
        SLACK_API_URL=settings.slack_api_url,
    )
    return subprocess.run(
        [sys.executable, "-m", "slack_app.cli", "effects", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_effects_out_of_tries_become_a_dead_letter_shown_on_healthz_and_metrics_then_retried_or_dropped(
    settings, fake_slack, redis_sync
):
    quick = replace(settings, effect_retry_seconds=0.5, effect_max_attempts=3)
    server = ThreadedServer(create_app(quick)).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        send_ask(slack, fake_slack, teammates=[HAL])
        ask = stored_ask(redis_sync)
        fake_slack.outage(  # as Slack words it, HTTP 200: each try fails at once, not after the client's own retries
            "chat.postMessage",
            seconds=600,
            status=200,
            body='{"ok": false, "error": "service_unavailable"}',
            content_type="application/json",
        )
        for n in (1, 2):
            notice = {"kind": "notice", "notice": "check_in", "snoozed": False}
            server.call(server.app.services.store.owe(ask["team_id"], ask["id"], posts={f"check_in:{n}": notice}))
            fake_slack.wait_for(
                lambda n=n: (
                    json.loads(urllib.request.urlopen(server.url + "/healthz").read())["effects"]["dead_letters"] == 1
                ),
                timeout=30,
                what="the dead letter",
            )
            listed = cli(quick, "list")
            letter = listed.stdout.split()[0]
            if n == 1:
                dropped = cli(quick, "drop", letter)
            else:
                metrics = urllib.request.urlopen(server.metrics_url + "/metrics").read().decode()
                fake_slack.end_outages()
                retried = cli(quick, "retry", "--all")
                fake_slack.wait_for(lambda: notices_to_asker(fake_slack), timeout=10, what="the notice, retried")
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=10, what="nothing owed")
        fake_slack.settle(quiet=1.0)
        after = json.loads(urllib.request.urlopen(server.url + "/healthz").read())
    finally:
        server.stop()

    assert listed.returncode == 0 and ask["id"] in listed.stdout and "3 tries" in listed.stdout
    assert "service_unavailable" in listed.stdout and "1 dead letter." in listed.stdout
    assert dropped.returncode == 0 and "1 dead letter dropped" in dropped.stdout
    assert "slack_ask_effects_dead 1.0" in metrics
    assert retried.returncode == 0 and "1 dead letter back in the queue" in retried.stdout
    assert [m.metadata["event_payload"]["post"] for m in notices_to_asker(fake_slack)] == ["post:check_in:2"]
    assert after["effects"]["dead_letters"] == 0
    assert cli(quick, "drop", "3:1-0").returncode == 2  # no such letter: said so


@pytest.mark.parametrize("content_type", ["text/html", "application/json"])
def test_an_html_503_is_counted_by_status_and_its_effect_tried_again(settings, fake_slack, redis_sync, content_type):
    """Slack's edge answers an incident with an HTML page, whatever its content type says: the metrics line
    names the status, and the notice goes out once Slack is back."""
    server = ThreadedServer(create_app(replace(settings, effect_retry_seconds=0.5))).start()
    try:
        send_ask(SlackRequests(server.url, settings.signing_secret, fake_slack), fake_slack, teammates=[HAL])
        ask = stored_ask(redis_sync)
        fake_slack.outage(
            "chat.postMessage", seconds=5.0, content_type=content_type
        )  # past the client's own retries (at most ~3.5 s with their jitter)
        notice = {"kind": "notice", "notice": "check_in", "snoozed": False}
        server.call(server.app.services.store.owe(ask["team_id"], ask["id"], posts={"check_in:1": notice}))
        fake_slack.wait_for(lambda: notices_to_asker(fake_slack), timeout=20, what="the notice, after the incident")
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=10, what="nothing owed")
        fake_slack.settle(quiet=0.5)
        metrics = urllib.request.urlopen(server.metrics_url + "/metrics").read().decode()
    finally:
        server.stop()

    assert len(notices_to_asker(fake_slack)) == 1
    assert 'slack_ask_slack_api_errors_total{error="http_503",method="chat.postMessage"}' in metrics


# --- the weekly digest: once per workspace and week, whatever the pass's length ---------------------------


@pytest.mark.parametrize(
    "workspaces, post_seconds",
    [(60, 0.02), (16, 0.5)],
    ids=["a pass longer than a lease", "each post longer than a lease"],
)
def test_two_instances_posting_digests_for_many_workspaces_post_each_once_however_long_a_pass_takes(
    settings, fake_slack, run, monkeypatch, workspaces, post_seconds
):
    """Issue 23 reproduced it at full scale (1,000 workspaces, 2 instances, a 120 s lease: 39 digests twice);
    here the lease is 0.2 s and a pass over 60 workspaces takes longer than that. And a post that takes longer
    than its lease (a busy machine, a slow Slack) keeps its claim: renewed while it is made. (Before: the
    other instance took the lapsed claim and posted too — seen in the suite run beside the ten-minute chaos.)"""
    monkeypatch.setattr(digests_module, "POST_LEASE_SECONDS", 0.2)
    teams = [f"T0DIGEST{n:02d}" for n in range(workspaces)]
    two = [create_app(settings).services for _ in range(2)]
    fake_slack.latency = 0.02
    fake_slack.latency_of["chat.postMessage"] = post_seconds
    today = datetime.now(UTC).weekday()

    async def both_polling() -> None:
        for team_id in teams:
            for name, value in {
                "digest_channel": f"C0{team_id}",
                "digest_day": str(today),
                "digest_time": "00:00",
            }.items():
                await two[0].store.save_workspace_setting(team_id, name, value)
        await two[0].digests.track(*teams)

        async def poll(services, until: float) -> None:
            while time.monotonic() < until:
                await services.digests.post_due()
                await asyncio.sleep(0.02)

        until = time.monotonic() + 3.0
        await asyncio.gather(*(poll(services, until) for services in two))
        for services in two:
            await services.store.redis.aclose()

    run(both_polling())
    fake_slack.settle(quiet=0.3)

    posts = Counter(call.args["channel"] for call in fake_slack.calls_to("chat.postMessage"))
    assert posts == {f"C0{team_id}": 1 for team_id in teams}  # every workspace's digest, each once


# --- self-healing ----------------------------------------------------------------------------------------


def consumers(redis_sync) -> set[str]:
    return {c["name"] for stream in STREAMS for c in redis_sync.xinfo_consumers(stream, GROUP)}


def every_key(db, pattern: str) -> list[str]:
    return (
        db.keys(pattern, target_nodes=redis.RedisCluster.PRIMARIES)
        if isinstance(db, redis.RedisCluster)
        else db.keys(pattern)
    )


def owes_nothing(db) -> bool:
    return not every_key(db, "{T0TEAM:ask:*}:owed") and not sum(db.xlen(stream) for stream in STREAMS)


@pytest.mark.parametrize("where", ["one server", "a cluster"])
def test_after_redis_loses_its_data_the_queue_mends_itself_and_sweeps_up_what_is_owed(
    settings, fake_slack, redis_sync, request, where
):
    quick = replace(settings, effect_retry_seconds=0.3, effect_sweep_seconds=0.5)
    db = redis_sync
    if where == "a cluster":
        quick = replace(quick, redis_url=request.getfixturevalue("cluster_url"), redis_cluster=True)
        db = redis.RedisCluster.from_url(quick.redis_url, decode_responses=True)
    swept_before = effects_counted("swept")
    server = ThreadedServer(create_app(quick)).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        send_ask(slack, fake_slack, teammates=[HAL])
        fake_slack.wait_for(lambda: owes_nothing(db), what="the first ask sent")
        # Redis restarted without its data, or failed over to an empty replica:
        db.flushall(**({"target_nodes": redis.RedisCluster.PRIMARIES} if db is not redis_sync else {}))
        send_ask(slack, fake_slack, teammates=[HANA])  # its entry lands in a stream with no group: NOGROUP, mended
        fake_slack.wait_for(lambda: owes_nothing(db), what="the second ask sent")
        [ask_key] = [key for key in every_key(db, "{T0TEAM:ask:*}") if key.endswith("}")]  # (the only one left)
        team_id, ask_id = ask_key[1:-1].split(":ask:")
        # What a change owes with its queue entry lost (a Cluster's shard failed over without it):
        notice = {"kind": "notice", "notice": "check_in", "snoozed": False}
        db.hset(owed_key(team_id, ask_id), "post:check_in:1", json.dumps(notice))
        fake_slack.wait_for(lambda: notices_to_asker(fake_slack), timeout=15, what="the owed notice, swept up")
        fake_slack.wait_for(lambda: owes_nothing(db), timeout=10, what="nothing owed")
        # A consumer long gone and holding nothing (a process that stopped) is deleted:
        db.xreadgroup(GROUP, "gone-consumer", {effect_stream_key(0): ">"}, count=1)
        assert "gone-consumer" in consumers(db)
        fake_slack.wait_for(lambda: "gone-consumer" not in consumers(db), timeout=15, what="the gone consumer deleted")
        still_reading = consumers(db)
        fake_slack.settle(quiet=0.5)
    finally:
        server.stop()
        if db is not redis_sync:
            db.close()

    assert len(notices_to_asker(fake_slack)) == 1
    assert [len(fake_slack.dms(uid)) for uid in (HAL, HANA)] == [1, 1]
    assert still_reading  # the live consumers stay
    assert effects_counted("swept") - swept_before == 1


def test_an_entry_naming_no_ask_is_dropped_and_its_shard_still_read(settings, fake_slack, redis_sync):
    server = ThreadedServer(create_app(settings)).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        for shard in range(EFFECT_SHARDS):
            redis_sync.xadd(effect_stream_key(shard), {"junk": "1"})  # not an entry this app wrote
        cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
        assert slack.click(HAL, cards[HAL], "ask_accept").status == 200
        fake_slack.wait_for(lambda: told_someone_is_on_it(fake_slack) == 1, what="the asker told")
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), what="nothing owed, the junk gone")
    finally:
        server.stop()


def test_a_busy_workspace_never_holds_up_another_and_a_turn_waited_for_holds_no_slot(redis_url, run):
    """One workspace's 60 asks each take a second (Slack slow for it); another's 5 asks, queued after, start at
    once. An ask waiting 0.5 s for its rate-budget turn is put back: its workspace's one slot serves another
    ask meanwhile."""

    async def scenario() -> dict:
        redis = AsyncRedis.from_url(redis_url, decode_responses=True)
        started: dict[str, float] = {}
        busy_now, busy_most, turns = [0], [0], Counter()

        async def carry_out(team_id: str, ask_id: str) -> Carried:
            started[ask_id] = time.monotonic()
            if team_id == "T0BUSY":
                busy_now[0] += 1
                busy_most[0] = max(busy_most[0], busy_now[0])
                await asyncio.sleep(1.0)
                busy_now[0] -= 1
            if ask_id == "WAITS" and not turns[ask_id]:
                turns[ask_id] += 1
                return Carried(turn_in=0.5)
            return Carried(done=True)

        async def queued(team_id: str, ask_id: str) -> None:
            await redis.xadd(effect_stream_key(effect_shard(team_id, ask_id)), {"team": team_id, "ask": ask_id})

        async def wait_until(condition, seconds: float = 10.0) -> None:
            deadline = time.monotonic() + seconds
            while not condition() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)

        outcome = {}
        stop = asyncio.Event()
        queue = EffectQueue(redis, carry_out, retry_seconds=1.0, in_flight=16, per_workspace=4)
        running = asyncio.create_task(queue.run(stop, 1.0, requests=None))
        await asyncio.sleep(0.2)
        for n in range(60):
            await queued("T0BUSY", f"B{n}")
        await asyncio.sleep(0.3)
        queued_at = time.monotonic()
        for n in range(5):
            await queued("T0QUIET", f"Q{n}")
        await wait_until(lambda: all(f"Q{n}" in started for n in range(5)))
        outcome["quiet_waited"] = max(started[f"Q{n}"] for n in range(5)) - queued_at
        outcome["busy_most"] = busy_most[0]
        stop.set()
        await running

        await redis.delete(*STREAMS)  # the busy workspace's leftovers gone
        one_slot = EffectQueue(redis, carry_out, retry_seconds=1.0, per_workspace=1)  # one ask of a workspace at once
        stop = asyncio.Event()
        running = asyncio.create_task(one_slot.run(stop, 1.0, requests=None))
        await asyncio.sleep(0.2)
        await queued("T0QUIET", "WAITS")
        await wait_until(lambda: "WAITS" in started)
        first_try = started["WAITS"]
        await queued("T0QUIET", "MEANWHILE")
        await wait_until(lambda: "MEANWHILE" in started and started["WAITS"] > first_try)
        outcome["meanwhile_after"] = started["MEANWHILE"] - first_try
        outcome["retried_after"] = started["WAITS"] - first_try
        stop.set()
        await running
        await redis.aclose()
        return outcome

    outcome = run(scenario())
    assert outcome["quiet_waited"] < 0.5, outcome  # not behind the busy workspace's second-long asks
    assert outcome["busy_most"] == 4, outcome  # the busy workspace kept to its cap
    assert outcome["meanwhile_after"] < 0.4 <= outcome["retried_after"] < 2.0, outcome


def test_a_carrier_stuck_on_what_never_answers_is_cut_off_logged_and_its_ask_carried_out_again(redis_url, run, caplog):
    """A carrier awaiting something that will never answer (a cancel swallowed inside a library, a future
    nobody resolves) would hold its ask, renewing its lease, for good: after 30 retry periods it is cut off,
    where it was stuck is logged, and the ask is carried out on its next try."""

    async def scenario() -> list[str]:
        redis = AsyncRedis.from_url(redis_url, decode_responses=True)
        tries: list[str] = []

        async def never_answers() -> None:
            await asyncio.Event().wait()

        async def carry_out(team_id: str, ask_id: str) -> Carried:
            tries.append(ask_id)
            if len(tries) == 1:
                await never_answers()
            return Carried(done=True)

        stop = asyncio.Event()
        queue = EffectQueue(redis, carry_out, retry_seconds=0.05)
        running = asyncio.create_task(queue.run(stop, 1.0, requests=None))
        await redis.xadd(effect_stream_key(effect_shard("T0TEAM", "STUCK")), {"team": "T0TEAM", "ask": "STUCK"})
        deadline = time.monotonic() + 20
        while (len(tries) < 2 or (await queue.backlog())[0]) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await running
        await redis.aclose()
        return tries

    with caplog.at_level("ERROR", logger="slack_app.slack.effects"):
        tries = run(scenario())

    assert tries == ["STUCK", "STUCK"]
    [cut_off] = [r for r in caplog.records if "took far too long" in r.getMessage()]
    assert cut_off.ask == "STUCK" and "never_answers" in cut_off.stack


# --- a rolling deploy: an instance stopped mid-fan-out keeps its work through its grace period --------------


def test_an_instance_stopped_mid_fan_out_finishes_it_and_nobody_sends_a_card_twice(tmp_path, settings, redis_sync):
    """Cards take Slack 3 s to post, a search of the DM 0.2 s: an instance that took over the fan-out while the
    stopping one still works would search, find nothing yet, and send every card again."""
    slow = FakeSlack(token="xoxb-test-token", latency=0.1).start()
    slow.latency_of["chat.postMessage"] = 3.0
    first, slack = start_instance(tmp_path, settings.redis_url, slow)  # takes over idle entries after a second
    second = None
    try:
        assert slack.submit_ask(ASKER, teammates=TEN).status == 200
        slow.wait_for(lambda: len(slow.calls_to("chat.postMessage")) >= 2, what="the fan-out under way")
        second = ThreadedServer(
            create_app(replace(settings, slack_api_url=slow.api_url, effect_retry_seconds=1.0))
        ).start()
        first.send_signal(signal.SIGTERM)  # a deploy: the first stops taking work and finishes what it has
        slow.wait_for(lambda: all(slow.dms(uid) for uid in TEN), timeout=60, what="every card")
        slow.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="nothing owed")
        slow.settle(quiet=2.0)  # longer than a takeover would take
        first.wait(30)
    finally:
        first.kill()
        if second is not None:
            second.stop()
        slow.stop()

    assert [len(slow.dms(uid)) for uid in TEN] == [1] * 10
    assert len(slow.dms(ASKER)) == 1  # the summary, once


# --- the rate budget's turn: work put back, not slept on ------------------------------------------------------


def test_effects_waiting_for_their_rate_budget_turn_are_put_back_and_all_end_final(settings, redis_sync):
    limited = FakeSlack(token="xoxb-test-token", rate_window=2.0).start()  # Slack's minute, made two seconds
    server = ThreadedServer(create_app(replace(settings, slack_api_url=limited.api_url, slack_rate_window=2.0))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, limited)
        for _ in range(10):
            assert slack.submit_ask(ASKER, teammates=TEN).status == 200
        limited.wait_for(lambda: all(len(limited.dms(uid)) == 10 for uid in TEN), timeout=60, what="every card")
        limited.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="every card recorded")
        put_back_before, dead_before = effects_counted("later"), effects_counted("dead")
        for card in limited.dms(HAL):
            assert slack.click(HAL, card, "ask_accept").status == 200
        limited.wait_for(lambda: owed_nothing(redis_sync), timeout=60, what="every effect carried out")
        limited.settle(quiet=0.5)
        put_back, dead = effects_counted("later") - put_back_before, effects_counted("dead") - dead_before
    finally:
        server.stop()
        limited.stop()

    assert put_back > 0  # chat.update's Tier 3 in a two-second minute: turns further off were put back
    assert all("You're on it" in card.all_text for card in limited.dms(HAL))
    assert all(f"Covered by <@{HAL}>" in card.all_text for uid in TEN[1:] for card in limited.dms(uid))
    assert told_someone_is_on_it(limited) == 10
    assert dead == 0
    assert not limited.calls_to("conversations.history")  # a post put back never went out: no DM searched for it


# --- killed with posts on their way ----------------------------------------------------------------------------


def test_an_instance_killed_with_cards_on_their_way_is_followed_only_once_they_could_have_landed(
    tmp_path, settings, redis_sync
):
    """Slack takes 3 s to act on a post and goes on with it when its sender dies (as it does): the successor
    may look for those cards only once they could have landed, or it sends them again."""
    slow = FakeSlack(token="xoxb-test-token", latency=0.1).start()
    slow.latency_of["chat.postMessage"] = 3.0
    timeouts = {"SLACK_API_TIMEOUT": "3.5"}  # a post's lease stretched to 3.5 s + 1 s
    first, slack = start_instance(tmp_path, settings.redis_url, slow, **timeouts)
    second = None
    try:
        assert slack.submit_ask(ASKER, teammates=TEN).status == 200
        slow.wait_for(lambda: len(slow.calls_to("chat.postMessage")) >= 3, what="cards on their way")
        kill(first)
        second = ThreadedServer(
            create_app(replace(settings, slack_api_url=slow.api_url, effect_retry_seconds=1.0, slack_timeout=3.5))
        ).start()
        slow.wait_for(lambda: all(slow.dms(uid) for uid in TEN), timeout=60, what="every card")
        slow.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="nothing owed")
        slow.settle(quiet=1.0)
    finally:
        first.kill()
        if second is not None:
            second.stop()
        slow.stop()

    assert [len(slow.dms(uid)) for uid in TEN] == [1] * 10
    assert len(slow.dms(ASKER)) == 1  # the summary, once


def test_an_update_on_its_way_when_its_sender_dies_is_never_drawn_over_by_an_older_state(
    tmp_path, settings, redis_sync
):
    """Hal passes on the ask; Slack takes 3 s to act on the update of his card, and goes on with it when its
    sender is killed. Hal then takes his pass back through another instance, whose own updates are quick: it
    may draw the card only once the dead one's update could have landed, or that lands last and the card
    shows the pass on an ask Hal can take again. (Before: an update's lease was not stretched, as a post's
    was; found by the ten-minute chaos run.)"""
    slow = FakeSlack(token="xoxb-test-token", latency=0.05).start()
    first, slack = start_instance(tmp_path, settings.redis_url, slow, SLACK_API_TIMEOUT="3.5")
    second = None
    try:
        cards = send_ask(slack, slow, teammates=[HAL, HANA])
        slow.latency_of["chat.update"] = 3.0
        slack.react(HAL, cards[HAL], "x")
        slow.wait_for(lambda: slow.calls_to("chat.update"), what="the update on its way")
        kill(first)
        slow.latency_of["chat.update"] = 0.05
        second = ThreadedServer(
            create_app(replace(settings, slack_api_url=slow.api_url, effect_retry_seconds=1.0, slack_timeout=3.5))
        ).start()
        SlackRequests(second.url, settings.signing_secret, slow).react(HAL, cards[HAL], "x", removed=True)
        slow.wait_for(lambda: not redis_sync.hgetall(answers_key("T0TEAM", stored_ask(redis_sync)["id"])), what="back")
        slow.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="nothing owed")
        slow.settle(quiet=4.0)  # past any update still on its way
    finally:
        first.kill()
        if second is not None:
            second.stop()
        slow.stop()

    assert "ask_accept" in slow.dms(HAL)[0].action_ids(), slow.dms(HAL)[0].all_text


# --- a claim left pending: a post answered late, or its sender killed right after it --------------------------

QUICK_TIMEOUTS = {"slack_timeout": 0.5, "effect_retry_seconds": 0.5}  # a late answer, a lapsed lease: in a second


async def carried_out_until_done(services, ask: Ask, ceiling: float = 30.0) -> None:
    """As the effect queue would: the ask carried out again (once its lease lapsed) until it owes nothing."""
    deadline = time.monotonic() + ceiling
    while not (await services.router.carry_out(ask.team_id, ask.id)).done:
        assert time.monotonic() < deadline, "the ask still owed something"
        await asyncio.sleep(0.1)


def test_a_summary_and_card_answered_late_then_the_ask_cancelled_show_it_cancelled_once_each(settings, fake_slack, run):
    """The summary and card reach Slack but their answers come after the app gave up (their claims stay
    pending), and the asker cancels meanwhile: the next holder finds both, records them and draws them
    cancelled. (Before: an ask no longer live was not looked at, and both kept showing it open.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = replace(_ask(), teammates=[HAL])

    async def late_then_cancelled() -> None:
        await services.store.save_ask(ask)
        fake_slack.fail("chat.postMessage", status=0, times=2, retry_after=1)  # carried out, answered late
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done
        assert (await services.store.close(ask.team_id, ask.id, "cancelled", ASKER)).outcome == "cancelled"
        await carried_out_until_done(services, ask)
        await services.store.redis.aclose()

    run(late_then_cancelled())
    fake_slack.settle(quiet=0.5)

    [summary], [card] = fake_slack.dms(ASKER), fake_slack.dms(HAL)
    assert "Cancelled" in summary.all_text and "ask_cancel" not in summary.action_ids()
    assert "No longer needed" in card.all_text and "ask_accept" not in card.action_ids()


def test_a_summary_first_sent_after_an_offer_arrived_shows_the_offer(settings, fake_slack, run):
    """Slack refuses every post while the ask is routed, and Hal offers a smaller yes before Slack is back (the
    offer's own redraw of the summary finds none to redraw). The summary sent once Slack is back shows Hal's
    offer waiting for an answer. (Before: a summary's first send drew no offers, so this one never showed it;
    found by the ten-minute chaos run.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = replace(_ask(), teammates=[HAL])

    async def offered_before_the_summary_went_out() -> None:
        await services.store.save_ask(ask)
        fake_slack.outage("chat.postMessage", seconds=60)
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done
        assert (
            await services.store.offer(ask.team_id, ask.id, Offer(HAL, Kind.SMALLER, minutes=5))
        ).outcome == "offered"
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done  # the offer's effects, Slack still down
        fake_slack.end_outages()
        await carried_out_until_done(services, ask)
        await services.store.redis.aclose()

    run(offered_before_the_summary_went_out())
    fake_slack.settle(quiet=0.5)

    [summary] = [m for m in fake_slack.dms(ASKER) if m.metadata["event_type"] == "slack_ask_summary"]
    assert f"<@{HAL}> can give 5 minutes" in summary.all_text and "waiting for your answer" in summary.all_text


def test_a_card_answered_late_is_found_however_busy_its_dm_has_been_since(settings, fake_slack, run):
    """The summary and card reach Slack unanswered, then 300 more messages land in each DM before the next
    holder looks (a long Slack incident on a busy workspace): both are still found, by paging through the
    DM since the ask was made, and drawn cancelled, never sent again. (Before: only the newest 50 messages
    were searched, so both were sent a second time.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = replace(_ask(), teammates=[HAL], created_at=time.time())

    async def late_then_buried() -> None:
        await services.store.save_ask(ask)
        fake_slack.fail("chat.postMessage", status=0, times=2, retry_after=1)  # carried out, answered late
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done
        for n in range(300):
            for user in (ASKER, HAL):
                fake_slack.say("U0SLACKASK", fake_slack.dm_channel(user), f"another message {n}")
        assert (await services.store.close(ask.team_id, ask.id, "cancelled", ASKER)).outcome == "cancelled"
        await carried_out_until_done(services, ask)
        await services.store.redis.aclose()

    run(late_then_buried())
    fake_slack.settle(quiet=0.5)

    [summary] = [m for m in fake_slack.dms(ASKER) if m.metadata]
    [card] = [m for m in fake_slack.dms(HAL) if m.metadata]
    assert "Cancelled" in summary.all_text and "ask_cancel" not in summary.action_ids()
    assert "No longer needed" in card.all_text and "ask_accept" not in card.action_ids()
    assert len(fake_slack.calls_to("conversations.history")) >= 2 * 2  # two pages in each DM


def test_cards_answered_late_are_redrawn_with_what_changed_while_they_were_on_their_way(settings, fake_slack, run):
    """Both cards reach Slack unanswered; Hana takes the ask before either is recorded. Found in the DMs, each
    is brought to the ask as it now stands. (Before: recorded as posted, Hal's card still offered the ask.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = _ask()

    async def late_then_taken() -> None:
        await services.store.save_ask(ask)
        fake_slack.fail("chat.postMessage", status=0, times=3, retry_after=1)  # the summary and both cards
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done
        await services.store.answer(ask.team_id, ask.id, HANA, "accept")
        await carried_out_until_done(services, ask)
        await services.store.redis.aclose()

    run(late_then_taken())
    fake_slack.settle(quiet=0.5)

    [summary] = [m for m in fake_slack.dms(ASKER) if m.metadata["event_type"] == "slack_ask_summary"]
    [hal], [hana] = fake_slack.dms(HAL), fake_slack.dms(HANA)
    assert f"Covered by <@{HANA}>" in hal.all_text and "ask_accept" not in hal.action_ids()
    assert "You're on it" in hana.all_text
    assert f"<@{HANA}>" in summary.all_text


def test_an_offer_dm_answered_late_then_the_ask_cancelled_shows_the_offer_lapsed(settings, fake_slack, run):
    """Hal's offer reaches the asker's DM but its answer comes too late; the asker cancels the ask before the
    DM is recorded, so its redraw finds nothing to redraw. Found in the DM, it is redrawn: no answer buttons
    are left on a cancelled ask. (Before: recorded as posted, and still answerable.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = _ask()

    async def late_then_cancelled() -> None:
        await services.store.save_ask(ask)
        await carried_out_until_done(services, ask)
        snapshot = await services.store.offer(ask.team_id, ask.id, Offer(HAL, Kind.SMALLER, minutes=5))
        assert snapshot.outcome == "offered"
        fake_slack.fail("chat.postMessage", status=0, retry_after=1)  # the offer DM: carried out, answered late
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done
        assert (await services.store.close(ask.team_id, ask.id, "cancelled", ASKER)).outcome == "cancelled"
        await carried_out_until_done(services, ask)
        await services.store.redis.aclose()

    run(late_then_cancelled())
    fake_slack.settle(quiet=0.5)

    summary, offer_dm = fake_slack.dms(ASKER)  # each once
    assert "Cancelled" in summary.all_text
    assert "offer_accept" not in offer_dm.action_ids(), offer_dm.all_text


def test_an_offer_dm_recorded_as_posted_but_not_on_its_offer_is_redrawn_once_the_ask_moved_on(
    settings, fake_slack, run
):
    """Hal's offer DM went out and its post was recorded, but its holder died before noting it on the offer; the
    asker cancels meanwhile, so the cancel's redraw finds no DM to redraw. The next holder notes it and owes it a
    redraw: no answer buttons are left on a cancelled ask. (Before: noted as it was sent, still answerable;
    found by the ten-minute chaos run.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = _ask()

    async def noted_late_then_cancelled() -> None:
        store = services.store
        await store.save_ask(ask)
        await carried_out_until_done(services, ask)
        assert (await store.offer(ask.team_id, ask.id, Offer(HAL, Kind.SMALLER, minutes=5))).outcome == "offered"
        await carried_out_until_done(services, ask)
        [post_id] = [post for post in await store.posts_of(ask.team_id, ask.id) if "offer_notice" in post]
        await store.redis.hdel(offers_key(ask.team_id, ask.id), f"{HAL} notice")  # killed before noting it
        await store.owe(
            ask.team_id, ask.id, posts={post_id.removeprefix("post:"): {"kind": "offer_notice", "helper": HAL}}
        )
        assert (await store.close(ask.team_id, ask.id, "cancelled", ASKER)).outcome == "cancelled"
        await carried_out_until_done(services, ask)
        await store.redis.aclose()

    run(noted_late_then_cancelled())
    fake_slack.settle(quiet=0.5)

    summary, offer_dm = fake_slack.dms(ASKER)  # each once
    assert "Cancelled" in summary.all_text
    assert "offer_accept" not in offer_dm.action_ids(), offer_dm.all_text


def test_a_reopening_redraw_owed_through_an_incident_reaches_every_waiting_offer_dm(settings, fake_slack, run):
    """Hal's suggestion waits; Hana takes the ask (its DM: "covered now"), then, while Slack refuses every
    update, steps back and passes. Reopening owed every waiting offer's DM a redraw; her pass, owed before that
    redraw could go out, must not narrow it to her own DMs. (Before: the pass's redraw replaced the reopening's,
    and the DM said "It's covered now" on an open ask for good; seen once in the Cluster's ten minutes.)"""
    services = create_app(replace(settings, **QUICK_TIMEOUTS)).services
    ask = replace(_ask(), teammates=[HAL, HANA, HUGO])  # Hugo has not answered: Hana's pass is not the last

    async def covered_reopened_then_passed() -> None:
        store = services.store
        await store.save_ask(ask)
        await carried_out_until_done(services, ask)
        suggestion = Offer(HAL, Kind.SUGGEST, suggested=PRIYA)
        assert (await store.offer(ask.team_id, ask.id, suggestion)).outcome == "offered"
        assert (await store.answer(ask.team_id, ask.id, HANA, "accept")).outcome == "took_last"
        await carried_out_until_done(services, ask)
        fake_slack.outage("chat.update", seconds=600)
        assert (await store.answer(ask.team_id, ask.id, HANA, "withdraw_accept")).outcome == "reopened"
        assert not (await services.router.carry_out(ask.team_id, ask.id)).done  # its redraws refused by Slack
        assert (await store.answer(ask.team_id, ask.id, HANA, "decline")).outcome == "declined"
        fake_slack.end_outages()
        await carried_out_until_done(services, ask)
        await store.redis.aclose()

    run(covered_reopened_then_passed())
    fake_slack.settle(quiet=0.5)

    summary, offer_dm, *_ = fake_slack.dms(ASKER)
    assert "covered now" not in offer_dm.all_text, offer_dm.all_text
    assert "offer_accept" in offer_dm.action_ids()  # open again: the asker can take Hal's suggestion up


def test_a_suggested_teammates_card_whose_post_failed_is_sent_once_later(settings, fake_slack, redis_sync):
    """The asker takes up Hal's suggestion while Slack refuses posts (503s past the client's retries): Priya's
    card is claimed but never sent; once Slack is back it is looked for, not found, and sent, once. (Before:
    the retry found its own pending claim and sent nothing: Priya was never asked.)"""
    server = ThreadedServer(create_app(replace(settings, **QUICK_TIMEOUTS))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        cards = send_ask(slack, fake_slack, teammates=(HAL, HANA), decline="redirect")
        offer(slack, fake_slack, HAL, cards[HAL], "suggest", person=PRIYA)
        dm = offer_dm(fake_slack)
        fake_slack.fail("chat.postMessage", status=503, times=3)  # the first try and the client's two retries
        assert slack.click(ASKER, dm, "offer_accept").status == 200
        fake_slack.wait_for(lambda: fake_slack.dms(PRIYA), timeout=30, what="Priya's card, once Slack is back")
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=30, what="nothing owed")
        fake_slack.settle(quiet=0.5)
    finally:
        server.stop()

    [card] = fake_slack.dms(PRIYA)
    assert "<@U0ASKER> is asking for a hand" in card.all_text and "ask_accept" in card.action_ids()
    assert len(fake_slack.calls_to("chat.postMessage")) >= 5  # the three refused tries were made
