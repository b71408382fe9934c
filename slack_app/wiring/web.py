"""The HTTP side: one table of routes, Socket Mode when configured, and the app's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..observability import (
    EFFECTS_DEAD,
    EFFECTS_OLDEST_SECONDS,
    EFFECTS_PENDING,
    HTTP_RESPONSES,
    REDIS_ERRORS,
    REQUEST_SECONDS,
    metrics_text,
)
from ..store.client import RedisClient, open_every_connection
from .edge import Edge
from .express import Express
from .services import Services
from .worker import SHUTDOWN_GRACE_SECONDS, run_effects, run_worker

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

log = logging.getLogger(__name__)


EVENTS_PATH = "/slack/events"


def asgi_app(bolt: AsyncApp, express: Express, services: Services, redis: RedisClient) -> Edge:
    """The routes, behind the edge that refuses what cannot be Slack's before reading it."""
    settings = services.settings
    return Edge(
        routes_app(bolt, express, services, redis),
        signing_secret=settings.signing_secret,
        max_body=settings.max_body_bytes,
        signed_paths=[EVENTS_PATH],
    )


def routes_app(bolt: AsyncApp, express: Express, services: Services, redis: RedisClient) -> Starlette:
    slack = AsyncSlackRequestHandler(bolt)

    latest_request = 0.0  # event loop time: effects make way for requests while they come in

    async def slack_events(request: Request) -> Response:
        """Answers to cards take the express lane; Bolt dispatches the rest."""
        nonlocal latest_request
        latest_request = asyncio.get_running_loop().time()
        started = time.perf_counter()
        info: dict[str, str | None] = {"kind": "unverified", "detail": "", "team": None}
        try:
            response = await express.answer(
                await request.body(), request.headers.get("content-type", ""), info
            ) or await slack.handle(request, {"request_info": info})
        except ValueError:  # a body that isn't the JSON or form it claims to be, before any listener ran
            response = Response(status_code=400)
        seconds = time.perf_counter() - started
        REQUEST_SECONDS.labels(info["kind"]).observe(seconds)
        HTTP_RESPONSES.labels(EVENTS_PATH, str(response.status_code)).inc()
        log.info(
            "slack request", extra={**info, "status": response.status_code, "latency_ms": round(seconds * 1000, 2)}
        )
        return response

    async def healthz(request: Request) -> Response:
        """Reachability decides the status; the effect backlog is there to read, never a reason for a 503."""
        problem = await services.health.problem()
        if problem is not None:
            return JSONResponse({"status": "unavailable", "redis": problem}, status_code=503)
        body: dict[str, object] = {"status": "ok", "redis": "ok"}
        with contextlib.suppress(RedisError, OSError):
            pending, oldest, dead = await services.effects.state()  # dead letters: `slack-ask effects list`
            body["effects"] = {"pending": pending, "oldest_seconds": round(oldest, 3), "dead_letters": dead}
        return JSONResponse(body)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with contextlib.AsyncExitStack() as running:
            await running.enter_async_context(services.clients.sharing_connections())
            await open_every_connection(redis)
            running.push_async_callback(services.background.drain, SHUTDOWN_GRACE_SECONDS)

            def requests() -> float:
                return latest_request

            if services.settings.app_token:
                await running.enter_async_context(socket_mode(bolt, services))
                requests = asyncio.get_running_loop().time  # its requests come unseen by this route: always "now"
            if services.settings.run_scheduler:
                await running.enter_async_context(run_worker(services, requests=requests))
            else:  # tests drive the timed jobs themselves; what changes owe is carried out all the same
                await running.enter_async_context(run_effects(services, requests=requests))
            await serve_metrics(running, services)
            yield
        await redis.aclose()

    # /metrics is never here: only on METRICS_PORT, out of the public port's reach.
    routes = [Route("/healthz", healthz, methods=["GET"])]
    if not services.settings.app_token:  # in Socket Mode nothing may arrive unsigned over HTTP
        # Slash commands, interactivity and events share one URL, as manifest.yml declares.
        routes.append(Route(EVENTS_PATH, slack_events, methods=["POST"]))
    if services.settings.oauth:  # "Add to Slack", and Slack's redirect back with the code
        routes.append(Route(INSTALL_PATH, slack_events, methods=["GET"]))
        routes.append(Route(REDIRECT_PATH, slack_events, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)


async def serve_metrics(running: contextlib.AsyncExitStack, services: Services) -> None:
    """/metrics on METRICS_PORT for as long as `running` lasts (`serve` and `worker` alike), unless it is off;
    services.metrics_port says where it was bound."""
    if services.settings.metrics_port is None:
        return

    async def scraped() -> bytes:
        """The metrics, with the effect queue's backlog read for this scrape: one Redis round trip, however
        many workspaces. The workspaces' insights (METRICS_INSIGHTS) are refreshed in the background."""
        if services.settings.metrics_insights:
            services.insights.refresh_gauges_soon()
        try:
            pending, oldest, dead = await services.effects.state()
            EFFECTS_PENDING.set(pending)
            EFFECTS_OLDEST_SECONDS.set(oldest)
            EFFECTS_DEAD.set(dead)
        except (RedisError, OSError):  # the process's own metrics still answer, Redis errors among them
            REDIS_ERRORS.labels("metrics").inc()
        return metrics_text()

    services.metrics_port = await running.enter_async_context(
        metrics_listener(services.settings.metrics_host, services.settings.metrics_port, scraped)
    )


@contextlib.asynccontextmanager
async def metrics_listener(host: str, port: int, scraped: Callable[[], Awaitable[bytes]]):
    """/metrics alone on METRICS_HOST:METRICS_PORT, for Prometheus to scrape, while the block lasts; yields
    the port it is bound to (METRICS_PORT=0 picks a free one).

    A GET-only aiohttp app: it never reads a request body, so it needs no edge of its own."""

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=await scraped(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:  # the port is taken: Slack's requests matter more than a scrape, so go on
        log.error("/metrics not served: METRICS_PORT %s on %s cannot be bound (%s)", port, host, error.strerror)
        await runner.cleanup()
        yield None
        return
    bound = runner.addresses[0][1]
    log.debug("serving /metrics on %s:%s", host, bound)  # the start line says where
    try:
        yield bound
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def socket_mode(bolt: AsyncApp, services: Services):
    """Takes Slack's requests over a WebSocket (apps.connections.open at SLACK_API_URL) while the block lasts."""
    handler = AsyncSocketModeHandler(bolt, services.settings.app_token, web_client=services.clients.app_client)
    await handler.connect_async()
    log.info("connected to Slack over Socket Mode")
    try:
        yield
    finally:
        await handler.close_async()
