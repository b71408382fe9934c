"""Modal submissions: a valid ask is stored with its sending owed; a thank-you with its delivery owed."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from ...domain import offers
from ...domain.asks import Answer, Ask, Person, thanks_error, validate
from ...domain.availability import local_today
from ...domain.coaching import coach_ask, coach_thanks, fingerprint
from ...domain.offers import Kind, Offer
from ...domain.working_hours import zone
from ...features.ask_forms import ask_from_draft
from ...features.modals import OfferDraft, metadata, parse_offer, parse_submission, parse_thanks
from ...ids import BlockId, CallbackId
from ...text.i18n import ENGLISH, Language, language_of
from ..services import LOOKUP_TIMEOUT_SECONDS, Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.view(CallbackId.ASK_SUBMIT)
    async def submit_ask(ack: AsyncAck, body: dict, view: dict) -> None:
        team_id, asker = body["team"]["id"], body["user"]["id"]
        draft = parse_submission(view.get("state", {}).get("values", {}))
        try:
            people = await asyncio.wait_for(
                services.people.get_many(team_id, [asker, *draft.teammates]), LOOKUP_TIMEOUT_SECONDS
            )
        except (TimeoutError, SlackApiError, RedisError, OSError):
            log.warning("could not look up teammates", exc_info=True)
            lang = await _cached_language(services, team_id, asker)
            await ack(
                response_action="errors",
                errors={BlockId.TEAMMATES: lang.gettext("Couldn't check these teammates just now — press Send again.")},
            )
            return
        lang = language_of(people[asker].locale)
        errors = validate(draft, asker, people, today=local_today(datetime.now(UTC), people[asker].tz), lang=lang)
        if not errors:
            unavailable = await services.availabilities.unavailable(
                team_id, {uid: people[uid] for uid in draft.teammates}, lang
            )
            if unavailable:
                errors[BlockId.TEAMMATES] = " ".join(unavailable.values())
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        suggestion = coach_ask(draft, lang)
        if suggestion and await _first_time_coached(
            services, team_id, view, draft.text, draft.scope, draft.estimate_minutes
        ):
            await ack(response_action="errors", errors=suggestion)
            return
        ask = ask_from_draft(draft, team_id, asker, people)
        if not await services.send_ask(ask):
            await ack(
                response_action="errors",
                errors={
                    BlockId.ASK: lang.gettext("Couldn't save your ask just now, so nothing was sent. Press Send again.")
                },
            )
            return
        await ack()

    @app.view(CallbackId.OFFER_SUBMIT)
    async def submit_offer(ack: AsyncAck, body: dict, view: dict) -> None:
        team_id, helper = body["team"]["id"], body["user"]["id"]
        about = metadata(view)
        try:
            kind = Kind(about.get("kind"))
        except ValueError:
            kind = Kind.LATER
        first_field = {Kind.LATER: BlockId.DAY, Kind.SMALLER: BlockId.MINUTES, Kind.SUGGEST: BlockId.PERSON}[kind]
        ask = await services.store.load_ask(team_id, str(about.get("ask", "")))
        draft = parse_offer(view.get("state", {}).get("values", {}))
        try:
            people = await asyncio.wait_for(
                services.people.get_many(team_id, [helper, *filter(None, [draft.suggested])]), LOOKUP_TIMEOUT_SECONDS
            )
        except (TimeoutError, SlackApiError, RedisError, OSError):
            log.warning("could not look up people for an offer", exc_info=True)
            lang = await _cached_language(services, team_id, helper)
            await ack(
                response_action="errors",
                errors={first_field: lang.gettext("Couldn't check this just now — press the button again.")},
            )
            return
        lang = language_of(people[helper].locale)
        if ask is None or helper not in ask.teammates:
            await ack(
                response_action="errors",
                errors={first_field: lang.gettext("This ask wasn't sent to you, so there's nothing to offer on it.")},
            )
            return
        offer = _offer_from(kind, draft, ask, helper, people, lang)
        if not isinstance(offer, Offer):
            await ack(response_action="errors", errors=offer)
            return
        snapshot = await services.store.offer(team_id, ask.id, offer)
        if (
            snapshot.outcome == "unchanged"
            and helper in snapshot.offers
            and snapshot.answers.get(helper) is not Answer.ACCEPT
        ):
            await ack(
                response_action="errors",
                errors={first_field: lang.gettext("You've already made an offer on this one — they'll answer it.")},
            )
            return
        await ack()  # the offer owes its messages in the step that records it

    @app.view(CallbackId.THANKS_SUBMIT)
    async def submit_thanks(ack: AsyncAck, body: dict, view: dict) -> None:
        team_id, asker = body["team"]["id"], body["user"]["id"]
        note, shared = parse_thanks(view.get("state", {}).get("values", {}))
        lang = await services.language_of(team_id, asker)
        error = thanks_error(note, lang)
        if error:
            await ack(response_action="errors", errors={BlockId.NOTE: error})
            return
        suggestion = coach_thanks(note, lang)
        if suggestion and await _first_time_coached(services, team_id, view, note):
            await ack(response_action="errors", errors={BlockId.NOTE: suggestion})
            return
        about = metadata(view)
        ask = await services.store.load_ask(team_id, str(about.get("ask", "")))
        helper = str(about.get("helper", ""))
        if ask is None or ask.asker != asker or helper not in ask.helpers:
            await ack(
                response_action="errors",
                errors={
                    BlockId.NOTE: lang.gettext("This thank-you doesn't match an ask of yours that someone helped with.")
                },
            )
            return
        now = datetime.now(UTC)
        # Owed before it is filed: a thank-you filed is one delivered. A second one for the same
        # helper is owed under the same id, so it is never delivered.
        delivery = {
            "kind": "thanks",
            "helper": helper,
            "note": note,
            "channel": about.get("channel", ""),
            "ts": about.get("ts", ""),
        }
        await services.store.owe(team_id, ask.id, posts={f"thanks:{helper}": delivery})
        kudos = {
            "ask_id": ask.id,
            "ask": ask.text,
            "asker": asker,
            "helper": helper,
            "note": note,
            "shared": shared,
            "estimate_minutes": ask.estimate_minutes,
            "at": now.timestamp(),
        }
        if not await services.lifecycle.thanked(team_id, kudos, ask):
            await ack(
                response_action="errors",
                errors={BlockId.NOTE: lang.gettext("You've already thanked them for this one — it was delivered.")},
            )
            return
        if ask.step:  # the workflow that sent it was waiting for this thank-you
            await services.store.owe_step_completion(team_id, ask.id)
        await ack()

    @app.view(CallbackId.ERASE_CONFIRM)
    async def erase_what_they_wrote(ack: AsyncAck, body: dict) -> None:
        team_id, user = body["team"]["id"], body["user"]["id"]
        # One write hands the erasure to the scheduler, durably; the work (however much) comes after
        # the ack, and a DM says when it is finished.
        await services.personal.erase_soon(team_id, user)
        await ack()
        await services.background.spawn(services.run_jobs_of(team_id), f"erasing for {user}")


async def _first_time_coached(services: Services, team_id: str, view: dict, *coached: object) -> bool:
    """Coaching never blocks: the same submission sent again unchanged goes through, and so does one
    whose coaching can't be remembered (Redis down) — better unpolished than lost."""
    try:
        return await services.store.first_coaching(team_id, str(view.get("id", "")), fingerprint(*coached))
    except (RedisError, OSError):
        log.warning("could not remember coaching; sending as is", exc_info=True)
        return False


