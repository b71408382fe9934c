"""The Home tab: a person's own asks, asks for them, thanks they received, and (for admins) how asking
is going across the workspace, and its settings."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from ..domain import availability
from ..domain.availability import MAX_WEEKLY_LIMIT
from ..domain.insights import Overview, WeekFigures, alt_text, say
from ..domain.offers import offer_kinds
from ..slack.slack_api import Clients
from ..store.store import Snapshot, Store
from ..text.i18n import LANGUAGES, Language, language_of
from ..text.render import render
from .digests import Digests, DigestSettings, time_zone_choices
from .insights_service import Insights
from .people import People
from .routing import card_state

ASKS_SHOWN = 10
THANKS_SHOWN = 5
VIEWERS_CACHE_SECONDS = 30.0


class Home:
    def __init__(self, store: Store, people: People, digests: Digests, insights: Insights, clients: Clients):
        self.store = store
        self.people = people
        self.digests = digests
        self.insights = insights
        self.clients = clients
        self._viewers: dict[str, tuple[float, set[str]]] = {}  # team → (fresh until, who opened Home)
        self._publishing: dict[tuple[str, str], bool] = {}  # (team, person) being published → asked again since

    async def view(self, team_id: str, user_id: str) -> tuple[dict, Overview | None]:
        """The Home tab, and for an admin whose chart is not yet drawn for these figures, the figures.
        Two rounds of Redis reads (one more for an admin's figures): what is kept under the person
        and their profile, then the asks those name."""
        basics, person = await asyncio.gather(
            self.store.home_basics(team_id, user_id, ASKS_SHOWN, THANKS_SHOWN),
            self.people.get(team_id, user_id),
        )
        lang = language_of(person.locale)
        digest = self.digests.settings_from(basics.workspace_settings)
        now = datetime.now(UTC)
        asks, (overview, chart) = await asyncio.gather(
            self.store.home_asks(
                team_id, user_id, basics.by_ids, basics.for_ids, availability.week_bounds(now, person.tz)
            ),
            self._insights(team_id, digest, person.is_admin),
        )
        return render(
            "home.json.j2",
            lang=lang,
            user=user_id,
            asks_by=asks.by,
            asks_for=[
                (ask, card_state(ask, answer, offer), offer, [kind.value for kind in offer_kinds(ask)])
                for ask, answer, offer in asks.sent_to
            ],
            availability=_availability(basics.availability, asks.received_this_week, now, person.tz, lang),
            weekly_limits=range(1, MAX_WEEKLY_LIMIT + 1),
            more_by=max(0, basics.total_by - len(asks.by)),
            more_for=max(0, basics.total_for - len(asks.sent_to)),
            thanks=basics.thanks,
            balance=basics.balance,
            admin=person.is_admin,
            digest=digest,
            weekdays=[lang.weekday(day) for day in range(7)],
            time_zones=time_zone_choices(digest.tz, person.tz),
            languages=LANGUAGES,
            today=availability.local_today(now, person.tz),
            insights=insights_section(overview, chart, lang) if overview else None,
        ), (overview if overview and not chart else None)

    async def _insights(self, team_id: str, digest: DigestSettings, admin: bool) -> tuple[Overview | None, str | None]:
        """An admin's figures, and the chart already drawn for them if there is one; nothing for anyone else."""
        if not admin:
            return None, None
        overview = await self.insights.overview(team_id, settings=digest)
        return overview, await self.insights.current_chart(team_id, overview)

    async def publish(self, team_id: str, user_id: str) -> None:
        """One person's Home is published one at a time in a process, the last time from the newest state:
        publishes drawn side by side could reach Slack in either order, and an older one would stay shown."""
        person = (team_id, user_id)
        if person in self._publishing:
            self._publishing[person] = True  # the publish under way goes again once it is out
            return
        self._publishing[person] = False
        try:
            undrawn = await self._publish_now(team_id, user_id)
            while self._publishing[person]:
                self._publishing[person] = False
                undrawn = await self._publish_now(team_id, user_id)
        finally:
            del self._publishing[person]
        # Drawing and uploading a chart takes a while: the Home went out first, and goes again with it.
        if undrawn is not None and await self.insights.draw_chart(team_id, undrawn):
            await self.publish(team_id, user_id)

    async def _publish_now(self, team_id: str, user_id: str) -> Overview | None:
        client = await self.clients.for_team(team_id)
        view, undrawn = await self.view(team_id, user_id)
        await client.views_publish(user_id=user_id, view=view)
        return undrawn

    async def opened(self, team_id: str, user_id: str) -> None:
        await self.store.note_home_viewer(team_id, user_id)
        self._viewers.pop(team_id, None)
        await self.publish(team_id, user_id)

    async def refresh_for(self, snapshot: Snapshot) -> None:
        """Keeps the Home tab current for everyone an ask concerns who has ever opened theirs."""
        ask = snapshot.ask
        if ask is None:
            return
        viewers = await self._home_viewers(ask.team_id)
        concerned = [uid for uid in dict.fromkeys([ask.asker, *ask.teammates]) if uid in viewers]
        await asyncio.gather(*(self.publish(ask.team_id, viewer) for viewer in concerned))

    async def refresh_people(self, team_id: str, users: set[str]) -> None:
        """Re-publishes the Home tab of each of these people who has ever opened theirs."""
        self._viewers.pop(team_id, None)
        viewers = await self._home_viewers(team_id)
        await asyncio.gather(*(self.publish(team_id, user) for user in sorted(users & viewers)))

    async def _home_viewers(self, team_id: str) -> set[str]:
        # Cached briefly, so answering an ask costs no Redis round trip for this; a Home opened
        # on another instance is picked up within VIEWERS_CACHE_SECONDS.
        cached = self._viewers.get(team_id)
        if cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + VIEWERS_CACHE_SECONDS, await self.store.home_viewers(team_id))
            self._viewers[team_id] = cached
        return cached[1]


