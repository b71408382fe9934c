"""An ask's life after it is sent: when it expires, when the asker is asked how it went, when a
forgotten thank-you is gently suggested — and what happens when each of those comes due.

Due times are computed from data on the ask (when it was created, taken, done; its needed-by
date and the asker's time zone) and stored in the scheduler, never held in memory.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .asks import Ask, Status
from .routing import Router
from .scheduler import Job, Scheduler
from .store import Snapshot, Store
from .working_hours import next_working_time

log = logging.getLogger(__name__)

EXPIRE_AFTER = timedelta(days=3)  # without a needed-by date
CHECK_IN_AFTER_AT_LEAST = timedelta(days=1)  # without a needed-by date: max(this, 8 × estimate)
CHECK_IN_ESTIMATE_FACTOR = 8
DELIVERY_CHECK_AFTER = timedelta(minutes=2)  # by then the fan-out is done, or its sender is gone
SNOOZE_FOR = timedelta(days=1)
REOPENED_GRACE = timedelta(days=1)
THANKS_REMINDER_AFTER = timedelta(hours=24)


def zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)


def end_of_day(day: date, tz: str) -> datetime:
    """Midnight after `day` where the asker lives: a needed-by date means 'by the end of that day'."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(tz)).astimezone(timezone.utc)


def expiry_due(ask: Ask) -> datetime:
    if ask.needed_by:
        return end_of_day(ask.needed_by, ask.asker_tz)
    return _utc(ask.created_at) + EXPIRE_AFTER


def check_in_due(ask: Ask) -> datetime:
    if ask.needed_by:
        due = end_of_day(ask.needed_by, ask.asker_tz)
    else:
        due = _utc(ask.taken_at) + max(CHECK_IN_AFTER_AT_LEAST, CHECK_IN_ESTIMATE_FACTOR * timedelta(minutes=ask.estimate_minutes))
    return next_working_time(due, ask.asker_tz)


def thanks_reminder_due(ask: Ask) -> datetime:
    return next_working_time(_utc(ask.done_at) + THANKS_REMINDER_AFTER, ask.asker_tz)


def iso_week(moment: datetime, tz: str) -> str:
    year, week, _ = moment.astimezone(zone(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def _job(kind: str, ask: Ask, due: datetime, helper: str = "") -> Job:
    job_id = f"{kind}:{ask.id}" + (f":{helper}" if helper else "")
    return Job(id=job_id, team_id=ask.team_id, kind=kind, due=due.timestamp(), payload={"ask_id": ask.id, "helper": helper})


class Lifecycle:
    def __init__(self, store: Store, scheduler: Scheduler, router: Router):
        self.store = store
        self.scheduler = scheduler
        self.router = router

    # --- planning: called right after a state change, before Slack gets its ack ---

    async def sent(self, ask: Ask) -> None:
        await self.scheduler.schedule(_job("expire", ask, expiry_due(ask)))
        await self.scheduler.schedule(_job("deliver", ask, _utc(ask.created_at) + DELIVERY_CHECK_AFTER))

    async def changed(self, snapshot: Snapshot) -> None:
        ask, outcome = snapshot.ask, snapshot.outcome
        if outcome == "took_last":
            await self.scheduler.schedule(_job("check_in", ask, check_in_due(ask)), cancelling=(f"expire:{ask.id}",))
        elif outcome == "reopened":
            # Open again, it may expire again, though never the moment its helper steps back.
            grace = datetime.now(timezone.utc) + REOPENED_GRACE
            await self.scheduler.schedule(_job("expire", ask, max(expiry_due(ask), grace)),
                                          cancelling=(f"check_in:{ask.id}",))
        elif outcome in ("done", "cancelled"):
            await self.scheduler.cancel(ask.team_id, f"check_in:{ask.id}", f"expire:{ask.id}")
        if outcome == "done":
            await self.store.count_helped(ask.team_id, ask.helpers)
            for helper in ask.helpers:
                await self.scheduler.schedule(_job("thanks_reminder", ask, thanks_reminder_due(ask), helper))

    async def snoozed(self, ask: Ask, now: datetime) -> None:
        # Counted from the check-in the asker answered, even when they answer it early.
        since = max(now, check_in_due(ask))
        await self.scheduler.schedule(_job("check_in", ask, next_working_time(since + SNOOZE_FOR, ask.asker_tz)))

    # --- running: the scheduler calls these when a job comes due ---

    def handlers(self):
        return {"deliver": self._deliver, "expire": self._expire, "check_in": self._check_in,
                "thanks_reminder": self._remind_thanks}

    async def _deliver(self, job: Job) -> None:
        snapshot = await self.store.snapshot(job.team_id, job.payload["ask_id"])
        if snapshot.ask and snapshot.ask.status.is_live:
            await self.router.resume(snapshot)

    async def _expire(self, job: Job) -> None:
        snapshot = await self.store.close(job.team_id, job.payload["ask_id"], "expired")
        await self.router.tell(snapshot, user="")

    async def _check_in(self, job: Job) -> None:
        ask = await self.store.load_ask(job.team_id, job.payload["ask_id"])
        if ask and ask.status is Status.TAKEN:
            await self.router.notify_asker(ask, "check_in", snoozed=ask.check_in_snoozed)

    async def _remind_thanks(self, job: Job) -> None:
        ask = await self.store.load_ask(job.team_id, job.payload["ask_id"])
        helper = job.payload["helper"]
        if ask and ask.status is Status.DONE and not await self.store.was_thanked(job.team_id, ask.id, helper):
            await self.router.notify_asker(ask, "thanks_reminder", helper=helper)
