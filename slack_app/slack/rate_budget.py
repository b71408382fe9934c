"""Slack's rate tiers as one budget per workspace and method, kept in Redis and shared by every instance.

Two kinds of call spend a budget differently:

- A call a person is waiting for (a modal opening, a view updated or published on their click, the
  users.info of someone the directory doesn't know yet, on their Send) is never delayed by the budget:
  it goes at once and counts against it, so background work makes room. Slack's tiers are per-minute
  averages with generous bursts; holding a person back for a limit Slack might never apply would turn
  it into a wait, or a refusal, they certainly see. Only a 429's hold (Slack's own word) is waited out.
- Background fan-out (cards, updates, notices, Home refreshes, digests) waits for its turn. Under
  `late_turns_put_back()` (the effect queue carrying out an entry) a turn further away than a few
  milliseconds is given back and TurnLater raised, so the work is put back with a due time rather
  than sleeping in one of the process's slots.

Budgets are keyed by workspace (team id; enterprise id for an org-wide install), never by token, so a
rotated token keeps its workspace's budget. A 429 holds the very budget its call spent (a channel's, for
chat.postMessage) for every instance, and a call that waited for its turn checks for a hold once more
just before it goes out. A turn its caller gave up on (cancelled, timed out) is given back. The
operations asked for in one pass of the event loop (an accept's five calls start together) go to
Redis together, one round trip per workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Iterator
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
    "functions.completeSuccess": 3,
    "functions.completeError": 3,
    "files.getUploadURLExternal": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "users.list": 2,
    "views.open": 4,
    "views.publish": 4,
    "views.update": 4,
}
# Methods only ever called for a person who just clicked: a trigger_id is good for 3 seconds.
ALWAYS_FOR_A_PERSON = frozenset({"views.open", "views.push"})
# chat.postMessage's special limit: about one message a second per channel, with short bursts.
POST_MESSAGE = "chat.postMessage"
POST_MESSAGE_PER_MINUTE = 60
BURST_SHARE = 6  # background work may send up to a sixth of a minute's budget at once
# Under late_turns_put_back(), a turn at most this far away is waited for; a later one is put back.
PUT_BACK_AFTER_SECONDS = 0.005

# Set while a call is made for a person who is waiting for it (see the module docstring).
PERSON_WAITING: contextvars.ContextVar[bool] = contextvars.ContextVar("slack_ask_person_waiting", default=False)
# The opt-in for background work: set while the effect queue carries out an entry.
LATE_TURNS_PUT_BACK: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "slack_ask_late_turns_put_back", default=False
)


class TurnLater(Exception):
    """A background call's turn in its workspace's budget is `retry_in` seconds away: the work that wanted it
    is put back with that due time rather than sleeping while it holds one of the process's slots."""

    def __init__(self, method: str, retry_in: float):
        super().__init__(f"{method}: next turn in {retry_in:.3f}s")
        self.method = method
        self.retry_in = retry_in


@contextlib.contextmanager
def setting(var: contextvars.ContextVar, value) -> Iterator[None]:
    """`var` is `value` inside the block (and in tasks started inside it)."""
    token = var.set(value)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):  # a coroutine closed at shutdown finishes in another context
            var.reset(token)


def for_a_waiting_person() -> contextlib.AbstractContextManager[None]:
    """Calls made inside (and in tasks started inside) go at once: a person is waiting for them."""
    return setting(PERSON_WAITING, True)


def late_turns_put_back() -> contextlib.AbstractContextManager[None]:
    """Background calls made inside raise TurnLater, their turn given back, rather than sleep for it."""
    return setting(LATE_TURNS_PUT_BACK, True)


def budget_key(workspace: str, method: str, channel: str = "") -> str:
    """One workspace's budgets share its hash tag; chat.postMessage's is per channel."""
    return f"slack-ask:rate:{{{workspace}}}:{method}" + (f":{channel}" if channel else "")


@dataclass(frozen=True)
class Budget:
    """The budget one call spends: its workspace's, for its method (and channel, for chat.postMessage)."""

    workspace: str
    method: str
    channel: str = ""

    @property
    def key(self) -> str:
        return budget_key(self.workspace, self.method, self.channel if self.method == POST_MESSAGE else "")


