"""Effects that survive a crash, acks that stay fast under load, and Slack's rate tiers shared by instances.

Run alone with `python -m pytest -m reliability`.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
import redis
from fake_slack import FakeSlack
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio import RedisCluster as AsyncRedisCluster
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, HUGO, send_ask, stored_ask
from test_cli import instance, kill, start_instance

from slack_app.domain.asks import Ask
from slack_app.features.routing import EFFECTS_AT_ONCE
from slack_app.slack.effects import GROUP, STREAMS, EffectQueue
from slack_app.store.store import (
    EFFECT_SHARDS,
    Store,
    ask_key,
    effect_intent_key,
    effect_shard,
    effect_stream_key,
    effect_workers_key,
    owed_key,
)
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

pytestmark = pytest.mark.reliability
TEN = [f"U0HELP{n}" for n in range(1, 11)]


def told_someone_is_on_it(fake: FakeSlack) -> int:
    return sum("is on your ask" in m.all_text for m in fake.dms(ASKER))


def every_card_final(fake: FakeSlack, helper: str, teammates: list[str]) -> bool:
    """The helper's card says it's theirs, every other card says it's covered, the summary names the helper."""
    cards = {uid: fake.dms(uid)[-1].all_text for uid in teammates}
    return (
        "You're on it" in cards[helper]
        and all(f"Covered by <@{helper}>" in text for uid, text in cards.items() if uid != helper)
        and "ask_done" in fake.dms(ASKER)[0].action_ids()
    )


def owed_nothing(redis_sync) -> bool:
    return not redis_sync.keys("{T0TEAM:ask:*}:owed") and not sum(
        redis_sync.xlen(effect_stream_key(shard)) for shard in range(EFFECT_SHARDS)
    )


# --- crashes between the commit and the last effect ----------------------------------------------------


def _notice_posted(fake: FakeSlack) -> bool:
    return any(
        call.args.get("channel") == ASKER and "metadata" in call.args for call in fake.calls_to("chat.postMessage")[1:]
    )


@pytest.mark.parametrize(
    "kill_when", ["right after the ack", "after some of the updates", "while the notice is on its way"]
)
def test_an_instance_killed_after_an_accept_leaves_every_card_final_and_one_notice(
    tmp_path, redis_url, redis_sync, kill_when
):
    slow = FakeSlack(token="xoxb-test-token", latency=0.4).start()
    first, slack = start_instance(tmp_path, redis_url, slow, SLACK_RATE_WINDOW="1")
    try:
        cards = send_ask(slack, slow, teammates=TEN)
        slow.wait_for(lambda: owed_nothing(redis_sync), what="the ask sent and nothing owed")
        updates_before = len(slow.calls_to("chat.update"))

        assert slack.react(HAL, cards[HAL], "white_check_mark").status == 200  # committed and acked
        if kill_when == "after some of the updates":
            slow.wait_for(lambda: len(slow.calls_to("chat.update")) >= updates_before + 3, what="some updates")
        elif kill_when == "while the notice is on its way":
            slow.wait_for(lambda: _notice_posted(slow), what="the notice reaching Slack")
        kill(first)
        assert redis_sync.keys("{T0TEAM:ask:*}:owed")  # the kill came before the last effect

        # The second instance takes over the dead one's entry after a second idle.
        with instance(tmp_path, redis_url, slow, SLACK_RATE_WINDOW="1"):
            slow.wait_for(
                lambda: every_card_final(slow, HAL, TEN) and told_someone_is_on_it(slow),
                timeout=30,
                what="every card final after the restart",
            )
            slow.wait_for(lambda: owed_nothing(redis_sync), what="nothing owed")
            slow.settle(quiet=1.0)
    finally:
        first.kill()
        slow.stop()

    assert told_someone_is_on_it(slow) == 1
    assert [len(slow.dms(uid)) for uid in TEN] == [1] * 10  # cards updated in place, never sent again
    assert every_card_final(slow, HAL, TEN)


