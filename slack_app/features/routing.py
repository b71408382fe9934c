"""Sends an ask to the chosen teammates and keeps every message about it true to its state.

Knows Slack's Web API (through the client) but nothing of Bolt: listeners call in with ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from ..domain.asks import Answer, Ask, Status
from ..domain.offers import Offer, State, accepted_scope, invited, offer_kinds
from ..observability import EFFECTS_DROPPED
from ..slack.effects import RETRY_SECONDS, Carried, failure_kind, slack_error_code
from ..slack.rate_budget import TurnLater
from ..slack.slack_api import Clients, NotInstalled
from ..store.leases import Lease, Leases
from ..store.store import PENDING, STEP_EFFECT, Snapshot, Store, holder_key, split_pair
from ..text.i18n import Language
from ..text.render import render

log = logging.getLogger(__name__)

# The store's verbs for an answer given, and for one taken back.
VERB_FOR_ANSWER = {Answer.ACCEPT: "accept", Answer.DECLINE: "decline"}
UNDO_FOR_ANSWER = {Answer.ACCEPT: "withdraw_accept", Answer.DECLINE: "withdraw_decline"}

FAN_OUT_AT_ONCE = 4  # cards in flight per ask: kind to rate limits, quick for ten teammates
# One ask's owed updates and posts in flight at once: all of an accept on a ten-person ask in one wave,
# but never the thousand calls a storm of owed posts (✅ added and removed a thousand times) would open.
EFFECTS_AT_ONCE = 16
# Offers whose DM to the asker says how the ask stands, so is redrawn when it moves.
SHOWS_THE_ASK = frozenset({State.WAITING, State.LAPSED})
# Message metadata marking a card, a summary or any other post, so that one whose sender may have
# died before recording it is found in the DM rather than sent again.
CARD_EVENT = "slack_ask_card"
SUMMARY_EVENT = "slack_ask_summary"
POST_EVENT = "slack_ask_post"
SUMMARY_POST = "summary"
# A message that may have gone out is looked for among everything in the DM since its ask was made
# (its clock and Slack's a few minutes apart at worst), a page at a time: however busy the DM has been since.
SEARCH_PAGE = 200
SEARCH_PAGES = 25
CLOCK_SKEW_SECONDS = 300.0
# The lease of the carrier at work in this task (and the tasks it gathers): checked before each post and
# update, so a carrier that lost it to another never acts beside it.
HOLDING: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("slack_ask_holding", default=None)


def _marker(event_type: str, ask: Ask, user: str, post_id: str = "") -> dict:
    payload = {"ask_id": ask.id, "user": user, **({"post": post_id} if post_id else {})}
    return {"event_type": event_type, "event_payload": payload}


def card_state(ask: Ask, answer: Answer | None, offer: Offer | None = None, *, offered_late: bool = False) -> str:
    if ask.status is Status.DONE and answer is Answer.ACCEPT:
        return "done"
    if ask.status is Status.CLOSED_QUIETLY and answer is Answer.ACCEPT:
        return "closed_quietly"
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
    return render(
        "ask_card.json.j2",
        lang=lang,
        ask=ask,
        state=state,
        helpers=ask.helpers,
        offer=offer,
        offer_kinds=[k.value for k in offer_kinds(ask)],
        invited=kind.value if kind else "",
    )


def render_offer_notice(ask: Ask, offer: Offer) -> dict:
    """The asker's DM about an offer, in the asker's language."""
    return render("offer_notice.json.j2", lang=ask.language_of(ask.asker), ask=ask, offer=offer)


class Router:
    """Carries out what an ask's changes owe (see _owe.lua): sending it, bringing each touched
    message to the ask's current state, and posting notices. Run from the effect queue, by any
    instance, at least once; done so that running it twice shows nothing twice."""

    def __init__(
        self, store: Store, clients: Clients, home: Any, steps: Any = None, lease_seconds: float = RETRY_SECONDS
    ):
        self.store = store
        self.clients = clients
        self.home = home  # refresh_for(snapshot): keeps Home tabs current
        self.steps = steps  # complete_if_ended(snapshot): a workflow's step told how its ask ended
        self.leases = Leases(store.redis, lease_seconds)
        # How long a post or an update may take to reach Slack: the holder's lease is stretched that far before
        # it sends, so a successor (should the holder die) looks for a post, or draws a message again, only once
        # what was on its way could have landed: a newer state is never overwritten by an older one still in
        # flight. (A retry of a 5xx by the client starts later; while the holder lives its renewals cover it.)
        self._landing_seconds = clients.settings.slack_timeout + lease_seconds

    async def carry_out(self, team_id: str, ask_id: str) -> Carried:
        """Everything the ask is owed, until nothing is, by the one holder of the ask's lease: busy when
        another process holds it; not done when some effect failed for now, or waits for its rate-budget
        turn, and is to be tried again later (its queue entry is put back)."""
        async with self.leases.holding(holder_key(team_id, ask_id)) as lease:
            if lease is None:
                return Carried(busy=True)
            holding = HOLDING.set(lease)
            try:
                return await self._carry_out_held(team_id, ask_id)
            finally:
                HOLDING.reset(holding)

    async def _carry_out_held(self, team_id: str, ask_id: str) -> Carried:
        while True:
            owed, snapshot = await self.store.owed(team_id, ask_id)
            if not owed:
                return Carried(done=True)
            done, left = await self._carry_out(snapshot, owed) if snapshot.ask else (owed, Carried(done=True))
            still_owed = await self.store.settle(team_id, ask_id, done)
            if not left.done:
                return left
            if not still_owed:
                return Carried(done=True)

    async def _carry_out(self, snapshot: Snapshot, owed: dict[str, str]) -> tuple[dict[str, str], Carried]:
        """(the effects done or given up, how the rest went)."""
        ask, outcomes = snapshot.ask, {}
        if ask is None:  # the ask is gone: what it owed goes with it
            return owed, Carried(done=True)
        if "route" in owed:
            outcomes["route"] = await _attempt(self.resume(snapshot), ask, "route")
            snapshot = await self.store.snapshot(ask.team_id, ask.id)  # with the cards just sent
        cards: dict[tuple, dict] = {}  # once per state and language: ten covered cards in one language, one rendering
        work = {field: value for field, value in owed.items() if field != "route"}
        at_once = asyncio.Semaphore(EFFECTS_AT_ONCE)

        async def in_turn(field: str, value: str) -> Carried:
            async with at_once:
                return await _attempt(self._effect(snapshot, field, value, cards), ask, field)

        results = await asyncio.gather(*(in_turn(field, value) for field, value in work.items()))
        outcomes.update(zip(work, results, strict=False))
        done = {field: owed[field] for field, outcome in outcomes.items() if outcome.done}
        return done, _together(list(outcomes.values()))

    def _effect(self, snapshot: Snapshot, field: str, value: str, cards: dict[tuple, dict]):
        kind, _, rest = field.partition(":")
        if kind == "card":
            return self._sync_card(snapshot, rest, value.endswith(" late"), cards)
        if kind == "summary":
            return self._sync_summary(snapshot)
        if kind == "offer_notices":
            return self._sync_offer_notices(snapshot, rest, value.endswith(" moved"))
        if kind == "suggested":
            return self._send_new_card(snapshot, snapshot.offers[rest].suggested)
        if kind == "home":
            return self.home.refresh_for(snapshot)
        if kind == "post":
            return self._post_owed(snapshot, field, json.loads(value))
        if kind == STEP_EFFECT:
            return self.steps.complete_if_ended(snapshot)
        return _unknown(field)  # from a newer version of the app, perhaps: dropped, loudly

    # --- sending an ask ---

    async def resume(self, snapshot: Snapshot) -> None:
        """DMs the asker a summary and each teammate a card, each exactly once: a card or summary
        marked pending may have reached Slack before its sender died (or after its answer came too late),
        so it is looked for in the DM (they carry their ask's id as message metadata) before it is sent
        again, and one found is drawn as the ask now stands. An ask no longer live sends nothing new, but
        its pending ones are still looked for: one that went out would otherwise show the ask open for good."""
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        sending = asyncio.Semaphore(FAN_OUT_AT_ONCE)
        pending = await self.store.pending_cards(ask.team_id, ask.id)
        results = await asyncio.gather(
            self._send_summary_once(snapshot),
            *(
                self._send_card_once(snapshot, teammate, teammate in pending, sending)
                for teammate in ask.teammates
                if teammate not in snapshot.cards and (ask.status.is_live or teammate in pending)
            ),
            return_exceptions=True,
        )
        failures = [result for result in results if isinstance(result, Exception)]
        if len(failures) == 1:
            raise failures[0]
        if failures:  # each one's kind counts: a card refused for good must not hide one to try again
            raise ExceptionGroup("sending an ask failed in part", failures)

    async def _send_summary_once(self, snapshot: Snapshot) -> None:
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        if ask.summary_ts:
            return
        if ask.status.is_live:
            earlier = await self.store.claim_post(ask.team_id, ask.id, SUMMARY_POST)
        else:  # only one already on its way is looked for
            earlier = (await self.store.posts_of(ask.team_id, ask.id)).get(SUMMARY_POST)
            if earlier != PENDING:
                return
        found = await self._find_message(ask, ask.asker, SUMMARY_EVENT) if earlier == PENDING else None
        if found:  # owed before recorded: a kill between leaves the route owed, and the summary is found again
            await self.store.owe_redraws(ask.team_id, {ask.id: ["summary"]})
            await self.store.record_summary(ask.team_id, ask.id, *found, SUMMARY_POST)
        elif earlier in (None, PENDING) and ask.status.is_live:
            # offers too: a route Slack held up can go out after the first offers came (whose redraw found none)
            summary = render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask, offers=snapshot.offers)
            async with _unclaimed_if_put_back(lambda: self.store.unclaim_post(ask.team_id, ask.id, SUMMARY_POST)):
                sent = await self._post(
                    ask.team_id, ask.asker, {**summary, "metadata": _marker(SUMMARY_EVENT, ask, ask.asker)}
                )
            await self.store.record_summary(ask.team_id, ask.id, sent["channel"], sent["ts"], SUMMARY_POST)

    async def _send_card_once(
        self, snapshot: Snapshot, teammate: str, pending: bool, sending: asyncio.Semaphore
    ) -> None:
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        async with sending:
            if pending and await self._found_card(snapshot, teammate):
                return
            if ask.status.is_live and (pending or await self.store.claim_card(ask.team_id, ask.id, teammate)):
                offer = snapshot.offers.get(teammate)
                await self._send_card(ask, teammate, card_state(ask, snapshot.answers.get(teammate), offer), offer)

    async def _send_new_card(self, snapshot: Snapshot, teammate: str) -> None:
        """A card for someone added to the ask (a suggestion the asker accepted), sent once: a claim left
        pending (its post failed, or went out unanswered) is looked for, and sent only if not found."""
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        if not await self.store.claim_card(ask.team_id, ask.id, teammate):
            if teammate not in await self.store.pending_cards(ask.team_id, ask.id):
                return  # it went out, and is recorded
            if await self._found_card(snapshot, teammate):
                return
        if ask.status.is_live:  # someone never asked is not told of an ask already over
            offer = snapshot.offers.get(teammate)
            await self._send_card(ask, teammate, card_state(ask, snapshot.answers.get(teammate), offer), offer)

    async def _found_card(self, snapshot: Snapshot, teammate: str) -> bool:
        """Whether a card whose claim was left pending is in the teammate's DM: if so it is recorded and owed a
        redraw (it shows the ask as it stood when sent, and changes meanwhile passed it over, for it was not
        yet recorded); owed, not drawn here, so a redraw that fails is tried again like any other."""
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return False
        found = await self._find_message(ask, teammate, CARD_EVENT)
        if found is None:
            return False
        await self.store.owe_redraws(ask.team_id, {ask.id: [f"card:{teammate}"]})  # before it is recorded, as a summary
        await self.store.record_card(ask.team_id, ask.id, teammate, *found)
        return True

    async def _send_card(self, ask: Ask, teammate: str, state: str, offer: Offer | None = None) -> None:
        card = render_card(ask, state, ask.language_of(teammate), offer)
        async with _unclaimed_if_put_back(lambda: self.store.unclaim_card(ask.team_id, ask.id, teammate)):
            sent = await self._post(ask.team_id, teammate, {**card, "metadata": _marker(CARD_EVENT, ask, teammate)})
        await self.store.record_card(ask.team_id, ask.id, teammate, sent["channel"], sent["ts"])

    async def _find_message(self, ask: Ask, user: str, event_type: str, post_id: str = "") -> tuple[str, str] | None:
        """(channel, ts) of a message about this ask already in the app's DM with `user`, if any."""
        client = await self.clients.for_team(ask.team_id)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        since = f"{max(0.0, ask.created_at - CLOCK_SKEW_SECONDS):.6f}"
        cursor = None
        for _ in range(SEARCH_PAGES):
            history = await client.conversations_history(
                channel=channel, oldest=since, limit=SEARCH_PAGE, cursor=cursor, include_all_metadata=True
            )
            messages: list[dict[str, Any]] = history.get("messages", [])
            for message in messages:
                if _is_marked(message, event_type, ask.id, post_id):
                    return channel, message["ts"]
            cursor = (history.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    # --- messages brought to the ask's current state ---

    async def _sync_card(self, snapshot: Snapshot, teammate: str, offered_late: bool, cards: dict[tuple, dict]) -> None:
        if teammate not in snapshot.cards:  # not delivered yet: the fan-out sends it as the ask stands then
            return
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        offer = snapshot.offers.get(teammate)
        look = (
            card_state(ask, snapshot.answers.get(teammate), offer, offered_late=offered_late),
            ask.language_of(teammate),
            offer,
        )
        if look not in cards:
            cards[look] = render_card(ask, *look)
        await self._update(ask.team_id, *snapshot.cards[teammate], cards[look])

    async def _sync_summary(self, snapshot: Snapshot) -> None:
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        if ask.summary_ts:
            summary = render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask, offers=snapshot.offers)
            await self._update(ask.team_id, ask.summary_channel, ask.summary_ts, summary)

    async def _sync_offer_notices(self, snapshot: Snapshot, user: str, moved: bool) -> None:
        """The asker's DMs about offers that this change alters: always the answerer's own ("*": every
        one), and, when the ask's status moved, every one that shows it: waiting (answerable now, or not)
        or lapsed ("covered now by…", "this ask has ended")."""
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        await asyncio.gather(
            *(
                self._update(ask.team_id, offer.notice_channel, offer.notice_ts, render_offer_notice(ask, offer))
                for teammate, offer in snapshot.offers.items()
                if offer.notice_ts and (user in ("*", teammate) or (moved and offer.state in SHOWS_THE_ASK))
            )
        )

    async def redraw_forgotten(self, team_id: str, ask_id: str) -> None:
        """Before an ask is forgotten: every message slack-ask sent about it — cards, the summary, offer
        DMs and notices to the asker — redrawn without anyone's words, so Slack keeps them no longer
        than Redis does. The thank-you DM is the helper's, and stays until its note's week is dropped.
        A message Slack can no longer update is passed over; a transient failure raises (retried)."""
        snapshot = await self.store.snapshot(team_id, ask_id)
        ask = snapshot.ask
        if ask is None:
            return
        readers = [(teammate, where) for teammate, where in snapshot.cards.items()]
        if ask.summary_ts:
            readers.append((ask.asker, (ask.summary_channel, ask.summary_ts)))
        readers += [(ask.asker, (o.notice_channel, o.notice_ts)) for o in snapshot.offers.values() if o.notice_ts]
        readers += [
            (ask.asker, split_pair(where))
            for post_id, where in (await self.store.posts_of(team_id, ask_id)).items()
            if where != PENDING and ":thanks:" not in post_id
        ]
        for reader, (channel, ts) in readers:
            try:
                await self._update(team_id, channel, ts, render("ask_forgotten.json.j2", lang=ask.language_of(reader)))
            except Exception as error:
                if failure_kind(error) != "permanent":  # the whole forgetting is tried again
                    raise
                log.warning(
                    "a forgotten ask's message could not be redrawn", extra={"ask": ask_id, "error": repr(error)}
                )

    # --- posts: notices to the asker, thanks to a helper ---

    async def _post_owed(self, snapshot: Snapshot, post_id: str, payload: dict) -> None:
        ask = snapshot.ask
        if ask is None:  # the ask is gone: nothing left to draw or send
            return
        if payload["kind"] == "offer_notice":
            offer = snapshot.offers[payload["helper"]]
            message = render_offer_notice(ask, offer)
            found = await self._post_once(ask, ask.asker, post_id, message, redraws=(f"offer_notices:{offer.helper}",))
            await self.store.record_offer_notice(ask.team_id, ask.id, offer.helper, *found)
            return
        if payload["kind"] == "thanks":
            helper = payload["helper"]
            message = render(
                "thanks_delivered.json.j2",
                lang=ask.language_of(helper),
                ask_text=ask.text,
                asker=ask.asker,
                note=payload["note"],
            )
            channel, ts = await self._post_once(ask, helper, post_id, message, redraw=True)
            await self.store.record_thanks_dm(ask.team_id, ask.asker, ask.id, helper, channel, ts)
            if payload.get("channel") and payload.get("ts"):  # the asker's prompt now says the thanks went out
                notice = render(
                    "asker_notice.json.j2",
                    lang=ask.language_of(ask.asker),
                    ask=ask,
                    notice="thanks_sent",
                    helper=helper,
                    snoozed=False,
                )
                await self._update(ask.team_id, payload["channel"], payload["ts"], notice)
            return
        lang, helper = ask.language_of(ask.asker), payload.get("helper", "")
        # A thank-you prompt names what the helper took on, when theirs was a smaller yes.
        scope = accepted_scope(snapshot.offers.get(helper), lang) if payload["notice"] == "thanks_prompt" else ""
        message = render(
            "asker_notice.json.j2",
            lang=lang,
            ask=ask,
            notice=payload["notice"],
            helper=helper,
            snoozed=bool(payload.get("snoozed")),
            scope=scope,
        )
        await self._post_once(ask, ask.asker, post_id, message)

    async def _post_once(
        self, ask: Ask, user: str, post_id: str, message: dict, *, redraw: bool = False, redraws: tuple[str, ...] = ()
    ) -> tuple[str, str]:
        """(channel, ts) of the post, sent now or found to have gone out before — then, with `redraw`, brought to
        `message` (a thank-you an erasure reached while it was on its way). One that went out before (found in
        the DM after its claim was left pending, or recorded by a holder that died before it was noted where it
        is shown) is owed `redraws`: an offer's DM the ask moved past while it was on its way."""
        earlier = await self.store.claim_post(ask.team_id, ask.id, post_id)
        if earlier not in (None, PENDING):
            channel, ts = earlier.split(" ", 1)
            if redraw:
                await self._update(ask.team_id, channel, ts, message)
            if redraws:  # it went out in an earlier try, drawn as the ask stood then, and changes may have passed it by
                await self.store.owe_redraws(ask.team_id, {ask.id: list(redraws)})
            return channel, ts  # it went out
        found = await self._find_message(ask, user, POST_EVENT, post_id) if earlier == PENDING else None
        if found is None:
            async with _unclaimed_if_put_back(lambda: self.store.unclaim_post(ask.team_id, ask.id, post_id)):
                marked = {**message, "metadata": _marker(POST_EVENT, ask, user, post_id)}
                sent = await self._post(ask.team_id, user, marked)
            await self.store.record_post(ask.team_id, ask.id, post_id, sent["channel"], sent["ts"])
            return sent["channel"], sent["ts"]
        await self.store.record_post(ask.team_id, ask.id, post_id, *found)
        if redraw:
            await self._update(ask.team_id, *found, message)
        if redraws:
            await self.store.owe_redraws(ask.team_id, {ask.id: list(redraws)})
        return found

    async def redraw_thanks(self, team_id: str, author: str, helper: str, where: tuple[str, str], placeholder: str):
        """A thank-you DM already in a helper's Slack, redrawn with the author's words replaced."""
        lang = await self.home.people.language_of(team_id, helper)
        message = render("thanks_delivered.json.j2", lang=lang, ask_text=placeholder, asker=author, note=placeholder)
        await self._update(team_id, *where, message)

    async def tell_person(self, team_id: str, user: str, text: str) -> None:
        await self._post(team_id, user, {"text": text})

    async def send_file(self, team_id: str, user: str, *, filename: str, data: dict, comment: str) -> None:
        """A JSON file in the app's DM with a person (files.uploadV2: upload URL, upload, complete)."""
        client = await self.clients.for_team(team_id)
        channel = (await client.conversations_open(users=user))["channel"]["id"]
        await client.files_upload_v2(
            channel=channel,
            filename=filename,
            title=filename,
            initial_comment=comment,
            content=json.dumps(data, indent=2, ensure_ascii=False),
        )

    # --- Web API ---

    async def _post(self, team_id: str, user_or_channel: str, message: dict) -> dict:
        async with _fenced(self._landing_seconds):
            client = await self.clients.for_team(team_id)
            response = await client.chat_postMessage(channel=user_or_channel, **message)
        return {"channel": response["channel"], "ts": response["ts"]}

    async def _update(self, team_id: str, channel: str, ts: str, message: dict) -> None:
        async with _fenced(self._landing_seconds):
            client = await self.clients.for_team(team_id)
            await client.chat_update(channel=channel, ts=ts, **message)


def _is_marked(message: dict[str, Any], event_type: str, ask_id: str, post_id: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload", {})
    return (
        metadata.get("event_type") == event_type
        and payload.get("ask_id") == ask_id
        and payload.get("post", "") == post_id
    )


@contextlib.asynccontextmanager
async def _unclaimed_if_put_back(unclaim: Callable[[], Awaitable[None]]):
    """A post put back for its rate-budget turn never went out (TurnLater comes before the call, or after a 429):
    its claim is taken back, so the next try sends it without first searching the DM (Tier 3 calls, spent
    again at every turn otherwise)."""
    try:
        yield
    except TurnLater:
        await unclaim()
        raise


@contextlib.asynccontextmanager
async def _fenced(stretch: float):
    """A post or an update by the ask's holder: only while its lease surely holds (LeaseLost otherwise), with
    its lease stretched over the whole time the call may take to reach Slack (`stretch`). One whose outcome
    is unknown (no answer came: it may yet reach Slack) leaves the lease to lapse rather than be let go. So
    the next holder, should this one die or give up, finds a post it sent, and draws a message only after an
    update this one had on its way has landed: one holder at a time draws each message, each time from the
    ask as it stands, and an older state never lands after a newer one. (A version kept in Redis could not
    do this: Slack has no conditional update, and cannot order requests already on their way to it.)"""
    lease = HOLDING.get()
    if lease is not None:
        lease.check()
        if stretch:
            await lease.stretch(stretch)
    try:
        yield
    except Exception as error:
        # Slack's answer, even a 5xx, says the call was not carried out; no answer (a timeout, a dropped
        # connection) leaves it unknown.
        if lease is not None and not isinstance(error, SlackApiError) and failure_kind(error) == "temporary":
            lease.uncertain = True
        raise


async def _unknown(field: str) -> None:
    raise ValueError(f"unknown effect {field}")


async def _attempt(effect, ask: Ask, field: str) -> Carried:
    """How one effect went: done (or refused by Slack for good: dropped, with one log line, counted), waiting
    for a rate-budget turn, or failed for now."""
    try:
        await effect
    except Exception as error:
        kind = "permanent" if isinstance(error, NotInstalled) else failure_kind(error)
        fields = {"ask": ask.id, "team": ask.team_id, "effect": field}
        code = slack_error_code(error) if isinstance(error, SlackApiError) else repr(error)
        if kind == "permanent":
            EFFECTS_DROPPED.labels(code if isinstance(error, SlackApiError) else type(error).__name__).inc()
            log.error("effect refused by Slack for good; dropped", extra={**fields, "error": code})
            return Carried(done=True)
        if kind == "later":
            return Carried(turn_in=max(_turns(error)))
        log.warning("effect failed; trying again later", extra={**fields, "error": code[:300]})
        return Carried(failure=f"{field}: {code}"[:500])
    return Carried(done=True)


def _turns(error: BaseException) -> list[float]:
    """The rate-budget waits a failure (or a group of them) names."""
    if isinstance(error, BaseExceptionGroup):
        return [wait for inner in error.exceptions for wait in _turns(inner)] or [0.0]
    return [getattr(error, "retry_in", 0.0)]


def _together(outcomes: list[Carried]) -> Carried:
    """Several effects' outcomes as one: done when all are; else the first failure, or the latest turn."""
    if all(outcome.done for outcome in outcomes):
        return Carried(done=True)
    failed = [outcome for outcome in outcomes if outcome.failure]
    return failed[0] if failed else Carried(turn_in=max(outcome.turn_in for outcome in outcomes))
