"""Leases: one holder at a time for a unit of work (an ask's owed effects), renewed while it runs.

A holder takes the lease before it works and renews it every third of its length while it works; a
second process gets it only once it has lapsed (its holder died, froze or lost Redis for that long)
or was let go. The holder checks its lease before every step another holder could repeat (a post, an
update): a holder that could not renew it for two thirds of its length stops, and one that was taken
over never gets it back (hold.lua). So at any moment at most one process acts on the work, and a
successor that finds a step begun knows its predecessor is gone: only then does it look for what that
step may have sent, and send it again if it is not there.

The lease is an absolute moment in Redis (the hosts' clocks are assumed to agree within a fraction of a
lease, as NTP keeps them), never a key TTL. Its key goes when it is let go, or with what it guards (an
ask's lease with the ask).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Protocol

from redis.exceptions import RedisError

from . import lua
from .client import RedisClient

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This holder's lease lapsed or was taken over: it must not act on the work any more."""


class Lease:
    """One holding, renewed in the background while the work runs."""

    def __init__(self, leases: Leases, key: str):
        self.leases = leases
        self.key = key
        self.token = secrets.token_hex(8)
        self.lost = False
        # A step's outcome unknown (a post timed out: it may still reach Slack): the lease is left to lapse
        # rather than let go, so a successor looks for what the step sent no sooner than a lease later.
        self.uncertain = False
        self.ended = False  # the work is over: renew no more
        self._good_until = 0.0  # event loop time up to which the lease surely holds
        self._stretched_until = 0.0  # event loop time up to which it holds even if this holder dies now

    async def take(self, renewing: bool = False, seconds: float | None = None) -> bool:
        loop = asyncio.get_running_loop()
        seconds = seconds or self.leases.seconds
        asked_at, now = loop.time(), time.time()
        taken = bool(
            await self.leases.hold(keys=[self.key], args=[self.token, int(renewing), repr(now), repr(now + seconds)])
        )
        if taken:
            self._good_until = max(self._good_until, asked_at + seconds)
        elif renewing:
            self.lost = True
        return taken

    async def stretch(self, seconds: float) -> None:
        """Makes the lease last at least `seconds` from now, for a step that may take that long to reach its end
        even if this holder dies meanwhile (a post or an update on its way to Slack): no successor looks for
        what the step did, or draws over it, before it could have happened. One stretch covers the steps that
        start within a lease of it (a wave of updates costs one round trip). Raises LeaseLost if the lease is no
        longer this holder's."""
        now = asyncio.get_running_loop().time()
        if self._stretched_until >= now + seconds:
            return
        if not await self.take(renewing=True, seconds=seconds + self.leases.seconds):
            raise LeaseLost(self.key)
        self._stretched_until = now + seconds + self.leases.seconds

    def check(self) -> None:
        """Raises LeaseLost unless the lease holds for at least a third of its length more: enough for the
        step about to start, which a successor would otherwise repeat."""
        left = self._good_until - asyncio.get_running_loop().time()
        if self.lost or left < self.leases.seconds / 3:
            raise LeaseLost(self.key)

    async def keep(self) -> None:
        """Renews the lease every third of its length until the work ends (or it is cancelled), or until it is
        lost (see renewed_beside)."""
        while not (self.lost or self.ended):
            await asyncio.sleep(self.leases.seconds / 3)
            if self.ended:
                return
            try:
                await self.take(renewing=True)
            except RedisError:  # the holder stops by itself once its lease may have lapsed (check)
                log.warning("could not renew a lease; trying again", extra={"lease": self.key})

    async def release(self) -> None:
        await self.leases.release(keys=[self.key], args=[self.token])


class Leases:
    def __init__(self, redis: RedisClient, seconds: float):
        self.seconds = seconds
        self.hold = redis.register_script(lua.source("hold"))
        self.release = redis.register_script(lua.source("release"))

    @contextlib.asynccontextmanager
    async def holding(self, key: str, *, let_go: bool = True) -> AsyncIterator[Lease | None]:
        """The lease on `key` for the block, renewed meanwhile and let go after it (or, without `let_go`, left
        to lapse: a turn that comes once a lease); None when another holds it."""
        lease = Lease(self, key)
        if not await lease.take():
            yield None
            return
        try:
            async with renewed_beside(lease.keep(), "lease", lease):
                try:
                    yield lease
                except asyncio.CancelledError:  # cut off mid-step (a shutdown's grace ran out): left to lapse
                    lease.uncertain = True
                    raise
        finally:
            if let_go and not (lease.lost or lease.uncertain):
                with contextlib.suppress(RedisError):  # it lapses by itself
                    await lease.release()


class Renewed(Protocol):
    ended: bool  # the work is over: its keeper renews no more


@contextlib.asynccontextmanager
async def renewed_beside(keep: Coroutine[Any, Any, None], name: str, held: Renewed) -> AsyncIterator[None]:
    """Runs `keep` (a loop renewing what `held` holds) beside the block, and stops it after: by `held.ended`
    as well as a cancel, for a cancel that lands inside a Redis call can be swallowed there, and a keeper
    that went on renewing would hold the work, and its holder's exit, for good."""
    keeping = asyncio.create_task(keep, name=name)
    try:
        yield
    finally:
        held.ended = True
        keeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeping
