"""Sends an ask to the chosen teammates and keeps every message about it true to its state.

Knows Slack's Web API (through the client) but nothing of Bolt: listeners call in with ids.
"""

from __future__ import annotations

import asyncio
import json
import logging

from .asks import Answer, Ask, Status
from .render import render
from .slack_api import Clients
from .store import Snapshot, Store

log = logging.getLogger(__name__)

# The store's verbs for an answer given, and for one taken back.
VERB_FOR_ANSWER = {Answer.ACCEPT: "accept", Answer.DECLINE: "decline"}
UNDO_FOR_ANSWER = {Answer.ACCEPT: "withdraw_accept", Answer.DECLINE: "withdraw_decline"}

FAN_OUT_AT_ONCE = 4  # cards in flight per ask: kind to rate limits, quick for ten teammates
# Message metadata marking a card or summary, so a resumed fan-out can tell it was delivered.
CARD_EVENT = "slack_ask_card"
SUMMARY_EVENT = "slack_ask_summary"
SEARCH_DEPTH = 50

# Outcomes that changed nothing, so nobody hears anything.
QUIET_OUTCOMES = {"unchanged", "missing", "not_asker", "not_allowed", "not_teammate"}
# Outcomes after which every teammate's card may need to change, not only the answerer's.
STATUS_CHANGES = {"took_last", "reopened", "cancelled", "expired"}
SUMMARY_CHANGES = {"took", "took_last", "withdrew", "reopened", "cancelled", "expired", "done"}
NOTICES = {
    "took": "helper_found",
    "took_last": "helper_found",
    "withdrew": "helper_stepped_back",
    "reopened": "helper_stepped_back",
    "all_declined": "all_declined",
    "expired": "expired",
}


def _marker(event_type: str, ask: Ask, user: str) -> dict:
    return {"event_type": event_type, "event_payload": {"ask_id": ask.id, "user": user}}


def card_state(ask: Ask, answer: Answer | None, *, offered_late: bool = False) -> str:
    if ask.status is Status.DONE and answer is Answer.ACCEPT:
        return "done"
    if not ask.status.is_live:
        return "closed"
    if answer is Answer.ACCEPT:
        return "mine"
    if answer is Answer.DECLINE:
        return "passed"
    if ask.status is Status.TAKEN:
        return "offered_late" if offered_late else "covered"
    return "open"


