"""An ask's life after it is sent: when it expires, when the asker is asked how it went, when a
forgotten thank-you is gently suggested — and what happens when each of those comes due.

Due times are computed from data on the ask (when it was created, taken, done; its needed-by
date and the asker's time zone) and stored in the scheduler, never held in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
BACKSTOP_EVERY = timedelta(days=1)
BACKSTOP_BATCH = 500  # asks a backstop pass reads at a time
ASKS_INDEXED = "asks_indexed"  # workspace setting: its asks from before the backstop's index are in it


@dataclass(frozen=True)
class Retention:
    """How long what people wrote is kept (SLACK_ASK_RETENTION_DAYS, SLACK_ASK_KUDOS_WEEKS)."""

    ended_asks: timedelta = timedelta(days=90)  # after done, cancelled, expired or closed quietly
    kudos: timedelta = timedelta(weeks=52)  # after the week a thank-you was filed under
    quiet_close: timedelta = timedelta(days=14)  # a taken ask with no "done" after its check-ins closes then


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


def quiet_close_due(ask: Ask, after: timedelta) -> datetime:
    """When a taken ask never marked done closes quietly: `after` its last check-in (or, for one that
    ended before check-ins were stamped, when its check-in was due), so there was every chance to say done."""
    checked_in = _utc(ask.checked_in_at) if ask.checked_in_at else check_in_due(ask)
    return max(checked_in, _utc(ask.taken_at)) + after


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
    asks how it went, closes quietly a taken ask long past its check-ins) or sets itself for the next
    moment that matters — and while the ask is live it always sets itself again, at most a day ahead
    once nothing else is planned. So answering an ask never has to touch the timers: accepting,
    passing, stepping back and offers cost no scheduling at all, and a change of state is seen within
    a day. The timer outlives the ask's end: it is set for the moment the retention window closes,
    and then forgets the ask, so an ask never lingers without something that will remove it. A daily
    backstop pass per workspace gives a timer to any ask older than the retention window that has
    none (one lost to a bug or an older version), so even then it ends and is forgotten."""

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        this_week: Callable[[str], Awaitable[str]],
        retention: Retention = Retention(),
        redraw_forgotten: Callable[[str, str], Awaitable[None]] | None = None,
    ):
        self.store = store
        self.scheduler = scheduler
        self.this_week = this_week  # team → this ISO week in the workspace's time zone
        self.retention = retention
        self.redraw_forgotten = redraw_forgotten  # (team, ask): its messages in Slack lose their words first

    # --- planning: called right after a state change, before Slack gets its ack ---

    async def sent(self, ask: Ask) -> None:
        await self._set_timer(ask, _utc(ask.created_at))
        if ask.step:  # a workflow's step completes by Slack's limit at the latest, ended or not
            await self.scheduler.schedule(_job("step_limit", ask, limit_at(ask)))
        # Nothing can be older than the window before then.
        await self._start_backstop(ask.team_id, _utc(ask.created_at) + self.retention.ended_asks)

    async def start_backstops(self, team_ids: list[str]) -> None:
        """At a worker's start: each workspace's backstop pass, unless it is already planned (so one
        kept by an older version that had none is looked at now)."""
        for team_id in team_ids:
            await self._start_backstop(team_id, datetime.now(UTC))

    async def _start_backstop(self, team_id: str, due: datetime) -> None:
        backstop = Job(id="backstop", team_id=team_id, kind="backstop", due=due.timestamp())
        await self.scheduler.schedule_unless_scheduled(backstop)

    async def reopened(self, ask: Ask) -> None:
        """An ask open again off the ack path (its helper's account was deactivated): looked at soon."""
        await self._set_timer(ask, datetime.now(UTC))

    async def unsent(self, ask: Ask) -> None:
        """Takes back a new ask whose saving failed part-way: the ask, then its timers, each tried whatever came
        of the other (on a Cluster they live on different servers; a timer left finds no ask, and ends)."""
        try:
            await self.store.discard_ask(ask)
        finally:
            await self.scheduler.cancel(ask.team_id, f"timer:{ask.id}", f"step_limit:{ask.id}")

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
            "backstop": self._backstop,
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
        await self._after_ending(snapshot, "expired", now)

    async def _forget_or_retire(self, ask: Ask, now: datetime) -> None:
        if now < ended_at(ask) + self.retention.ended_asks:
            await self._retire(ask)  # ended before this version set its timer at the forgetting time
            return
        reminders = [f"thanks_reminder:{ask.id}:{helper}" for helper in ask.helpers]
        await self.scheduler.cancel(ask.team_id, *reminders)
        if self.redraw_forgotten is not None:
            await self.redraw_forgotten(ask.team_id, ask.id)
        await self.store.forget_ask(ask.team_id, ask.id)
        log.info("ask forgotten", extra={"team": ask.team_id, "ask": ask.id})

    async def _taken_ask(self, ask: Ask, now: datetime) -> None:
        if ask.check_ins_sent == 0 and now < check_in_due(ask):
            await self.scheduler.schedule(_job("timer", ask, check_in_due(ask)))
            return
        if ask.check_ins_sent < (2 if ask.check_in_snoozed else 1):
            check_in = {"kind": "notice", "notice": "check_in", "snoozed": ask.check_in_snoozed}
            # Numbered within this taking: one reopened and taken again is checked in with afresh.
            taking = f"{ask.taken_at:.0f}:" if ask.reopened_at else ""
            await self.store.owe(
                ask.team_id,
                ask.id,
                posts={f"check_in:{taking}#": check_in},
                counting="check_ins_sent",
                stamp={"checked_in_at": repr(now.timestamp())},
            )
            ask.checked_in_at = now.timestamp()
        closes = quiet_close_due(ask, self.retention.quiet_close)
        if now < closes:
            # Looks again at least daily: if a helper steps back meanwhile, the open ask must still expire.
            await self.scheduler.schedule(_job("timer", ask, min(closes, now + OPEN_ASK_LOOKS_EVERY)))
            return
        snapshot = await self.store.close(ask.team_id, ask.id, "closed_quietly")  # owes its messages, no notice
        await self._after_ending(snapshot, "closed_quietly", now)

    async def _after_ending(self, snapshot: Snapshot, ending: str, now: datetime) -> None:
        """The timer after the timer tried to end an ask: set for forgetting it, or — if it changed just
        before (taken, reopened, done) — to look again, so a live ask never goes without one."""
        ask = snapshot.ask
        if ask is None:  # gone meanwhile: nothing left to time
            return
        if snapshot.outcome == ending:
            await self._retire(ask)
        else:
            await self.scheduler.schedule(_job("timer", ask, now + OPEN_ASK_LOOKS_EVERY))

    async def _backstop(self, job: Job) -> None:
        """Gives a timer, due now, to every ask sent longer ago than the retention window that has none:
        its handler then ends it or forgets it as it would have. Comes back daily while the workspace
        keeps any ask. What it reads is the asks older than the window, which their timers keep few."""
        team_id, now = job.team_id, max(datetime.now(UTC), _utc(job.due))
        await self._index_older_asks(team_id)
        before, seen = (now - self.retention.ended_asks).timestamp(), 0
        while page := await self.store.asks_sent_before(team_id, before, seen, BACKSTOP_BATCH):
            seen += len(page)
            await self._give_timers(team_id, page, now)
        if await self.store.keeps_asks(team_id):  # else the workspace's next ask starts it again
            await self.scheduler.schedule(replace(job, due=(now + BACKSTOP_EVERY).timestamp()))

    async def _give_timers(self, team_id: str, ask_ids: list[str], now: datetime) -> None:
        timed = await self.scheduler.scheduled(team_id, [f"timer:{ask_id}" for ask_id in ask_ids])
        orphans = [ask_id for ask_id, has_timer in zip(ask_ids, timed, strict=True) if not has_timer]
        found = await self.store.load_asks(team_id, orphans)
        for ask in found:
            log.warning("an ask had no timer; giving it one", extra={"team": team_id, "ask": ask.id})
        if found:
            await self.scheduler.schedule(*(_job("timer", ask, now) for ask in found))
        for ask_id in set(orphans) - {ask.id for ask in found}:
            await self.store.forget_ask(team_id, ask_id)  # only its index entry was left

    async def _index_older_asks(self, team_id: str) -> None:
        """Once per workspace: asks sent and thank-yous filed before their indexes existed are put in
        them (the backstop's, and each person's weeks with notes): a walk over the workspace's keys,
        the one time."""
        if await self.store.workspace_setting(team_id, ASKS_INDEXED):
            return
        await self.store.index_asks_sent([ask async for ask in self.store.every_ask(team_id)])
        await self.store.index_notes(team_id)
        await self.store.save_workspace_setting(team_id, ASKS_INDEXED, "1")

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
