"""The app factory: everything a running slack-ask needs, built from one Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import BlockingConnectionPool, Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from ..features.answers import Answers
from ..features.ask_forms import AskForms
from ..features.availabilities import Availabilities
from ..features.digests import Digests, DigestSettings
from ..features.home import Home
from ..features.insights_service import Insights
from ..features.lifecycle import Lifecycle, Retention
from ..features.people import People
from ..features.personal_data import PersonalData
from ..features.routing import Router
from ..features.workflow_steps import WorkflowSteps
from ..settings import Settings
from ..slack.effects import EffectQueue
from ..slack.rate_budget import RateBudget
from ..slack.slack_api import BOT_SCOPES, Clients
from ..store.client import RedisClient
from ..store.installations import RedisInstallationStore, RedisOAuthStateStore
from ..store.scheduler import Scheduler
from ..store.sealing import Seal
from ..store.store import Store
from .background import Background
from .edge import Edge
from .express import Express
from .listeners import register_listeners
from .middleware import (
    answer_failure,
    describe_request,
    for_the_person_waiting,
    remember_organisations,
    remembered_identity,
)
from .services import Services, StoreHealth
from .web import INSTALL_PATH, REDIRECT_PATH, asgi_app

REDIS_CONNECTIONS = 256
REDIS_POOL_WAIT_SECONDS = 2.0


@dataclass
class SlackAsk:
    bolt: AsyncApp
    asgi: Edge
    services: Services


def create_app(settings: Settings) -> SlackAsk:
    if not settings.redis_url:
        raise ValueError("create_app needs settings.redis_url; `slack-ask serve` starts an embedded server for you")
    redis = connect_redis(settings)
    installations = RedisInstallationStore(redis, Seal(settings.encryption_keys)) if settings.oauth else None
    clients = Clients(settings, installations, RateBudget(redis, settings.slack_rate_window))
    store = Store(redis)
    scheduler = Scheduler(redis)
    people = People(store, clients, refresh_after_seconds=settings.directory_days * 24 * 3600)
    digests = Digests(store, clients, digest_defaults(settings))
    insights = Insights(store, digests, clients, settings.insights_settle_days)
    home = Home(store, people, digests, insights, clients)
    availabilities = Availabilities(store, people)
    steps = WorkflowSteps(
        store, people, availabilities, clients, Seal(settings.encryption_keys) if settings.encryption_keys else None
    )
    router = Router(store, clients, home, steps, lease_seconds=settings.effect_retry_seconds)
    lifecycle = Lifecycle(store, scheduler, insights.this_week, retention(settings), router.redraw_forgotten)
    services = Services(
        settings=settings,
        clients=clients,
        installations=installations,
        store=store,
        people=people,
        availabilities=availabilities,
        router=router,
        scheduler=scheduler,
        lifecycle=lifecycle,
        digests=digests,
        insights=insights,
        home=home,
        background=Background(),
        health=StoreHealth(store),
        ask_forms=AskForms(store, clients),
        personal=PersonalData(store, lifecycle, router, home),
        effects=EffectQueue(
            redis,
            router.carry_out,
            retry_seconds=settings.effect_retry_seconds,
            max_attempts=settings.effect_max_attempts,
            max_age_seconds=settings.effect_max_age_seconds,
            per_workspace=settings.effects_per_workspace,
            sweep_seconds=settings.effect_sweep_seconds,
        ),
        answers=Answers(store),
        workflow_steps=steps,
    )
    # process_before_response: each listener does its Redis work before the HTTP answer, so a
    # failure becomes a non-2xx that Slack retries; what a change owes goes on the effect queue in
    # that same Redis step, and is carried out by whichever instance reads it.
    # Signatures are checked at the edge (edge.py), before the body is even read; Bolt's own check
    # would only repeat it, and log the whole body of a request that fails.
    bolt = AsyncApp(
        client=clients.app_client,
        signing_secret=settings.signing_secret or None,
        process_before_response=True,
        request_verification_enabled=False,
        **(_oauth(settings, installations, redis) or {"authorize": remembered_identity(store, clients.app_client)}),
    )
    bolt.middleware(describe_request)
    bolt.middleware(for_the_person_waiting)
    if installations is not None:
        bolt.middleware(remember_organisations(installations))
    failed = answer_failure(services.health.saw, people)
    bolt.error(failed)
    register_listeners(bolt, services)
    express = Express(services.answers, failed)
    return SlackAsk(bolt=bolt, asgi=asgi_app(bolt, express, services, redis), services=services)


def _oauth(settings: Settings, installations: RedisInstallationStore | None, redis: RedisClient) -> dict:
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


def connect_redis(settings: Settings) -> RedisClient:
    """One client for the app's lifetime; every multi-key operation stays in one hash slot, so a Cluster works too."""
    url = settings.redis_url
    if not url:
        raise ValueError("connect_redis needs settings.redis_url")
    # A restarted or failed-over server drops every pooled connection; retrying on a fresh one hides
    # that blip. The scripts are idempotent, so a repeat changes nothing; at worst a private
    # asked/helped counter counts once too often.
    options = {
        "decode_responses": True,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(url, max_connections=REDIS_CONNECTIONS, **options)
    # A burst beyond the pool waits briefly for a connection instead of failing as if Redis were down.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_POOL_WAIT_SECONDS, **options
    )
    return Redis(connection_pool=pool)


def retention(settings: Settings) -> Retention:
    return Retention(
        ended_asks=timedelta(days=settings.retention_days),
        kudos=timedelta(weeks=settings.kudos_weeks),
        quiet_close=timedelta(days=settings.quiet_close_days),
    )


def digest_defaults(settings: Settings) -> DigestSettings:
    return DigestSettings(
        channel=settings.digest_channel,
        day=settings.digest_day,
        time=settings.digest_time,
        tz=settings.workspace_tz,
        skip_empty=settings.digest_skip_empty,
    )
