"""The effect queue: what committed changes owe, carried out by every instance (`serve` and `worker`).

Redis Streams with one consumer group. An ask with effects owed has one entry in one of the
EFFECT_SHARDS streams (store.py says how keys map to slots), added in the step that made its owed
hash non-empty and acknowledged (then deleted) once the hash is empty again. An entry read but not
acknowledged stays pending under its consumer, which keeps claiming it afresh while it works, so that
an entry idle for `retry_seconds` belongs to a consumer that died, or one whose Slack calls failed:
any consumer then takes it over (XAUTOCLAIM) and carries it out again. That is safe because carrying
out is idempotent: messages are brought to the ask's current state, posts are claimed and looked for
before being sent again.

On a Redis Cluster each change also has an *intent* (store.py says why), in a stream beside its shard's
read by the same group. An intent is left pending when first read, for its change's script may not have
run yet; once idle for `retry_seconds` it is taken over like an entry whose consumer died, and its ask
carried out (usually nothing is owed by then) and acknowledged. Intents owe nothing of their own, so
the backlog does not count them.

Overload therefore means a longer queue in Redis (visible on /metrics and /healthz, drained by adding
workers), never a slower ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.exceptions import RedisError, ResponseError
from redis.typing import KeyT, StreamIdT

from ..observability import EFFECTS
from ..store.client import RedisClient
from ..store.store import EFFECT_SHARDS, effect_intent_key, effect_stream_key, effect_workers_key

GROUP = "slack-ask"
READ_BATCH = 32
READ_BLOCK_MS = 1000  # under the Redis client's 2 s socket timeout
IN_FLIGHT = 128  # asks carried out at once per process; more waits in Redis, not in memory
RETRY_SECONDS = 10.0
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

log = logging.getLogger(__name__)
INTENTS = frozenset(effect_intent_key(shard) for shard in range(EFFECT_SHARDS))
STREAMS = [key for shard in range(EFFECT_SHARDS) for key in (effect_stream_key(shard), effect_intent_key(shard))]


@dataclass(frozen=True)
class Entry:
    stream: str
    id: str
    team_id: str
    ask_id: str


CarryOut = Callable[[str, str], Awaitable[bool]]  # (team, ask) → True once nothing is owed


class EffectQueue:
    def __init__(
        self,
        redis: RedisClient,
        carry_out: CarryOut,
        *,
        retry_seconds: float = RETRY_SECONDS,
        in_flight: int = IN_FLIGHT,
        consumer: str | None = None,
    ):
        self.redis = redis
        self.carry_out = carry_out
        self.retry_seconds = retry_seconds
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.in_flight = in_flight
        self._allowed = in_flight  # asks to carry out at once for now
        self._taken = 0  # asks under way here, and entries being read for
        self._requests: Callable[[], float] | None = None  # when this process last took a request (loop time)
        self._workers_alive = False  # (seen from a serving process)
        self._working: dict[str, set[str]] = defaultdict(set)  # stream → entry ids being carried out here
        self._tasks: set[asyncio.Task] = set()

    # --- what is waiting ---

    async def backlog(self) -> tuple[int, float]:
        """(entries owed, age in seconds of the oldest), over every shard, in one round trip. A Cluster's
        intents are left out: they owe nothing of their own, and each waits `retry_seconds` by design. (So the
        effects of a change whose process died before adding its entry are not counted: its intent, taken over,
        carries them out.)"""
        async with self.redis.pipeline(transaction=False) as pipe:
            for shard in range(EFFECT_SHARDS):
                pipe.xlen(effect_stream_key(shard))
                pipe.xrange(effect_stream_key(shard), count=1)
            replies = await pipe.execute()
        depth = sum(replies[0::2])
        oldest = [int(first[0][0].split("-")[0]) / 1000 for first in replies[1::2] if first]
        return depth, max(0.0, time.time() - min(oldest)) if oldest else 0.0

    # --- consuming ---

    async def run(self, stop: asyncio.Event, grace_seconds: float, *, requests: Callable[[], float] | None) -> None:
        """Consumes every shard until `stop` is set, then waits up to `grace_seconds` for work under way;
        what is left stays pending and another consumer takes it over. `requests`, in a process that
        serves Slack's: when the latest came in (loop time), for requests to come first."""
        while not stop.is_set():
            try:
                await self._prepare()
                break
            except RedisError:
                log.warning("effect queue not ready; trying again", exc_info=True)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        loops = [
            asyncio.create_task(self._read(shard, stop), name=f"effects {shard}") for shard in range(EFFECT_SHARDS)
        ]
        self._requests = requests
        if requests is not None:
            with contextlib.suppress(RedisError):  # (the next look sees them)
                await self._look_for_workers()
            loops.append(asyncio.create_task(self._watch_lag(requests, stop), name="effects lag"))
            loops.append(
                asyncio.create_task(
                    self._every(WORKER_BEAT_SECONDS, self._look_for_workers, stop), name="effects workers"
                )
            )
        else:
            with contextlib.suppress(RedisError):  # (the next beat says it)
                await self._beat()
            loops.append(asyncio.create_task(self._every(WORKER_BEAT_SECONDS, self._beat, stop), name="effects beat"))
        loops.append(
            asyncio.create_task(self._every(self.retry_seconds / 2, self._reclaim, stop), name="effects reclaim")
        )
        loops.append(asyncio.create_task(self._every(self.retry_seconds / 3, self._keep, stop), name="effects keep"))
        await stop.wait()
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        if requests is None:
            with contextlib.suppress(RedisError):
                await self.redis.zrem(effect_workers_key(), self.consumer)
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)

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
            room, started, failed = await self._room(), 0, False
            try:
                reply = await self.redis.xreadgroup(GROUP, self.consumer, wanted, count=room, block=READ_BLOCK_MS)
                # The client speaks RESP2 (redis-py's default), which answers [[stream, entries], ...] or nothing.
                for stream, messages in cast(list[list[Any]] | None, reply) or []:
                    if stream not in INTENTS:
                        started += await self._start_all(stream, messages)
            except RedisError:
                log.warning("reading effects failed; trying again", exc_info=True)
                failed = True
            finally:
                self._unused(room, started)
            if failed:
                await asyncio.sleep(1.0)

    async def _reclaim(self) -> None:
        """Takes over entries idle for `retry_seconds` (their consumer died, or their effects failed) and
        intents as old (their change's script has run, or never will)."""
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
        """Claims the entries under way here afresh, so nobody takes them over while they run."""
        for stream, ids in list(self._working.items()):
            if ids:
                await self.redis.xclaim(stream, GROUP, self.consumer, 0, list(ids), justid=True)

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), seconds)
            if stop.is_set():  # (wait_for may swallow the cancel that comes with the stop)
                return
            try:
                await work()
            except RedisError:
                log.warning("effect queue upkeep failed; trying again", exc_info=True)

    async def _start_all(self, stream: str, messages: list) -> int:
        """Starts carrying out each entry's ask; returns how many were started."""
        started = 0
        for entry_id, fields in messages:
            if not fields:  # deleted while pending
                await self._finish(Entry(stream, entry_id, "", ""))
                continue
            started += 1
            self._working[stream].add(entry_id)
            task = asyncio.create_task(self._carry(Entry(stream, entry_id, fields["team"], fields["ask"])))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return started

    async def _carry(self, entry: Entry) -> None:
        try:
            done = await self.carry_out(entry.team_id, entry.ask_id)
        except Exception:
            log.exception(
                "carrying out effects failed; trying again later", extra={"team": entry.team_id, "ask": entry.ask_id}
            )
            done = False
        try:
            if done:
                await self._finish(entry)
            if not (done and entry.stream in INTENTS):  # an intent taken over is counted as such
                EFFECTS.labels("done" if done else "retry").inc()
        except RedisError:
            log.warning("could not acknowledge effects; they will be looked at again", exc_info=True)
        finally:
            self._working[entry.stream].discard(entry.id)
            self._taken -= 1

    async def _finish(self, entry: Entry) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:  # one stream, one slot
            pipe.xack(entry.stream, GROUP, entry.id)
            pipe.xdel(entry.stream, entry.id)
            await pipe.execute()
