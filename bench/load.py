"""Slack's side of the conversation under load: signed requests sent concurrently, each one timed.

Payloads come from the tests' SlackRequests, so the benchmark sends exactly what the end-to-end
tests send; only the sending differs (aiohttp, many at once, timed).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import multiprocessing
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import aiohttp
from slack_requests import TEAM, SlackRequests
from slack_sdk.signature import SignatureVerifier

REQUEST_TIMEOUT_SECONDS = 30.0  # well past Slack's 3 s, so a slow ack is measured rather than cut off


@dataclass(frozen=True)
class Prepared:
    """A request body as Slack would send it, not yet signed: the signature carries the send time."""

    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


class FromTheCardsWorkspace(SlackRequests):
    """Answers to a card come from the workspace the card was sent in (BenchSlack.teams)."""

    def react(self, user: str, message, reaction: str, *, removed: bool = False, **kwargs):
        return super().react(user, message, reaction, removed=removed, team=self._team_of(message), **kwargs)

    def click(self, user: str, message, action_id: str, **kwargs):
        return super().click(user, message, action_id, team=self._team_of(message), **kwargs)

    def _team_of(self, message) -> str:
        return getattr(self.fake, "teams", {}).get((message.channel, message.ts), TEAM)


class Payloads(FromTheCardsWorkspace):
    """The tests' payloads (slash_ask, react, click, ...), built but not sent."""

    def send(self, body: str, content_type: str, *, headers: dict[str, str] | None = None, **_) -> Prepared:
        return Prepared(body, content_type, headers or {})


@dataclass(frozen=True)
class Timed:
    started: float  # time.monotonic() when the request left; the fake Slack stamps calls on the same clock
    seconds: float
    status: int  # 0: no HTTP answer (connection failed or timed out)
    body: str

    @property
    def ok(self) -> bool:
        """A plain ack: 200 and an empty body (slack-ask's "storage is down" reply is a 200 with a body)."""
        return self.status == 200 and self.body == ""


class Sender:
    def __init__(self, app_url: str, signing_secret: str):
        self.url = app_url.rstrip("/") + "/slack/events"
        self.signer = SignatureVerifier(signing_secret)

    async def send(self, session: aiohttp.ClientSession, request: Prepared) -> Timed:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": request.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self.signer.generate_signature(timestamp=timestamp, body=request.body),
            **request.headers,
        }
        data = request.body.encode()
        started = time.monotonic()
        try:
            async with session.post(self.url, data=data, headers=headers) as response:
                status, body = response.status, await response.text()
        except (TimeoutError, aiohttp.ClientError):
            status, body = 0, ""
        return Timed(started, time.monotonic() - started, status, body)


@contextmanager
def without_collector_pauses() -> Iterator[None]:
    """While requests are timed, or the app drains its backlog, this process's garbage collector stays still.

    The load and the fake Slack share this process, and the fake holds every message of the run: one
    full collection stops both for tens of milliseconds, which the requests in flight would report as
    the app's ack time. Objects alive before the phase are frozen out of later collections too.
    Inside another such phase (a burst timed while the backlog drains) it leaves the collector still."""
    if not gc.isenabled():
        yield
        return
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def burst(sender: Sender, requests: list[Prepared]) -> list[Timed]:
    """All requests at once, each on its own new connection, as many people's commands would arrive."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        with without_collector_pauses():
            return list(await asyncio.gather(*(sender.send(session, request) for request in requests)))


def in_a_process_of_its_own(load: Callable[..., list[Timed]], *args) -> list[Timed]:
    """`load(*args)`, run in a new process. In the benchmark's process the fake Slack's thread answers the
    app's calls, and while it holds the interpreter lock an ack already in waits to be read: time the app
    did not take, reported as its ack."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as elsewhere:
        return elsewhere.submit(load, *args).result()


def burst_from_a_process_of_its_own(sender: Sender, requests: list[Prepared]) -> list[Timed]:
    """`burst`, sent from a process of its own (`in_a_process_of_its_own`): the fake Slack's cost falls on an
    app that acks first and calls Slack just after (its calls land while the burst is still being read, and
    so does the wait for its modal), not on one that calls Slack before it acks."""
    return in_a_process_of_its_own(_burst_here, sender, requests)


def _burst_here(sender: Sender, requests: list[Prepared]) -> list[Timed]:
    async def warmed_then_timed() -> list[Timed]:
        # This new process's first request pays for its imports and first connection: one untimed first.
        async with aiohttp.ClientSession() as session, session.get(sender.url.replace("/slack/events", "/healthz")):
            pass
        return await burst(sender, requests)

    return asyncio.run(warmed_then_timed())


async def sustained(
    sender: Sender, next_request: Callable[[int, int], Prepared], workers: int, seconds: float, max_requests: int
) -> list[Timed]:
    """`workers` requests in flight for `seconds`: worker w sends next_request(w, n) for n = 0, 1, ...

    Connections are kept alive between a worker's requests (where the server allows it), so this
    measures handling, not TCP setup.
    """
    deadline = time.monotonic() + seconds
    results: list[Timed] = []
    connector = aiohttp.TCPConnector(limit=workers)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)

    async def worker(session: aiohttp.ClientSession, w: int) -> None:
        for n in itertools.count():
            if time.monotonic() >= deadline or len(results) >= max_requests:
                return
            results.append(await sender.send(session, next_request(w, n)))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        with without_collector_pauses():
            await asyncio.gather(*(worker(session, w) for w in range(workers)))
    return results


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
