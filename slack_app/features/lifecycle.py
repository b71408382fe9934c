"""An ask's life after it is sent: when it expires, when the asker is asked how it went, when a
forgotten thank-you is gently suggested — and what happens when each of those comes due.

Due times are computed from data on the ask (when it was created, taken, done; its needed-by
date and the asker's time zone) and stored in the scheduler, never held in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ..domain.asks import Ask, Status
from ..domain.workflow_step import limit_at
from ..domain.working_hours import next_working_time, zone
from ..store.scheduler import Job, Scheduler
from ..store.store import Snapshot, Store

log = logging.getLogger(__name__)

EXPIRE_AFTER = timedelta(days=3)  # without a needed-by date
CHECK_IN_AFTER_AT_LEAST = timedelta(days=1)  # without a needed-by date: max(this, 8 × estimate)
CHECK_IN_ESTIMATE_FACTOR = 8
SNOOZE_FOR = timedelta(days=1)
REOPENED_GRACE = timedelta(days=1)
OPEN_ASK_LOOKS_EVERY = timedelta(days=1)  # never more than a check-in's shortest delay
THANKS_REMINDER_AFTER = timedelta(hours=24)
TIMERS_AT_ONCE = 500  # timers set in one transaction when an upgrade retires a workspace's ended asks


@dataclass(frozen=True)
class Retention:
    """How long what people wrote is kept (SLACK_ASK_RETENTION_DAYS, SLACK_ASK_KUDOS_WEEKS)."""

    ended_asks: timedelta = timedelta(days=90)  # after done, cancelled or expired
    kudos: timedelta = timedelta(weeks=52)  # after the week a thank-you was filed under


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def end_of_day(day: date, tz: str) -> datetime:
    """Midnight after `day` where the asker lives: a needed-by date means 'by the end of that day'."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(tz)).astimezone(UTC)


def expiry_deadline(ask: Ask) -> datetime:
    """When an open ask ends: its expiry, or for one reopened by a helper stepping back, not before a grace."""
    if ask.reopened_at:
        return max(expiry_due(ask), _utc(ask.reopened_at) + REOPENED_GRACE)
    return expiry_due(ask)


def expiry_due(ask: Ask) -> datetime:
    if ask.needed_by:
        return end_of_day(ask.needed_by, ask.asker_tz)
    return _utc(ask.created_at) + EXPIRE_AFTER


def check_in_due(ask: Ask) -> datetime:
    if ask.needed_by:
        due = end_of_day(ask.needed_by, ask.asker_tz)
    else:
        due = _utc(ask.taken_at) + max(
            CHECK_IN_AFTER_AT_LEAST, CHECK_IN_ESTIMATE_FACTOR * timedelta(minutes=ask.estimate_minutes)
        )
    return next_working_time(due, ask.asker_tz)


def thanks_reminder_due(ask: Ask) -> datetime:
    return next_working_time(_utc(ask.done_at) + THANKS_REMINDER_AFTER, ask.asker_tz)


