"""Accepts offered faster than they can be finished: acks stay fast, effects wait in Redis, workers drain them.

Each accept is on a fresh ask (one helper needed, three teammates) in a workspace of its own (Slack's tiers
are per workspace, and a deployment taking thousands of accepts a second serves many), so it costs what an
accept costs:
the helper's card, the two other cards turning "covered" and the summary (4 chat.update) and the
asker's notice (1 chat.postMessage). The asks are seeded as the submission stores them and the fan-out
leaves them (ask, cards, card index in Redis; the messages in the fake Slack), which takes seconds
rather than the minutes sending tens of thousands of messages would.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import redis
from fake import BenchSlack
from fake_slack import Message
from load import (
    REQUEST_TIMEOUT_SECONDS,
    Payloads,
    Sender,
    Timed,
    in_a_process_of_its_own,
    sustained,
    without_collector_pauses,
)
from procs import cpu_seconds

from slack_app.domain.asks import Ask
from slack_app.slack.effects import WORKER_BEAT_SECONDS
from slack_app.store.store import (
    EFFECT_SHARDS,
    _ask_fields,
    ask_key,
    card_index_key,
    cards_key,
    effect_stream_key,
    effect_workers_key,
)

SEED_BATCH = 500
WARM_UP_CONNECTIONS = 16
DRAIN_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class CpuPerAccept:
    """CPU seconds one accept cost each part of the run while one process finished accepts.

    On one machine the fake Slack and the load generator take their share of the cores the app drains
    its backlog with; on Slack's real side they would be Slack's and the senders' own."""

    app: float  # `slack-ask serve`: the ack and every effect
    slack: float  # the fake Slack answering the app's calls (this process's other threads)
    redis: float  # Valkey
    load: float  # signing and sending the requests, reading the acks

    @property
    def machine(self) -> float:
        return self.app + self.slack + self.redis + self.load


@dataclass
class Overload:
    finish_rate: float  # accepts/s one process finished, acks and effects both, closed loop
    cpu: CpuPerAccept
    offered_rate: float
    offered_seconds: float
    acks: list[Timed]
    depth_at_end: int  # asks with effects owed when the offer ended
    drained_after: float | None  # seconds after the offer ended until nothing was owed; None: not within the limit
    drain_limit: float
    processes: int


def seed_asks(
    redis_url: str, fake: BenchSlack, team_of: Callable[[int], str], asker: str, teammates: list[str], count: int
) -> list[Message]:
    """`count` asks already sent, ask n in workspace team_of(n); returns the first teammate's cards, in order.

    An accept costs 4 chat.update (Tier 3: 50 a minute, a burst of 8, per workspace): one workspace
    carries a couple of accepts at once within Slack's tiers, so at thousands a second the asks are
    spread over as many workspaces as a deployment serving that many would have."""
    helper_cards = []
    now = time.time()
    with redis.Redis.from_url(redis_url, decode_responses=True) as valkey:
        for start in range(0, count, SEED_BATCH):
            with valkey.pipeline(transaction=False) as pipe:
                for n in range(start, min(count, start + SEED_BATCH)):
                    team = team_of(n)
                    ask = Ask(
                        team_id=team,
                        asker=asker,
                        text=f"Review pull request {n} before the release",
                        scope="In: retry.py. Out: naming.",
                        estimate_minutes=30,
                        decline_line="no_reason",
                        teammates=teammates,
                        created_at=now,
                    )
                    summary = _seed_message(fake, asker, f"Your ask {n}")
                    pipe.hset(
                        ask_key(team, ask.id),
                        mapping={**_ask_fields(ask), "summary_channel": summary.channel, "summary_ts": summary.ts},
                    )
                    for uid in teammates:
                        card = _seed_message(fake, uid, f"Can you help with pull request {n}?")
                        pipe.hset(cards_key(team, ask.id), uid, f"{card.channel} {card.ts}")
                        pipe.set(card_index_key(team, card.channel, card.ts), f"{ask.id} {uid}")
                        fake.teams[(card.channel, card.ts)] = team
                        if uid == teammates[0]:
                            helper_cards.append(card)
                pipe.execute()
    return helper_cards


def _seed_message(fake: BenchSlack, user: str, text: str) -> Message:
    message = Message(channel=fake.dm_channel(user), ts=fake._next_ts(), text=text, blocks=[])
    with fake._lock:
        fake.messages[(message.channel, message.ts)] = message
    return message


def owed(redis_url: str) -> int:
    with redis.Redis.from_url(redis_url) as valkey:
        return sum(valkey.xlen(effect_stream_key(shard)) for shard in range(EFFECT_SHARDS))


