"""What was measured, and the plain-text table it prints as."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from load import Timed, percentile

SLACK_ACK_DEADLINE_SECONDS = 3.0  # Slack shows the user an error after 3 s; a trigger_id expires then too
LABEL_WIDTH = 40
COLUMN_WIDTH = 16


@dataclass
class BurstResult:
    """Bursts of simultaneous /ask commands to one app, their figures pooled."""

    concurrency: int
    bursts: int
    acks: list[Timed]
    open_delays: list[float | None]  # send → views.open at the fake, per command; None: never arrived

    def ack_ms(self, p: float) -> float:
        return percentile([ack.seconds for ack in self.acks], p) * 1000

    @property
    def missed(self) -> int:
        return sum(1 for ack in self.acks if not ack.ok or ack.seconds > SLACK_ACK_DEADLINE_SECONDS)

    @property
    def open_p99_ms(self) -> float:
        return percentile([delay for delay in self.open_delays if delay is not None], 99) * 1000

    @property
    def opens_late(self) -> int:
        return sum(1 for delay in self.open_delays if delay is None or delay > SLACK_ACK_DEADLINE_SECONDS)

    def failures(self) -> Counter:
        """What the acks that were not plain acks said: status and the start of the body."""
        return Counter(_failure(ack) for ack in self.acks if not ack.ok)


@dataclass
class ReactionResult:
    """Sustained reaction events to one app."""

    results: list[Timed]
    seconds: float
    app_cpu_seconds: float
    bench_cpu_seconds: float
    slack_calls: int  # Web API calls that reached the fake Slack during the run

    @property
    def per_second(self) -> float:
        return sum(1 for result in self.results if result.ok) / self.seconds

    def ms(self, p: float) -> float:
        return percentile([result.seconds for result in self.results], p) * 1000

    @property
    def errors(self) -> int:
        return sum(1 for result in self.results if not result.ok)

    def failures(self) -> Counter:
        return Counter(_failure(result) for result in self.results if not result.ok)

    def work_per_second(self, calls_per_event: int) -> float:
        """Events whose Slack calls were made during the run, per second: acked is not done."""
        return self.slack_calls / calls_per_event / self.seconds

    @property
    def app_cpu_percent(self) -> float:
        return 100 * self.app_cpu_seconds / self.seconds

    @property
    def bench_cpu_percent(self) -> float:
        return 100 * self.bench_cpu_seconds / self.seconds


@dataclass
class TargetResult:
    name: str
    bursts: dict[int, BurstResult]
    reactions: ReactionResult
    peak_rss_mb: float
    listen_overflows: int  # kernel-wide, while this app was under load


@dataclass
class Trips:
    """What one answer costs in Valkey, as most answers of a kind measured alone showed."""

    answers: int  # answers measured
    typical: int  # how many of them showed exactly these figures
    reads: int  # socket reads Valkey processed: one per request or pipeline, i.e. per round trip
    commands: Counter  # commandstats; includes the commands a script runs inside Valkey

    def commands_text(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.commands.most_common())


# --- rendering ------------------------------------------------------------------------------------------


def render_report(
    results: list[TargetResult],
    trips: dict[str, Trips],
    per_accept: Counter,
    options,
    log_dir: Path,
    revision: str,
    digest_ms: float,
    overloaded,
    first_time,
) -> str:
    calls_per_event = sum(per_accept.values())
    lines = _header(per_accept, options, log_dir, revision)
    lines += _row("", [result.name for result in results])
    for concurrency in options.concurrency:
        lines += _burst_rows(concurrency, [result.bursts[concurrency] for result in results])
    lines += _reaction_rows([result.reactions for result in results], calls_per_event, options)
    lines += _row("peak RSS, MB (VmHWM of the app process)", [f"{result.peak_rss_mb:.0f}" for result in results])
    lines += _row("listen-queue overflows (kernel, all sockets)", [str(result.listen_overflows) for result in results])
    lines += _ratio_rows(results, max(options.concurrency))
    lines += _failure_rows(results)
    bare_finished = results[1].reactions.work_per_second(calls_per_event)
    lines += _overload_rows(overloaded, bare_finished)
    lines += _first_time_rows(first_time)
    lines += _trips_rows(trips)
    lines += [
        "",
        f"digest build time, a week with 10,000 kudos (read from Redis, summarised, rendered): {digest_ms:.0f} ms",
    ]
    lines += _target_rows(results, trips, max(options.concurrency), digest_ms, overloaded, bare_finished, first_time)
    return "\n".join(lines)


def _first_time_rows(first) -> list[str]:
    refusals = Counter(first.refused).most_common(3)
    return [
        "",
        f"first-time asks: {first.people} people slack-ask never saw, each /ask then Send, spread over"
        f" {first.seconds:.0f} s, in {first.workspaces} new workspaces (people directories filled on first need)",
        f"  Sends taken / refused                                      {first.taken} / {len(first.refused)}"
        f"   (taken on a second press, after a coaching suggestion: {first.second_press})",
        f"  views.open p50 / p99 / max ms (from sending /ask)          {_ms(first.open_ms(50))} /"
        f" {_ms(first.open_ms(99))} / {_ms(first.open_ms(100))}",
        f"  teammates whose card arrived                               {first.cards} of {first.people}",
        *(f"  refused: {count} x {what}" for what, count in refusals),
    ]


def _overload_rows(overloaded, bare_finished: float) -> list[str]:
    acks = overloaded.acks
    late = sum(1 for ack in acks if not ack.ok or ack.seconds > SLACK_ACK_DEADLINE_SECONDS)
    ms = [ack.seconds for ack in acks]
    drained = "not within the limit" if overloaded.drained_after is None else f"{overloaded.drained_after:.0f} s"
    return [
        "",
        "accepts on fresh asks (each: 4 chat.update + 1 chat.postMessage), one process, closed loop",
        f"  finished accepts/s (acked and every Slack call made)       {overloaded.finish_rate:8.0f}"
        f"   bare AsyncApp, same calls: {bare_finished:.0f} events/s",
        f"offered open loop at 4x that, {overloaded.offered_rate:.0f}/s for {overloaded.offered_seconds:.0f} s, "
        f"to that process with {overloaded.processes - 1} `slack-ask worker` (idle scheduling class) beside it, from a process of its own",
        f"  ack p50 / p99 / max ms                                     {percentile(ms, 50) * 1000:5.0f} /"
        f" {percentile(ms, 99) * 1000:.0f} / {max(ms, default=math.nan) * 1000:.0f}",
        f"  acks over 3 s or failed (of {len(acks)})                          {late}",
        f"  asks with effects owed when the offer ended                {overloaded.depth_at_end}",
        f"  every effect done after the offer ended                    {drained}",
        *_machine_rows(overloaded),
    ]


def _machine_rows(overloaded) -> list[str]:
    """Whether this machine could finish the offered work in the burst and the drain limit at all."""
    cpu, cores = overloaded.cpu, os.cpu_count() or 1
    accepts = overloaded.offered_rate * overloaded.offered_seconds
    available = cores * (overloaded.offered_seconds + overloaded.drain_limit)
    return [
        f"  CPU ms per accept (closed loop above): slack-ask {cpu.app * 1000:.2f}, fake Slack {cpu.slack * 1000:.2f},"
        f" Valkey {cpu.redis * 1000:.2f}, load {cpu.load * 1000:.2f}",
        f"  CPU the offered accepts need, all parts: {accepts * cpu.machine:.0f} core-s; slack-ask's own:"
        f" {accepts * (cpu.app + cpu.redis):.0f} core-s; {cores} cores x (burst + {overloaded.drain_limit:.0f} s) give {available:.0f}",
    ]


def _header(per_accept: Counter, options, log_dir: Path, revision: str) -> list[str]:
    mix = ", ".join(f"{count} {method}" for method, count in sorted(per_accept.items()))
    return [
        f"slack-ask benchmark - {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, slack-ask at {revision}",
        f"fake Slack answers every Web API call after {options.latency * 1000:.0f} ms; "
        f"an accept costs slack-ask {mix}; the baselines make the same calls",
        f"app logs: {log_dir}",
        "",
    ]


def _burst_rows(concurrency: int, bursts: list[BurstResult]) -> list[str]:
    sent = len(bursts[0].acks)
    pooled = f" ({bursts[0].bursts} bursts pooled)" if bursts[0].bursts > 1 else ""
    return [f"/ask, {concurrency} at once, each on a new connection{pooled}"] + [
        *_row("  ack p50 ms", [_ms(burst.ack_ms(50)) for burst in bursts]),
        *_row("  ack p99 ms", [_ms(burst.ack_ms(99)) for burst in bursts]),
        *_row("  ack max ms", [_ms(burst.ack_ms(100)) for burst in bursts]),
        *_row(f"  acks over 3 s or failed (of {sent})", [str(burst.missed) for burst in bursts]),
        *_row("  views.open p99 ms (from sending /ask)", [_ms(burst.open_p99_ms) for burst in bursts]),
        *_row(f"  views.open over 3 s or never (of {sent})", [str(burst.opens_late) for burst in bursts]),
    ]


def _reaction_rows(reactions: list[ReactionResult], calls_per_event: int, options) -> list[str]:
    return [f"reactions, {options.workers} in flight for {options.seconds:.0f} s (added/removed in turn)"] + [
        *_row("  events/s acked", [f"{r.per_second:.0f}" for r in reactions]),
        *_row("  ack p50 ms", [_ms(r.ms(50)) for r in reactions]),
        *_row("  ack p99 ms", [_ms(r.ms(99)) for r in reactions]),
        *_row("  failed acks", [str(r.errors) for r in reactions]),
        *_row(
            "  events/s whose Slack calls were made", [f"{r.work_per_second(calls_per_event):.0f}" for r in reactions]
        ),
        *_row("  app CPU, % of one core", [f"{r.app_cpu_percent:.0f}" for r in reactions]),
        *_row("  benchmark CPU (load + fake Slack), %", [f"{r.bench_cpu_percent:.0f}" for r in reactions]),
    ]


def _ratio_rows(results: list[TargetResult], concurrency: int) -> list[str]:
    mine = results[0].bursts[concurrency].ack_ms(99)
    ratios = ["-"] + [f"{mine / other.bursts[concurrency].ack_ms(99):.2f}x" for other in results[1:]]
    return _row(f"slack-ask ack p99 / this one's, {concurrency} at once", ratios)


def _failure_rows(results: list[TargetResult]) -> list[str]:
    lines = []
    for result in results:
        kinds = [(f"/ask, {n} at once", burst.failures()) for n, burst in result.bursts.items()]
        kinds.append(("reactions", result.reactions.failures()))
        for where, failures in kinds:
            for what, count in failures.most_common(3):
                lines.append(f"  {result.name}, {where}: {count} x {what}")
    return ["", "what the failed acks were"] + lines if lines else []


def _failure(timed: Timed) -> str:
    if timed.status == 0:
        return "no HTTP answer (connection failed or timed out)"
    return f"HTTP {timed.status} {timed.body[:90]!r}"


def code_revision() -> str:
    """The commit slack-ask's code is at, and whether the working tree differs from it."""

    def git(*args: str) -> str:
        repo = Path(__file__).resolve().parents[1]
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=repo).stdout.strip()

    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "slack_app", "blocks") else ""
    return (git("rev-parse", "--short", "HEAD") or "unknown revision") + dirty


