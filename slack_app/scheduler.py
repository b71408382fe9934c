"""Timed jobs in Redis, each run once however many instances of the app are polling.

A job's due time is data (a sorted-set score), never a key TTL, so it survives restarts and
means the same under a frozen clock in tests as on a real server.

A claim takes a lease instead of deleting the job: a worker that dies mid-job loses nothing,
because once the lease expires the job is claimed again. The flip side is that a handler
which outlives its lease may run twice, so `lease_seconds` must exceed the slowest handler.

Every key of one workspace's jobs shares the hash tag `{team:jobs}`, so each script touches one
slot and the scheduler runs unchanged on Redis Cluster.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace

from redis.asyncio import Redis

from .observability import JOBS, SCHEDULER_LAG

log = logging.getLogger(__name__)

LEASE_SECONDS = 300.0
CLAIM_BATCH = 50


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


# Lives in no workspace's slot, so it is written beside the atomic operations, never inside one.
TEAMS_KEY = "slack-ask:job-teams"


# --- scripts ----------------------------------------------------------------------------------

# Leases every due job and every job whose lease lapsed (its worker died), up to a limit, in one
# step: two workers polling at once can never both hold a live lease on the same job.
CLAIM_SCRIPT = """
local due, leases, data = KEYS[1], KEYS[2], KEYS[3]
local now, lease_until, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local ids = redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, limit)
if #ids < limit then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, limit - #ids)) do
    redis.call('ZREM', due, id)
    table.insert(ids, id)
  end
end
local claimed = {}
for _, id in ipairs(ids) do
  local record = redis.call('HGET', data, id)
  if record then
    redis.call('ZADD', leases, lease_until, id)
    table.insert(claimed, record)
  else
    -- Its record is gone (an evicted key): nothing to run, and nothing to reclaim forever.
    redis.call('ZREM', leases, id)
  end
end
return claimed
"""

# Forgets a job once its handler succeeded, unless it was cancelled or scheduled anew since the
# claim. Every scheduling mints a new token, so a matching token means this very claim's job,
# still leased; any other means the new schedule must stand.
COMPLETE_SCRIPT = """
local leases, data = KEYS[1], KEYS[2]
local id, token = ARGV[1], ARGV[2]
local record = redis.call('HGET', data, id)
if not record or cjson.decode(record).token ~= token then return 0 end
redis.call('ZREM', leases, id)
redis.call('HDEL', data, id)
return 1
"""


@dataclass(frozen=True)
class Job:
    id: str  # deterministic, e.g. "checkin:<ask_id>", so scheduling it again replaces it
    team_id: str
    kind: str  # picks the handler
    due: float  # epoch seconds
    payload: dict = field(default_factory=dict)
    token: str = ""  # which scheduling of this id a claim holds; set by the scheduler


Handlers = dict[str, Callable[[Job], Awaitable[None]]]  # job kind → what running it does


class Scheduler:
    def __init__(self, redis: Redis, lease_seconds: float = LEASE_SECONDS, batch: int = CLAIM_BATCH):
        self.redis = redis
        self.lease_seconds = lease_seconds
        self.batch = batch
        self._claim = redis.register_script(CLAIM_SCRIPT)
        self._complete = redis.register_script(COMPLETE_SCRIPT)
        self._known_teams: set[str] = set()  # safe to lose: only saves re-adding to TEAMS_KEY

    async def schedule(self, job: Job, *, cancelling: tuple[str, ...] = ()) -> Job:
        """Adds the job, or replaces the one with its id (due time, payload and all), and cancels
        the jobs named in `cancelling`, in one transaction.

        Returns it as stored, with the token a later claim of this scheduling will carry.
        """
        stored = replace(job, token=secrets.token_hex(8))
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id in cancelling:
                self._remove(pipe, job.team_id, job_id)
            pipe.hset(data_key(job.team_id), job.id, json.dumps(asdict(stored)))
            pipe.zadd(due_key(job.team_id), {job.id: job.due})
            # A worker may be running the old scheduling; it must not decide the new one's fate.
            pipe.zrem(leases_key(job.team_id), job.id)
            await pipe.execute()
        if job.team_id not in self._known_teams:  # one write per workspace and process, not per job
            await self.redis.sadd(TEAMS_KEY, job.team_id)
            self._known_teams.add(job.team_id)
        return stored

    async def cancel(self, team_id: str, *job_ids: str) -> bool:
        """False if there was no such job (already run, or never scheduled)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id in job_ids:
                self._remove(pipe, team_id, job_id)
            removed = await pipe.execute()
        return any(removed[2::3])

    @staticmethod
    def _remove(pipe, team_id: str, job_id: str) -> None:
        pipe.zrem(due_key(team_id), job_id)
        pipe.zrem(leases_key(team_id), job_id)
        pipe.hdel(data_key(team_id), job_id)

    async def claim_due(self, team_id: str, now: float, lease_seconds: float, limit: int) -> list[Job]:
        """Leases up to `limit` jobs that are due, or whose last lease lapsed, until now + lease_seconds."""
        records = await self._claim(
            keys=[due_key(team_id), leases_key(team_id), data_key(team_id)],
            args=[repr(float(now)), repr(float(now + lease_seconds)), limit],
        )
        return [Job(**json.loads(record)) for record in records]

    async def complete(self, team_id: str, job_id: str, token: str) -> bool:
        """Forgets a job that ran. False, and nothing changes, if the claim of `token` no longer
        stands: the job was cancelled, or scheduled again, since."""
        return bool(await self._complete(keys=[leases_key(team_id), data_key(team_id)], args=[job_id, token]))

    async def run_due(self, handlers: Handlers, now: float | None = None) -> int:
        """Runs every job due by `now` (default: the clock), in every workspace.

        A handler that raises, or a kind with no handler, is logged and its job left leased: it
        is retried once the lease lapses. Returns how many jobs ran successfully.
        """
        now = time.time() if now is None else now
        succeeded = 0
        for team_id in await self.redis.smembers(TEAMS_KEY):
            while True:
                jobs = await self.claim_due(team_id, now, self.lease_seconds, self.batch)
                # Together, so that the last job of a batch does not wait out its lease in a queue.
                results = await asyncio.gather(*(self._run(job, handlers) for job in jobs))
                succeeded += sum(results)
                if len(jobs) < self.batch:
                    break
        return succeeded

    async def run_forever(self, handlers: Handlers, poll_seconds: float = 1.0, *, stop: asyncio.Event) -> None:
        """Polls every `poll_seconds` until `stop` is set: one such task per app instance."""
        while not stop.is_set():
            try:
                await self.run_due(handlers)
            except Exception:  # Redis away for a moment must not end every future timer
                log.exception("polling for due jobs failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
            except TimeoutError:
                pass

    async def _run(self, job: Job, handlers: Handlers) -> bool:
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

