"""The effect queue: what committed changes owe, carried out by every instance (`serve` and `worker`).

Redis Streams with one consumer group. An ask with effects owed has one entry in one of the
EFFECT_SHARDS streams (store.py says how keys map to slots), added in the step that made its owed
hash non-empty and acknowledged (then deleted) once the hash is empty again.

One holder per unit of work, at two levels:
- An entry read but not acknowledged stays pending under its consumer, which claims it afresh while it
  works (only while it still owns it), so an entry idle for `retry_seconds` belongs to a consumer that
  died: any consumer then takes it over (XAUTOCLAIM).
- Carrying out an ask takes the ask's own lease first (features/routing.py, store/leases.py), renewed
  while it works and checked before every post and update. Whatever brings a second carrier to one ask
  (an entry taken over from a holder frozen too long, a Cluster intent, the sweep, `effects retry`), it
  finds the ask held and puts its entry back for later: it never acts beside a live holder.

An entry whose effects failed for now is put back, out of the stream, into the shard's set of later
work with a due time: a backoff doubling from its tries (with jitter), or the turn the rate budget named
(TurnLater), or a moment later when another process holds the ask. It holds no slot while it waits, and
each workspace has a cap on the asks it may have in flight here, so a busy workspace never slows another.
Past `max_attempts` tries or `max_age_seconds` it goes to the shard's dead letters instead, for
`slack-ask effects list | retry | drop`. Slack's refusals that no retry mends (channel_not_found,
account_inactive, token_revoked…) end the effect at once, logged and counted; everything else, Slack's
5xx of any body, timeouts, connection faults, Redis, even a bug, is tried again, so nothing owed is
lost without a dead letter to show for it.

Self-healing: a group lost with Redis's data (NOGROUP) is created again and reading goes on; a sweep,
one process at a time, finds owed hashes with no entry anywhere (a stream, later, the dead letters) and
queues them; consumers long gone are deleted; and every loop here survives any exception (logged, counted
on /metrics as slack_ask_loop_failures_total, started again).

On a Redis Cluster each change also has an *intent* (store.py says why), in a stream beside its shard's
read by the same group. An intent is left pending when first read, for its change's script may not have
run yet; once idle for `retry_seconds` it is taken over like an entry whose consumer died, and its ask
carried out (usually nothing is owed by then) and acknowledged. Intents owe nothing of their own, so
the backlog does not count them. (Keeping an ask's keys in its workspace's slot would make a change and
its entry one step on a Cluster too, but the queue would then need a stream per workspace, read by every
consumer: the intent costs one round trip per change instead, and the ask's lease makes it harmless.)

Overload therefore means a longer queue in Redis (visible on /metrics and /healthz, drained by adding
workers), never a slower ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import logging
import os
import random
import secrets
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import RedisCluster
from redis.exceptions import RedisError, ResponseError
from redis.typing import KeyT, StreamIdT
from slack_sdk.errors import SlackApiError

from ..observability import EFFECTS, LOOP_FAILURES
from ..store import lua
from ..store.client import RedisClient, text_map
from ..store.leases import Leases
from ..store.store import (
    EFFECT_SHARDS,
    ask_of_owed_key,
    effect_dead_key,
    effect_intent_key,
    effect_later_key,
    effect_shard,
    effect_stream_key,
    effect_sweep_key,
    effect_workers_key,
    owed_key,
    owed_keys_pattern,
)
from .rate_budget import TurnLater, late_turns_put_back

GROUP = "slack-ask"
READ_BATCH = 32
READ_BLOCK_MS = 1000  # under the Redis client's 2 s socket timeout
IN_FLIGHT = 128  # asks carried out at once per process; more waits in Redis, not in memory
RETRY_SECONDS = 10.0
MAX_ATTEMPTS = 25  # with the backoff below, about three hours of a Slack incident before a dead letter
MAX_AGE_SECONDS = 24 * 3600.0
PER_WORKSPACE = 16  # asks of one workspace carried out at once per process
# A failed entry waits retry_seconds / 10 · 2^(tries - 1), at most 60 · retry_seconds, each ±50 %.
BACKOFF_SHARE, BACKOFF_MOST = 0.1, 60
LATER_POLL_SECONDS = 0.25  # how often later work whose time has come is moved back into the streams
LATER_BATCH = 256
SWEEP_SECONDS = 300.0  # how often one process (of all) looks for owed effects with no entry
CONSUMER_GONE_RETRIES = 10  # a consumer silent this many retry_seconds, holding nothing, is deleted
LOOP_RESTART_SECONDS = 1.0
# Carrying out one ask never legitimately takes this many retry_seconds (each Slack call is bounded by its
# timeout, and a turn far off is put back, not waited for): one that does is stuck on something that will
# never answer, so it is cut off, its stack logged, and its entry tried again like any failure.
CARRY_LIMIT_RETRIES = 30
# Requests come first in a process that serves them. While requests are coming in it takes no new
# work beyond what its watcher allows: none at all while a `slack-ask worker` is alive (the worker has
# no requests to protect, and shares the machine); otherwise each time its event loop wakes a sleeper
# this late it halves how many asks it carries out at once (down to none), and each time it is
# punctual it allows one more. In a quiet moment the allowance doubles, up to IN_FLIGHT, so the
# backlog a burst left is drained at once. Acks stay fast under load; the backlog waits in Redis.
LAG_CHECK_SECONDS = 0.02
MAX_LAG_SECONDS = 0.002
WORKER_BEAT_SECONDS = 2.0
WORKER_GONE_SECONDS = 10.0  # a worker silent this long is taken for gone

# What Slack says when it failed, not the request: worth trying again later. Any other `error` is a
# refusal no retry mends (channel_not_found, user_not_found, account_inactive, token_revoked,
# invalid_auth, not_in_channel, …).
TEMPORARY_SLACK_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "service_unavailable", "internal_error", "fatal_error", "request_timeout"}
)

log = logging.getLogger(__name__)
T = TypeVar("T")
INTENTS = frozenset(effect_intent_key(shard) for shard in range(EFFECT_SHARDS))
STREAMS = [key for shard in range(EFFECT_SHARDS) for key in (effect_stream_key(shard), effect_intent_key(shard))]
SHARD_OF = {
    key: shard for shard in range(EFFECT_SHARDS) for key in (effect_stream_key(shard), effect_intent_key(shard))
}


@dataclass(frozen=True)
class Entry:
    stream: str
    id: str
    team_id: str
    ask_id: str
    tries: int = 0  # failed attempts so far
    born: float = 0.0  # when the ask first owed this work (epoch seconds)


@dataclass(frozen=True)
class Carried:
    """How carrying out an ask's effects went."""

    done: bool = False  # nothing is owed any more
    busy: bool = False  # another process holds the ask: left to it
    turn_in: float = 0.0  # not done: a rate-budget turn this many seconds away (not a failure)
    failure: str = ""  # not done: what failed, to try again after a backoff


