"""Serving the app: uvicorn in production (`slack-ask serve`), or in a thread for tests and tools."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import replace
from importlib.metadata import version
from typing import Any, TypeVar

import aiohttp
import uvicorn
from slack_sdk.errors import SlackApiError
from starlette.types import ASGIApp
from uvicorn.loops.auto import auto_loop_factory

from ..domain.insights import FEWER, MIN_GROUP, week_line
from ..settings import Settings
from ..slack.slack_api import SLACK_CONNECTIONS, NotInstalled
from ..store.embedded import embedded_valkey
from .app import REDIS_CONNECTIONS, SlackAsk, create_app
from .services import Services
from .web import serve_metrics
from .worker import SHUTDOWN_GRACE_SECONDS, run_worker

EXIT_USAGE = 2  # a command given what it cannot act on, as the command line's own errors

T = TypeVar("T")
VERSION = version("slack-ask")
log = logging.getLogger(__name__)


class AnnouncingServer(uvicorn.Server):
    """uvicorn's server, which says once, when it listens, which port it has (port 0 asks for any free one)."""

    def __init__(self, config: uvicorn.Config, listening: Callable[[int], None] | None = None):
        super().__init__(config)
        self._listening = listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self._listening is not None:
            self._listening(self.servers[0].sockets[0].getsockname()[1])


def uvicorn_server(
    asgi: ASGIApp, host: str, port: int, listening: Callable[[int], None] | None = None
) -> AnnouncingServer:
    """The one server configuration `serve`, the tests and the tools all run."""
    config = uvicorn.Config(
        asgi, host=host, port=port, lifespan="on", access_log=False, log_config=None, timeout_graceful_shutdown=10
    )
    return AnnouncingServer(config, listening)


@contextmanager
def with_redis(settings: Settings) -> Iterator[Settings]:
    """Settings with a Redis to talk to: REDIS_URL's, or an embedded Valkey for the duration."""
    if settings.redis_url:
        yield settings
        return
    with embedded_valkey(settings.data_dir) as url:
        yield replace(settings, redis_url=url)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def outlive_stop_signals() -> None:
    """uvicorn re-raises the stop signal once its graceful shutdown is over; by then all that is left
    is to stop the embedded Valkey and exit 0, so a stop signal must no longer kill the process."""
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, lambda *_: None)


def serve(settings: Settings, host: str = "0.0.0.0") -> None:  # nosec B104
    """Runs until SIGINT/SIGTERM: uvicorn stops taking requests and finishes in-flight ones.

    Every interface by default, like `serve --host`: it is a server, usually behind a proxy or in a container."""
    outlive_stop_signals()
    allow_enough_open_files()
    embedded = not settings.redis_url
    with with_redis(settings) as settings:
        app = create_app(settings)
        settle_the_collector()

        def listening(port: int) -> None:  # after the lifespan's start, so /metrics is bound by now
            metrics = app.services.metrics_port
            announce_start(
                settings,
                "serve",
                embedded=embedded,
                listening=f"{host}:{port}",
                metrics=f"{settings.metrics_host}:{metrics}" if metrics else None,
            )

        uvicorn_server(app.asgi, host, settings.port, listening).run()


# Sockets a process may hold at once beyond its Slack and Redis pools: the requests it is answering.
REQUEST_SOCKETS = 2048


def allow_enough_open_files() -> None:
    """Its Slack and Redis connection pools and the requests it answers are more sockets than the 1,024
    open files many systems allow a process by default."""
    raise_open_files_limit(SLACK_CONNECTIONS + REDIS_CONNECTIONS + REQUEST_SOCKETS)


def raise_open_files_limit(wanted: int) -> None:
    """The soft open-files limit goes up to `wanted` (within the hard one); never down."""
    with contextlib.suppress(ImportError, ValueError, OSError):  # (no `resource` on Windows)
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(
                resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard)
            )


