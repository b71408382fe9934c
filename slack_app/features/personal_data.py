"""A person's data: all of it, theirs to take away; what they wrote, theirs to erase; and what
happens to their asks when their account is deactivated.

Knows nothing of Bolt: the Home tab's buttons, the erase modal, `slack-ask export-user` /
`erase-user` and the user_change event all call in with a workspace and a user id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..domain.asks import Answer, Ask
from ..domain.offers import Offer
from ..store.scheduler import Job
from ..store.store import Snapshot, Store
from ..text.i18n import Language
from .home import Home
from .lifecycle import Lifecycle
from .routing import Router

ERASED = "(removed)"  # neutral: it says nothing about who or why
ERASE_JOB = "erase"  # the scheduler's kind for a person's erasure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erasure:
    asks: int
    notes: int
    offer_lines: list[str] = field(default_factory=list)  # the asks whose offer of theirs had a line
    digest_weeks: list[str] = field(default_factory=list)  # weeks whose digest shared a note of theirs

    def summary(self, lang: Language) -> str:
        said = lang.gettext(
            "Erased what you wrote in slack-ask: the line and scope of {asks} and {notes}. "
            "Counts and other people's own words stay.",
            asks=lang.ngettext("{count} ask", "{count} asks", self.asks),
            notes=lang.ngettext("{count} thank-you note", "{count} thank-you notes", self.notes),
        )
        if self.offer_lines:
            said += " " + lang.ngettext(
                "Also the line on {count} of your offers.",
                "Also the lines on {count} of your offers.",
                len(self.offer_lines),
            )
        return said


class PersonalData:
    def __init__(self, store: Store, lifecycle: Lifecycle, router: Router, home: Home):
        self.store = store
        self.lifecycle = lifecycle
        self.router = router
        self.home = home

    # --- taking it away ---

    async def export(self, team_id: str, user_id: str) -> dict:
        """Everything kept about a person: their asks, their answers, the thank-you notes they wrote
        and received, and their settings. Of anyone else only the user ids their records name."""
        by_ids, for_ids = await self.store.all_ask_ids(team_id, user_id)
        # All at once, in two groups: gather's result is typed for at most six awaitables.
        (
            (asks_by, asks_for, answers, offers_made, offers_received),
            (settings, kudos, balance, profile, viewer, suggested),
        ) = await asyncio.gather(
            asyncio.gather(
                self.store.load_asks(team_id, by_ids),
                self.store.load_asks(team_id, for_ids),
                self.store.answers_of(team_id, for_ids, user_id),
                self.store.offers_of(team_id, for_ids, user_id),
                self.store.offers_on(team_id, by_ids),
            ),
            asyncio.gather(
                self.store.availabilities(team_id, [user_id]),
                self._kudos(team_id, user_id),
                self.store.balance(team_id, user_id),
                self.store.directory_record(team_id, user_id),
                self.store.is_home_viewer(team_id, user_id),
                self._suggestions_of(team_id, user_id),
            ),
        )
        answer_of, offer_of, offers_on = (
            dict(zip(for_ids, answers, strict=False)),
            {ask_id: offer for ask_id, offer in zip(for_ids, offers_made, strict=False) if offer},
            dict(zip(by_ids, offers_received, strict=False)),
        )
        return {
            "about": f"Everything slack-ask keeps about {user_id} in workspace {team_id}.",
            "exported_at": _iso(datetime.now(UTC).timestamp()),
            "team": team_id,
            "user": user_id,
            "asks_you_made": [
                {
                    **_own_ask(ask),
                    "offers_on_it": [_offer(offer, mine=False) for offer in offers_on.get(ask.id, {}).values()],
                }
                for ask in asks_by
            ],
            "asks_sent_to_you": [
                {
                    **_ask_for_you(ask, answer_of.get(ask.id)),
                    "your_offer": _offer(offer_of[ask.id], mine=True) if ask.id in offer_of else None,
                }
                for ask in asks_for
            ],
            "offers_suggesting_you": suggested,
            "thanks_you_wrote": [_note(record, "helper") for record in kudos if record["asker"] == user_id],
            "thanks_you_received": [_note(record, "asker") for record in kudos if record["helper"] == user_id],
            "settings": {
                "asked_and_helped": balance,
                "home_tab_opened": viewer,
                "profile_from_slack": profile,
                "availability": json.loads(settings[user_id].to_json()),
            },
        }

    async def send_export(self, team_id: str, user_id: str, lang: Language) -> None:
        """The export as a JSON file in the person's DM with the app, introduced in their language."""
        data = await self.export(team_id, user_id)
        await self.router.send_file(
            team_id,
            user_id,
            filename=f"slack-ask-{team_id}-{user_id}.json",
            data=data,
            comment=lang.gettext("Here is everything slack-ask keeps about you, as a JSON file."),
        )

    async def _kudos(self, team_id: str, user_id: str) -> list[dict]:
        # Found through the person's own index of weeks (never a walk over the keyspace); their Home
        # copies besides, which hold the same notes.
        records = [
            *await self.store.notes_of(team_id, user_id),
            *await self.store.thanks_received(team_id, user_id, 1000),
        ]
        unique = {
            (record["ask_id"], record["helper"]): record
            for record in records
            if user_id in (record.get("asker"), record.get("helper"))
        }
        return sorted(unique.values(), key=lambda record: record.get("at", 0))

    async def _suggestions_of(self, team_id: str, user_id: str) -> list[dict]:
        """Offers in which a teammate suggested this person: the facts, not the teammate's line."""
        ask_ids = await self.store.suggested_in(team_id, user_id)
        asks = {ask.id: ask for ask in await self.store.load_asks(team_id, ask_ids)}
        found = []
        for ask_id, offers in zip(ask_ids, await self.store.offers_on(team_id, ask_ids), strict=True):
            for offer in offers.values():
                if offer.suggested == user_id and ask_id in asks:
                    found.append(
                        {
                            "ask_id": ask_id,
                            "asker": asks[ask_id].asker,
                            "suggested_by": offer.helper,
                            "state": offer.state.value,
                            "made_at": _iso(offer.made_at),
                        }
                    )
        return found

    # --- erasing what they wrote ---

    async def erase_soon(self, team_id: str, user_id: str) -> None:
        """Plans the erasure as a job due now, durably: the modal is acknowledged at once, and whichever
        instance holds the job carries it out (again after a crash: every step is idempotent)."""
        job = Job(id=f"erase:{user_id}", team_id=team_id, kind=ERASE_JOB, due=time.time(), payload={"user": user_id})
        await self.lifecycle.scheduler.schedule(job)

    def handlers(self):
        return {ERASE_JOB: self._erase_job}

    async def _erase_job(self, job: Job) -> None:
        """The erasure, then every message and Home tab showing the words brought up to date, then the
        person told, in their language."""
        team_id, user_id = job.team_id, job.payload["user"]
        erasure = await self.erase(team_id, user_id)
        await self.show_erased(team_id, user_id, erasure)
        lang = await self.home.people.language_of(team_id, user_id)
        await self.router.tell_person(team_id, user_id, erasure.summary(lang))

    async def erase(self, team_id: str, user_id: str) -> Erasure:
        """Their ask lines, scopes, thank-you notes and offer lines replaced by a placeholder wherever
        slack-ask keeps them — thank-yous still on their way included — found through their own
        indexes, and the redraws of the cards, summaries and offer DMs of asks still kept owed to the
        effect queue (show_erased redraws the rest). Idempotent, so a retried job changes nothing more."""
        by_ids, for_ids = await self.store.all_ask_ids(team_id, user_id)
        asks = await self.store.load_asks(team_id, by_ids)
        await self.store.redact_asks(team_id, [ask.id for ask in asks], ERASED)
        await self.store.redact_owed_thanks(team_id, by_ids, ERASED)
        notes = await self.store.redact_notes(team_id, user_id, ERASED)
        offer_lines = await self.store.redact_offer_notes(team_id, for_ids, user_id, ERASED)
        await self.store.forget_from_directory(team_id, user_id)  # Slack's own data, told again when needed
        showing = [*asks, *await self.store.load_asks(team_id, offer_lines)]  # every message showing their words
        if showing:
            await self.store.owe_redraws(
                team_id,
                {ask.id: [*(f"card:{uid}" for uid in ask.teammates), "summary", "offer_notices:*"] for ask in showing},
            )
        log.info(
            "erased a person's words",
            extra={
                "team": team_id,
                "user": user_id,
                "asks": len(asks),
                "notes": len(notes),
                "offer_lines": len(offer_lines),
            },
        )
        shared_weeks = sorted({note["week"] for note in notes if note.get("shared")})
        return Erasure(asks=len(asks), notes=len(notes), offer_lines=offer_lines, digest_weeks=shared_weeks)

    async def show_erased(self, team_id: str, user_id: str, erasure: Erasure) -> None:
        """After an erasure, what Slack shows brought up to date: the thank-you DMs they wrote (wherever
        their ask now is, forgotten or not), the digest posts that quoted them, and Home tabs re-rendered
        from the store, which no longer has the words (cards, summaries and offer DMs were owed their
        redraw by the erasure itself)."""
        thanked = await self.store.thanks_dms(team_id, user_id)
        for (_, helper), where in thanked.items():
            await self.router.redraw_thanks(team_id, user_id, helper, where, ERASED)
        await self.home.digests.redraw(team_id, erasure.digest_weeks)
        by_ids, for_ids = await self.store.all_ask_ids(team_id, user_id)
        offered = [
            ask_id
            for ask_id, offer in zip(for_ids, await self.store.offers_of(team_id, for_ids, user_id), strict=False)
            if offer is not None and offer.note == ERASED
        ]  # their offer's line shows in the asker's DMs
        concerned = {user_id, *(helper for _, helper in thanked)}  # the helpers' Home tabs list their notes
        for ask in await self.store.load_asks(team_id, [*by_ids, *offered]):
            concerned.update([ask.asker, *ask.teammates])
        await self.home.refresh_people(team_id, concerned)

    # --- deactivation ---

    async def deactivated(self, team_id: str, user_id: str) -> list[tuple[Snapshot, str]]:
        """Their open asks end gently (cancelled: cards say no longer needed, nobody is blamed); asks
        still waiting for their answer take it as a pass, which nobody is told about; live asks they
        took and had not finished are open again (their asker is told they stepped back), each with its
        timer set again. Returns each change with who made it, for the messages to follow."""
        by_ids, for_ids = await self.store.all_ask_ids(team_id, user_id)
        changes = []
        for ask in await self.store.load_asks(team_id, by_ids):
            if ask.status.is_live:
                snapshot = await self.store.close(team_id, ask.id, "cancelled", user_id)
                await self.lifecycle.ended(snapshot)
                changes.append((snapshot, user_id))
        waiting = await self.store.load_asks(team_id, for_ids)
        answers = await self.store.answers_of(team_id, [ask.id for ask in waiting], user_id)
        for ask, answer in zip(waiting, answers, strict=False):
            if ask.status.is_live and answer is None:
                changes.append((await self.store.answer(team_id, ask.id, user_id, "decline"), user_id))
            elif ask.status.is_live and answer is Answer.ACCEPT:
                snapshot = await self.store.answer(team_id, ask.id, user_id, "withdraw_accept")
                if snapshot.ask is not None and snapshot.ask.status.is_live:
                    await self.lifecycle.reopened(snapshot.ask)
                changes.append((snapshot, user_id))
        return changes


