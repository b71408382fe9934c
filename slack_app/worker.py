"""Timed work in the background of a running app: due jobs, and the weekly digests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from .services import Services

SHUTDOWN_GRACE_SECONDS = 10.0
DIGEST_POLL_SECONDS = 30.0

log = logging.getLogger(__name__)


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
