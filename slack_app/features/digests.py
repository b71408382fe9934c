"""When and where each workspace's weekly kudos digest goes, and posting it exactly once a week.

The week's slot is the configured local day and time; any instance that polls after the slot and
within the same week may post, so a slot missed while every instance was down is made up later
that week. A per-week marker, claimed atomically with a lease, makes it once however many poll.
Which workspaces to look at is a due index of each one's next slot (UTC epoch seconds), set when
a digest goes out and lowered when an admin changes the settings: a poll with nothing due is one
Redis call, however many workspaces there are.

Exactly once with any number of instances and a pass of any length: each claim reads the clock
afresh, so its lease (POST_LEASE_SECONDS, far longer than the one post it covers) starts when the
claim is made, never at the start of a pass that has been running for minutes; it is renewed while
its post is made, and a poster whose claim lapsed all the same (frozen, starved) posts nothing; and a
pass posts at most POSTS_AT_ONCE digests at a time, so a pass over thousands of workspaces holds no
more than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as clock
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain.digest import render_digest, summarise
from ..domain.working_hours import zone
from ..slack.effects import failure_kind
from ..slack.slack_api import Clients, NotInstalled
from ..store.due_index import DueIndex
from ..store.leases import renewed_beside
from ..store.store import Store
from ..text.i18n import LANGUAGES, language
from .lifecycle import iso_week

log = logging.getLogger(__name__)

POST_LEASE_SECONDS = 120.0  # one workspace's post: a claim is made just before it (a fresh clock)
RETRY_SOON_SECONDS = 15.0  # after Slack failed for now (a 5xx, an incident): its answer says nothing went out
WORKSPACES_PER_PASS = 100
POSTS_AT_ONCE = 8
COMMON_TIME_ZONES = [
    "UTC",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Halifax",
    "America/Sao_Paulo",
    "Atlantic/Azores",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
]


@dataclass(frozen=True)
class DigestSettings:
    channel: str = ""
    day: int = 4  # Friday
    time: str = "16:00"
    tz: str = "UTC"
    skip_empty: bool = False
    language: str = "en"  # the workspace's language, one of i18n.LANGUAGES: an admin picks it on the Home tab

    def next_slot(self, now: float) -> float:
        """When this week's digest is due, or next week's once this week's slot has passed."""
        moment = datetime.fromtimestamp(now, UTC)
        this_week = self.slot(iso_week(moment, self.tz)).timestamp()
        if now < this_week:
            return this_week
        return self.slot(iso_week(moment + timedelta(days=7), self.tz)).timestamp()

    def slot(self, week: str) -> datetime:
        """The configured local day and time within an ISO week, in UTC."""
        year, number = week.split("-W")
        day = date.fromisocalendar(int(year), int(number), self.day + 1)
        hour, minute = (int(part) for part in self.time.split(":"))
        return datetime.combine(day, time(hour, minute), tzinfo=zone(self.tz)).astimezone(UTC)


def valid_time(value: str) -> bool:
    try:
        hour, minute = (int(part) for part in value.split(":"))
    except ValueError:
        return False
    return 0 <= hour < 24 and 0 <= minute < 60


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def time_zone_choices(*also: str) -> list[str]:
    return list(dict.fromkeys([*(tz for tz in also if tz), *COMMON_TIME_ZONES]))