# --- a Redis Cluster: the stream entry is added after the script, so an intent is added before it --------


class _Killed(Exception):
    """The process dies here."""


class _DiesAfterTheScript(Store):
    """The real store, killed once a change's script committed, before the stream entry it asked for."""

    woke: bool | None = None

    async def _wake(self, team_id: str, ask_id: str, result: dict) -> None:
        self.woke = result.get("wake")
        raise _Killed


class _DiesBeforeTheScript(Store):
    """The real store, killed once a change's intent is added, before its script runs."""

    async def _intend(self, team_id: str, ask_ids: list[str]) -> None:
        await super()._intend(team_id, ask_ids)
        raise _Killed


async def _accept_and_die(store_class: type[Store], cluster_url: str, ask_id: str) -> bool | None:
    client = AsyncRedisCluster.from_url(cluster_url, decode_responses=True)
    store = store_class(client)
    try:
        with pytest.raises(_Killed):
            await store.answer("T0TEAM", ask_id, HAL, "accept")
    finally:
        await client.aclose()
    return getattr(store, "woke", None)


def cluster_owes_nothing(cluster: redis.RedisCluster) -> bool:
    """No owed hash on any node, no entry or intent in any stream."""
    return not cluster.keys("{T0TEAM:ask:*}:owed", target_nodes=redis.RedisCluster.PRIMARIES) and not any(
        cluster.xlen(stream) for stream in STREAMS
    )


@pytest.fixture
def on_a_cluster(settings, cluster_url, fake_slack):
    """An instance on a three-node Cluster that takes over idle entries after a second, with an ask sent
    to Hal and Hana and nothing owed; yields (Hal's card, a client of the Cluster)."""
    server = ThreadedServer(
        create_app(replace(settings, redis_url=cluster_url, redis_cluster=True, effect_retry_seconds=1.0))
    ).start()
    cluster = redis.RedisCluster.from_url(cluster_url, decode_responses=True)
    try:
        cards = send_ask(
            SlackRequests(server.url, settings.signing_secret, fake_slack), fake_slack, teammates=[HAL, HANA]
        )
        fake_slack.wait_for(lambda: cluster_owes_nothing(cluster), what="the ask sent, its intent let go")
        yield cards[HAL], cluster
    finally:
        server.stop()
        cluster.close()


def test_on_a_cluster_an_accept_killed_before_its_stream_entry_still_tells_everyone_once(
    on_a_cluster, cluster_url, fake_slack, run
):
    card, cluster = on_a_cluster
    ask_id = card.metadata["event_payload"]["ask_id"]

    woke = run(_accept_and_die(_DiesAfterTheScript, cluster_url, ask_id))
    entry = effect_stream_key(effect_shard("T0TEAM", ask_id))
    stranded = cluster.hgetall(owed_key("T0TEAM", ask_id)), cluster.xlen(entry)
    fake_slack.wait_for(
        lambda: every_card_final(fake_slack, HAL, [HAL, HANA]) and told_someone_is_on_it(fake_slack),
        timeout=10,
        what="every card final, through the intent",
    )
    fake_slack.wait_for(lambda: cluster_owes_nothing(cluster), what="nothing owed, no intent left")
    fake_slack.settle(quiet=0.5)

    assert (
        woke is True and stranded[0] and stranded[1] == 0
    )  # committed, owed, and no entry: only the intent leads there
    assert told_someone_is_on_it(fake_slack) == 1
    assert [len(fake_slack.dms(uid)) for uid in (HAL, HANA)] == [1, 1]  # cards updated in place