def wait_for_worker(redis_url: str, timeout: float = 30.0) -> None:
    """Until the worker has said it is alive, and the serving process has had time to see it."""
    deadline = time.monotonic() + timeout
    with redis.Redis.from_url(redis_url) as valkey:
        while not valkey.zcard(effect_workers_key()):
            if time.monotonic() > deadline:
                raise RuntimeError("the worker never said it was alive")
            time.sleep(DRAIN_POLL_SECONDS)
    time.sleep(WORKER_BEAT_SECONDS)


def wait_drained(redis_url: str, limit_seconds: float) -> float | None:
    started = time.monotonic()
    while owed(redis_url):
        if time.monotonic() - started > limit_seconds:
            return None
        time.sleep(DRAIN_POLL_SECONDS)
    return time.monotonic() - started


def finish_rate(
    url: str,
    secret: str,
    fake: BenchSlack,
    redis_url: str,
    helper: str,
    cards: list[Message],
    workers: int,
    app_cpu: Callable[[], float],
) -> tuple[float, CpuPerAccept]:
    """Accepts/s one process finishes (all of `cards` accepted as fast as it acks, until nothing is
    owed), and what each accept cost every part of the run. `app_cpu`: the app's CPU seconds so far."""
    payloads = Payloads(url, secret, fake)
    taken = itertools.count()  # workers racing past the end repeat the last accept: a quiet no-op
    redis_cpu = _valkey_cpu(redis_url)
    before = app_cpu(), time.process_time(), time.thread_time(), redis_cpu()
    started = time.monotonic()
    asyncio.run(
        sustained(
            Sender(url, secret),
            lambda w, n: payloads.react(helper, cards[min(next(taken), len(cards) - 1)], "white_check_mark"),
            workers,
            seconds=3600,
            max_requests=len(cards),
        )
    )
    with without_collector_pauses():  # the fake Slack's, which would slow the app's calls down
        drained = wait_drained(redis_url, 600)
    if drained is None:
        raise RuntimeError("slack-ask did not finish the accepts within 10 minutes")
    rate = len(cards) / (time.monotonic() - started)
    app, process, load, valkey = (
        now - then
        for now, then in zip((app_cpu(), time.process_time(), time.thread_time(), redis_cpu()), before, strict=False)
    )
    return rate, CpuPerAccept(
        app=app / len(cards), slack=(process - load) / len(cards), redis=valkey / len(cards), load=load / len(cards)
    )


def _valkey_cpu(redis_url: str) -> Callable[[], float]:
    with redis.Redis.from_url(redis_url) as valkey:
        pid = valkey.info("server")["process_id"]
    return lambda: cpu_seconds(pid)


def _offered_elsewhere(url: str, secret: str, requests: list, rate: float) -> list[Timed]:
    """The open-loop load from a process of its own: in this one the fake Slack is busy answering the
    effect workers' calls."""
    return in_a_process_of_its_own(_send_offered, url, secret, requests, rate)


def _send_offered(url: str, secret: str, requests: list, rate: float) -> list[Timed]:
    return asyncio.run(_offered(Sender(url, secret), requests, rate))


async def _offered(sender: Sender, requests: list, rate: float) -> list[Timed]:
    """Open loop: request i leaves at i / rate seconds, whether or not earlier ones were answered."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await _warm_up(session, sender.url)
        with without_collector_pauses():
            start = time.monotonic()
            tasks = []
            for n, request in enumerate(requests):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.ensure_future(sender.send(session, request)))
            return list(await asyncio.gather(*tasks))


async def _warm_up(session: aiohttp.ClientSession, events_url: str) -> None:
    """This new process's first requests pay for its own start (imports run lazily, connections opened):
    a few untimed health checks first, so the timed ones measure the app."""
    health = events_url.replace("/slack/events", "/healthz")
    for _ in range(3):
        for reply in await asyncio.gather(*(session.get(health) for _ in range(WARM_UP_CONNECTIONS))):
            reply.release()
        await asyncio.sleep(0.1)


def offer(
    url: str,
    secret: str,
    fake: BenchSlack,
    redis_url: str,
    helper: str,
    cards: list[Message],
    rate: float,
    seconds: float,
    drain_limit: float,
    processes: int,
    finished: float,
    cpu: CpuPerAccept,
) -> Overload:
    payloads = Payloads(url, secret, fake)
    requests = [payloads.react(helper, card, "white_check_mark") for card in cards[: int(rate * seconds)]]
    with without_collector_pauses():  # the fake Slack answers the effect workers meanwhile
        acks = _offered_elsewhere(url, secret, requests, rate)
        depth = owed(redis_url)
        drained = wait_drained(redis_url, drain_limit)
    return Overload(
        finish_rate=finished,
        cpu=cpu,
        offered_rate=rate,
        offered_seconds=seconds,
        acks=acks,
        depth_at_end=depth,
        drained_after=drained,
        drain_limit=drain_limit,
        processes=processes,
    )
