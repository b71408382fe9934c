"""A seeded fault-injection run: people using slack-ask while its processes, Redis and Slack fail around them,
then a check, against the fake Slack's record and Redis, that every message went out exactly once.

    python bench/chaos.py                    # 10 minutes on one Valkey (AOF on)
    python bench/chaos.py --cluster          # the same on a three-node Redis Cluster
    python bench/chaos.py --seconds 60 --seed 7   # the suite's short run; a failing seed reproduces

Three `slack-ask serve` and one `slack-ask worker` share the Redis; simulated people (chaos_people.py)
send signed requests to the serving processes as Slack would, and act on the messages the fake Slack
shows them. Meanwhile, at moments drawn from the seed, the injector SIGKILLs any process and restarts
it; rolls a restart through all of them (SIGTERM and its grace, one at a time); restarts Redis, and once
empties it; and makes Slack answer 503 with an HTML page, JSON 5xx, `service_unavailable` and its kin,
time out, answer 429 with Retry-After, or take 5 s, for stretches of 30–90 s (scaled to a shorter run).
The clock's work (check-ins, thank-you reminders, expiry: days away) is run by the lifecycle's own job
handlers from this process with the job due at its moment, as a worker whose clock is ahead would.

Then the faults stop, everything is brought back up, and once the app has drained its queue the
invariants (checks.py) are checked. Exit status 0 only with no violation and enough faults injected.
Everything listens on 127.0.0.1 (or a Unix socket), and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_check import Quiet, check  # noqa: E402
from chaos_parts import ChaosSlack, Fleet, Redises  # noqa: E402
from chaos_people import People  # noqa: E402
from fake_slack import INCIDENT_KINDS, TEMPORARY_ERRORS, Incident, person  # noqa: E402
from procs import Processes, child_env, raise_open_files_limit  # noqa: E402
from redis.exceptions import RedisError  # noqa: E402

from slack_app.features.lifecycle import check_in_due, expiry_deadline, thanks_reminder_due  # noqa: E402
from slack_app.settings import Settings  # noqa: E402
from slack_app.store.scheduler import Job  # noqa: E402
from slack_app.wiring.app import create_app  # noqa: E402

TOKEN = "xoxb-chaos-token"
SIGNING_SECRET = "chaos-signing-secret"
SLACK_TIMEOUT_SECONDS = 10.0  # the app's SLACK_API_TIMEOUT: a `timeout` answer comes after it
SLOW_SLACK_SECONDS = 5.0
FULL_RUN_SECONDS = 600.0  # stretches, restarts and the empty phase are placed as in a run this long, scaled
DRAIN_CEILING_SECONDS = 420.0
EFFECT_RETRY_SECONDS = 3.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=600.0, help="how long faults are injected (default 600)")
    parser.add_argument("--seed", type=int, default=1, help="seeds people and faults alike (default 1)")
    parser.add_argument("--cluster", action="store_true", help="a three-node Redis Cluster instead of one Valkey")
    parser.add_argument("--workspaces", type=int, default=6)
    parser.add_argument("--people", type=int, default=80, help="people per workspace")
    parser.add_argument("--asks", type=int, help="asks to send (default 3,000 in 10 minutes, pro rata)")
    parser.add_argument("--actions", type=int, help="answers, offers, cancels, dones, thanks (default 7 per ask)")
    parser.add_argument("--min-faults", type=int, help="fewer faults fail the run (default 200 in 10 min, pro rata)")
    parser.add_argument("--kill-every", type=float, default=2.2, help="mean seconds between SIGKILLs (default 2.2)")
    args = parser.parse_args(argv)
    scale = args.seconds / FULL_RUN_SECONDS
    args.asks = args.asks or round(3000 * scale)
    args.actions = args.actions or 7 * args.asks
    args.min_faults = args.min_faults if args.min_faults is not None else math.floor(200 * scale)
    return args


def workspaces(count: int, people: int) -> dict[str, list[str]]:
    return {f"T0CHAOS{w}": [f"U{w}CHAOS{n:03d}" for n in range(people)] for w in range(count)}


def digest_channel(team: str) -> str:
    return f"C0DIGEST{team[-1]}"


# --- faults ---------------------------------------------------------------------------------------


class Injector:
    """Injects faults at seeded moments; each injected fault is counted by kind."""

    def __init__(self, rng: random.Random, fleet: Fleet, redises: Redises, fake: ChaosSlack, seconds: float):
        self.rng = rng
        self.fleet = fleet
        self.redises = redises
        self.fake = fake
        self.seconds = seconds
        self.scale = seconds / FULL_RUN_SECONDS
        self.injected: Counter = Counter()
        self.emptied_at: tuple[float, float] | None = None  # (began, ended), time.monotonic()
        self.redis_lock = asyncio.Lock()
        self.errors: list[str] = []
        self._background: set[asyncio.Task] = set()

    async def run(self, started: float, kill_every: float, on_empty) -> None:
        stop_at = started + self.seconds
        loops = [
            self._kills(stop_at, kill_every),
            self._slack(stop_at),
            self._redis(started, stop_at, on_empty),
            self._rolling(stop_at),
        ]
        await asyncio.gather(*loops)
        if self._background:
            await asyncio.wait(set(self._background))
        self.fake.calm()

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _wait(self, stop_at: float, seconds: float) -> bool:
        """Sleeps `seconds` unless the run ends first; False once it has."""
        await asyncio.sleep(max(0.0, min(seconds, stop_at - time.monotonic())))
        return time.monotonic() < stop_at

    # --- processes ---

    async def _kills(self, stop_at: float, every: float) -> None:
        while await self._wait(stop_at, self.rng.expovariate(1 / every)):
            if self.rng.random() < 0.15:
                self._spawn(self._kill_redis())
                continue
            member = self.rng.choice(self._killable() or [None])
            if member is not None:
                self._spawn(self._kill(member, pause=self.rng.uniform(0.0, 2.0)))

    def _killable(self) -> list:
        """Any process not in the middle of another fault, but never the last `serve` up: behind a load
        balancer, Slack's requests always find one (a run with none would test the balancer, not the app)."""
        free = [m for m in self.fleet.members if not m.lock.locked() and m.up]
        serving = [m for m in free if m.port]
        return [m for m in free if not m.port or len(serving) > 1 and self._others_up(m)]

    def _others_up(self, member) -> bool:
        return any(m.up and not m.lock.locked() for m in self.fleet.serving if m is not member)

    async def _kill(self, member, pause: float) -> None:
        async with member.lock:
            if not member.up:
                return
            self.injected["SIGKILL " + ("worker" if not member.port else "serve")] += 1
            await asyncio.to_thread(self.fleet.kill, member)
            await asyncio.sleep(pause)
            await self._start(member)

    async def _start(self, member) -> None:
        for _ in range(3):
            try:
                await asyncio.to_thread(self.fleet.start, member)
                return
            except RuntimeError as error:  # e.g. it could not reach Redis while it restarted; again
                self.errors.append(f"{member.name} did not start: {str(error)[-300:]}")
                await asyncio.sleep(1.0)

    async def _rolling(self, stop_at: float) -> None:
        every = max(20.0, 150.0 * self.scale)
        while await self._wait(stop_at, self.rng.uniform(0.5, 1.5) * every):
            self.injected["rolling restart (all)"] += 1
            for member in self.fleet.members:
                async with member.lock:
                    await asyncio.to_thread(self.fleet.stop, member)
                    await self._start(member)

    # --- Redis ---

    async def _kill_redis(self) -> None:
        if self.redis_lock.locked():
            return
        async with self.redis_lock:
            self.injected["SIGKILL redis (AOF)"] += 1
            await asyncio.to_thread(self.redises.kill, self.rng, False)

    async def _redis(self, started: float, stop_at: float, on_empty) -> None:
        """Restarts Redis every so often, and empties it once, a quarter of the way in (well before the
        digests' slot: the week's digest marker is data like any other)."""
        empty_at = started + 0.25 * self.seconds
        every = max(15.0, 60.0 * self.scale)
        while await self._wait(stop_at, self.rng.uniform(0.5, 1.5) * every):
            async with self.redis_lock:
                if self.emptied_at is None and time.monotonic() >= empty_at:
                    began = time.monotonic()
                    self.injected["Redis emptied"] += 1
                    await asyncio.to_thread(self.redises.empty)
                    self.emptied_at = (began, time.monotonic())
                    await on_empty(began)
                else:
                    self.injected["Redis restarted (SIGTERM, AOF)"] += 1
                    await asyncio.to_thread(self.redises.kill, self.rng, True)

    # --- Slack ---

    async def _slack(self, stop_at: float) -> None:
        kinds = list(INCIDENT_KINDS)
        self.rng.shuffle(kinds)
        for kind in itertools_cycle(kinds):
            if not await self._wait(stop_at, self.rng.uniform(15.0, 45.0) * max(self.scale, 0.1)):
                return
            seconds = self.rng.uniform(30.0, 90.0) * max(self.scale, 0.1)
            methods = None if self.rng.random() < 0.6 else frozenset({"chat.postMessage", "chat.update"})
            incident = Incident(
                kind=kind,
                until=time.monotonic() + seconds,
                methods=methods,
                error=self.rng.choice(TEMPORARY_ERRORS),
                status=self.rng.choice([500, 502, 504]),
                seconds={"slow": SLOW_SLACK_SECONDS, "timeout": SLACK_TIMEOUT_SECONDS + 1, "ratelimited": 0}.get(
                    kind, 0
                ),
                carried_out=self.rng.random() < 0.5,
            )
            if kind == "ratelimited":
                incident.seconds = self.rng.choice([1, 5, 10, 30])
            label = {"slack_error": f"Slack {incident.error}", "json_5xx": f"Slack JSON {incident.status}"}.get(
                kind, f"Slack {kind}"
            )
            self.injected[label] += 1
            self.fake.incident(incident)
            await self._wait(stop_at, seconds)
            self.fake.calm()