def test_on_a_cluster_a_change_killed_before_its_script_sends_nothing_and_leaves_nothing(
    on_a_cluster, cluster_url, fake_slack, run
):
    card, cluster = on_a_cluster
    ask_id = card.metadata["event_payload"]["ask_id"]
    intents = effect_intent_key(effect_shard("T0TEAM", ask_id))
    calls = len(fake_slack.calls)

    run(_accept_and_die(_DiesBeforeTheScript, cluster_url, ask_id))
    started = time.monotonic()
    left = cluster.xlen(intents), cluster.exists(owed_key("T0TEAM", ask_id))
    fake_slack.wait_for(lambda: cluster.xpending(intents, GROUP)["pending"] == 1, what="the intent read, left pending")
    fake_slack.wait_for(
        lambda: cluster.xpending(intents, GROUP)["pending"] == 0 and cluster_owes_nothing(cluster),
        what="the intent let go",
    )
    waited = time.monotonic() - started
    fake_slack.settle(quiet=0.3)

    assert left == (1, 0)  # an intent, nothing committed
    assert waited >= 0.9  # looked at only once idle for EFFECT_RETRY_SECONDS: its script has surely run, or never will
    assert len(fake_slack.calls) == calls  # nothing sent
    assert cluster.hget(ask_key("T0TEAM", ask_id), "status") == "open"
    assert "You're on it" not in fake_slack.dms(HAL)[-1].all_text


async def _accept_with_nothing_else_owed(store: Store, before_accept=lambda: None) -> Ask:
    """Hal accepts an ask whose sending is done: the change that adds the ask to the effect queue."""
    ask = Ask(
        team_id="T0TEAM",
        asker=ASKER,
        text="Review pull request 7",
        scope="retry.py",
        estimate_minutes=15,
        decline_line="no_reason",
        teammates=[HAL],
    )
    await store.save_ask(ask)
    await store.settle("T0TEAM", ask.id, (await store.owed("T0TEAM", ask.id))[0])
    for stream in STREAMS:
        await store.redis.delete(stream)
    before_accept()
    assert (await store.answer("T0TEAM", ask.id, HAL, "accept")).outcome == "took_last"
    return ask


def test_a_single_server_change_adds_no_intent_and_stays_one_round_trip(with_store, redis_sync):
    ask = with_store(lambda store: _accept_with_nothing_else_owed(store, redis_sync.config_resetstat))
    commands = redis_sync.info("commandstats")
    scripts = (
        commands["cmdstat_evalsha"]["calls"] - commands["cmdstat_evalsha"]["failed_calls"]
    )  # (the first, NOSCRIPT)

    entry = effect_stream_key(effect_shard("T0TEAM", ask.id))
    assert [redis_sync.xlen(stream) for stream in STREAMS] == [int(stream == entry) for stream in STREAMS]
    assert (scripts, commands["cmdstat_xadd"]["calls"]) == (1, 1)  # the script, and its own XADD
    assert "cmdstat_xreadgroup" not in commands  # (no consumer ran meanwhile)


def test_a_cluster_change_adds_its_intent_and_its_entry(cluster_url, run):
    async def accept() -> tuple[Ask, list[int]]:
        client = AsyncRedisCluster.from_url(cluster_url, decode_responses=True)
        try:
            return await _accept_with_nothing_else_owed(Store(client)), [
                await client.xlen(stream) for stream in STREAMS
            ]
        finally:
            await client.aclose()

    ask, lengths = run(accept())
    shard = effect_shard("T0TEAM", ask.id)
    assert lengths == [int(stream in (effect_stream_key(shard), effect_intent_key(shard))) for stream in STREAMS]


# --- several consumers -------------------------------------------------------------------------------


