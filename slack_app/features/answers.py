"""A teammate's answer to their card, by reaction or by button: recorded, with every message it owes,
in one Redis step before the ack (effects.py carries the messages out)."""

from __future__ import annotations

from ..domain.asks import Answer, answer_for_reaction
from ..ids import ActionId, EventType
from ..store.store import Store
from .routing import UNDO_FOR_ANSWER, VERB_FOR_ANSWER

ANSWER_FOR_BUTTON = {ActionId.ASK_ACCEPT: Answer.ACCEPT, ActionId.ASK_DECLINE: Answer.DECLINE}


class Answers:
    def __init__(self, store: Store):
        self.store = store

    async def by_reaction(self, team_id: str, event_id: str, event: dict) -> None:
        """✅ / ❌ (and their kin) added to a card answer it; removed, they take the answer back.
        A reaction on anything else, or by anyone but the card's teammate, changes nothing."""
        answer = answer_for_reaction(str(event.get("reaction", "")))
        item = event.get("item") or {}
        if answer is None or item.get("type") != "message":
            return
        # Slack retries an event it thinks we missed; the first delivery wins.
        first, card = await self.store.first_sighting_and_card(team_id, event_id, item["channel"], item["ts"])
        if not first or card is None or card.teammate != event.get("user"):
            return
        verb = (UNDO_FOR_ANSWER if event.get("type") == EventType.REACTION_REMOVED else VERB_FOR_ANSWER)[answer]
        try:
            await self.store.answer(team_id, card.ask_id, card.teammate, verb)
        except Exception:
            # The request fails (non-2xx); forgetting the event lets Slack's retry of it count.
            await self.store.forget_event(team_id, event_id)
            raise

    async def by_button(self, team_id: str, user_id: str, ask_id: str, answer: Answer) -> None:
        """The card's own buttons, the accessible twins of the reactions."""
        await self.store.answer(team_id, ask_id, user_id, VERB_FOR_ANSWER[answer])