def _iso(timestamp: float) -> str | None:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None


def _own_ask(ask: Ask) -> dict:
    return {
        "id": ask.id,
        "text": ask.text,
        "scope": ask.scope,
        "estimate_minutes": ask.estimate_minutes,
        "decline_line": ask.decline_line,
        "teammates": ask.teammates,
        "helpers_needed": ask.helpers_needed,
        "needed_by": ask.needed_by.isoformat() if ask.needed_by else None,
        "status": ask.status.value,
        "helpers": ask.helpers,
        "asked_at": _iso(ask.created_at),
        "taken_at": _iso(ask.taken_at),
        "done_at": _iso(ask.done_at),
    }


def _ask_for_you(ask: Ask, answer: Answer | None) -> dict:
    """An ask someone sent them: its facts and their answer, not the asker's words."""
    return {
        "id": ask.id,
        "asker": ask.asker,
        "asked_at": _iso(ask.created_at),
        "status": ask.status.value,
        "your_answer": {Answer.ACCEPT: "took it", Answer.DECLINE: "passed", None: "no answer"}[answer],
    }


def _offer(offer: Offer, mine: bool) -> dict:
    """An offer's facts; its line only for the person who wrote it."""
    facts = {
        "kind": offer.kind.value,
        "state": offer.state.value,
        "by": offer.by.isoformat() if offer.by else None,
        "at": offer.at or None,
        "minutes": offer.minutes or None,
        "suggested": offer.suggested or None,
        "made_at": _iso(offer.made_at),
    }
    return {**facts, "note": offer.note} if mine else {"from": offer.helper, **facts}


def _note(record: dict, other: str) -> dict:
    return {
        "ask_id": record["ask_id"],
        other: record[other],
        "note": record["note"],
        "shared_in_digest": bool(record.get("shared")),
        "at": _iso(float(record.get("at", 0))),
    }