class Router:
    def __init__(self, store: Store, clients: Clients):
        self.store = store
        self.clients = clients

    # --- sending an ask ---

    async def route(self, ask: Ask) -> None:
        """DMs the asker a summary, then each teammate a card. The ask is already stored, and a
        delivery job is scheduled in case this instance dies or Slack fails part-way."""
        sending = asyncio.Semaphore(FAN_OUT_AT_ONCE)
        results = await asyncio.gather(self._send_summary(ask),
                                       *(self._send_card_once(ask, teammate, sending) for teammate in ask.teammates),
                                       return_exceptions=True)
        failures = [result for result in results if isinstance(result, Exception)]
        if failures:
            log.warning("fan-out incomplete; the delivery check will finish it",
                        extra={"ask": ask.id, "team": ask.team_id, "failures": len(failures), "first": repr(failures[0])})

    async def resume(self, snapshot: Snapshot) -> None:
        """Finishes a fan-out left half done: every teammate ends up with exactly one card.

        A card marked pending may have reached Slack before its sender died, so it is looked for
        in the DM (cards carry their ask's id as message metadata) before it is sent again.
        """
        ask = snapshot.ask
        if not ask.summary_ts:
            found = await self._find_message(ask, ask.asker, SUMMARY_EVENT)
            if found:
                await self.store.record_summary(ask.team_id, ask.id, *found)
            else:
                await self._send_summary(ask)
        pending = await self.store.pending_cards(ask.team_id, ask.id)
        for teammate in ask.teammates:
            if teammate in snapshot.cards:
                continue
            found = await self._find_message(ask, teammate, CARD_EVENT) if teammate in pending else None
            if found:
                await self.store.record_card(ask.team_id, ask.id, teammate, *found)
            elif teammate in pending or await self.store.claim_card(ask.team_id, ask.id, teammate):
                await self._send_card(ask, teammate, card_state(ask, snapshot.answers.get(teammate)))

    async def _send_summary(self, ask: Ask) -> None:
        summary = render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask)
        sent = await self._post(ask.team_id, ask.asker, {**summary, "metadata": _marker(SUMMARY_EVENT, ask, ask.asker)})
        await self.store.record_summary(ask.team_id, ask.id, sent["channel"], sent["ts"])

    async def _send_card_once(self, ask: Ask, teammate: str, sending: asyncio.Semaphore) -> None:
        async with sending:
            if await self.store.claim_card(ask.team_id, ask.id, teammate):
                await self._send_card(ask, teammate, "open")

    async def _send_card(self, ask: Ask, teammate: str, state: str) -> None:
        card = render("ask_card.json.j2", lang=ask.language_of(teammate), ask=ask, state=state, helpers=ask.helpers)
        sent = await self._post(ask.team_id, teammate, {**card, "metadata": _marker(CARD_EVENT, ask, teammate)})
        await self.store.record_card(ask.team_id, ask.id, teammate, sent["channel"], sent["ts"])

    async def _find_message(self, ask: Ask, user: str, event_type: str) -> tuple[str, str] | None:
        """(channel, ts) of a message about this ask already in the app's DM with `user`, if any."""
        client = await self.clients.for_team(ask.team_id)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        history = await client.conversations_history(channel=channel, limit=SEARCH_DEPTH, include_all_metadata=True)
        for message in history.get("messages", []):
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == event_type and metadata.get("event_payload", {}).get("ask_id") == ask.id:
                return channel, message["ts"]
        return None

    # --- answers ---

    async def tell(self, snapshot: Snapshot, user: str) -> None:
        """Updates cards, the asker's summary and notices after a state change by `user`."""
        outcome, ask = snapshot.outcome, snapshot.ask
        if ask is None or outcome in QUIET_OUTCOMES:
            return
        if outcome in STATUS_CHANGES:
            touched = list(snapshot.cards)
        elif outcome == "done":
            touched = [helper for helper in ask.helpers if helper in snapshot.cards]
        else:
            touched = [user] if user in snapshot.cards else []
        # Each card in its teammate's language, rendered once per state and language: ten covered
        # cards in one language are one rendering.
        looks = {teammate: (card_state(ask, snapshot.answers.get(teammate), offered_late=outcome == "already_covered"),
                            ask.language_of(teammate)) for teammate in touched}
        cards = {(state, lang): render("ask_card.json.j2", lang=lang, ask=ask, state=state, helpers=ask.helpers)
                 for state, lang in set(looks.values())}
        updates = [self._update(ask.team_id, *snapshot.cards[teammate], cards[look]) for teammate, look in looks.items()]
        if outcome in SUMMARY_CHANGES:
            updates.append(self._update_summary(ask))
        if outcome in NOTICES:
            updates.append(self.notify_asker(ask, NOTICES[outcome], helper=user))
        if outcome == "done":
            updates += [self.notify_asker(ask, "thanks_prompt", helper=helper) for helper in ask.helpers]
        await asyncio.gather(*updates)

    async def thank(self, ask: Ask, helper: str, note: str) -> None:
        await self._post(ask.team_id, helper, render("thanks_delivered.json.j2", lang=ask.language_of(helper), ask=ask,
                                                     asker=ask.asker, note=note))

    async def mark_thanked(self, ask: Ask, helper: str, channel: str, ts: str) -> None:
        """Turns the asker's thank-you prompt into a record that the thanks went out."""
        await self._update(ask.team_id, channel, ts, render("asker_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask,
                                                            notice="thanks_sent", helper=helper, snoozed=False))

    async def _update_summary(self, ask: Ask) -> None:
        if ask.summary_ts:
            await self._update(ask.team_id, ask.summary_channel, ask.summary_ts,
                               render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask))

    async def notify_asker(self, ask: Ask, notice: str, helper: str = "", snoozed: bool = False) -> None:
        await self._post(ask.team_id, ask.asker, render("asker_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask,
                                                        notice=notice, helper=helper, snoozed=snoozed))

    async def rerender(self, snapshot: Snapshot) -> None:
        """Every card and the summary of an ask drawn again from the store (after its words were erased)."""
        ask = snapshot.ask
        updates = [self._update(ask.team_id, channel, ts, render("ask_card.json.j2", lang=ask.language_of(teammate), ask=ask,
                                                                 helpers=ask.helpers,
                                                                 state=card_state(ask, snapshot.answers.get(teammate))))
                   for teammate, (channel, ts) in snapshot.cards.items()]
        await asyncio.gather(self._update_summary(ask), *updates)

    async def tell_person(self, team_id: str, user: str, text: str) -> None:
        await self._post(team_id, user, {"text": text})

    async def send_file(self, team_id: str, user: str, *, filename: str, data: dict, comment: str) -> None:
        """A JSON file in the app's DM with a person (files.uploadV2: upload URL, upload, complete)."""
        client = await self.clients.for_team(team_id)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        await client.files_upload_v2(channel=channel, filename=filename, title=filename, initial_comment=comment,
                                     content=json.dumps(data, indent=2, ensure_ascii=False))

    # --- Web API ---

    async def _post(self, team_id: str, user_or_channel: str, message: dict) -> dict:
        client = await self.clients.for_team(team_id)
        response = await client.chat_postMessage(channel=user_or_channel, **message)
        return {"channel": response["channel"], "ts": response["ts"]}

    async def _update(self, team_id: str, channel: str, ts: str, message: dict) -> None:
        client = await self.clients.for_team(team_id)
        await client.chat_update(channel=channel, ts=ts, **message)