@dataclass(frozen=True)
class DeadLetter:
    id: str  # "<shard>:<stream id>", as `slack-ask effects retry|drop` take it
    team_id: str
    ask_id: str
    tries: int
    failure: str
    died_at: float


CarryOut = Callable[[str, str], Awaitable[Carried | bool]]  # (team, ask) → how it went (True: done)


def failure_kind(error: BaseException) -> str:
    """ "permanent" (Slack refused in a way no retry mends), "later" (a rate-budget turn) or "temporary"."""
    if isinstance(error, BaseExceptionGroup):
        kinds = {failure_kind(inner) for inner in error.exceptions}
        return "temporary" if "temporary" in kinds else "later" if "later" in kinds else "permanent"
    if isinstance(error, TurnLater):
        return "later"
    if isinstance(error, SlackApiError):
        status = slack_status(error)
        temporary = status == 429 or status >= 500 or slack_error_code(error) in TEMPORARY_SLACK_ERRORS
        return "temporary" if temporary else "permanent"
    # Timeouts, connection faults, Redis; or a bug: tried again, then a dead letter to replay once it is mended.
    return "temporary"


def slack_status(error: SlackApiError) -> int:
    response = error.response
    return int(getattr(response, "status_code", None) or getattr(response, "status", None) or 0)


