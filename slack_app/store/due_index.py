"""Which workspaces have something due, and from when: the one thing a poll reads when nothing is due.

A sorted set maps each workspace to the earliest moment it may have work (a timed job, a weekly
digest). It is a lower bound, never later than the truth: whoever adds work lowers it *after*
storing the work, and a poller raises it only after looking at the workspace, and only if nobody
lowered it meanwhile. That "meanwhile" is a per-workspace change counter beside the set: lowering
bumps it, a poller remembers it when it takes a workspace, and raising is a compare-and-set on it.
So an idle poll is one call, and a busy one costs what is due: never a pass over every workspace.

Redis Cluster: both keys share the hash tag `{slack-ask:NAME}`, so the index lives in one known
slot. It holds one small entry per workspace (an id and a score, ~60 bytes), not one per job, so
10,000 workspaces are well under a megabyte and each call is O(log N + due); one slot serves that
comfortably, and a fixed shard count would only add a call per shard to every idle poll. The
index is never written inside a workspace's own atomic operations (a different slot): it is
written just after them, which the lower-bound rule above makes safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import lua
from .client import RedisClient


def next_key(name: str) -> str:
    """Sorted set: workspace → the earliest moment it may have work, epoch seconds."""
    return f"{{slack-ask:{name}}}:next"


def changes_key(name: str) -> str:
    """Hash: workspace → how many times its entry was lowered. Kept for the workspace's lifetime: a
    counter that restarted at 0 could let a stale compare-and-set through."""
    return f"{{slack-ask:{name}}}:changes"


class DueIndex:
    def __init__(self, redis: RedisClient, name: str):
        self.redis = redis
        self.keys = [next_key(name), changes_key(name)]
        self._lower = redis.register_script(lua.source("index_lower"))
        self._take = redis.register_script(lua.source("index_take_due"))
        self._settle = redis.register_script(lua.source("index_settle"))

    async def lower(self, team_id: str, at: float) -> None:
        """Work of this workspace (already stored) may be due at `at`: look no later than that."""
        await self._lower(keys=self.keys, args=[team_id, repr(float(at))])

    async def take_due(self, now: float, limit: int, hold_seconds: float) -> list[tuple[str, str]]:
        """Up to `limit` workspaces whose entry is due, each held until now + hold_seconds so that
        other pollers leave it to this one (and pick it up if this one dies); with the change count
        to hand back to `settle`."""
        flat = await self._take(keys=self.keys, args=[repr(float(now)), limit, repr(float(now + hold_seconds))])
        return list(zip(flat[::2], flat[1::2], strict=False))

    async def settle(self, looked: Sequence[tuple[str, str, float | None]]) -> None:
        """(workspace, change count seen, next moment or None for nothing left): sets each entry
        unless it was lowered since it was taken, in which case the lower value stands."""
        if looked:
            args = [
                value
                for team_id, seen, at in looked
                for value in (team_id, seen, "" if at is None else repr(float(at)))
            ]
            await self._settle(keys=self.keys, args=args)

    async def entries(self) -> int:
        return await self.redis.zcard(self.keys[0])

    async def forget(self, team_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys[0], team_id)
            pipe.hdel(self.keys[1], team_id)
            await pipe.execute()