def test_two_instances_and_a_worker_share_the_queue_and_take_over_a_dead_consumers_entry(
    settings, fake_slack, redis_sync, run
):
    fast = replace(settings, effect_retry_seconds=1.0)
    # An answer committed while no instance runs, read by a consumer that then dies without acknowledging it.
    servers = [ThreadedServer(create_app(fast)).start()]
    slack = SlackRequests(servers[0].url, settings.signing_secret, fake_slack)
    orphan = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    fake_slack.wait_for(lambda: owed_nothing(redis_sync), what="nothing owed")
    servers[0].stop()
    ask_id = next(iter(redis_sync.keys("{T0TEAM:ask:*}:cards"))).split(":")[2].rstrip("}")
    run(_answer_alone(settings.redis_url, ask_id))
    stream = effect_stream_key(effect_shard("T0TEAM", ask_id))
    assert redis_sync.xreadgroup(GROUP, "dead-consumer", {stream: ">"}, count=10)  # taken, never acknowledged

    servers = [ThreadedServer(create_app(fast)).start() for _ in range(2)]
    worker = ThreadedServer(
        create_app(replace(fast, run_scheduler=True))
    ).start()  # `slack-ask worker`'s loops, and more
    try:
        fake_slack.wait_for(
            lambda: "Covered by <@U0HELP1>" in fake_slack.dms(HANA)[0].all_text,
            timeout=10,
            what="the dead consumer's entry taken over",
        )
        doors = [SlackRequests(server.url, settings.signing_secret, fake_slack) for server in servers]
        for n in range(4):  # each sent through one instance, taken through the other
            send_ask(doors[n % 2], fake_slack, teammates=[HAL, HANA, HUGO])
            fake_slack.wait_for(lambda n=n: len(fake_slack.dms(HUGO)) == n + 1, what="Hugo's new card")
            doors[(n + 1) % 2].click(HUGO, fake_slack.dms(HUGO)[-1], "ask_accept")
        fake_slack.wait_for(
            lambda: all(
                len([m for m in fake_slack.dms(uid) if "Covered by <@U0HELP3>" in m.all_text]) == 4
                for uid in (HAL, HANA)
            ),
            timeout=15,
            what="every card covered",
        )
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), what="nothing owed")
        fake_slack.settle(quiet=0.5)
        consumers = {
            c["name"]: c
            for shard in range(EFFECT_SHARDS)
            for c in redis_sync.xinfo_consumers(effect_stream_key(shard), GROUP)
        }
    finally:
        for server in [*servers, worker]:
            server.stop()

    assert told_someone_is_on_it(fake_slack) == 5  # four asks and the orphan: each told once
    assert "You're on it" in orphan[HAL].all_text or "You're on it" in fake_slack.dms(HAL)[0].all_text
    assert [len(fake_slack.dms(uid)) for uid in (HAL, HANA, HUGO)] == [5, 5, 4]  # one card per ask, never twice
    assert consumers["dead-consumer"]["pending"] == 0  # its entry was taken over
    assert len([name for name in consumers if name != "dead-consumer"]) >= 2  # the work was shared


async def _answer_alone(redis_url: str, ask_id: str) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, decode_responses=True)
    assert (await Store(client).answer("T0TEAM", ask_id, HAL, "accept")).outcome == "took_last"
    await client.aclose()


# --- overload ------------------------------------------------------------------------------------------


def test_a_burst_beyond_capacity_never_acks_late_and_loses_nothing(settings, fake_slack, redis_sync, run):
    server = ThreadedServer(create_app(replace(settings, slack_rate_window=0.5))).start()
    count = 120
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        asks = run(_asks_sent(settings.redis_url, count))
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), what="every ask sent")
        cards = {card.metadata["event_payload"]["ask_id"]: card for card in fake_slack.dms(HAL)}
        assert slack.react(HAL, cards[asks[0].id], "eyes").status == 200  # Bolt's one auth.test, before Slack slows
        fake_slack.latency = 0.5  # and Slack slow: far more work than one process finishes in the burst

        def accept(ask: Ask) -> float:
            started = time.monotonic()
            assert slack.click(HAL, cards[ask.id], "ask_accept").status == 200
            return time.monotonic() - started

        with ThreadPoolExecutor(max_workers=40) as pool:
            acks = list(pool.map(accept, asks))
        pending, _ = server.call(server.app.services.effects.backlog())
        fake_slack.wait_for(lambda: owed_nothing(redis_sync), timeout=60, what="the backlog drained")
        fake_slack.settle(quiet=0.5)
    finally:
        server.stop()

    assert max(acks) < 3.0, sorted(acks)[-5:]  # (the load, the fake Slack and the app share one process here)
    assert pending > 0  # the burst did outrun the effects: they waited in Redis, not in the acks
    assert sum("You're on it" in m.all_text for m in fake_slack.dms(HAL)) == count
    assert told_someone_is_on_it(fake_slack) == count
    assert all(redis_sync.hget(f"{{T0TEAM:ask:{ask.id}}}", "status") == "taken" for ask in asks)


