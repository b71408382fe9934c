"""What the listeners work with, built once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from .background import Background
from .digests import Digests
from .home import Home
from .lifecycle import Lifecycle
from .people import People
from .routing import Router
from .scheduler import Scheduler
from .settings import Settings
from .store import Snapshot, Store

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
    digests: Digests
    home: Home
    background: Background

    def tell(self, snapshot: Snapshot, user: str) -> None:
        """After Slack has its ack: update every message and Home tab the change touches."""
        if snapshot.ask is None:
            return
        self.background.spawn(self.router.tell(snapshot, user), f"tell {snapshot.outcome} {snapshot.ask.id}")
        self.background.spawn(self.home.refresh_for(snapshot), f"home {snapshot.ask.id}")

    async def store_reachable(self) -> bool:
        try:
            return await asyncio.wait_for(self.store.ping(), PING_TIMEOUT_SECONDS)
        except (RedisError, OSError, asyncio.TimeoutError):
            return False