# Requests and effects free what they make by reference counting: in a 30-s burst of 24,000 accepts each
# process's collections found a few thousand objects in cycles. Collecting the young generation every 700
# net allocations (Python's default) walked the in-flight asks' live objects again and again: 13 s of the
# two processes' CPU in that run, about a fifth of it. (Rarer collections let a ✅ toggled thousands of
# times a second peak ~25 MB higher: BENCHMARKS.md.)
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_the_collector() -> None:
    """What start-up built lives as long as the process: moved out of the garbage collector's sight, so
    that its collections under load walk only what requests and effects create since; and those
    collections come rarely, since what they create is nearly never garbage in a cycle."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


# Where Linux's idle scheduling class is missing, a worker still steps back this far.
WORKER_NICENESS = 10


def step_back_for_requests() -> None:
    """A worker is background work: where it shares a machine with `serve`, the acks come first. In Linux's idle
    scheduling class any process with a request to answer takes the CPU from it at once; at nice 10 the worker
    still finished its time slices first (ack p99 at 800/s beside a busy worker: 50 ms at nice 10, 7 ms idle).
    On a machine of its own nothing competes, so it runs at full speed either way."""
    with contextlib.suppress(AttributeError, OSError):  # (no idle class outside Linux)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        return
    with contextlib.suppress(AttributeError, OSError):  # (no os.nice on Windows)
        os.nice(WORKER_NICENESS)


def work(settings: Settings) -> None:
    """Runs only the timed-job worker, for deployments that separate it from the web servers."""
    outlive_stop_signals()
    allow_enough_open_files()
    step_back_for_requests()

    async def until_stopped() -> None:
        services = create_app(settings).services
        settle_the_collector()
        stopped = asyncio.Event()
        for stop_signal in STOP_SIGNALS:
            asyncio.get_running_loop().add_signal_handler(stop_signal, stopped.set)
        async with contextlib.AsyncExitStack() as running:
            await running.enter_async_context(services.clients.sharing_connections())
            await running.enter_async_context(run_worker(services, requests=None))
            await serve_metrics(running, services)  # the effects it carries out are counted here, not in `serve`
            metrics = services.metrics_port
            announce_start(
                settings, "worker", embedded=embedded, metrics=f"{settings.metrics_host}:{metrics}" if metrics else None
            )
            await stopped.wait()
            await services.background.drain(SHUTDOWN_GRACE_SECONDS)
        await services.store.redis.aclose()

    embedded = not settings.redis_url
    with with_redis(settings) as settings, event_loop() as loop:
        loop.run(until_stopped())


def announce_start(
    settings: Settings, role: str, *, embedded: bool, listening: str | None = None, metrics: str | None = None
) -> None:
    """The one line each start logs: what runs, how Slack reaches it, which store it uses, where it listens
    (and serves /metrics)."""
    mode = "Socket Mode" if settings.app_token else "HTTP"
    credentials = "OAuth installations" if settings.oauth else "one bot token"
    store = ("Redis Cluster" if settings.redis_cluster else "Redis") + f" at {redis_location(settings.redis_url or '')}"
    if embedded:
        store = f"embedded Valkey at {settings.redis_url}, data in {settings.data_dir / 'valkey'}"
    where = f", listening on {listening}" if listening else ""
    where += f", /metrics on {metrics}" if metrics else ", no /metrics"
    log.info(
        "slack-ask %s %s: %s, %s; store: %s%s",
        VERSION,
        role,
        mode,
        credentials,
        store,
        where,
        extra={"version": VERSION, "role": role, "mode": mode, "credentials": credentials, "store": store},
    )


def redis_location(url: str) -> str:
    """REDIS_URL without its password: the log says where the store is, never how to get in."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    where = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, where, parts.path, "", ""))


def event_loop() -> asyncio.Runner:
    """The event loop uvicorn picks for `serve` (uvloop where it is installed)."""
    return asyncio.Runner(loop_factory=auto_loop_factory())


def with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """Runs a one-off command's `work` with the app's services, against REDIS_URL or an embedded Valkey."""

    async def run() -> T:
        services = create_app(ready).services
        try:
            return await work(services)
        finally:
            await services.store.redis.aclose()

    with with_redis(settings) as ready:
        return asyncio.run(run())


def digest(settings: Settings, *, post: bool, week: str | None, team: str | None, as_json: bool) -> int:
    """`slack-ask digest`: the scheduled digest's own code, run by hand."""

    async def run(services: Services) -> int:
        team_id = team or (await services.clients.app_client.auth_test())["team_id"]
        chosen = await services.digests.settings_for(team_id)
        this_week = services.digests.current_week(chosen, time.time())
        if post:
            posted = await services.digests.post(team_id, this_week)
            print(
                f"Posted the {this_week} digest to {chosen.channel}."
                if posted
                else f"Not posted: the {this_week} digest went out already, or no digest channel is set."
            )
            return 0 if posted else 1
        message = await services.digests.message(team_id, week or this_week)
        print(
            readable(message) if message else "(an empty week, and DIGEST_SKIP_EMPTY is set: nothing would be posted)"
        )
        if as_json and message:
            print(json.dumps(message, indent=2, ensure_ascii=False))
        return 0

    return with_services(settings, run)


def effects(settings: Settings, command: str, *, letter: str | None) -> int:
    """`slack-ask effects list | retry ID|--all | drop ID`: the effect queue's dead letters."""

    async def run(services: Services) -> int:
        queue = services.effects
        if command == "list":
            letters = await queue.dead_letters()
            for dead in letters:
                died = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(dead.died_at))
                print(f"{dead.id}  {dead.team_id}  ask {dead.ask_id}  {dead.tries} tries  {died}  {dead.failure}")
            print(f"{len(letters)} dead letter{'s' if len(letters) != 1 else ''}.")
            return 0
        chosen = [letter] if letter else [dead.id for dead in await queue.dead_letters()]
        act = queue.revive if command == "retry" else queue.drop
        try:
            found = [one for one in chosen if await act(one)]
        except ValueError as wrong:
            print(f"slack-ask: {wrong}", file=sys.stderr)
            return EXIT_USAGE
        missing = set(chosen) - set(found)
        done = "back in the queue" if command == "retry" else "dropped, their effects given up"
        print(f"{len(found)} dead letter{'s' if len(found) != 1 else ''} {done}.")
        if missing:
            print(f"slack-ask: no such dead letter: {', '.join(sorted(missing))}", file=sys.stderr)
            return EXIT_USAGE
        return 0

    return with_services(settings, run)