def _availability(setting: availability.Availability, received: int, now: datetime, tz: str, lang: Language) -> dict:
    """The person's own setting and how it reads to them, with this week's count in their time zone."""
    today = availability.local_today(now, tz)
    break_until = setting.until if setting.on_break(today) else None
    choice = "" if break_until else f"weekly:{setting.weekly_limit}" if setting.weekly() else "open"
    return {
        "choice": choice,
        "until": break_until.isoformat() if break_until else "",
        "text": availability.describe(setting, today, received, lang),
    }


def insights_section(view: Overview, chart: str | None, lang: Language) -> dict:
    """The admins' section in their language: the span's totals, the last two ended weeks' people, the chart's file."""
    return {
        "total": _total_fields(view, lang),
        "people": [_people_line(week, lang) for week in view.weeks[-2:]],
        "chart": chart,
        "alt_text": alt_text(view, lang=lang),
        "span": lang.gettext("{first} to {last}", first=view.weeks[0].week, last=view.weeks[-1].week),
    }


def _people_line(week: WeekFigures, lang: Language) -> str:
    return lang.gettext(
        "{week}: {both} asked and helped, {asked} only asked, {helped} only helped",
        week=week.week,
        both=say(week.asked_and_helped, lang=lang),
        asked=say(week.only_asked, lang=lang),
        helped=say(week.only_helped, lang=lang),
    )


def _total_fields(view: Overview, lang: Language) -> list[tuple[str, str]]:
    total = view.total
    return [
        (lang.gettext("Asks sent"), say(total.asks_sent, lang=lang)),
        (lang.gettext("Found help"), say(total.found_help, "share", lang)),
        (lang.gettext("First yes, median"), say(total.median_minutes_to_yes, "wait", lang)),
        (lang.gettext("Help given"), say(total.hours_of_help, "hours", lang)),
        (lang.gettext("Ended with a thank-you"), say(total.thanked, "share", lang)),
        (
            lang.gettext("Offers made / accepted"),
            f"{say(total.offers_made, lang=lang)} / {say(total.offers_accepted, lang=lang)}",
        ),
    ]