def _offer_from(
    kind: Kind, draft: OfferDraft, ask: Ask, helper: str, people: dict[str, Person], lang: Language
) -> Offer | dict[str, str]:
    """The offer the modal describes, or the errors to show on its fields, in the helper's language.
    A field the offer needs is never missing without an error saying so: the checks report it."""
    if kind is Kind.LATER:
        now = datetime.now(zone(people[helper].tz))
        errors = offers.later_errors(draft.day, draft.at, now.date(), now.time(), lang)
        if errors or draft.day is None:
            return errors
        return Offer(
            helper,
            kind,
            by=draft.day,
            at=draft.at.strftime("%H:%M") if draft.at else "",
            after_needed_by=offers.is_after_needed_by(ask, draft.day),
        )
    if kind is Kind.SMALLER:
        errors = offers.smaller_errors(ask, draft.minutes, draft.note, lang)
        if errors or draft.minutes is None:
            return errors
        return Offer(helper, kind, minutes=draft.minutes, note=draft.note)
    person = people.get(draft.suggested) if draft.suggested else None
    error = offers.suggestion_error(ask, draft.suggested, person, lang)
    errors = {**offers.note_errors(draft.note, lang), **({BlockId.PERSON: error} if error else {})}
    if errors or person is None or draft.suggested is None:
        return errors
    return Offer(helper, kind, suggested=draft.suggested, suggested_name=person.name, note=draft.note)


async def _cached_language(services: Services, team_id: str, user_id: str) -> Language:
    """The asker's language if the directory knows it (no time is left in the ack to ask Slack), else English."""
    return await services.people.known_language(team_id, user_id) or ENGLISH