async def _asks_sent(redis_url: str, count: int) -> list[Ask]:
    """Asks stored as the submission stores them, their sending owed: the running app sends them."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, decode_responses=True)
    store = Store(client)
    asks = [
        Ask(
            team_id="T0TEAM",
            asker=ASKER,
            text=f"Review pull request {n} today",
            scope="retry.py",
            estimate_minutes=15,
            decline_line="no_reason",
            teammates=[HAL],
        )
        for n in range(count)
    ]
    for ask in asks:
        await store.save_ask(ask)
    await client.aclose()
    return asks


# --- health and metrics --------------------------------------------------------------------------------


def test_healthz_and_metrics_show_the_backlog(settings, redis_url, redis_sync):
    slow = FakeSlack(token="xoxb-test-token", latency=1.5).start()
    server = ThreadedServer(create_app(replace(settings, slack_api_url=slow.api_url))).start()
    try:
        SlackRequests(server.url, settings.signing_secret, slow).submit_ask(ASKER, teammates=[HAL])
        time.sleep(0.3)
        with urllib.request.urlopen(server.url + "/healthz") as response:
            health = json.loads(response.read())
        with urllib.request.urlopen(server.metrics_url + "/metrics") as response:
            metrics = response.read().decode()
        slow.wait_for(lambda: owed_nothing(redis_sync), what="sent")
        with urllib.request.urlopen(server.url + "/healthz") as response:
            after = json.loads(response.read())
    finally:
        server.stop()
        slow.stop()

    assert health["status"] == "ok" and health["effects"]["pending"] == 1 and health["effects"]["oldest_seconds"] >= 0.2
    assert "slack_ask_effects_pending 1.0" in metrics and "slack_ask_effects_oldest_seconds" in metrics
    assert after["effects"] == {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0}


# --- Slack's rate tiers --------------------------------------------------------------------------------


def test_twenty_asks_to_ten_teammates_accepted_at_once_end_final_within_the_tiers(settings, redis_sync):
    limited = FakeSlack(token="xoxb-test-token", rate_window=2.0).start()  # Slack's minute, made two seconds
    server = ThreadedServer(create_app(replace(settings, slack_api_url=limited.api_url, slack_rate_window=2.0))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, limited)
        for _ in range(20):
            assert slack.submit_ask(ASKER, teammates=TEN).status == 200
        limited.wait_for(lambda: all(len(limited.dms(uid)) == 20 for uid in TEN), what="every card")
        limited.wait_for(lambda: owed_nothing(redis_sync), what="every card recorded")
        started = time.monotonic()
        for card in limited.dms(HAL):
            assert slack.click(HAL, card, "ask_accept").status == 200
        accepted_in = time.monotonic() - started
        limited.wait_for(lambda: owed_nothing(redis_sync), timeout=60, what="every effect carried out")
        limited.settle(quiet=0.5)
    finally:
        server.stop()
        limited.stop()

    assert accepted_in < 10
    assert all("You're on it" in card.all_text for card in limited.dms(HAL))
    assert all("Covered by <@U0HELP1>" in card.all_text for uid in TEN[1:] for card in limited.dms(uid))
    summaries = [m for m in limited.dms(ASKER) if "ask_done" in m.action_ids()]
    assert len(summaries) == 20 and told_someone_is_on_it(limited) == 20
    calls, limited_calls = len(limited.calls), sum(limited.rate_limited.values())
    assert limited_calls <= 0.05 * calls, (limited_calls, calls, limited.rate_limited)


# --- who carries out effects: a serving process's requests come first ------------------------------------


def _share_a_queue(redis_url: str, run, *, with_worker: bool, asks: int = 20) -> dict[str, list[str]]:
    """A serving process taking a request at every moment (and, if `with_worker`, a `slack-ask worker`)
    consume one queue while `asks` asks come to owe effects: which of them carried out each ask."""

    async def scenario() -> dict[str, list[str]]:
        redis = AsyncRedis.from_url(redis_url, decode_responses=True)
        carried: dict[str, list[str]] = {"worker": [], "serve": []}

        def carrying_out(who: str):
            async def carry_out(team_id: str, ask_id: str) -> bool:
                carried[who].append(ask_id)
                return True

            return carry_out

        stop, running = asyncio.Event(), []
        if with_worker:
            running.append(
                asyncio.create_task(EffectQueue(redis, carrying_out("worker")).run(stop, 1.0, requests=None))
            )
            while not await redis.zcard(effect_workers_key()):
                await asyncio.sleep(0.01)
        serve = EffectQueue(redis, carrying_out("serve"))
        running.append(asyncio.create_task(serve.run(stop, 1.0, requests=asyncio.get_running_loop().time)))
        await asyncio.sleep(0.1)
        for n in range(asks):  # as the committing scripts add them
            await redis.xadd(effect_stream_key(effect_shard("T0TEAM", f"A{n}")), {"team": "T0TEAM", "ask": f"A{n}"})
        deadline = time.monotonic() + 15
        while len(carried["worker"]) + len(carried["serve"]) < asks and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*running)
        carried["workers_left"] = [member for member in await redis.zrange(effect_workers_key(), 0, -1)]
        await redis.aclose()
        return carried

    return run(scenario())


def test_while_a_worker_is_alive_a_busy_serving_process_leaves_every_effect_to_it(redis_url, run):
    carried = _share_a_queue(redis_url, run, with_worker=True)
    assert sorted(carried["worker"]) == sorted(f"A{n}" for n in range(20))
    assert carried["serve"] == []
    assert carried["workers_left"] == []  # a worker that stops says so


def test_without_a_worker_a_busy_serving_process_still_carries_out_every_effect(redis_url, run):
    carried = _share_a_queue(redis_url, run, with_worker=False)
    assert sorted(carried["serve"]) == sorted(f"A{n}" for n in range(20))


def test_a_storm_of_owed_posts_goes_out_sixteen_at_a_time_and_each_once(settings, fake_slack, redis_sync):
    """Someone adding and removing ✅ a thousand times leaves their ask owing a thousand notices: carrying
    them out must not open a thousand calls at once (they failed, and were looked for again one by one)."""
    server = ThreadedServer(create_app(replace(settings, slack_rate_window=0.001))).start()  # budgets out of the way
    try:
        send_ask(SlackRequests(server.url, settings.signing_secret, fake_slack), fake_slack)
        ask = stored_ask(redis_sync)  # its fields as stored
        team_id, ask_id = ask["team_id"], ask["id"]
        fake_slack.latency = 0.2
        before = len(fake_slack.calls_to("chat.postMessage"))
        storm = {f"storm:{n}": {"kind": "notice", "notice": "check_in", "snoozed": False} for n in range(48)}
        server.call(server.app.services.store.owe(team_id, ask_id, posts=storm))
        fake_slack.wait_for(
            lambda: len(fake_slack.calls_to("chat.postMessage")) - before >= 48, timeout=15, what="48 posts"
        )
        fake_slack.settle(quiet=0.5)
    finally:
        server.stop()
    sent = fake_slack.calls_to("chat.postMessage")[before:]
    assert len(sent) == 48
    answered = sorted(call.at for call in sent)  # each 0.2 s after it was sent
    assert max(sum(1 for at in answered if start <= at < start + 0.1) for start in answered) <= EFFECTS_AT_ONCE
    assert not redis_sync.hgetall(owed_key(team_id, ask_id))