def export_user(settings: Settings, *, team: str, user: str) -> int:
    """`slack-ask export-user`: everything kept about one person, as JSON on stdout."""

    async def run(services: Services) -> int:
        print(json.dumps(await services.personal.export(team, user), indent=2, ensure_ascii=False))
        return 0

    return with_services(settings, run)


def erase_user(settings: Settings, *, team: str, user: str) -> int:
    """`slack-ask erase-user`: what one person wrote erased, then the messages that showed it redrawn."""

    async def run(services: Services) -> int:
        async with services.clients.sharing_connections():
            erasure = await services.personal.erase(team, user)
            print(
                f"Erased what {user} wrote in {team}: the line and scope of {erasure.asks} ask(s), "
                f"{len(erasure.offer_lines)} line(s) on their offers and {erasure.notes} thank-you note(s)."
            )
            try:
                await services.personal.show_erased(team, user, erasure)
            except (SlackApiError, aiohttp.ClientError, NotInstalled) as error:
                print(
                    f"slack-ask: erased in storage, but Slack's messages could not all be redrawn ({error!r}); "
                    "they show the placeholder once their ask next changes.",
                    file=sys.stderr,
                )
        return 0

    return with_services(settings, run)


def rotate_key(settings: Settings) -> int:
    """`slack-ask rotate-key`: every installation re-sealed with the first SLACK_ASK_ENCRYPTION_KEY."""

    async def run(services: Services) -> int:
        if services.installations is None:  # cli.py lets only OAuth settings, which have installations, here
            raise ValueError("rotate-key needs OAuth settings: only installations are encrypted")
        outcome = await services.installations.reseal_all()
        count = outcome.resealed
        print(f"Re-encrypted {count} installation record{'s' if count != 1 else ''} with the first key.")
        for key in outcome.unreadable:
            print(f"Not opened by any key in SLACK_ASK_ENCRYPTION_KEY, left as it is: {key}", file=sys.stderr)
        for key in outcome.busy:
            print(f"Changed by a running instance on every try, left for the next run: {key}", file=sys.stderr)
        if outcome.unreadable or outcome.busy:
            print(
                "Keep the older keys in SLACK_ASK_ENCRYPTION_KEY for now: run rotate-key again, "
                "and reinstall any workspace whose record no key opens.",
                file=sys.stderr,
            )
            return 1
        print("Older keys can now be dropped from SLACK_ASK_ENCRYPTION_KEY.")
        return 0

    return with_services(settings, run)


def stats(settings: Settings, *, team: str | None, weeks: int, as_json: bool, chart: str | None) -> int:
    """`slack-ask stats`: the admins' figures, read from the weekly counters (never from the asks)."""

    async def run(services: Services):
        team_id = team or (await services.clients.app_client.auth_test())["team_id"]
        return await services.insights.overview(team_id, weeks)

    view = with_services(settings, run)
    print(json.dumps(view.as_json(), indent=2) if as_json else insights_table(view))
    if chart:
        from ..domain.insights_chart import chart_png

        with open(chart, "wb") as out:
            out.write(chart_png(view))
    return 0


def insights_table(view) -> str:
    lines = [
        f"How asking is going, {view.weeks[0].week} to {view.weeks[-1].week}: weeks that have ended and settled,",
        "each as it stood when first shown (later replies never change it), never about any one person. A figure",
        f'about fewer than {MIN_GROUP} people or asks shows as "{FEWER}", and a total adds up only the weeks that',
        'show ("at least" where some are hidden).',
        "",
    ]
    lines += [week_line(week) for week in view.weeks]
    return "\n".join([*lines, "", "All these weeks: " + week_line(view.total).split(": ", 1)[1]])


def readable(message: dict) -> str:
    """A Block Kit message as the plain text a person would read."""
    lines = []
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            lines.append(block["text"]["text"])
        lines += [
            element["text"] for element in block.get("elements", []) if isinstance(element, dict) and "text" in element
        ]
        lines += [field["text"] for field in block.get("fields", [])]
        if block.get("type") == "divider":
            lines.append("—" * 20)
    return "\n".join(lines)


class ThreadedServer:
    """The app served exactly as `serve` serves it, on a background thread (port 0 picks a free one)."""

    def __init__(self, app: SlackAsk, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self._server = uvicorn_server(app.asgi, host, port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._server.serve(),), name="slack-ask-server", daemon=True
        )
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def metrics_url(self) -> str:
        """Where /metrics is served (METRICS_PORT, on METRICS_HOST), never on `url`."""
        settings = self.app.services.settings
        return f"http://{settings.metrics_host}:{self.app.services.metrics_port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("slack-ask server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def call(self, work: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Runs a coroutine on the server's own event loop, where the app's connections live."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._loop.close()
