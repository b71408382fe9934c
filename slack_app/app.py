"""The app factory: everything a running slack-ask needs, built from one Settings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .background import Background
from .digests import Digests, DigestSettings
from .home import Home
from .lifecycle import Lifecycle
from .listeners import register_listeners
from .observability import HTTP_RESPONSES, REDIS_ERRORS, REQUEST_SECONDS, metrics_text
from .people import People
from .routing import Router
from .scheduler import Scheduler
from .services import Services
from .settings import Settings
from .installations import RedisInstallationStore, RedisOAuthStateStore
from .slack_api import BOT_SCOPES, Clients
from .store import Store

SHUTDOWN_GRACE_SECONDS = 10.0
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
DIGEST_POLL_SECONDS = 30.0

log = logging.getLogger(__name__)


@dataclass
class SlackAsk:
    bolt: AsyncApp
    asgi: Starlette
    services: Services


def create_app(settings: Settings) -> SlackAsk:
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url; `slack-ask serve` starts an embedded server for you")
    redis = connect_redis(settings)
    installations = RedisInstallationStore(redis) if settings.oauth else None
    clients = Clients(settings, installations)
    store = Store(redis)
    router = Router(store, clients)
    scheduler = Scheduler(redis)
    people = People(store, clients)
    digests = Digests(store, clients, digest_defaults(settings))
    services = Services(
        settings=settings,
        clients=clients,
        installations=installations,
        store=store,
        people=people,
        router=router,
        scheduler=scheduler,
        lifecycle=Lifecycle(store, scheduler, router),
        digests=digests,
        home=Home(store, people, digests, clients),
        background=Background(),
    )
    # process_before_response: each listener does its Redis work before the HTTP answer, so a
    # failure becomes a non-2xx that Slack retries; slow Slack calls go to services.background.
    bolt = AsyncApp(client=clients.app_client, signing_secret=settings.signing_secret or None,
                    process_before_response=True, request_verification_enabled=not settings.app_token,
                    **_oauth(settings, installations, redis))
    bolt.middleware(_describe_request)
    if installations is not None:
        bolt.middleware(_remember_organisations(installations))
    bolt.error(_answer_failure)
    register_listeners(bolt, services)
    return SlackAsk(bolt=bolt, asgi=_asgi(bolt, services, redis), services=services)


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


def _oauth(settings: Settings, installations: RedisInstallationStore | None, redis) -> dict:
    """With a client id and secret instead of a bot token: Bolt's OAuth flow, installations in Redis."""
    if installations is None:
        return {}
    return {
        "installation_store": installations,
        "oauth_settings": AsyncOAuthSettings(
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            scopes=BOT_SCOPES,
            installation_store=installations,
            state_store=RedisOAuthStateStore(redis),
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
        ),
    }


def connect_redis(settings: Settings) -> Redis | RedisCluster:
    """One client for the app's lifetime; every multi-key operation stays in one hash slot, so a Cluster works too."""
    # A restarted or failed-over server drops every pooled connection; retrying on a fresh one hides
    # that blip. The scripts are idempotent, so a repeat changes nothing; at worst a private
    # asked/helped counter counts once too often.
    options = {"decode_responses": True, "socket_connect_timeout": 1, "socket_timeout": 2,
               "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
               "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)
    return Redis.from_url(settings.redis_url, **options)


def digest_defaults(settings: Settings) -> DigestSettings:
    return DigestSettings(channel=settings.digest_channel, day=settings.digest_day, time=settings.digest_time,
                          tz=settings.workspace_tz, skip_empty=settings.digest_skip_empty)


@contextlib.asynccontextmanager
async def run_worker(services: Services):
    """Runs timed work in the background for as long as the block lasts, then lets the current batch finish."""
    stop = asyncio.Event()
    workers = {
        asyncio.create_task(services.scheduler.run_forever(services.lifecycle.handlers(), stop=stop), name="scheduler"),
        asyncio.create_task(_post_digests(services, stop), name="digests"),
    }
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait(workers, timeout=SHUTDOWN_GRACE_SECONDS)


async def _post_digests(services: Services, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await services.digests.post_due()
        except Exception:
            log.exception("digest poll failed; trying again next poll")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), DIGEST_POLL_SECONDS)


def _kind(body: dict) -> tuple[str, str]:
    """What Slack sent, in words with few enough values to label metrics by."""
    if body.get("command"):
        return "slash_command", str(body["command"])
    kind = str(body.get("type", "unknown"))
    if kind == "event_callback":
        return kind, str(body.get("event", {}).get("type", ""))
    if kind == "block_actions":
        return kind, str((body.get("actions") or [{}])[0].get("action_id", ""))
    if kind == "view_submission":
        return kind, str(body.get("view", {}).get("callback_id", ""))
    return kind, ""


