"""The Home tab: a person's own asks, asks for them, thanks they received, and (for admins) how asking
is going across the workspace, and its settings."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from ..domain import availability
from ..domain.availability import MAX_WEEKLY_LIMIT
from ..domain.insights import Overview, WeekFigures, alt_text, say
from ..domain.offers import offer_kinds
from ..domain.working_hours import zone
from ..slack.slack_api import Clients
from ..store.store import Snapshot, Store
from ..text.i18n import LANGUAGES, Language, language_of
from ..text.render import render
from .digests import Digests, time_zone_choices
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

    async def view(self, team_id: str, user_id: str) -> tuple[dict, Overview | None]:
        """The Home tab, and for an admin whose chart is not yet drawn for these figures, the figures."""
        by_ids, for_ids, total_by, total_for = await self.store.recent_asks(team_id, user_id, ASKS_SHOWN)
        asks_by, asks_for, thanks, balance, person, digest = await asyncio.gather(
            self.store.load_asks(team_id, by_ids),
            self.store.load_asks(team_id, for_ids),
            self.store.thanks_received(team_id, user_id, THANKS_SHOWN),
            self.store.balance(team_id, user_id),
            self.people.get(team_id, user_id),
            self.digests.settings_for(team_id),
        )
        lang = language_of(person.locale)
        answers, offers_for, offers_by, setting = await asyncio.gather(
            self.store.answers_of(team_id, [ask.id for ask in asks_for], user_id),
            self.store.offers_of(team_id, [ask.id for ask in asks_for], user_id),
            self.store.offers_on(team_id, [ask.id for ask in asks_by]),
            self._availability(team_id, user_id, person.tz, lang),
        )
        overview = await self.insights.overview(team_id) if person.is_admin else None
        chart = await self.insights.current_chart(team_id, overview) if overview else None
        return render(
            "home.json.j2",
            lang=lang,
            user=user_id,
            asks_by=list(zip(asks_by, offers_by)),
            asks_for=[(ask, card_state(ask, answer, offer), offer, [kind.value for kind in offer_kinds(ask)])
                      for ask, answer, offer in zip(asks_for, answers, offers_for)],
            availability=setting,
            weekly_limits=range(1, MAX_WEEKLY_LIMIT + 1),
            more_by=max(0, total_by - len(asks_by)),
            more_for=max(0, total_for - len(asks_for)),
            thanks=thanks,
            balance=balance,
            admin=person.is_admin,
            digest=digest,
            weekdays=[lang.weekday(day) for day in range(7)],
            time_zones=time_zone_choices(digest.tz, person.tz),
            languages=LANGUAGES,
            today=datetime.now(zone(person.tz)).date(),
            insights=insights_section(overview, chart, lang) if overview else None,
        ), (overview if overview and not chart else None)

    async def _availability(self, team_id: str, user_id: str, tz: str, lang: Language) -> dict:
        """The person's own setting and how it reads to them, with this week's count in their time zone."""
        now = datetime.now(timezone.utc)
        setting = (await self.store.availabilities(team_id, [user_id]))[user_id]
        received = await self.store.cards_received(team_id, {user_id: availability.week_bounds(now, tz)})
        today = availability.local_today(now, tz)
        on_break = setting.on_break(today)
        choice = "" if on_break else f"weekly:{setting.weekly_limit}" if setting.weekly() else "open"
        return {"choice": choice, "until": setting.until.isoformat() if on_break else "",
                "text": availability.describe(setting, today, received[user_id], lang)}

    async def publish(self, team_id: str, user_id: str) -> None:
        client = await self.clients.for_team(team_id)
        view, undrawn = await self.view(team_id, user_id)
        await client.views_publish(user_id=user_id, view=view)
        # Drawing and uploading a chart takes a while: the Home goes out first, then again with it.
        if undrawn is not None and await self.insights.draw_chart(team_id, undrawn):
            await client.views_publish(user_id=user_id, view=(await self.view(team_id, user_id))[0])

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


def insights_section(view: Overview, chart: str | None, lang: Language) -> dict:
    """The admins' section in their language: the span's totals, last week's and this week's people, the chart's file."""
    return {"total": _total_fields(view, lang), "people": [_people_line(week, lang) for week in view.weeks[-2:]],
            "chart": chart, "alt_text": alt_text(view, lang=lang),
            "span": lang.gettext("{first} to {last}", first=view.weeks[0].week, last=view.weeks[-1].week)}


def _people_line(week: WeekFigures, lang: Language) -> str:
    return lang.gettext("{week}: {both} asked and helped, {asked} only asked, {helped} only helped", week=week.week,
                        both=say(week.asked_and_helped, lang=lang), asked=say(week.only_asked, lang=lang),
                        helped=say(week.only_helped, lang=lang))


def _total_fields(view: Overview, lang: Language) -> list[tuple[str, str]]:
    total = view.total
    return [
        (lang.gettext("Asks sent"), say(total.asks_sent, lang=lang)),
        (lang.gettext("Found help"), say(total.found_help, "share", lang)),
        (lang.gettext("First yes, median"), say(total.median_minutes_to_yes, "wait", lang)),
        (lang.gettext("Help given"), say(total.hours_of_help, "hours", lang)),
        (lang.gettext("Ended with a thank-you"), say(total.thanked, "share", lang)),
        (lang.gettext("Offers made / accepted"), f"{say(total.offers_made, lang=lang)} / {say(total.offers_accepted, lang=lang)}"),
    ]
