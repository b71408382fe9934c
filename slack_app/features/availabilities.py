"""Who can be sent an ask right now: each person's own availability, with their week's count of cards
counted in their own time zone. Knows the store and users.info, but nothing of Bolt."""

from __future__ import annotations

from datetime import UTC, datetime

from ..domain.asks import Ask, Person
from ..domain.availability import local_today, unavailable_reason, week_bounds
from ..domain.offers import Offer, suggestion_error
from ..store.store import Store
from ..text.i18n import Language
from .people import People


class Availabilities:
    def __init__(self, store: Store, people: People):
        self.store = store
        self.people = people

    async def unavailable(
        self, team_id: str, people: dict[str, Person], lang: Language, now: datetime | None = None
    ) -> dict[str, str]:
        """Why each of these people can't be sent an ask now (only those who can't), worded for the asker."""
        now = now or datetime.now(UTC)
        settings = await self.store.availabilities(team_id, list(people))
        limited = {uid: week_bounds(now, people[uid].tz) for uid, setting in settings.items() if setting.weekly()}
        received = await self.store.cards_received(team_id, limited) if limited else {}
        reasons = {
            uid: unavailable_reason(
                settings[uid], person.name or uid, local_today(now, person.tz), received.get(uid, 0), lang
            )
            for uid, person in people.items()
        }
        return {uid: reason for uid, reason in reasons.items() if reason}

    async def suggestion_refusal(self, ask: Ask, offer: Offer, lang: Language) -> tuple[str, Person]:
        """Why the teammate a helper suggested can't be asked now ("" if they can), worded for the asker,
        and who they are."""
        person = await self.people.get(ask.team_id, offer.suggested)
        refusal = suggestion_error(ask, offer.suggested, person, lang)
        if refusal is None:
            refusal = (await self.unavailable(ask.team_id, {offer.suggested: person}, lang)).get(offer.suggested)
        return refusal or "", person
