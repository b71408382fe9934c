"""Slack's rate tiers as one budget per workspace and method, kept in Redis and shared by every instance.

Each Web API call waits for its turn in its workspace's budget for that method before it goes out;
a 429 from Slack pushes that budget's next turn past Retry-After for every instance at once. Budgets
of different workspaces are different keys, so a busy workspace never slows another. The turns asked
for in one pass of the event loop (an accept's five calls start together) are taken together, one
round trip per workspace.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass

from ..observability import SLACK_BUDGET_WAIT
from ..store import lua
from ..store.client import RedisClient

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
# The tier of each method the app calls, from Slack's method catalogue (methods.json's rate_limit;
# tests/test_rate_budget.py keeps the two equal). Methods with "special" limits and no entry here
# (auth.test, oauth.v2.access) are not budgeted.
METHOD_TIERS = {
    "apps.connections.open": 3,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.open": 3,
    "files.completeUploadExternal": 4,
    "files.delete": 3,
    "files.getUploadURLExternal": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
    "views.publish": 4,
}
# A modal opens only within 3 seconds of the click that asked for it (its trigger_id): a views.open
# waits for its turn at most this long, then goes anyway (its turn still taken, so every instance
# counts it), rather than arriving with its trigger expired. Slack allows Tier 4 bursts.
MOST_WAIT_SECONDS = {"views.open": 1.0}
# chat.postMessage's special limit: about one message a second per channel, with short bursts.
POST_MESSAGE = "chat.postMessage"
POST_MESSAGE_PER_MINUTE = 60
BURST_SHARE = 6  # up to a sixth of a minute's budget may go at once


class TurnLater(Exception):
    """A background call's turn in its workspace's budget is `retry_in` seconds away: the work that wanted it
    is put back with that due time rather than sleeping while it holds one of the process's slots."""

    def __init__(self, method: str, retry_in: float):
        super().__init__(f"{method}: next turn in {retry_in:.3f}s")
        self.method = method
        self.retry_in = retry_in


def budget_key(workspace: str, method: str, channel: str = "") -> str:
    """One workspace's budgets share its hash tag; chat.postMessage's is per channel."""
    return f"slack-ask:rate:{{{workspace}}}:{method}" + (f":{channel}" if channel else "")


@functools.lru_cache(maxsize=4096)
def workspace_of(token: str) -> str:
    """A bot token stands for one workspace's installation; its digest names the budget, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Turn:
    key: str
    args: tuple[int, int, int]  # interval_ms, burst, hold_ms
    waited: asyncio.Future  # → milliseconds until the turn


class RateBudget:
    def __init__(self, redis: RedisClient, window_seconds: float = 60.0):
        self.window_seconds = window_seconds  # Slack's minute; only tests and the benchmark shorten it
        self._take_turn = redis.register_script(lua.source("take_turn"))
        self._asked: dict[str, list[Turn]] = defaultdict(list)  # workspace → turns asked for in this pass
        self._taking: set[asyncio.Task] = set()

    def _rule(self, method: str) -> tuple[int, int] | None:
        """(milliseconds between calls, calls that may go at once), or None for an unbudgeted method."""
        per_minute = (
            POST_MESSAGE_PER_MINUTE if method == POST_MESSAGE else TIER_PER_MINUTE.get(METHOD_TIERS.get(method, 0))
        )
        if per_minute is None:
            return None
        return int(self.window_seconds * 1000 / per_minute), max(1, per_minute // BURST_SHARE)

    async def wait_turn(self, token: str, method: str, channel: str = "") -> None:
        rule = self._rule(method)
        if rule is None:
            return
        wait = min(await self._turn(token, method, channel, (*rule, 0)) / 1000, MOST_WAIT_SECONDS.get(method, math.inf))
        SLACK_BUDGET_WAIT.labels(method).observe(wait)
        if wait > 0:
            await asyncio.sleep(wait)

    async def hold_off(self, token: str, method: str, seconds: float, channel: str = "") -> None:
        """Slack said 429: nobody calls `method` for this workspace (and channel) for `seconds`."""
        rule = self._rule(method)
        if rule is None:
            return
        await self._turn(token, method, channel, (*rule, max(1, int(seconds * 1000))))

    async def _turn(self, token: str, method: str, channel: str, args: tuple[int, int, int]) -> int:
        workspace = workspace_of(token)
        loop = asyncio.get_running_loop()
        turn = Turn(
            budget_key(workspace, method, channel if method == POST_MESSAGE else ""), args, loop.create_future()
        )
        if not self._asked:
            loop.call_soon(self._take_asked)
        self._asked[workspace].append(turn)
        return await turn.waited

    def _take_asked(self) -> None:
        asked, self._asked = self._asked, defaultdict(list)
        for turns in asked.values():
            task = asyncio.ensure_future(self._take(turns))
            self._taking.add(task)
            task.add_done_callback(self._taking.discard)

    async def _take(self, turns: list[Turn]) -> None:
        try:
            waits = await self._take_turn(
                keys=[turn.key for turn in turns], args=[n for turn in turns for n in turn.args]
            )
        except Exception as error:  # each caller's Web API call fails with it, as it would have alone
            for turn in turns:
                if not turn.waited.done():
                    turn.waited.set_exception(error)
            return
        for turn, wait_ms in zip(turns, waits, strict=False):
            if not turn.waited.done():  # (its caller may have been cancelled meanwhile)
                turn.waited.set_result(int(wait_ms))