def slack_error_code(error: SlackApiError) -> str:
    """Slack's `error`, or "http_<status>" when the body was not Slack's JSON (an HTML 503 from its edge)."""
    data = getattr(error.response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    return str(code) if code else f"http_{slack_status(error)}"


def _as_carried(outcome: Carried | bool) -> Carried:
    return Carried(done=outcome) if isinstance(outcome, bool) else outcome


class EffectQueue:
    def __init__(
        self,
        redis: RedisClient,
        carry_out: CarryOut,
        *,
        retry_seconds: float = RETRY_SECONDS,
        in_flight: int = IN_FLIGHT,
        consumer: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        max_age_seconds: float = MAX_AGE_SECONDS,
        per_workspace: int = PER_WORKSPACE,
        sweep_seconds: float = SWEEP_SECONDS,
    ):
        self.redis = redis
        self.carry_out = carry_out
        self.retry_seconds = retry_seconds
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.in_flight = in_flight
        self.max_attempts = max_attempts
        self.max_age_seconds = max_age_seconds
        self.per_workspace = per_workspace
        self.sweep_seconds = sweep_seconds
        self._allowed = in_flight  # asks to carry out at once for now
        self._taken = 0  # asks under way here, and entries being read for
        self._requests: Callable[[], float] | None = None  # when this process last took a request (loop time)
        self._workers_alive = False  # (seen from a serving process)
        self._working: dict[str, set[str]] = defaultdict(set)  # stream → entry ids being carried out here
        self._per_team: Counter[str] = Counter()  # workspace → its asks under way here
        self._tasks: set[asyncio.Task] = set()
        self._clustered = isinstance(redis, RedisCluster)
        self._sweeps = Leases(redis, sweep_seconds)
        self._put_back = redis.register_script(lua.source("effects_put_back"))
        self._due = redis.register_script(lua.source("effects_due"))
        self._keep_entries = redis.register_script(lua.source("effects_keep"))
        self._forget = redis.register_script(lua.source("effects_forget_consumers"))
        self._revive = redis.register_script(lua.source("effects_revive"))

    # --- what is waiting ---

    async def backlog(self) -> tuple[int, float]:
        """(entries owed, age in seconds of the oldest): `state()` without the dead letters."""
        pending, oldest, _ = await self.state()
        return pending, oldest

    async def state(self) -> tuple[int, float, int]:
        """(entries owed, age in seconds of the oldest, dead letters), over every shard and the work put back for
        later, in one round trip. A Cluster's intents are left out: they owe nothing of their own, and each waits
        `retry_seconds` by design. (So the effects of a change whose process died before adding its entry
        are not counted: its intent, taken over, carries them out.)"""
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(EFFECT_SHARDS):
                pipe.xlen(effect_stream_key(shard))
                pipe.xrange(effect_stream_key(shard), count=1)
                pipe.zcard(effect_later_key(shard))
                pipe.zrange(effect_later_key(shard), 0, 0)
                pipe.xlen(effect_dead_key(shard))
            replies = await pipe.execute()
        depth = sum(replies[0::5]) + sum(replies[2::5])
        oldest = [int(first[0][0].split("-")[0]) / 1000 for first in replies[1::5] if first]
        oldest += [float(json.loads(first[0]).get("born", time.time())) for first in replies[3::5] if first]
        return depth, max(0.0, time.time() - min(oldest)) if oldest else 0.0, sum(replies[4::5])

    async def dead_letters(self) -> list[DeadLetter]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(EFFECT_SHARDS):
                pipe.xrange(effect_dead_key(shard))
            found = await pipe.execute()
        return [
            DeadLetter(
                f"{shard}:{entry_id}",
                fields["team"],
                fields["ask"],
                int(fields.get("tries", 0)),
                fields.get("failure", ""),
                float(fields.get("died", 0)),
            )
            for shard, entries in enumerate(found)
            for entry_id, fields in entries
        ]

    async def revive(self, letter_id: str) -> bool:
        """A dead letter back in its stream, its tries afresh; False if there is no such letter."""
        shard, entry_id = _letter(letter_id)
        return bool(await self._revive(keys=[effect_dead_key(shard), effect_stream_key(shard)], args=[entry_id]))

    async def drop(self, letter_id: str) -> bool:
        """Gives up a dead letter's effects for good: what its ask owed is forgotten, then the letter."""
        shard, entry_id = _letter(letter_id)
        found = await self.redis.xrange(effect_dead_key(shard), entry_id, entry_id)
        if not found:
            return False
        fields = text_map(found[0][1] or {})  # (redis-py's type allows an entry without fields; XRANGE has none)
        await self.redis.delete(owed_key(fields["team"], fields["ask"]))  # first, so the sweep never queues it
        await self.redis.xdel(effect_dead_key(shard), entry_id)
        return True

    # --- consuming ---

    async def run(self, stop: asyncio.Event, grace_seconds: float, *, requests: Callable[[], float] | None) -> None:
        """Consumes every shard until `stop` is set, then waits up to `grace_seconds` for work under way,
        keeping its entries claimed meanwhile; what is left stays pending and another consumer takes it over
        once idle. `requests`, in a process that serves Slack's: when the latest came in (loop time), for
        requests to come first."""
        while not stop.is_set():
            try:
                await self._prepare()
                break
            except Exception:
                log.warning("effect queue not ready; trying again", exc_info=True)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        loops = [
            self._loop(f"effects {shard}", functools.partial(self._read, shard, stop), stop)
            for shard in range(EFFECT_SHARDS)
        ]
        self._requests = requests
        if requests is not None:
            with contextlib.suppress(RedisError):  # (the next look sees them)
                await self._look_for_workers()
            loops.append(self._loop("effects lag", lambda: self._watch_lag(requests, stop), stop))
            loops.append(self._every("effects workers", WORKER_BEAT_SECONDS, self._look_for_workers, stop))
        else:
            with contextlib.suppress(RedisError):  # (the next beat says it)
                await self._beat()
            loops.append(self._every("effects beat", WORKER_BEAT_SECONDS, self._beat, stop))
        loops.append(self._every("effects reclaim", self.retry_seconds / 2, self._reclaim, stop))
        loops.append(self._every("effects later", LATER_POLL_SECONDS, self._move_due, stop))
        loops.append(self._every("effects sweep", min(self.sweep_seconds, 60.0) / 2, self._sweep, stop))
        loops.append(
            self._every(
                "effects consumers", self.retry_seconds * CONSUMER_GONE_RETRIES / 2, self._forget_consumers, stop
            )
        )
        # Claims this process's entries afresh until its work is done or the grace is over, not only until stop.
        done = asyncio.Event()
        keeping = self._every("effects keep", self.retry_seconds / 3, self._keep, done)
        await stop.wait()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        if requests is None:
            with contextlib.suppress(RedisError):
                await self.redis.zrem(effect_workers_key(), self.consumer)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        done.set()
        keeping.cancel()
        await asyncio.gather(keeping, return_exceptions=True)

    def _loop(self, name: str, body: Callable[[], Awaitable[None]], stop: asyncio.Event) -> asyncio.Task:
        """Runs `body` until `stop`, started again after any exception (logged, counted)."""

        async def supervised() -> None:
            while not stop.is_set():
                try:
                    await body()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    LOOP_FAILURES.labels(name).inc()
                    log.exception("effect queue loop failed; starting it again", extra={"loop": name})
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), LOOP_RESTART_SECONDS)

        return asyncio.create_task(supervised(), name=name)

    def _every(self, name: str, seconds: float, work: Callable[[], Awaitable[None]], stop: asyncio.Event):
        async def periodically() -> None:
            while True:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), seconds)
                if stop.is_set():  # (wait_for may swallow the cancel that comes with the stop)
                    return
                await self._mending(work)

        return self._loop(name, periodically, stop)

    async def _mending(self, work: Callable[[], Awaitable[T]]) -> T:
        """Runs `work`; when Redis lost the consumer group (its data gone: a restart without persistence, a
        failover to an empty replica), creates it again first and tries once more."""
        try:
            return await work()
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            log.warning("the effect queue's consumer group was gone; creating it again")
            await self._prepare()
            return await work()

    async def _prepare(self) -> None:
        for stream in STREAMS:
            try:
                await self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise

    async def _watch_lag(self, requests: Callable[[], float], stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            await asyncio.sleep(LAG_CHECK_SECONDS)
            late = loop.time() - started - LAG_CHECK_SECONDS > MAX_LAG_SECONDS
            if requests() < started:
                self._allowed = min(self.in_flight, self._allowed * 2 or 1)
            elif self._workers_alive:
                self._allowed = 0
            else:
                self._allowed = self._allowed // 2 if late else min(self.in_flight, self._allowed, self._taken) + 1

    async def _beat(self) -> None:
        """A worker says it is alive, and forgets workers long silent."""
        now = time.time()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(effect_workers_key(), {self.consumer: now})
            pipe.zremrangebyscore(effect_workers_key(), "-inf", now - WORKER_GONE_SECONDS)
            await pipe.execute()

    async def _look_for_workers(self) -> None:
        self._workers_alive = (
            await self.redis.zcount(effect_workers_key(), time.time() - WORKER_GONE_SECONDS, "+inf") > 0
        )

    async def _room(self) -> int:
        """Waits for room for more asks; returns how many entries one shard may read now, taken until
        they are started (or handed back by `_unused`)."""
        if self._requests is not None and asyncio.get_running_loop().time() - self._requests() < LAG_CHECK_SECONDS:
            self._allowed = min(self._allowed, self._taken)  # while requests come in, only the watcher adds room
        while self._taken >= self._allowed:
            await asyncio.sleep(LAG_CHECK_SECONDS)
        room = max(1, min(READ_BATCH, (self._allowed - self._taken) // EFFECT_SHARDS))
        self._taken += room
        return room

    def _unused(self, room: int, started: int) -> None:
        self._taken -= room - started

    async def _read(self, shard: int, stop: asyncio.Event) -> None:
        """Reads the shard's new entries and intents (one slot): starts the entries, leaves the intents
        pending until they are taken over."""
        wanted: dict[KeyT, StreamIdT] = {effect_stream_key(shard): ">", effect_intent_key(shard): ">"}
        while not stop.is_set():
            room, started = await self._room(), 0
            try:
                reply = await self._mending(
                    functools.partial(
                        self.redis.xreadgroup, GROUP, self.consumer, wanted, count=room, block=READ_BLOCK_MS
                    )
                )
                # The client speaks RESP2 (redis-py's default), which answers [[stream, entries], ...] or nothing.
                for stream, messages in cast(list[list[Any]] | None, reply) or []:
                    if stream not in INTENTS:
                        started += await self._start_all(stream, messages)
            finally:
                self._unused(room, started)

    async def _reclaim(self) -> None:
        """Takes over entries idle for `retry_seconds` (their consumer died) and intents as old (their
        change's script has run, or never will)."""
        for stream in STREAMS:
            start = "0-0"
            while True:
                room, started = await self._room(), 0
                try:
                    reply = await self.redis.xautoclaim(
                        stream, GROUP, self.consumer, int(self.retry_seconds * 1000), start_id=start, count=room
                    )
                    start, messages = reply[0], reply[1]
                    fresh = [
                        (entry_id, fields) for entry_id, fields in messages if entry_id not in self._working[stream]
                    ]
                    if fresh:
                        EFFECTS.labels("intent" if stream in INTENTS else "reclaimed").inc(len(fresh))
                    started = await self._start_all(stream, fresh)
                finally:
                    self._unused(room, started)
                if start in ("0-0", b"0-0"):
                    break

    async def _keep(self) -> None:
        """Claims the entries under way here afresh, so nobody takes them over while they run; never one
        another consumer has taken over meanwhile."""
        for stream, ids in list(self._working.items()):
            if ids:
                await self._keep_entries(keys=[stream], args=[GROUP, self.consumer, *ids])

    async def _move_due(self) -> None:
        """Brings later work whose time has come back into the streams."""
        now = repr(time.time())
        await self._each_shard(
            self._due, [([effect_stream_key(s), effect_later_key(s)], [now, LATER_BATCH]) for s in range(EFFECT_SHARDS)]
        )

    async def _each_shard(self, script, calls: list[tuple[list[str], list]]) -> list:
        """A script on each shard's keys: one pipeline on a single server; on a Cluster (whose pipelines run
        no scripts), one call each, together."""
        if self._clustered:
            return await asyncio.gather(*(script(keys=keys, args=args) for keys, args in calls))
        async with self.redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await script(keys=keys, args=args, client=pipe)
            return await pipe.execute()

    async def _forget_consumers(self) -> None:
        gone_ms = int(self.retry_seconds * CONSUMER_GONE_RETRIES * 1000)
        for stream in STREAMS:
            await self._forget(keys=[stream], args=[GROUP, gone_ms])

    async def _sweep(self) -> None:
        """Once every `sweep_seconds` across all processes: queues every ask that owes effects and has no
        entry anywhere (its entry lost with Redis's data, or never added). Owed hashes are listed first and
        the queue read after, so an entry added meanwhile is seen, never duplicated into a missed backoff; and
        each one found is looked at once more, for a carrier may have settled it and let its entry go between
        the two reads (not lost: finished)."""
        async with self._sweeps.holding(effect_sweep_key(), let_go=False) as turn:
            if turn is None:
                return
            owed = set()
            async for key in self.redis.scan_iter(match=owed_keys_pattern(), count=1000):
                owed.add(ask_of_owed_key(key))
            if not owed:
                return
            lost = await self._still_owed(owed - await self._queued())
            for team_id, ask_id in sorted(lost):
                await self.redis.xadd(
                    effect_stream_key(effect_shard(team_id, ask_id)), {"team": team_id, "ask": ask_id}
                )
            if lost:
                EFFECTS.labels("swept").inc(len(lost))
                log.warning("queued owed effects that had no queue entry", extra={"asks": len(lost)})

    async def _still_owed(self, asks: set[tuple[str, str]]) -> list[tuple[str, str]]:
        if not asks:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id, ask_id in asks:
                pipe.exists(owed_key(team_id, ask_id))
            found = await pipe.execute()
        return [ask for ask, exists in zip(asks, found, strict=True) if exists]

    async def _queued(self) -> set[tuple[str, str]]:
        """Every ask with an entry in a stream, an intent, later work or a dead letter (each shard in one step)."""
        queued: set[tuple[str, str]] = set()
        for shard in range(EFFECT_SHARDS):
            async with self.redis.pipeline(transaction=not self._clustered) as pipe:
                for stream in (effect_stream_key(shard), effect_intent_key(shard), effect_dead_key(shard)):
                    pipe.xrange(stream)
                pipe.zrange(effect_later_key(shard), 0, -1)
                *streams, later = await pipe.execute()
            queued.update((f["team"], f["ask"]) for entries in streams for _, f in entries if f)
            queued.update((e["team"], e["ask"]) for e in map(json.loads, later))
        return queued

    async def _start_all(self, stream: str, messages: list) -> int:
        """Starts carrying out each entry's ask (a workspace at its cap has it put back for a moment);
        returns how many were started."""
        started = 0
        for entry_id, fields in messages:
            if not fields or "team" not in fields or "ask" not in fields:  # deleted while pending, or not ours
                if fields:
                    log.error("an effect queue entry that names no ask; dropped", extra={"entry": entry_id})
                await self._finish(Entry(stream, entry_id, "", ""))
                continue
            entry = Entry(
                stream,
                entry_id,
                fields["team"],
                fields["ask"],
                int(fields.get("tries", 0)),
                float(fields.get("born") or int(entry_id.split("-")[0]) / 1000),
            )
            if self._per_team[entry.team_id] >= self.per_workspace:
                await self._later(entry, self._jittered(self.retry_seconds * BACKOFF_SHARE), entry.tries)
                continue
            started += 1
            self._per_team[entry.team_id] += 1
            self._working[stream].add(entry_id)
            task = asyncio.create_task(self._carry(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return started

    async def _carry(self, entry: Entry) -> None:
        try:
            with late_turns_put_back():
                carried = await self._carry_within_limit(entry)
        except Exception as error:
            log.exception(
                "carrying out effects failed; trying again later", extra={"team": entry.team_id, "ask": entry.ask_id}
            )
            carried = Carried(failure=repr(error))
        try:
            await self._settle(entry, carried)
        except RedisError:
            log.warning("could not acknowledge effects; they will be looked at again", exc_info=True)
        finally:
            self._working[entry.stream].discard(entry.id)
            self._taken -= 1
            self._per_team[entry.team_id] -= 1
            if not self._per_team[entry.team_id]:
                del self._per_team[entry.team_id]

    async def _carry_within_limit(self, entry: Entry) -> Carried:
        carrying = asyncio.ensure_future(self.carry_out(entry.team_id, entry.ask_id))
        done, _ = await asyncio.wait({carrying}, timeout=self.retry_seconds * CARRY_LIMIT_RETRIES)
        if carrying in done:
            return _as_carried(carrying.result())
        stack = io.StringIO()
        carrying.print_stack(limit=40, file=stack)
        carrying.cancel()
        LOOP_FAILURES.labels("effects carrier stuck").inc()
        log.error(
            "carrying out effects took far too long; cut off, to be tried again",
            extra={"team": entry.team_id, "ask": entry.ask_id, "stack": stack.getvalue()[-4000:]},
        )
        return Carried(failure="cut off: stuck")

    async def _settle(self, entry: Entry, carried: Carried) -> None:
        if carried.done:
            await self._finish(entry)
            if entry.stream not in INTENTS:  # an intent taken over is counted as such
                EFFECTS.labels("done").inc()
        elif carried.busy:  # its holder finishes it; looked at again in a moment, in case it stopped
            await self._later(entry, self._jittered(self.retry_seconds / 2), entry.tries)
            EFFECTS.labels("busy").inc()
        elif not carried.failure:  # waiting for a rate-budget turn: no try spent
            await self._later(entry, carried.turn_in, entry.tries)
            EFFECTS.labels("later").inc()
        elif entry.tries + 1 >= self.max_attempts or time.time() - entry.born >= self.max_age_seconds:
            await self._bury(entry, carried.failure)
        else:
            backoff = min(self.retry_seconds * BACKOFF_MOST, self.retry_seconds * BACKOFF_SHARE * 2**entry.tries)
            await self._later(entry, self._jittered(backoff), entry.tries + 1)
            EFFECTS.labels("retry").inc()

    @staticmethod
    def _jittered(seconds: float) -> float:
        return seconds * random.uniform(0.5, 1.5)  # nosec B311 - spreading retries out, nothing secret

    async def _later(self, entry: Entry, seconds: float, tries: int) -> None:
        shard = SHARD_OF[entry.stream]
        await self._put_back(
            keys=[entry.stream, effect_later_key(shard), effect_dead_key(shard)],
            args=[GROUP, entry.id, "later", repr(time.time() + seconds), *_fields(entry, tries)],
        )

    async def _bury(self, entry: Entry, failure: str) -> None:
        shard = SHARD_OF[entry.stream]
        extra = ["failure", failure[:500], "died", repr(time.time())]
        buried = await self._put_back(
            keys=[entry.stream, effect_later_key(shard), effect_dead_key(shard)],
            args=[GROUP, entry.id, "dead", "0", *_fields(entry, entry.tries + 1), *extra],
        )
        if buried:
            EFFECTS.labels("dead").inc()
            log.error(
                "effects out of tries; kept as a dead letter (slack-ask effects list)",
                extra={"team": entry.team_id, "ask": entry.ask_id, "tries": entry.tries + 1, "failure": failure[:200]},
            )

    async def _finish(self, entry: Entry) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:  # one stream, one slot
            pipe.xack(entry.stream, GROUP, entry.id)
            pipe.xdel(entry.stream, entry.id)
            await pipe.execute()


def _fields(entry: Entry, tries: int) -> list[str]:
    return ["team", entry.team_id, "ask", entry.ask_id, "tries", str(tries), "born", repr(entry.born)]


def _letter(letter_id: str) -> tuple[int, str]:
    shard, _, entry_id = letter_id.partition(":")
    if not shard.isdigit() or int(shard) >= EFFECT_SHARDS or not entry_id:
        raise ValueError(f"not a dead letter's id: {letter_id!r} (slack-ask effects list shows them)")
    return int(shard), entry_id
