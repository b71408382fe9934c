"""Work that happens after Slack has its ack: tracked, logged, bounded, and drained on shutdown."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

from ..slack.rate_budget import PERSON_WAITING

log = logging.getLogger(__name__)

# Beyond this much follow-up work in flight, a new request waits for room before it is acked. Under
# more load than Slack's answers keep up with, acks slow down instead of a backlog growing without
# bound in memory (and Slack, seeing slower acks, sends less).
MAX_IN_FLIGHT = 256


class Background:
    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._room = asyncio.Semaphore(max_in_flight)

    async def spawn(self, work: Coroutine[Any, Any, Any], name: str, *, for_a_person: bool = False) -> asyncio.Task:
        """Starts `work` once there is room for it. `for_a_person`: someone is waiting to see what it does
        (their Home tab after a click), so its Web API calls go at once (rate_budget.py); otherwise it is
        background work and waits for its turns."""
        await self._room.acquire()
        task = self.spawn_now(work, name, for_a_person=for_a_person)
        task.add_done_callback(lambda _: self._room.release())
        return task

    def spawn_now(self, work: Coroutine[Any, Any, Any], name: str, *, for_a_person: bool = False) -> asyncio.Task:
        """Starts `work` at once, room or not: for what cannot wait, like a modal whose trigger expires in 3 s."""
        context = contextvars.copy_context()
        context.run(PERSON_WAITING.set, for_a_person)
        task = asyncio.get_running_loop().create_task(work, name=name, context=context)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background job %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float) -> None:
        """Waits for in-flight work, up to `timeout` seconds."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
