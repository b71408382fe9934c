"""Timed jobs against a real server, with the clock frozen: due times are data, so they obey it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from redis.asyncio import Redis
from redis.crc import key_slot

from slack_app.domain.working_hours import next_working_time
from slack_app.store.due_index import changes_key, next_key
from slack_app.store.scheduler import LEGACY_TEAMS_KEY, Job, Scheduler, data_key, due_key, leases_key

TEAM = "T0TEAM"
START = datetime(2026, 1, 14, 10, tzinfo=UTC)  # a Wednesday


@asynccontextmanager
async def workers(redis_url: str, count: int = 1, **options):
    """`count` schedulers, each on its own connection, as separate app instances would be."""
    clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(count)]
    try:
        yield [Scheduler(client, **options) for client in clients]
    finally:
        for client in clients:
            await client.aclose()


def frozen_at(moment: datetime):
    # real_asyncio: the event loop keeps real time, so asyncio.sleep works under a frozen clock.
    return freeze_time(moment, real_asyncio=True)


def checkin(ask_id: str, due: float, team_id: str = TEAM, **payload) -> Job:
    return Job(id=f"checkin:{ask_id}", team_id=team_id, kind="checkin", due=due, payload=payload)


async def leftovers(redis: Redis, team_id: str = TEAM) -> tuple[int, int, int]:
    """How many jobs are waiting, leased, and stored."""
    return (
        await redis.zcard(due_key(team_id)),
        await redis.zcard(leases_key(team_id)),
        await redis.hlen(data_key(team_id)),
    )


def test_a_job_runs_once_at_its_due_time_and_not_before(redis_url, run):
    ran = []

    async def remind(job: Job) -> None:
        ran.append((job.id, job.payload, time.time()))

    with frozen_at(START) as frozen:

        async def scenario():
            async with workers(redis_url) as (scheduler,):
                await scheduler.schedule(checkin("a1", time.time() + 60, ask="a1"))
                runs = [await scheduler.run_due({"checkin": remind})]
                frozen.tick(59)
                runs.append(await scheduler.run_due({"checkin": remind}))
                frozen.tick(1)
                runs.append(await scheduler.run_due({"checkin": remind}))
                frozen.tick(3600)
                runs.append(await scheduler.run_due({"checkin": remind}))
                return runs, await leftovers(scheduler.redis)

        runs, left = run(scenario())

    assert runs == [0, 0, 1, 0]
    assert ran == [("checkin:a1", {"ask": "a1"}, START.timestamp() + 60)]
    assert left == (0, 0, 0)


def test_scheduling_the_same_id_again_replaces_the_job(redis_url, run):
    now = START.timestamp()

    async def scenario():
        async with workers(redis_url) as (scheduler,):
            await scheduler.schedule(checkin("a1", now + 60, version=1))
            await scheduler.schedule(checkin("a1", now + 120, version=2))
            stored = await leftovers(scheduler.redis)
            at_first_time = await scheduler.claim_due(TEAM, now + 60, lease_seconds=30, limit=10)
            at_second_time = await scheduler.claim_due(TEAM, now + 120, lease_seconds=30, limit=10)
            return stored, at_first_time, at_second_time

    stored, at_first_time, at_second_time = run(scenario())

    assert stored == (1, 0, 1)
    assert at_first_time == []
    [job] = at_second_time
    assert (job.id, job.due, job.payload) == ("checkin:a1", now + 120, {"version": 2})


def test_a_cancelled_job_never_runs_whether_waiting_or_leased(redis_url, run):
    now = START.timestamp()
    ran = []

    async def remind(job: Job) -> None:
        ran.append(job.id)

    async def scenario():
        async with workers(redis_url, lease_seconds=30) as (scheduler,):
            await scheduler.schedule(checkin("waiting", now + 60))
            await scheduler.schedule(checkin("leased", now))
            [leased] = await scheduler.claim_due(TEAM, now, lease_seconds=30, limit=10)
            cancelled = [
                await scheduler.cancel(TEAM, "checkin:waiting"),
                await scheduler.cancel(TEAM, leased.id),
                await scheduler.cancel(TEAM, "checkin:waiting"),
            ]
            left = await leftovers(scheduler.redis)
            runs = await scheduler.run_due({"checkin": remind}, now=now + 3600)
            return cancelled, left, runs

    cancelled, left, runs = run(scenario())

    assert cancelled == [True, True, False]
    assert left == (0, 0, 0)
    assert runs == 0 and ran == []


def test_a_job_whose_record_vanished_is_dropped_rather_than_claimed_forever(redis_url, run):
    # As after an eviction under memory pressure took the data hash but not the sorted sets.
    now = START.timestamp()

    async def scenario():
        async with workers(redis_url) as (scheduler,):
            await scheduler.schedule(checkin("leased", now))
            await scheduler.claim_due(TEAM, now, lease_seconds=30, limit=10)
            await scheduler.schedule(checkin("waiting", now + 60))
            await scheduler.schedule(checkin("intact", now + 60))
            await scheduler.redis.hdel(data_key(TEAM), "checkin:leased", "checkin:waiting")
            claimed = await scheduler.claim_due(TEAM, now + 60, lease_seconds=30, limit=10)
            return [job.id for job in claimed], await leftovers(scheduler.redis)

    claimed, left = run(scenario())

    assert claimed == ["checkin:intact"]
    assert left == (0, 1, 1)


def test_two_workers_racing_over_a_hundred_due_jobs_run_each_exactly_once(redis_url, run):
    counts: Counter[str] = Counter()

    async def remind(job: Job) -> None:
        await asyncio.sleep(0)  # hand the loop to the other worker mid-batch
        counts[job.id] += 1

    with frozen_at(START):

        async def scenario():
            async with workers(redis_url, count=2, batch=7) as (first, second):
                for i in range(100):
                    await first.schedule(checkin(f"a{i}", time.time() - i))
                handlers = {"checkin": remind}
                runs = await asyncio.gather(first.run_due(handlers), second.run_due(handlers))
                again = await asyncio.gather(first.run_due(handlers), second.run_due(handlers))
                return runs, again, await leftovers(first.redis)

        runs, again, left = run(scenario())

    assert len(counts) == 100 and set(counts.values()) == {1}
    assert sum(runs) == 100 and sum(counts.values()) == 100
    assert again == [0, 0]
    assert left == (0, 0, 0)


def test_concurrent_claims_never_hand_out_the_same_job(redis_url, run):
    now = START.timestamp()

    async def scenario():
        async with workers(redis_url, count=2) as (first, second):
            for i in range(100):
                await first.schedule(checkin(f"a{i}", now))
            claims = await asyncio.gather(
                *(worker.claim_due(TEAM, now, lease_seconds=30, limit=3) for worker in (first, second) * 25)
            )
            return [job.id for claim in claims for job in claim]

    claimed = run(scenario())

    assert len(claimed) == len(set(claimed)) == 100


def test_a_dead_workers_job_is_claimed_again_only_once_its_lease_lapses(redis_url, run):
    counts: Counter[str] = Counter()

    async def remind(job: Job) -> None:
        counts[job.id] += 1

    with frozen_at(START) as frozen:

        async def scenario():
            async with workers(redis_url, count=2, lease_seconds=30) as (dead, alive):
                await dead.schedule(checkin("a1", time.time()))
                claimed_by_dead = await dead.claim_due(TEAM, time.time(), lease_seconds=30, limit=10)
                # The dead worker never completes. Until its lease lapses, nobody gets the job.
                frozen.tick(10)
                claimed_meanwhile = await alive.claim_due(TEAM, time.time(), lease_seconds=30, limit=10)
                frozen.tick(19.999)
                runs = [await alive.run_due({"checkin": remind})]
                frozen.tick(0.001)
                runs.append(await alive.run_due({"checkin": remind}))
                frozen.tick(3600)
                runs.append(await alive.run_due({"checkin": remind}))
                return claimed_by_dead, claimed_meanwhile, runs, await leftovers(alive.redis)

        claimed_by_dead, claimed_meanwhile, runs, left = run(scenario())

    assert [job.id for job in claimed_by_dead] == ["checkin:a1"]
    assert claimed_meanwhile == []
    assert runs == [0, 1, 0]
    assert counts == {"checkin:a1": 1}
    assert left == (0, 0, 0)


def test_a_failing_handler_leaves_the_job_to_be_retried_after_its_lease(redis_url, run, caplog):
    attempts: Counter[str] = Counter()

    async def flaky(job: Job) -> None:
        attempts[job.id] += 1
        if attempts[job.id] == 1:
            raise RuntimeError("Slack said ratelimited")

    with frozen_at(START) as frozen, caplog.at_level(logging.ERROR, logger="slack_app.store.scheduler"):

        async def scenario():
            async with workers(redis_url, lease_seconds=60) as (scheduler,):
                await scheduler.schedule(checkin("a1", time.time()))
                runs = [await scheduler.run_due({"checkin": flaky})]
                frozen.tick(59)
                runs.append(await scheduler.run_due({"checkin": flaky}))
                frozen.tick(1)
                runs.append(await scheduler.run_due({"checkin": flaky}))
                frozen.tick(3600)
                runs.append(await scheduler.run_due({"checkin": flaky}))
                return runs, await leftovers(scheduler.redis)

        runs, left = run(scenario())

    assert runs == [0, 0, 1, 0]
    assert attempts == {"checkin:a1": 2}
    assert left == (0, 0, 0)
    [failure] = [record for record in caplog.records if record.name == "slack_app.store.scheduler"]
    assert failure.job_id == "checkin:a1" and failure.exc_info[0] is RuntimeError


def test_a_job_of_a_kind_nobody_handles_waits_for_a_worker_that_does(redis_url, run, caplog):
    now = START.timestamp()
    ran = []

    async def remind(job: Job) -> None:
        ran.append(job.id)

    async def scenario():
        async with workers(redis_url, count=2, lease_seconds=60) as (old_version, new_version):
            await old_version.schedule(checkin("a1", now))
            runs = [await old_version.run_due({}, now=now)]
            runs.append(await new_version.run_due({"checkin": remind}, now=now + 59))
            runs.append(await new_version.run_due({"checkin": remind}, now=now + 60))
            return runs

    with caplog.at_level(logging.ERROR, logger="slack_app.store.scheduler"):
        runs = run(scenario())

    assert runs == [0, 0, 1]
    assert ran == ["checkin:a1"]
    assert any(getattr(record, "job_id", "") == "checkin:a1" for record in caplog.records)


def test_an_old_workers_complete_does_not_undo_a_new_schedule(redis_url, run):
    now = START.timestamp()

    async def scenario():
        async with workers(redis_url, count=2) as (old, new):
            await old.schedule(checkin("a1", now, version=1))
            [stale] = await old.claim_due(TEAM, now, lease_seconds=30, limit=10)
            # While the old worker runs version 1, the ask changes and the check-in moves.
            await new.schedule(checkin("a1", now + 100, version=2))
            completed_while_waiting = await old.complete(TEAM, stale.id, stale.token)
            waiting = await leftovers(new.redis)
            [fresh] = await new.claim_due(TEAM, now + 100, lease_seconds=30, limit=10)
            completed_while_leased = await old.complete(TEAM, stale.id, stale.token)
            leased = await leftovers(new.redis)
            completed_by_new = await new.complete(TEAM, fresh.id, fresh.token)
            return completed_while_waiting, waiting, fresh, completed_while_leased, leased, completed_by_new

    completed_while_waiting, waiting, fresh, completed_while_leased, leased, completed_by_new = run(scenario())

    assert completed_while_waiting is False and waiting == (1, 0, 1)
    assert (fresh.due, fresh.payload) == (now + 100, {"version": 2})
    assert completed_while_leased is False and leased == (0, 1, 1)
    assert completed_by_new is True


@pytest.mark.parametrize(
    ("friday_evening", "tokyo_nine", "new_york_nine"),
    [
        # New York springs forward on Sunday 2026-03-08: Monday 09:00 EDT is 13:00 UTC, not 14:00.
        (
            datetime(2026, 3, 6, 23, 30, tzinfo=UTC),
            datetime(2026, 3, 9, 0, tzinfo=UTC),
            datetime(2026, 3, 9, 13, tzinfo=UTC),
        ),
        # New York falls back on Sunday 2026-11-01: Monday 09:00 EST is 14:00 UTC, not 13:00.
        (
            datetime(2026, 10, 30, 23, 30, tzinfo=UTC),
            datetime(2026, 11, 2, 0, tzinfo=UTC),
            datetime(2026, 11, 2, 14, tzinfo=UTC),
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_timers_fire_at_nine_in_each_recipients_own_time_zone(
    redis_url, run, friday_evening, tokyo_nine, new_york_nine
):
    ran = []

    async def remind(job: Job) -> None:
        ran.append((job.id, datetime.fromtimestamp(time.time(), UTC)))

    with frozen_at(friday_evening) as frozen:  # Saturday 08:30 in Tokyo, Friday evening in New York

        async def scenario():
            async with workers(redis_url) as (scheduler,):
                for person, tz in (("tokyo", "Asia/Tokyo"), ("new_york", "America/New_York")):
                    due = next_working_time(datetime.now(UTC), tz)
                    await scheduler.schedule(checkin(person, due.timestamp()))
                runs = []
                for moment in (tokyo_nine, new_york_nine):
                    frozen.move_to(moment - timedelta(seconds=1))
                    runs.append(await scheduler.run_due({"checkin": remind}))
                    frozen.move_to(moment)
                    runs.append(await scheduler.run_due({"checkin": remind}))
                return runs

        runs = run(scenario())

    assert runs == [0, 1, 0, 1]
    assert ran == [("checkin:tokyo", tokyo_nine), ("checkin:new_york", new_york_nine)]


def test_due_jobs_run_in_every_workspace_and_each_keeps_its_keys_in_one_slot(redis_url, run):
    now = START.timestamp()
    ran = []

    async def remind(job: Job) -> None:
        ran.append((job.team_id, job.id))

    async def scenario():
        async with workers(redis_url) as (scheduler,):
            await scheduler.schedule(checkin("a1", now, team_id="T0ONE"))
            await scheduler.schedule(checkin("a2", now + 60, team_id="T0ONE"))
            await scheduler.schedule(checkin("b1", now + 60, team_id="T0TWO"))
            await scheduler.claim_due("T0ONE", now, lease_seconds=30, limit=10)  # leases a1, never completed
            keys = set(await scheduler.redis.keys("*"))
            index = await scheduler.redis.zrange(next_key("jobs"), 0, -1, withscores=True)
            runs = await scheduler.run_due({"checkin": remind}, now=now + 3600)
            # Until their leases would have lapsed, the index keeps a look at each workspace; then none.
            await scheduler.run_due({"checkin": remind}, now=now + 3600 + scheduler.lease_seconds)
            left = await scheduler.redis.zcard(next_key("jobs"))
            return keys, index, runs, left

    keys, index, runs, left = run(scenario())

    assert keys == {
        "{T0ONE:jobs}:due",
        "{T0ONE:jobs}:data",
        "{T0ONE:jobs}:leases",
        "{T0TWO:jobs}:due",
        "{T0TWO:jobs}:data",
        next_key("jobs"),
        changes_key("jobs"),
    }
    for prefix in ("{T0ONE:", "{T0TWO:", "{slack-ask:jobs}"):
        assert len({key_slot(key.encode()) for key in keys if key.startswith(prefix)}) == 1
    assert index == [("T0ONE", now), ("T0TWO", now + 60)]  # each workspace's earliest due time, one entry each
    assert runs == 3
    assert sorted(ran) == [("T0ONE", "checkin:a1"), ("T0ONE", "checkin:a2"), ("T0TWO", "checkin:b1")]
    assert left == 0  # nothing left to run: no workspace stays in the index


class CountingRedis(Redis):
    """Counts calls that reach Redis: one per command, or per pipeline."""

    calls = 0

    async def execute_command(self, *args, **options):
        CountingRedis.calls += 1
        return await super().execute_command(*args, **options)


def test_an_idle_poll_is_one_call_however_many_workspaces_have_jobs(redis_url, run):
    now = START.timestamp()

    async def scenario():
        client = CountingRedis.from_url(redis_url, decode_responses=True)
        scheduler = Scheduler(client)
        for team in range(300):
            await scheduler.schedule(checkin("a", now + 3600 + team, team_id=f"T{team:04d}"))
        CountingRedis.calls = 0
        idle = await scheduler.run_due({}, now=now)
        idle_calls = CountingRedis.calls
        CountingRedis.calls = 0
        busy = await scheduler.run_due({"checkin": lambda job: asyncio.sleep(0)}, now=now + 3602)
        busy_calls = CountingRedis.calls
        await client.aclose()
        return idle, idle_calls, busy, busy_calls

    idle, idle_calls, busy, busy_calls = run(scenario())

    assert (idle, idle_calls) == (0, 1)
    # Three jobs due in three workspaces: take them, claim each, settle the index, look again (nothing more),
    # complete each, and a last look for work the handlers may have made due.
    assert busy == 3 and busy_calls == 1 + 3 + 1 + 1 + 3 + 1


def test_work_scheduled_while_a_poller_looks_at_its_workspace_is_not_missed(redis_url, run):
    now = START.timestamp()
    ran = []

    async def remind(job: Job) -> None:
        ran.append(job.id)

    async def scenario():
        async with workers(redis_url, count=2) as (poller, app):
            await app.schedule(checkin("later", now + 3600))
            [(team, seen)] = await poller.index.take_due(now + 3600, 10, 10)
            jobs, next_look = await poller._claim_and_look_ahead(team, now + 3600, 300, 10)
            # Between the poller's look and its update of the index, an answer schedules a job due sooner.
            await app.schedule(checkin("sooner", now + 3700))
            await poller.index.settle([(team, seen, next_look)])
            await poller.complete(TEAM, jobs[0].id, jobs[0].token)
            return await poller.run_due({"checkin": remind}, now=now + 3700)

    runs = run(scenario())

    assert runs == 1 and ran == ["checkin:sooner"]


def test_workspaces_an_older_version_listed_are_indexed_on_start(redis_url, run):
    now = START.timestamp()
    ran = []

    async def remind(job: Job) -> None:
        ran.append(job.id)

    async def scenario():
        async with workers(redis_url) as (scheduler,):
            # As the previous version left things: the job, and its workspace in a plain set.
            await scheduler.redis.hset(
                data_key(TEAM),
                "checkin:a1",
                '{"id": "checkin:a1", "team_id": "T0TEAM", "kind": "checkin", "due": 1.0, "payload": {}, "token": "t"}',
            )
            await scheduler.redis.zadd(due_key(TEAM), {"checkin:a1": 1.0})
            await scheduler.redis.sadd(LEGACY_TEAMS_KEY, TEAM)
            before = await scheduler.run_due({"checkin": remind}, now=now)
            adopted = await scheduler.adopt_legacy_workspaces()
            after = await scheduler.run_due({"checkin": remind}, now=now)
            return before, adopted, after, await scheduler.redis.exists(LEGACY_TEAMS_KEY)

    before, adopted, after, legacy_left = run(scenario())

    assert (before, adopted, after, legacy_left) == (0, 1, 1, 0)
    assert ran == ["checkin:a1"]


def test_run_forever_runs_jobs_as_they_fall_due_until_stopped(redis_url, run):
    ran = []

    async def remind(job: Job) -> None:
        ran.append(job.id)

    with frozen_at(START) as frozen:

        async def scenario():
            async with workers(redis_url) as (scheduler,):
                await scheduler.schedule(checkin("a1", time.time() + 5))
                stop = asyncio.Event()
                polling = scheduler.run_forever({"checkin": remind}, poll_seconds=0.01, stop=stop)
                loop = asyncio.create_task(polling)
                await asyncio.sleep(0.1)  # ten polls before it is due
                before = list(ran)
                frozen.tick(5)
                for _ in range(200):
                    if ran:
                        break
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.1)  # further polls must not run it again
                stop.set()
                await asyncio.wait_for(loop, timeout=2)
                return before

        before = run(scenario())

    assert before == []
    assert ran == ["checkin:a1"]


def test_a_slow_job_holds_up_no_other(redis_url, run):
    ran = []

    async def scenario():
        release = asyncio.Event()

        async def slow(job: Job) -> None:  # as a handler that Slack keeps waiting
            ran.append("slow started")
            await release.wait()
            ran.append("slow done")

        async def quick(job: Job) -> None:
            ran.append(job.id)

        async with workers(redis_url) as (scheduler,):
            now = time.time()
            await scheduler.schedule(Job(id="slow", team_id=TEAM, kind="slow", due=now))
            await scheduler.schedule(Job(id="quick", team_id="T0OTHER", kind="quick", due=now + 0.2))
            stop = asyncio.Event()
            polling = asyncio.create_task(
                scheduler.run_forever({"slow": slow, "quick": quick}, poll_seconds=0.02, stop=stop)
            )
            for _ in range(300):
                if "quick" in ran:
                    break
                await asyncio.sleep(0.01)
            while_slow = list(ran)
            release.set()
            stop.set()
            await asyncio.wait_for(polling, timeout=2)  # stopping lets the job under way finish
            return while_slow

    while_slow = run(scenario())

    assert while_slow == ["slow started", "quick"]
    assert ran == ["slow started", "quick", "slow done"]