def itertools_cycle(items):
    while True:
        yield from items


# --- the clock -------------------------------------------------------------------------------------


class Clock:
    """Runs the lifecycle's own timers for asks people know, due at the moment that matters (a check-in,
    an expiry, a thank-you reminder): days pass for a few asks at a time."""

    def __init__(self, settings: Settings, people: People, rng: random.Random):
        self.services = create_app(settings).services
        self.handlers = self.services.lifecycle.handlers()
        self.people = people
        self.rng = rng
        self.ran: Counter = Counter()

    async def run(self, stop_at: float, every: float) -> None:
        while time.monotonic() < stop_at:
            await asyncio.sleep(self.rng.expovariate(1 / every))
            known = [sent for sent in self.people.by_ask_id.values() if time.monotonic() - sent.at > 20]
            if not known:
                continue
            sent = self.rng.choice(known)
            try:
                await self._days_pass(sent.team, sent.ask_id)
            except (RedisError, OSError):
                self.ran["timer not run: Redis down"] += 1
            except Exception as error:  # noqa: BLE001 — the run goes on; the report names it
                self.ran[f"timer failed: {error!r}"[:80]] += 1

    async def _days_pass(self, team: str, ask_id: str) -> None:
        ask = await self.services.store.load_ask(team, ask_id)
        if ask is None:
            return
        if ask.status.value == "open":
            due, kind = expiry_deadline(ask), "expiry"
        elif ask.status.value == "taken":
            due, kind = check_in_due(ask), "check-in"
        elif ask.status.value == "done" and ask.helpers:
            helper = self.rng.choice(ask.helpers)
            job = Job(
                id=f"thanks_reminder:{ask_id}:{helper}",
                team_id=team,
                kind="thanks_reminder",
                due=(thanks_reminder_due(ask) + timedelta(seconds=1)).timestamp(),
                payload={"ask_id": ask_id, "helper": helper},
            )
            await self.handlers["thanks_reminder"](job)
            self.ran["thanks reminder"] += 1
            return
        else:
            return
        job = Job(
            id=f"timer:{ask_id}",
            team_id=team,
            kind="timer",
            due=(due + timedelta(seconds=1)).timestamp(),
            payload={"ask_id": ask_id, "helper": ""},
        )
        await self.handlers["timer"](job)
        self.ran[kind] += 1

    async def close(self) -> None:
        await self.services.store.redis.aclose()