@dataclass(frozen=True)
class _Asked:
    key: str
    args: tuple[int, int, str, int]  # interval_ms, burst, op, hold_ms
    answer: asyncio.Future  # → milliseconds to wait


class RateBudget:
    def __init__(self, redis: RedisClient, window_seconds: float = 60.0):
        self.window_seconds = window_seconds  # Slack's minute; only tests shorten it
        self._script = redis.register_script(lua.source("take_turn"))
        self._asked: dict[str, list[_Asked]] = defaultdict(list)  # workspace → operations asked for in this pass
        self._sending: set[asyncio.Task] = set()

    def _rule(self, method: str) -> tuple[int, int] | None:
        """(milliseconds between calls, calls that may go at once), or None for an unbudgeted method."""
        per_minute = (
            POST_MESSAGE_PER_MINUTE if method == POST_MESSAGE else TIER_PER_MINUTE.get(METHOD_TIERS.get(method, 0))
        )
        if per_minute is None:
            return None
        return max(1, int(self.window_seconds * 1000 / per_minute)), max(1, per_minute // BURST_SHARE)

    async def wait_turn(self, budget: Budget) -> None:
        """Returns when the call may go out: at once for a person waiting (after any hold), else on its turn."""
        rule = self._rule(budget.method)
        if rule is None:
            return
        if PERSON_WAITING.get() or budget.method in ALWAYS_FOR_A_PERSON:
            held = await self._ask(budget, rule, "now") / 1000
            SLACK_BUDGET_WAIT.labels(budget.method).observe(held)
            if held > 0:
                await asyncio.sleep(held)  # Slack said 429: the call would only be refused again
            return
        try:
            wait = await self._ask(budget, rule, "take") / 1000
        except asyncio.CancelledError:
            self._give_back_soon(budget, rule)  # (the turn may have been taken as the caller gave up)
            raise
        SLACK_BUDGET_WAIT.labels(budget.method).observe(wait)
        if wait <= 0:
            return
        await self._wait(budget, rule, wait)
        held = await self._ask(budget, rule, "peek") / 1000  # a 429 may have come while we waited
        if held > 0:
            await self._wait(budget, rule, held)

    async def _wait(self, budget: Budget, rule: tuple[int, int], seconds: float) -> None:
        if LATE_TURNS_PUT_BACK.get() and seconds > PUT_BACK_AFTER_SECONDS:
            await self._ask(budget, rule, "back")
            raise TurnLater(budget.method, seconds)
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self._give_back_soon(budget, rule)
            raise

    async def hold_off(self, budget: Budget, seconds: float) -> None:
        """Slack said 429: nobody calls on this budget for `seconds`, on any instance."""
        rule = self._rule(budget.method)
        if rule is not None:
            await self._ask(budget, rule, "hold", max(1, int(seconds * 1000)))

    def _give_back_soon(self, budget: Budget, rule: tuple[int, int]) -> None:
        """Gives an unused turn back without holding up the cancellation that made it unused."""
        task = asyncio.ensure_future(self._ask(budget, rule, "back"))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # nothing to tell anyone

    async def _ask(self, budget: Budget, rule: tuple[int, int], op: str, hold_ms: int = 0) -> int:
        loop = asyncio.get_running_loop()
        asked = _Asked(budget.key, (*rule, op, hold_ms), loop.create_future())
        if not self._asked:
            loop.call_soon(self._send_asked)
        self._asked[budget.workspace].append(asked)
        return await asked.answer

    def _send_asked(self) -> None:
        asked, self._asked = self._asked, defaultdict(list)
        for operations in asked.values():
            task = asyncio.ensure_future(self._send(operations))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, operations: list[_Asked]) -> None:
        try:
            waits = await self._script(
                keys=[asked.key for asked in operations], args=[n for asked in operations for n in asked.args]
            )
        except Exception as error:  # each caller's Web API call fails with it, as it would have alone
            for asked in operations:
                if not asked.answer.done():
                    asked.answer.set_exception(error)
            return
        for asked, wait_ms in zip(operations, waits, strict=False):
            if not asked.answer.done():  # (its caller may have been cancelled meanwhile)
                asked.answer.set_result(int(wait_ms))