def _trips_rows(trips: dict[str, Trips]) -> list[str]:
    lines = ["", "slack-ask's Redis work per answer (round trips = Valkey socket reads; each answer measured alone)"]
    for name, trip in trips.items():
        trips_text = f"{trip.reads} round trip" + ("" if trip.reads == 1 else "s")
        lines.append(
            f"  {name:<20} {trips_text} ({trip.typical} of {trip.answers} answers exactly so); "
            f"commands: {trip.commands_text()}"
        )
    lines.append("  (commandstats counts the commands a script runs inside Valkey too: they cost no round trip.")
    lines.append("  Answers that overlapped slack-ask's own polling loops differ and are not the typical figure.)")
    return lines


def _target_rows(
    results: list[TargetResult],
    trips: dict[str, Trips],
    concurrency: int,
    digest_ms: float,
    overloaded,
    bare_finished: float,
    first_time,
) -> list[str]:
    mine, bare_async = results[0], results[1]
    opens = mine.bursts[concurrency].open_p99_ms
    opens_ratio = opens / bare_async.bursts[concurrency].open_p99_ms
    reaction_p99 = mine.reactions.ms(99)
    bare_rate = bare_async.reactions.per_second
    burst = mine.bursts[concurrency]
    p99 = burst.ack_ms(99)
    ratio = p99 / bare_async.bursts[concurrency].ack_ms(99)
    worst_trips = max(trip.reads for trip in trips.values())
    rate, rss = mine.reactions.per_second, mine.peak_rss_mb
    checks = [
        (f"no ack over 3 s at {concurrency} at once", f"{burst.missed} missed", burst.missed == 0, None),
        ("ack p99 <= 300 ms (stretch 100)", f"{p99:.0f} ms", p99 <= 300, p99 <= 100),
        ("<= 1.3x bare AsyncApp's p99 (stretch 1.2x)", f"{ratio:.2f}x", ratio <= 1.3, ratio <= 1.2),
        ("views.open p99 <= 1.2x bare AsyncApp's", f"{opens_ratio:.2f}x", opens_ratio <= 1.2, None),
        (
            "reactions >= bare AsyncApp's rate, ack p99 <= 50 ms",
            f"{rate:.0f}/s {reaction_p99:.0f} ms",
            rate >= bare_rate and reaction_p99 <= 50,
            None,
        ),
        (
            f"first-time asks: {first_time.people} taken, 0 refused",
            f"{first_time.taken} / {len(first_time.refused)}",
            first_time.taken == first_time.people and not first_time.refused,
            None,
        ),
        (
            "first-time asks: views.open p99 < 1 s",
            f"{first_time.open_ms(99):.0f} ms",
            first_time.open_ms(99) < 1000,
            None,
        ),
        ("<= 2 Redis round trips per answer (stretch 1)", f"{worst_trips} worst", worst_trips <= 2, worst_trips <= 1),
        ("reactions >= 200 events/s (stretch 500)", f"{rate:.0f}/s", rate >= 200, rate >= 500),
        ("digest of 10,000 kudos built in < 1 s", f"{digest_ms:.0f} ms", digest_ms < 1000, None),
        ("stretch: peak RSS < 120 MB", f"{rss:.0f} MB", None, rss < 120),
        (
            "ack p99 <= 50 ms at 4x the finishing rate",
            f"{percentile([a.seconds for a in overloaded.acks], 99) * 1000:.0f} ms",
            percentile([a.seconds for a in overloaded.acks], 99) <= 0.05,
            None,
        ),
        (
            "every effect done <= 60 s after that burst",
            "-" if overloaded.drained_after is None else f"{overloaded.drained_after:.0f} s",
            overloaded.drained_after is not None,
            None,
        ),
        (
            "finished accepts/s >= bare AsyncApp's",
            f"{overloaded.finish_rate:.0f} vs {bare_finished:.0f}",
            overloaded.finish_rate >= bare_finished,
            None,
        ),
    ]
    lines = ["", f"targets (slack-ask, at {concurrency} at once where it matters)"]
    for name, value, met, stretch in checks:
        verdicts = [verdict for verdict in (_verdict("target", met), _verdict("stretch", stretch)) if verdict]
        lines.append(f"  {name:<46} {value:>12}   {', '.join(verdicts)}")
    if burst.missed:
        lines.append(
            f"  (the p99 and its ratio count the {burst.missed} failed acks too, which may have been quick ones)"
        )
    return lines


def _verdict(kind: str, met: bool | None) -> str:
    return "" if met is None else f"{kind} {'met' if met else 'MISSED'}"


def _row(label: str, cells: list[str]) -> list[str]:
    return [f"{label:<{LABEL_WIDTH}}" + "".join(f"{cell:>{COLUMN_WIDTH}}" for cell in cells)]


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"