# --- the run -----------------------------------------------------------------------------------------


def digest_slot(started_wall: float, seconds: float) -> datetime:
    """Over half-way through the run, on a minute (DIGEST_TIME's resolution), in UTC."""
    moment = datetime.fromtimestamp(started_wall + 0.55 * seconds + 60, UTC)
    return moment.replace(second=0, microsecond=0)


async def set_digest_channels(settings: Settings, teams: list[str]) -> None:
    """Each workspace's digest goes to its own channel (an admin's choice on Home), so the fake Slack can
    tell one workspace's digest from another's. Set again after Redis is emptied, as an admin would."""
    services = create_app(settings).services
    try:
        for team in teams:
            for attempt in range(20):
                try:
                    await services.digests.save_setting(team, "digest_channel", digest_channel(team))
                    break
                except (RedisError, OSError):
                    await asyncio.sleep(0.5 + attempt * 0.1)
    finally:
        await services.store.redis.aclose()


async def run(options: argparse.Namespace, fake: ChaosSlack, redises: Redises, fleet: Fleet, settings) -> int:
    rng = random.Random(options.seed)
    teams = workspaces(options.workspaces, options.people)
    people = People(fake, [f"http://127.0.0.1:{m.port}" for m in fleet.serving], SIGNING_SECRET, teams, rng)
    clock = Clock(settings, people, random.Random(options.seed + 1))
    injector = Injector(random.Random(options.seed + 2), fleet, redises, fake, options.seconds)
    await set_digest_channels(settings, list(teams))

    async def emptied(began: float) -> None:
        people.forget_everything_before(time.monotonic())
        await set_digest_channels(settings, list(teams))

    started = time.monotonic()
    stop_at = started + options.seconds
    print(
        f"seed {options.seed}: {options.seconds:.0f} s of faults, {len(teams)} workspaces × {options.people} people, "
        f"{'a 3-node Redis Cluster' if options.cluster else 'one Valkey'}; aiming at {options.asks:,} asks, "
        f"{options.actions:,} other actions",
        flush=True,
    )
    await asyncio.gather(
        people.run(stop_at, options.asks / options.seconds, options.actions / options.seconds, at_once=48),
        injector.run(started, options.kill_every, emptied),
        clock.run(stop_at, every=max(0.5, options.seconds / (options.asks * 0.3))),
        progress(stop_at, people, injector),
    )
    print(f"faults stopped after {time.monotonic() - started:.0f} s; bringing everything back and draining", flush=True)
    fake.calm()
    await asyncio.to_thread(fleet.restart_missing)
    channels = [digest_channel(team) for team in teams]
    quiet = await Quiet(redises, fake, settings, DRAIN_CEILING_SECONDS).wait(options.digest_due, channels)
    await clock.close()
    report = await check(
        redises=redises,
        fake=fake,
        settings=settings,
        people=people,
        teams=teams,
        emptied=injector.emptied_at,
        digest_channels={team: digest_channel(team) for team in teams},
    )
    print_report(options, people, injector, clock, fake, quiet, report)
    enough = sum(injector.injected.values()) >= options.min_faults
    return 0 if not report.violations and enough else 1


