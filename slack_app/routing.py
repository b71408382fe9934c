"""Sends an ask to the chosen teammates and keeps every message about it true to its state.

Knows Slack's Web API (through the client) but nothing of Bolt: listeners call in with ids.
"""

from __future__ import annotations

import asyncio
import json
import logging

from .asks import Answer, Ask, Status
from .i18n import Language
from .offers import Offer, State, accepted_scope, invited, offer_kinds
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
STATUS_CHANGES = {"took_last", "reopened", "cancelled", "expired", "offer_took_last"}
SUMMARY_CHANGES = {"took", "took_last", "withdrew", "reopened", "cancelled", "expired", "done", "offered", "offer_took",
                   "offer_took_last", "offer_declined", "offer_lapsed", "suggestion_sent", "suggestion_refused"}
# Outcomes that find the ask already covered: the answerer is thanked for offering.
LATE_OUTCOMES = {"already_covered", "offer_lapsed"}
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


def card_state(ask: Ask, answer: Answer | None, offer: Offer | None = None, *, offered_late: bool = False) -> str:
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
    if offer is not None and offer.waiting:
        return "offered"
    if offer is not None and offer.state is State.DECLINED:
        return "offer_declined"
    return "open"


def render_card(ask: Ask, state: str, lang: Language, offer: Offer | None = None) -> dict:
    """A teammate's card in their language; `offer` is theirs, the only one they ever see."""
    kind = invited(ask)
    return render("ask_card.json.j2", lang=lang, ask=ask, state=state, helpers=ask.helpers, offer=offer,
                  offer_kinds=[k.value for k in offer_kinds(ask)], invited=kind.value if kind else "")


def render_offer_notice(ask: Ask, offer: Offer) -> dict:
    """The asker's DM about an offer, in the asker's language."""
    return render("offer_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask, offer=offer)


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
                offer = snapshot.offers.get(teammate)
                await self._send_card(ask, teammate, card_state(ask, snapshot.answers.get(teammate), offer), offer)

    async def _send_summary(self, ask: Ask) -> None:
        summary = render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask, offers={})
        sent = await self._post(ask.team_id, ask.asker, {**summary, "metadata": _marker(SUMMARY_EVENT, ask, ask.asker)})
        await self.store.record_summary(ask.team_id, ask.id, sent["channel"], sent["ts"])

    async def _send_card_once(self, ask: Ask, teammate: str, sending: asyncio.Semaphore) -> None:
        async with sending:
            await self._send_new_card(ask, teammate)

    async def _send_new_card(self, ask: Ask, teammate: str) -> None:
        if await self.store.claim_card(ask.team_id, ask.id, teammate):
            await self._send_card(ask, teammate, "open")

    async def _send_card(self, ask: Ask, teammate: str, state: str, offer: Offer | None = None) -> None:
        card = render_card(ask, state, ask.language_of(teammate), offer)
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
        offers = snapshot.offers
        looks = {teammate: (card_state(ask, snapshot.answers.get(teammate), offers.get(teammate),
                                       offered_late=outcome in LATE_OUTCOMES),
                            ask.language_of(teammate), offers.get(teammate)) for teammate in touched}
        cards = {look: render_card(ask, *look) for look in set(looks.values())}
        updates = [self._update(ask.team_id, *snapshot.cards[teammate], cards[look]) for teammate, look in looks.items()]
        if outcome in SUMMARY_CHANGES or user in offers:
            updates.append(self._update_summary(ask, offers))
        if outcome in NOTICES:
            updates.append(self.notify_asker(ask, NOTICES[outcome], helper=user))
        if outcome == "done":
            asker_lang = ask.language_of(ask.asker)
            updates += [self.notify_asker(ask, "thanks_prompt", helper=helper,
                                          scope=accepted_scope(offers.get(helper), ask, asker_lang))
                        for helper in ask.helpers]
        if outcome == "offered":
            updates.append(self._post_offer_notice(ask, offers[user]))
        else:
            updates += [self._update(ask.team_id, offer.notice_channel, offer.notice_ts, render_offer_notice(ask, offer))
                        for offer in _offer_notices_to_update(snapshot, user)]
        if outcome == "suggestion_sent":
            updates.append(self._send_new_card(ask, offers[user].suggested))
        await asyncio.gather(*updates)

    async def _post_offer_notice(self, ask: Ask, offer: Offer) -> None:
        sent = await self._post(ask.team_id, ask.asker, render_offer_notice(ask, offer))
        await self.store.record_offer_notice(ask.team_id, ask.id, offer.helper, sent["channel"], sent["ts"])

    async def thank(self, ask: Ask, helper: str, note: str) -> None:
        await self._post(ask.team_id, helper, render("thanks_delivered.json.j2", lang=ask.language_of(helper), ask=ask,
                                                     asker=ask.asker, note=note))

    async def mark_thanked(self, ask: Ask, helper: str, channel: str, ts: str) -> None:
        """Turns the asker's thank-you prompt into a record that the thanks went out."""
        await self._update(ask.team_id, channel, ts, render("asker_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask,
                                                            notice="thanks_sent", helper=helper, snoozed=False))

    async def _update_summary(self, ask: Ask, offers: dict[str, Offer]) -> None:
        if ask.summary_ts:
            await self._update(ask.team_id, ask.summary_channel, ask.summary_ts,
                               render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask, offers=offers))

    async def notify_asker(self, ask: Ask, notice: str, helper: str = "", snoozed: bool = False, scope: str = "") -> None:
        await self._post(ask.team_id, ask.asker, render("asker_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask,
                                                        notice=notice, helper=helper, snoozed=snoozed, scope=scope))

    async def rerender(self, snapshot: Snapshot) -> None:
        """Every card, the summary and the offer DMs of an ask drawn again from the store (after words were erased)."""
        ask, offers = snapshot.ask, snapshot.offers
        updates = [self._update(ask.team_id, channel, ts,
                                render_card(ask, card_state(ask, snapshot.answers.get(teammate), offers.get(teammate)),
                                            ask.language_of(teammate), offers.get(teammate)))
                   for teammate, (channel, ts) in snapshot.cards.items()]
        updates += [self._update(ask.team_id, offer.notice_channel, offer.notice_ts, render_offer_notice(ask, offer))
                    for offer in offers.values() if offer.notice_ts]
        await asyncio.gather(self._update_summary(ask, offers), *updates)

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


def _offer_notices_to_update(snapshot: Snapshot, user: str) -> list[Offer]:
    """The asker's offer DMs whose buttons or words this change alters: every waiting one when the
    ask's status moves (they become answerable, or lapse), and always the answerer's own."""
    outcome, offers = snapshot.outcome, snapshot.offers
    moved = outcome in STATUS_CHANGES or outcome == "done"
    return [offer for teammate, offer in offers.items()
            if offer.notice_ts and (teammate == user or (moved and offer.waiting))]