async def _describe_request(req, resp, next):
    """Tells the HTTP route what this verified request was, for its log line and metrics."""
    info = req.context.get("request_info")  # absent in Socket Mode, where no HTTP route asks
    if info is not None:
        kind, detail = _kind(req.body)
        info.update(kind=kind, detail=detail, team=req.context.team_id)
    return await next()


def _remember_organisations(installations: RedisInstallationStore):
    """Notes each workspace's enterprise, so timed jobs can find an org-wide install's token."""
    noted: set[str] = set()

    async def middleware(req, resp, next):
        team, enterprise = req.context.team_id, req.context.enterprise_id
        if team and enterprise and team not in noted:
            await installations.note_enterprise(team, enterprise)
            noted.add(team)
        return await next()

    return middleware


DEPENDENCY_DOWN = (RedisError, OSError, asyncio.TimeoutError)
FIRST_FIELD = {"ask_submit": "ask", "thanks_submit": "note"}  # where a modal shows a whole-form error
UNAVAILABLE = ("slack-ask can't reach its storage right now, so that didn't go through. "
               "Nothing was lost — please try again in a minute.")


async def _answer_failure(error: Exception, body: dict, respond) -> BoltResponse:
    """No traceback ever reaches a person: a dependency being down gets a kind word (and events a
    non-2xx, so Slack delivers them again); a payload we can't make sense of gets a 400."""
    kind, detail = _kind(body if isinstance(body, dict) else {})
    if not isinstance(error, DEPENDENCY_DOWN):
        log.warning("request not understood", exc_info=error, extra={"kind": kind, "detail": detail})
        return BoltResponse(status=400, body="")
    REDIS_ERRORS.labels("listener").inc()
    log.error("dependency down", exc_info=error, extra={"kind": kind, "detail": detail})
    if kind == "event_callback":
        return BoltResponse(status=503, body="")
    if kind == "view_submission":  # keep the modal open, with what they typed, and say why
        field = FIRST_FIELD.get(detail, "ask")
        return BoltResponse(status=200, body=json.dumps({"response_action": "errors", "errors": {field: UNAVAILABLE}}),
                            headers={"content-type": ["application/json"]})
    if kind == "block_actions" and body.get("response_url"):
        with contextlib.suppress(Exception):
            await respond(response_type="ephemeral", replace_original=False, text=UNAVAILABLE)
    return BoltResponse(status=200, body=json.dumps({"response_type": "ephemeral", "text": UNAVAILABLE}),
                        headers={"content-type": ["application/json"]})


def _asgi(bolt: AsyncApp, services: Services, redis: Redis) -> Starlette:
    slack = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        info = {"kind": "unverified", "detail": "", "team": None}
        try:
            response = await slack.handle(request, {"request_info": info})
        except ValueError:  # a body that isn't the JSON or form it claims to be, before any listener ran
            response = Response(status_code=400)
        seconds = time.perf_counter() - started
        REQUEST_SECONDS.labels(info["kind"]).observe(seconds)
        HTTP_RESPONSES.labels("/slack/events", str(response.status_code)).inc()
        log.info("slack request", extra={**info, "status": response.status_code, "latency_ms": round(seconds * 1000, 2)})
        return response

    async def healthz(request: Request) -> Response:
        if await services.store_reachable():
            return JSONResponse({"status": "ok", "redis": "ok"})
        return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)

    async def metrics(request: Request) -> Response:
        return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with contextlib.AsyncExitStack() as running:
            if services.settings.app_token:
                await running.enter_async_context(socket_mode(bolt, services))
            if services.settings.run_scheduler:
                await running.enter_async_context(run_worker(services))
            yield
        await services.background.drain(SHUTDOWN_GRACE_SECONDS)
        await redis.aclose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),  # Prometheus
    ]
    if not services.settings.app_token:  # in Socket Mode nothing may arrive unsigned over HTTP
        # Slash commands, interactivity and events share one URL, as manifest.yml declares.
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if services.settings.oauth:  # "Add to Slack", and Slack's redirect back with the code
        routes.append(Route(INSTALL_PATH, slack_events, methods=["GET"]))
        routes.append(Route(REDIRECT_PATH, slack_events, methods=["GET"]))
    return Starlette(routes=routes, lifespan=lifespan)
