"""Timed jobs in Redis, each run once however many instances of the app are polling.

A job's due time is data (a sorted-set score), never a key TTL, so it survives restarts and
means the same under a frozen clock in tests as on a real server.

A claim takes a lease instead of deleting the job: a worker that dies mid-job loses nothing,
because once the lease expires the job is claimed again. The flip side is that a handler
which outlives its lease may run twice, so `lease_seconds` must exceed the slowest handler.

Every key of one workspace's jobs shares the hash tag `{team:jobs}`, so each script touches one
slot and the scheduler runs unchanged on Redis Cluster. Which workspaces to look at is a due index
(due_index.py): a poll with nothing due is one call however many workspaces there are, and a busy
one costs what is due.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..observability import JOBS, LOOP_FAILURES, SCHEDULER_LAG
from . import lua
from .client import RedisClient, RedisPipeline, text
from .due_index import DueIndex

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
CLAIM_BATCH = 50
WORKSPACES_PER_PASS = 20
# How long a poller has a due workspace to itself before another may take it (if the first died).
WORKSPACE_HOLD_SECONDS = 10.0
JOBS_AT_ONCE = 64  # handlers running per instance: a busy pass must not exhaust the connection pools
# Jobs claimed but not finished per instance, past which a poll claims no more: the rest of what is
# due is left to the other instances rather than queued here behind slow handlers.
JOBS_CLAIMED_AT_MOST = 4 * JOBS_AT_ONCE


# --- key builders -----------------------------------------------------------------------------


def due_key(team_id: str) -> str:
    """Sorted set: job id → due time, epoch seconds."""
    return f"{{{team_id}:jobs}}:due"


def data_key(team_id: str) -> str:
    """Hash: job id → JSON of the job, token included."""
    return f"{{{team_id}:jobs}}:data"


def leases_key(team_id: str) -> str:
    """Sorted set: job id → when its current claim lapses, epoch seconds."""
    return f"{{{team_id}:jobs}}:leases"


# Before the due index, every workspace with jobs was listed here; adopt_legacy_workspaces moves them.
LEGACY_TEAMS_KEY = "slack-ask:job-teams"


@dataclass(frozen=True)
class Job:
    id: str  # deterministic, e.g. "checkin:<ask_id>", so scheduling it again replaces it
    team_id: str
    kind: str  # picks the handler
    due: float  # epoch seconds
    payload: dict[str, Any] = field(default_factory=dict)
    token: str = ""  # which scheduling of this id a claim holds; set by the scheduler


Handlers = dict[str, Callable[[Job], Awaitable[None]]]  # job kind → what running it does


class Scheduler:
    def __init__(self, redis: RedisClient, lease_seconds: float = LEASE_SECONDS, batch: int = CLAIM_BATCH):
        self.redis = redis
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.index = DueIndex(redis, "jobs")
        self._claim = redis.register_script(lua.source("claim_jobs"))
        self._complete = redis.register_script(lua.source("complete_job"))
        self._running = asyncio.Semaphore(JOBS_AT_ONCE)
        self._in_flight: set[asyncio.Task[bool]] = set()

    async def schedule(self, *jobs: Job) -> None:
        """Adds each job, or replaces the one with its id (due time, payload and all), in one
        transaction: jobs of one workspace, each with a new token for a later claim to carry."""
        team_id = jobs[0].team_id
        async with self.redis.pipeline(transaction=True) as pipe:
            for job in jobs:
                stored = replace(job, token=secrets.token_hex(8))
                pipe.hset(data_key(team_id), job.id, json.dumps(asdict(stored)))
                pipe.zadd(due_key(team_id), {job.id: job.due})
                # A worker may be running the old scheduling; it must not decide the new one's fate.
                pipe.zrem(leases_key(team_id), job.id)
            await pipe.execute()
        # After the jobs are stored, never before: see due_index.py for why that order is what's safe.
        await self.index.lower(team_id, min(job.due for job in jobs))

    async def schedule_unless_scheduled(self, job: Job) -> bool:
        """Adds the job unless one with its id is already waiting (which keeps its due time); True if added."""
        stored = replace(job, token=secrets.token_hex(8))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(data_key(job.team_id), job.id, json.dumps(asdict(stored)))
            pipe.zadd(due_key(job.team_id), {job.id: job.due}, nx=True)
            added, _ = await pipe.execute()
        if added:
            await self.index.lower(job.team_id, job.due)
        return bool(added)

    async def scheduled(self, team_id: str, job_ids: list[str]) -> list[bool]:
        """Whether each of these jobs is waiting (or running), in one call."""
        if not job_ids:
            return []
        return [bool(found) for found in await self.redis.hmget(data_key(team_id), job_ids)]

    async def cancel(self, team_id: str, *job_ids: str) -> bool:
        """False if there was no such job (already run, or never scheduled)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id in job_ids:
                self._remove(pipe, team_id, job_id)
            removed = await pipe.execute()
        return any(removed[2::3])

    @staticmethod
    def _remove(pipe: RedisPipeline, team_id: str, job_id: str) -> None:
        pipe.zrem(due_key(team_id), job_id)
        pipe.zrem(leases_key(team_id), job_id)
        pipe.hdel(data_key(team_id), job_id)

    async def claim_due(self, team_id: str, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Leases up to `limit` jobs that are due, or whose last lease lapsed, until now + lease_seconds."""
        return (await self._claim_and_look_ahead(team_id, now, lease_seconds, limit))[0]

    async def _claim_and_look_ahead(
        self, team_id: str, now: float, lease_seconds: float, limit: int
    ) -> tuple[list[Job], float | None]:
        """The jobs claimed, and when the workspace next needs a look (None: it has no jobs)."""
        records, next_look = await self._claim(
            keys=[due_key(team_id), leases_key(team_id), data_key(team_id)],
            args=[repr(float(now)), repr(float(now + lease_seconds)), limit],
        )
        return [Job(**json.loads(record)) for record in records], float(next_look) if next_look else None

    async def complete(self, team_id: str, job_id: str, token: str) -> bool:
        """Forgets a job that ran. False, and nothing changes, if the claim of `token` no longer
        stands: the job was cancelled, or scheduled again, since."""
        return bool(await self._complete(keys=[leases_key(team_id), data_key(team_id)], args=[job_id, token]))

    async def run_due(self, handlers: Handlers, now: float | None = None) -> int:
        """Runs every job due by `now` (default: the clock), in every workspace, and waits for them.

        A handler that raises, or a kind with no handler, is logged and its job left leased: it
        is retried once the lease lapses. Returns how many jobs ran successfully.
        """
        succeeded = 0
        while started := await self._start_due(handlers, time.time() if now is None else now):
            succeeded += sum(await asyncio.gather(*started))
        return succeeded

    async def run_due_of(self, team_id: str, handlers: Handlers) -> int:
        """Runs one workspace's jobs due now, and waits for them; returns how many succeeded."""
        jobs = await self.claim_due(team_id, time.time(), self.lease_seconds, self.batch)
        return sum(await asyncio.gather(*(self._run(job, handlers) for job in jobs)))

    async def _start_due(self, handlers: Handlers, now: float) -> list[asyncio.Task[bool]]:
        """Claims what is due and starts running it, without waiting for it: a slow handler (Slack
        making it wait) never holds up the next poll, so one job's delay is not every job's."""
        started = []
        while len(self._in_flight) < JOBS_CLAIMED_AT_MOST and (
            due := await self.index.take_due(now, WORKSPACES_PER_PASS, WORKSPACE_HOLD_SECONDS)
        ):
            claims = await asyncio.gather(
                *(self._claim_and_look_ahead(team_id, now, self.lease_seconds, self.batch) for team_id, _ in due)
            )
            # A workspace with more due than one batch keeps a due entry, so the next pass takes it again.
            await self.index.settle(
                [(team_id, seen, next_look) for (team_id, seen), (_, next_look) in zip(due, claims, strict=False)]
            )
            for jobs, _ in claims:
                for job in jobs:
                    task = asyncio.create_task(self._run(job, handlers), name=f"job {job.kind}")
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
                    started.append(task)
        return started

    async def adopt_legacy_workspaces(self, first: Callable[[str], Awaitable[object]] | None = None) -> int:
        """Indexes the workspaces an older version listed in LEGACY_TEAMS_KEY, so no job they hold
        is missed after an upgrade; each is looked at once by the next poll. `first` runs for each
        before it leaves the list (so a crash part-way repeats it). Returns how many."""
        teams = [text(team_id) for team_id in await self.redis.smembers(LEGACY_TEAMS_KEY)]
        for team_id in teams:
            if first is not None:
                await first(team_id)
            await self.index.lower(team_id, 0.0)
            await self.redis.srem(LEGACY_TEAMS_KEY, team_id)
        return len(teams)

    async def forget_workspace(self, team_id: str) -> None:
        await self.redis.unlink(due_key(team_id), data_key(team_id), leases_key(team_id))
        await self.index.forget(team_id)

    async def run_forever(self, handlers: Handlers, poll_seconds: float = 1.0, *, stop: asyncio.Event) -> None:
        """Polls about every `poll_seconds` until `stop` is set: one such task per app instance.

        Each wait is jittered (±50%), so instances started together drift apart and, between them,
        poll more often than any one does: with 4 instances a due job waits ~¼ of a poll, not ½."""
        while not stop.is_set():
            try:
                await self._start_due(handlers, time.time())
            except Exception:  # Redis away for a moment must not end every future timer
                LOOP_FAILURES.labels("jobs").inc()
                log.exception("polling for due jobs failed")
            try:
                jitter = random.uniform(0.5, 1.5)  # nosec B311 - spreading polls out, nothing secret
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds * jitter)
            except TimeoutError:
                pass
        await asyncio.gather(*self._in_flight)  # the jobs under way finish (the worker bounds how long)

    async def _run(self, job: Job, handlers: Handlers) -> bool:
        async with self._running:
            return await self._run_now(job, handlers)

    async def _run_now(self, job: Job, handlers: Handlers) -> bool:
        started = time.time()
        SCHEDULER_LAG.observe(max(0.0, started - job.due))
        fields = {"job": job.kind, "team": job.team_id, "lag_s": round(started - job.due, 3)}
        try:
            await handlers[job.kind](job)
        except Exception:
            JOBS.labels(job.kind, "failed").inc()
            log.exception("job failed; retrying after its lease", extra={**fields, "job_id": job.id})
            return False
        await self.complete(job.team_id, job.id, job.token)
        JOBS.labels(job.kind, "done").inc()
        log.info("job", extra={**fields, "duration_ms": round((time.time() - started) * 1000, 1)})
        return True