def iso_week(moment: datetime, tz: str) -> str:
    year, week, _ = moment.astimezone(zone(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def week_end(week: str) -> datetime:
    """The end of an ISO week wherever it ends last (UTC−12), so no time zone's week is cut short."""
    year, number = week.split("-W")
    return datetime.combine(date.fromisocalendar(int(year), int(number), 7) + timedelta(days=1), time(12), tzinfo=UTC)


def ended_at(ask: Ask) -> datetime:
    # Asks that ended before closed_at was recorded fall back to the last moment known.
    return _utc(ask.closed_at or ask.done_at or ask.taken_at or ask.created_at)


def _job(kind: str, ask: Ask, due: datetime, helper: str = "") -> Job:
    job_id = f"{kind}:{ask.id}" + (f":{helper}" if helper else "")
    return Job(
        id=job_id, team_id=ask.team_id, kind=kind, due=due.timestamp(), payload={"ask_id": ask.id, "helper": helper}
    )


class Lifecycle:
    """Each ask has one timer. Its handler looks at the ask as it stands and either acts (expires it,
    asks how it went) or sets itself for the next moment that matters. So answering an ask never has
    to touch the timers: accepting, passing and stepping back cost no scheduling at all. The timer
    outlives the ask's end: it is set for the moment the retention window closes, and then forgets
    the ask, so an ask never lingers without something that will remove it."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        this_week: Callable[[str], Awaitable[str]],
        retention: Retention = Retention(),
    ):
        self.store = store
        self.scheduler = scheduler
        self.this_week = this_week  # team → this ISO week in the workspace's time zone
        self.retention = retention

    # --- planning: called right after a state change, before Slack gets its ack ---

    async def sent(self, ask: Ask) -> None:
        await self._set_timer(ask, _utc(ask.created_at))
        if ask.step:  # a workflow's step completes by Slack's limit at the latest, ended or not
            await self.scheduler.schedule(_job("step_limit", ask, limit_at(ask)))

    async def unsent(self, ask: Ask) -> None:
        """Takes back a new ask whose saving failed part-way: its timers, then the ask."""
        await self.scheduler.cancel(ask.team_id, f"timer:{ask.id}", f"step_limit:{ask.id}")
        await self.store.discard_ask(ask)

    async def ended(self, snapshot: Snapshot) -> None:
        """After done or cancel: the ask's timer moves to when the ask is forgotten; a done one gets
        its thank-you reminders."""
        ask, outcome = snapshot.ask, snapshot.outcome
        if ask is None:  # missing: nothing left to plan for
            return
        if outcome == "cancelled":
            await self._retire(ask)
        elif outcome == "done":
            await self.store.count_done(ask, await self.this_week(ask.team_id))
            reminders = [_job("thanks_reminder", ask, thanks_reminder_due(ask), helper) for helper in ask.helpers]
            await self.scheduler.schedule(*reminders, self._forgetting(ask))

    async def thanked(self, team_id: str, kudos: dict, ask: Ask | None = None) -> bool:
        """Files a thank-you note under this week in the workspace's time zone (the week its digest posts);
        False if this helper was already thanked for this ask.

        The week's notes are forgotten by a timer set first, so no note is ever kept without one."""
        iso_week = await self.this_week(team_id)
        due = week_end(iso_week) + self.retention.kudos
        job = Job(
            id=f"forget_kudos:{iso_week}",
            team_id=team_id,
            kind="forget_kudos",
            due=due.timestamp(),
            payload={"week": iso_week},
        )
        await self.scheduler.schedule(job)
        return await self.store.record_thanks(team_id, iso_week, kudos, ask)

    async def retire_ended_asks(self, team_id: str) -> int:
        """Sets the forgetting timer of every ended ask in a workspace: for asks that ended under an
        older version, which kept them for ever. Returns how many."""
        timers = [self._forgetting(ask) async for ask in self.store.every_ask(team_id) if not ask.status.is_live]
        for start in range(0, len(timers), TIMERS_AT_ONCE):
            await self.scheduler.schedule(*timers[start : start + TIMERS_AT_ONCE])
        return len(timers)

    async def _retire(self, ask: Ask) -> None:
        await self.scheduler.schedule(self._forgetting(ask))

    def _forgetting(self, ask: Ask) -> Job:
        """An ended ask's timer, set for when it is forgotten."""
        return _job("timer", ask, ended_at(ask) + self.retention.ended_asks)

    async def snoozed(self, ask: Ask, now: datetime) -> None:
        # Counted from the check-in the asker answered, even when they answer it early.
        since = max(now, check_in_due(ask))
        await self.scheduler.schedule(_job("timer", ask, next_working_time(since + SNOOZE_FOR, ask.asker_tz)))

    async def _set_timer(self, ask: Ask, now: datetime) -> None:
        await self.scheduler.schedule(_job("timer", ask, min(expiry_deadline(ask), now + OPEN_ASK_LOOKS_EVERY)))

    # --- running: the scheduler calls these when a job comes due ---

    def handlers(self):
        return {
            "timer": self._timer,
            "thanks_reminder": self._remind_thanks,
            "forget_kudos": self._forget_kudos,
            "step_limit": self._step_limit,
        }

    async def _timer(self, job: Job) -> None:
        ask = await self.store.load_ask(job.team_id, job.payload["ask_id"])
        # The job runs once due, perhaps late; its due time is when it was meant to look.
        now = max(datetime.now(UTC), _utc(job.due))
        if ask is None:
            return
        if not ask.status.is_live:
            await self._forget_or_retire(ask, now)
        elif ask.status is Status.OPEN:
            await self._open_ask(ask, now)
        else:
            await self._taken_ask(ask, now)

    async def _open_ask(self, ask: Ask, now: datetime) -> None:
        if now < expiry_deadline(ask):
            # Looks again at least daily: if it is taken meanwhile, its check-in must not be late.
            await self._set_timer(ask, now)
            return
        snapshot = await self.store.close(ask.team_id, ask.id, "expired")  # owes its messages and notice
        if snapshot.outcome == "expired" and snapshot.ask is not None:
            await self._retire(snapshot.ask)

    async def _forget_or_retire(self, ask: Ask, now: datetime) -> None:
        if now < ended_at(ask) + self.retention.ended_asks:
            await self._retire(ask)  # ended before this version set its timer at the forgetting time
            return
        reminders = [f"thanks_reminder:{ask.id}:{helper}" for helper in ask.helpers]
        await self.scheduler.cancel(ask.team_id, *reminders)
        await self.store.forget_ask(ask.team_id, ask.id)
        log.info("ask forgotten", extra={"team": ask.team_id, "ask": ask.id})

    async def _taken_ask(self, ask: Ask, now: datetime) -> None:
        if ask.check_ins_sent == 0 and now < check_in_due(ask):
            await self.scheduler.schedule(_job("timer", ask, check_in_due(ask)))
        elif ask.check_ins_sent < (2 if ask.check_in_snoozed else 1):
            check_in = {"kind": "notice", "notice": "check_in", "snoozed": ask.check_in_snoozed}
            await self.store.owe(ask.team_id, ask.id, posts={"check_in:#": check_in}, counting="check_ins_sent")

    async def _remind_thanks(self, job: Job) -> None:
        ask = await self.store.load_ask(job.team_id, job.payload["ask_id"])
        helper = job.payload["helper"]
        if ask and ask.status is Status.DONE and not await self.store.was_thanked(job.team_id, ask.id, helper):
            reminder = {"kind": "notice", "notice": "thanks_reminder", "helper": helper}
            await self.store.owe(ask.team_id, ask.id, posts={f"thanks_reminder:{helper}": reminder})
        if ask and ask.step:  # its workflow has waited for thanks as long as the asker is left to think of them
            await self.store.owe_step_completion(ask.team_id, ask.id, "thanks_waited")

    async def _step_limit(self, job: Job) -> None:
        """Slack's limit on a running step: the step completes with what is known, if it hasn't."""
        if await self.store.load_ask(job.team_id, job.payload["ask_id"]):
            await self.store.owe_step_completion(job.team_id, job.payload["ask_id"], "limit_reached")

    async def _forget_kudos(self, job: Job) -> None:
        dropped = await self.store.forget_kudos(job.team_id, job.payload["week"])
        log.info(
            "thank-you notes forgotten", extra={"team": job.team_id, "week": job.payload["week"], "notes": dropped}
        )