class Digests:
    def __init__(self, store: Store, clients: Clients, defaults: DigestSettings):
        self.store = store
        self.clients = clients
        self.defaults = defaults
        self.index = DueIndex(store.redis, "digests")

    async def track(self, *team_ids: str) -> None:
        """Makes sure these workspaces are in the due index (looked at by the next poll if new)."""
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for team_id in team_ids:
                pipe.zadd(self.index.keys[0], {team_id: 0}, nx=True)
            await pipe.execute()

    async def track_every_workspace(self) -> None:
        """Indexes every workspace that has used the app; for those an older version knew."""
        await self.track(*await self.store.teams())

    async def save_setting(self, team_id: str, name: str, value: str) -> None:
        """An admin's choice on the Home tab; the next poll works out the workspace's next slot from it."""
        await self.store.save_workspace_setting(team_id, name, value)
        await self.index.lower(team_id, 0.0)

    async def forget_workspace(self, team_id: str) -> None:
        await self.index.forget(team_id)

    async def settings_for(self, team_id: str) -> DigestSettings:
        return self.settings_from(await self.store.workspace_settings(team_id))

    def settings_from(self, saved: dict[str, str]) -> DigestSettings:
        """The environment's defaults, overridden by what an admin chose on the Home tab (`saved`, as stored)."""
        settings = self.defaults
        if saved.get("digest_channel"):
            settings = replace(settings, channel=saved["digest_channel"])
        if saved.get("digest_day", "").isdigit():
            settings = replace(settings, day=int(saved["digest_day"]) % 7)
        if valid_time(saved.get("digest_time", "")):
            settings = replace(settings, time=saved["digest_time"])
        if saved.get("digest_tz"):
            settings = replace(settings, tz=saved["digest_tz"])
        if saved.get("digest_language") in LANGUAGES:
            settings = replace(settings, language=saved["digest_language"])
        return settings

    async def message(self, team_id: str, week: str, settings: DigestSettings | None = None) -> dict | None:
        settings = settings or await self.settings_for(team_id)
        return render_digest(
            summarise(await self.store.kudos(team_id, week), week),
            skip_empty=settings.skip_empty,
            lang=language(settings.language),
        )

    def current_week(self, settings: DigestSettings, now: float) -> str:
        return iso_week(datetime.fromtimestamp(now, UTC), settings.tz)

    async def post(
        self, team_id: str, week: str, now: float | None = None, settings: DigestSettings | None = None
    ) -> bool:
        """Posts a week's digest unless it went out already; True if this call posted it."""
        return await self._post(team_id, week, now, settings) == "posted"

    async def _post(
        self, team_id: str, week: str, now: float | None = None, settings: DigestSettings | None = None
    ) -> str:
        """posted; taken (sent already, or no channel); failed (try again after a lease); failed for now (soon)."""
        now = clock.time() if now is None else now
        settings = settings or await self.settings_for(team_id)
        if not settings.channel:
            return "taken"
        claimed_until = await self.store.claim_digest(team_id, week, now, POST_LEASE_SECONDS)
        if claimed_until is None:
            # Another poster holds it (say `slack-ask digest --post`): look again once its lease is up.
            return "taken" if await self.store.digest_was_sent(team_id, week) else "failed"
        claim = _Claim(self.store, team_id, week, now, claimed_until)
        async with claim.kept():
            outcome = await self._send(team_id, week, settings, claim)
        if outcome == "failed for now":  # Slack's answer says nothing went out: the next poll tries again soon
            await claim.move_to(claim.moment() + RETRY_SOON_SECONDS)
        elif outcome == "posted":
            await self.store.digest_sent(team_id, week, now)
        return outcome

    async def _send(self, team_id: str, week: str, settings: DigestSettings, claim: _Claim) -> str:
        message = await self.message(team_id, week, settings)
        if message is None:  # an empty week, and the workspace skips those: nothing to post, the week is done
            return "posted"
        if not claim.holds():
            log.warning("digest claim lapsed before its post; left to its next holder", extra={"team": team_id})
            return "failed"
        try:
            client = await self.clients.for_team(team_id)
            sent = await client.chat_postMessage(channel=settings.channel, **message)
        except (SlackApiError, NotInstalled) as error:
            # The claim lapses and a later poll tries again (e.g. once the bot is invited); when Slack failed
            # for now, soon.
            log.warning("digest not posted", extra={"team": team_id, "week": week, "error": repr(error)})
            temporary = isinstance(error, SlackApiError) and failure_kind(error) == "temporary"
            return "failed for now" if temporary else "failed"
        await self.store.record_digest_post(team_id, week, sent["channel"], sent["ts"])
        return "posted"

    async def redraw(self, team_id: str, weeks: list[str]) -> None:
        """Brings the digest posts of these weeks to their notes as now kept (after an erasure)."""
        client = None
        for week, (channel, ts) in (await self.store.digest_posts(team_id, weeks)).items():
            message = await self.message(team_id, week)
            if message is not None:
                client = client or await self.clients.for_team(team_id)
                await client.chat_update(channel=channel, ts=ts, **message)

    async def post_due(self, now: float | None = None) -> list[tuple[str, str]]:
        """Posts every workspace's digest whose slot this week has come; returns what it posted. `now`
        stands for the clock throughout (a test's moment); without it, every look reads the clock afresh."""
        posted = []
        at_once = asyncio.Semaphore(POSTS_AT_ONCE)

        async def look(team_id: str, seen: str, settings: DigestSettings) -> tuple[str, str, float]:
            async with at_once:
                moment = clock.time() if now is None else now
                week = self.current_week(settings, moment)
                next_look = settings.next_slot(moment)
                if settings.channel and moment >= settings.slot(week).timestamp():
                    outcome = await self._post(team_id, week, now, settings)
                    if outcome == "posted":
                        posted.append((team_id, week))
                    elif outcome.startswith("failed"):
                        wait = RETRY_SOON_SECONDS if outcome == "failed for now" else POST_LEASE_SECONDS
                        next_look = (clock.time() if now is None else now) + wait
                return team_id, seen, next_look

        while due := await self.index.take_due(
            clock.time() if now is None else now, WORKSPACES_PER_PASS, POST_LEASE_SECONDS
        ):
            saved = await self.store.every_workspace_settings([team_id for team_id, _ in due])
            looked = await asyncio.gather(
                *(
                    look(team_id, seen, settings)
                    for (team_id, seen), settings in zip(due, map(self.settings_from, saved), strict=False)
                )
            )
            await self.index.settle(list(looked))
        return posted


class _Claim:
    """A week's digest claim, renewed every third of its lease while its post is made, so it covers the post
    however long that takes on a machine however busy; a poster whose claim lapsed meanwhile (frozen, starved
    past a lease) posts nothing, for another may hold it now."""

    def __init__(self, store: Store, team_id: str, week: str, now: float, until: float):
        self.store, self.team_id, self.week = store, team_id, week
        self.until = until
        self.lost = False
        self.ended = False  # the post is over: renew no more
        self._given, self._started = now, asyncio.get_running_loop().time()

    def moment(self) -> float:
        """The poster's clock: the moment it was given (a test's, or the clock's), moved on by the time since."""
        return self._given + asyncio.get_running_loop().time() - self._started

    def holds(self) -> bool:
        """Whether the claim lasts a third of a lease more: enough for the post about to be made."""
        return not self.lost and self.moment() < self.until - POST_LEASE_SECONDS / 3

    async def move_to(self, until: float) -> None:
        try:
            moved = await self.store.move_digest_claim(self.team_id, self.week, self.until, until)
        except RedisError:  # not renewed: holds() says no once it may have lapsed
            log.warning("could not move a digest claim", extra={"team": self.team_id, "week": self.week})
            return
        if moved:
            self.until = until
        else:
            self.lost = True

    def kept(self) -> contextlib.AbstractAsyncContextManager[None]:
        return renewed_beside(self._keep(), "digest claim", self)

    async def _keep(self) -> None:
        while not (self.lost or self.ended):
            await asyncio.sleep(POST_LEASE_SECONDS / 3)
            if not self.ended:
                await self.move_to(self.moment() + POST_LEASE_SECONDS)
