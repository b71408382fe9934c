"""What the listeners work with, built once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from .background import Background
from .lifecycle import Lifecycle
from .people import People
from .routing import Router
from .scheduler import Scheduler
from .settings import Settings
from .store import Store

PING_TIMEOUT_SECONDS = 1.0


@dataclass
class Services:
    settings: Settings
    client: AsyncWebClient
    store: Store
    people: People
    router: Router
    scheduler: Scheduler
    lifecycle: Lifecycle
    background: Background

    async def store_reachable(self) -> bool:
        try:
            return await asyncio.wait_for(self.store.ping(), PING_TIMEOUT_SECONDS)
        except (RedisError, OSError, asyncio.TimeoutError):
            return False
