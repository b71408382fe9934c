"""Work in the background of a running app: the effect queue, due jobs, and the weekly digests.

Each loop polls a due index (due_index.py), so an idle poll is one Redis call however many
workspaces there are; there is no loop over workspaces here, nor should there be.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ..observability import LOOP_FAILURES
from .services import Services

SHUTDOWN_GRACE_SECONDS = 10.0
DIGEST_POLL_SECONDS = 30.0

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def run_worker(services: Services, *, requests: Callable[[], float] | None):
    """Carries out owed effects and runs timed work for as long as the block lasts, then lets the
    current batch finish. `requests`: when this process last took a request (event loop time), for
    a process that serves them to put its acks before effects."""
    async with (
        run_effects(services, requests=requests),
        _running(lambda stop: _run_jobs(services, stop), lambda stop: _post_digests(services, stop)),
    ):
        yield


def run_effects(services: Services, *, requests: Callable[[], float] | None):
    """Carries out what committed changes owe (the effect queue) for as long as the block lasts."""
    return _running(lambda stop: services.effects.run(stop, SHUTDOWN_GRACE_SECONDS, requests=requests))


@contextlib.asynccontextmanager
async def _running(*loops):
    stop = asyncio.Event()
    tasks = {asyncio.create_task(loop(stop)) for loop in loops}
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS + 1)


async def _run_jobs(services: Services, stop: asyncio.Event) -> None:
    try:  # what an older version left: its list of workspaces, and ended asks without a timer to forget them
        await services.scheduler.adopt_legacy_workspaces(services.lifecycle.retire_ended_asks)
        await services.lifecycle.start_backstops(await services.store.teams())
    except Exception:
        log.exception("could not adopt what an older version left; retried at the next start")
    await services.scheduler.run_forever(services.job_handlers(), stop=stop)


async def _post_digests(services: Services, stop: asyncio.Event) -> None:
    try:
        await services.digests.track_every_workspace()
    except Exception:
        log.exception("could not index every workspace's digest; retried at the next start")
    while not stop.is_set():
        try:
            await services.digests.post_due()
        except Exception:
            LOOP_FAILURES.labels("digests").inc()
            log.exception("digest poll failed; trying again next poll")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), DIGEST_POLL_SECONDS)
