"""The tests' fake Slack Web API, made fit for long runs, plus what the benchmark reads from it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvloop
from fake_slack import FakeSlack

LISTEN_BACKLOG = 4096  # the kernel caps it at net.core.somaxconn


class BenchSlack(FakeSlack):
    """FakeSlack without schema checks (they would take CPU from the apps) and without message history."""

    def __init__(self, token: str, latency: float):
        super().__init__(token, latency=latency, validate=False)
        # (channel, ts) → the workspace a card belongs to: the benchmark spreads its asks over many
        # workspaces (one token serves them all here), and an answer to a card must come from its own.
        self.teams: dict[tuple[str, str], str] = {}

    def start(self) -> BenchSlack:
        super().start()
        # aiohttp listens with a backlog of 128. A burst of 200 /ask opens up to 200 views.open
        # connections at once, and an overflow of the fake's queue would be charged to the app.
        for site in self._runner.sites:
            for listening in site._server.sockets:
                with socket.fromfd(listening.fileno(), listening.family, listening.type) as same_socket:
                    same_socket.listen(LISTEN_BACKLOG)
        return self

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        # Slack's own servers would not share the app's cores; on one machine the stand-in takes as
        # little of them as it can (uvloop: about a third less CPU per call than asyncio's loop).
        return uvloop.new_event_loop()

    def _update(self, args: dict) -> dict:
        # Tests read a message's earlier versions. A long run would only pile them up by the
        # hundred thousand, and this process's garbage collector pausing over them would show up
        # as app latency.
        answer = super()._update(args)
        message = self.messages.get((args["channel"], args["ts"]))
        if message is not None:
            message.history.clear()
        return answer

    def forget_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def call_count(self) -> int:
        with self._lock:
            return len(self.calls)

    def views_opened(self) -> dict[str, float]:
        """trigger_id → when its views.open arrived (time.monotonic)."""
        return {call.args.get("trigger_id", ""): call.at for call in self.calls_to("views.open")}


@contextmanager
def running_fake(token: str, latency: float) -> Iterator[BenchSlack]:
    fake = BenchSlack(token, latency).start()
    try:
        yield fake
    finally:
        fake.stop()