async def progress(stop_at: float, people: People, injector: Injector) -> None:
    while time.monotonic() < stop_at:
        await asyncio.sleep(min(30.0, max(0.0, stop_at - time.monotonic())))
        print(
            f"  … {sum(injector.injected.values())} faults, {people.tally.sent['ask']} asks, "
            f"{sum(people.tally.sent.values()) - people.tally.sent['ask']} other actions",
            flush=True,
        )


def print_report(options, people: People, injector: Injector, clock: Clock, fake, quiet, report) -> None:
    tally = people.tally
    asks = Counter(sent.outcome for sent in people.asks.values())
    actions = {name: count for name, count in tally.sent.items() if name != "ask" and "(button)" not in name}
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nslack-ask chaos run, seed {options.seed}{' --cluster' if options.cluster else ''}")
    print(f"load average at the end {' '.join(load)} (1, 5, 15 min) on this machine's CPUs")
    print(f"faults injected: {sum(injector.injected.values())}")
    for kind, count in sorted(injector.injected.items()):
        print(f"  {count:>5}  {kind}")
    print(f"Slack calls answered with a fault: {sum(fake.faulted.values()):,} ({dict(fake.faulted)})")
    print(f"asks sent: {tally.sent['ask']:,} ({dict(asks)})")
    print(
        f"answers, offers, cancels, dones and thank-yous sent: {sum(actions.values()):,} (acked {sum(tally.acked[a] for a in actions):,})"
    )
    for name in sorted(actions):
        print(f"  {actions[name]:>6}  {name} (acked {tally.acked[name]})")
    if tally.other:
        print("  not acked: " + ", ".join(f"{k} ×{v}" for k, v in tally.other.most_common(12)))
    print("timers run by the clock: " + ", ".join(f"{k} ×{v}" for k, v in sorted(clock.ran.items())))
    if injector.errors:
        print(f"restarts that needed another try: {len(injector.errors)}")
    print(f"drained in {quiet.seconds:.0f} s{'' if quiet.drained else ' — NOT drained by the ceiling'}")
    print(f"invariants checked: {report.checked:,}")
    for name, count in sorted(report.by_invariant.items()):
        print(f"  {count:>7}  {name}")
    if report.explained:
        print("explained (not violations): " + ", ".join(f"{k} ×{v}" for k, v in report.explained.items()))
    print(f"violations: {len(report.violations)}")
    for kind, count in Counter(v.split(":")[0] for v in report.violations).most_common():
        print(f"  {count:>5}  {kind}")
    kinds = Counter(v.split(":")[0] for v in report.violations)
    rare = [v for v in report.violations[40:] if kinds[v.split(":")[0]] <= 10]  # every one of a rare kind
    for violation in report.violations[:40] + rare:
        print(f"    {violation}")
    if report.violations:
        print(
            f"reproduce: python bench/chaos.py --seconds {options.seconds:.0f} --seed {options.seed}"
            + (" --cluster" if options.cluster else "")
        )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    raise_open_files_limit()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that every `finally` below runs
    work = Path(tempfile.mkdtemp(prefix="slack-ask-chaos-"))
    started_wall = time.time()
    slot = digest_slot(started_wall, options.seconds)
    options.digest_due = slot.timestamp() + 5
    teams = workspaces(options.workspaces, options.people)
    users = {user: person(user, f"Person {user[-3:]}") for members in teams.values() for user in members}
    redises = Redises(work, options.cluster).start()
    fake = ChaosSlack(TOKEN, users).start()
    app_env = child_env(
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        REDIS_URL=redises.url,
        SLACK_API_TIMEOUT=str(SLACK_TIMEOUT_SECONDS),
        SLACK_RATE_WINDOW="1",  # Slack's tiers with a minute made a second: the people are many, the workspaces few
        # The run puts hours of a Slack incident into minutes: leases, takeovers and backoff (at most 60 times
        # this) shrink with it, so what is owed when the faults stop is carried out within the drain.
        EFFECT_RETRY_SECONDS=str(EFFECT_RETRY_SECONDS),
        DIGEST_DAY=slot.strftime("%A").lower(),
        DIGEST_TIME=slot.strftime("%H:%M"),
        DIGEST_TZ="UTC",
        **({"REDIS_CLUSTER": "1"} if options.cluster else {}),
    )
    settings = Settings(
        bot_token=TOKEN,
        signing_secret=SIGNING_SECRET,
        redis_url=redises.url,
        redis_cluster=options.cluster,
        slack_api_url=fake.api_url,
        run_scheduler=False,
        slack_rate_window=1.0,
    )
    print(f"logs in {work}", flush=True)
    try:
        with Processes(work, app_env) as procs:
            fleet = Fleet(procs, app_env)
            fleet.start_all()
            return asyncio.run(run(options, fake, redises, fleet, settings))
    finally:
        fake.stop()
        redises.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
