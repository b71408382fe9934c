"""Buttons: the accessible twin of every reaction, and the asker's and helper's controls."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError

from ...domain import availability
from ...domain.offers import Kind, already_asked, ask_full
from ...features.answers import ANSWER_FOR_BUTTON
from ...features.digests import valid_time, valid_time_zone
from ...features.modals import ask_modal, drawn, erase_modal, offer_modal, thanks_modal
from ...ids import ActionId, BlockId
from ...text.i18n import LANGUAGES, N_, language_code
from ..services import LOOKUP_TIMEOUT_SECONDS, Services

log = logging.getLogger(__name__)

REFUSALS = {
    "not_asker": N_("Only the person who asked can cancel an ask."),
    "not_allowed": N_("Only the asker or the helper can do that."),
    "not_asker_offer": N_("Only the person who asked can answer this offer."),
    "not_teammate": N_("This ask wasn't sent to you, so there's nothing to offer on it."),
}
# Replies that replace a check-in DM once it has been answered, so its buttons can't be pressed twice.
CHECK_IN_REPLIES = {
    "done": N_(":tada: Marked done — a thank-you prompt is on its way."),
    "cancelled": N_("Cancelled — everyone's card says it's no longer needed."),
    "unchanged": N_("This ask has already ended."),
}


def _ids(body: dict) -> tuple[str, str, str]:
    return body["team"]["id"], body["user"]["id"], str(body["actions"][0].get("value", ""))


def register(app: AsyncApp, services: Services) -> None:
    store, lifecycle, background = services.store, services.lifecycle, services.background

    async def close(ack: AsyncAck, body: dict, respond: AsyncRespond, ending: str) -> None:
        team_id, user, ask_id = _ids(body)
        snapshot = await store.close(team_id, ask_id, ending, user)
        await lifecycle.ended(snapshot)
        await ack()
        if snapshot.outcome in REFUSALS:
            lang = await services.language_of(team_id, user)
            services.reply(
                respond,
                response_type="ephemeral",
                replace_original=False,
                text=lang.gettext(REFUSALS[snapshot.outcome]),
            )
            return
        if body["actions"][0].get("block_id") == BlockId.CHECK_IN and snapshot.outcome in CHECK_IN_REPLIES:
            lang = await services.language_of(team_id, user)
            services.reply(respond, replace_original=True, text=lang.gettext(CHECK_IN_REPLIES[snapshot.outcome]))

    # Over HTTP the express lane takes these first.
    @app.action(ActionId.ASK_ACCEPT)
    @app.action(ActionId.ASK_DECLINE)
    async def answer(ack: AsyncAck, body: dict) -> None:
        await services.answers.by_button(*_ids(body), ANSWER_FOR_BUTTON[body["actions"][0]["action_id"]])
        await ack()

    @app.action(ActionId.ASK_CANCEL)
    async def cancel(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await close(ack, body, respond, "cancelled")

    @app.action(ActionId.ASK_DONE)
    async def done(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await close(ack, body, respond, "done")

    @app.action(ActionId.CHECK_IN_SNOOZE)
    async def snooze(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        team_id, user, ask_id = _ids(body)
        ask = await store.load_ask(team_id, ask_id)
        await ack()
        lang = await services.language_of(team_id, user)
        if ask is None or ask.asker != user:
            services.reply(
                respond, response_type="ephemeral", replace_original=False, text=lang.gettext(REFUSALS["not_allowed"])
            )
            return
        if await store.snooze_check_in(team_id, ask_id):
            await lifecycle.snoozed(ask, datetime.now(UTC))
        services.reply(
            respond,
            replace_original=True,
            text=lang.gettext("Got it — still going. I'll check in once more tomorrow, and that's it."),
        )

    @app.action(ActionId.THANKS_OPEN)
    async def open_thanks(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        team_id, user, value = _ids(body)
        ask_id, _, helper = value.partition(" ")
        ask = await store.load_ask(team_id, ask_id)
        await ack()
        if ask is None or ask.asker != user:
            lang = await services.language_of(team_id, user)
            services.reply(
                respond,
                response_type="ephemeral",
                replace_original=False,
                text=lang.gettext("Only the asker can send this thank-you."),
            )
            return
        container = body.get("container", {})
        channel, ts = container.get("channel_id", ""), container.get("message_ts", "")
        services.open_modal(
            team_id, user, body["trigger_id"], drawn(lambda lang: thanks_modal(lang, ask, helper, channel, ts)), respond
        )

    @app.action(ActionId.ASK_AGAIN)
    async def ask_again(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        team_id, user, ask_id = _ids(body)
        ask = await store.load_ask(team_id, ask_id)
        await ack()
        again = ask if ask and ask.asker == user else None
        services.open_modal(
            team_id, user, body["trigger_id"], drawn(lambda lang: ask_modal(lang, again=again)), respond
        )

    # --- offers: the helper's answers between yes and no, and the asker's answers to them ---

    async def open_offer(ack: AsyncAck, body: dict, respond: AsyncRespond, kind: Kind) -> None:
        team_id, user, ask_id = _ids(body)
        ask = await store.load_ask(team_id, ask_id)
        await ack()
        if ask is None or user not in ask.teammates:
            lang = await services.language_of(team_id, user)
            services.reply(
                respond, response_type="ephemeral", replace_original=False, text=lang.gettext(REFUSALS["not_teammate"])
            )
            return
        services.open_modal(
            team_id, user, body["trigger_id"], drawn(lambda lang: offer_modal(lang, ask, kind)), respond
        )

    @app.action(ActionId.OFFER_LATER)
    async def offer_later(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await open_offer(ack, body, respond, Kind.LATER)

    @app.action(ActionId.OFFER_SMALLER)
    async def offer_smaller(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await open_offer(ack, body, respond, Kind.SMALLER)

    @app.action(ActionId.OFFER_SUGGEST)
    async def offer_suggest(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await open_offer(ack, body, respond, Kind.SUGGEST)

    async def settle_offer(ack: AsyncAck, body: dict, respond: AsyncRespond, verb: str) -> None:
        team_id, user, value = _ids(body)
        ask_id, _, helper = value.partition(" ")
        snapshot = await store.snapshot(team_id, ask_id)
        ask, offer = snapshot.ask, snapshot.offers.get(helper)
        refusals = ("", "", "", "")
        if (
            verb == "accept"
            and ask is not None
            and offer is not None
            and offer.kind is Kind.SUGGEST
            and ask.asker == user
        ):
            lang = ask.language_of(user)
            try:
                refusal, person = await asyncio.wait_for(
                    services.availabilities.suggestion_refusal(ask, offer, lang), LOOKUP_TIMEOUT_SECONDS
                )
            except (TimeoutError, SlackApiError, RedisError, OSError):
                log.warning("could not look up a suggested teammate", exc_info=True)
                await ack()
                services.reply(
                    respond,
                    response_type="ephemeral",
                    replace_original=False,
                    text=lang.gettext("Couldn't check that teammate just now — press the button again."),
                )
                return
            refusals = (
                refusal,
                already_asked(person.name or offer.suggested, lang),
                ask_full(lang),
                language_code(person.locale),
            )
        snapshot = await store.settle_offer(team_id, ask_id, user, verb, helper, *refusals)
        accepted = snapshot.offers.get(helper)  # as the script found it: the suggestion it just sent
        if snapshot.outcome == "suggestion_sent" and accepted is not None:
            await store.note_asked(team_id, ask_id, accepted.suggested, datetime.now(UTC).timestamp())
        await ack()
        if snapshot.outcome == "not_asker":
            lang = await services.language_of(team_id, user)
            services.reply(
                respond,
                response_type="ephemeral",
                replace_original=False,
                text=lang.gettext(REFUSALS["not_asker_offer"]),
            )

    @app.action(ActionId.OFFER_ACCEPT)
    async def accept_offer(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await settle_offer(ack, body, respond, "accept")

    @app.action(ActionId.OFFER_DECLINE)
    async def decline_offer(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        await settle_offer(ack, body, respond, "decline")

    # --- availability: each person's own, on their Home tab ---

    async def save_availability(ack: AsyncAck, body: dict, chosen: availability.Availability | None) -> None:
        team_id, user = body["team"]["id"], body["user"]["id"]
        await ack()
        if chosen is not None:
            await store.set_availability(team_id, user, chosen)
        await background.spawn(services.home.publish(team_id, user), "home availability", for_a_person=True)

    @app.action(ActionId.AVAILABILITY_MODE)
    async def availability_mode(ack: AsyncAck, body: dict) -> None:
        chosen = selected(body, "selected_option") or ""
        mode, _, limit = chosen.partition(":")
        setting = (
            availability.Availability()
            if chosen == "open"
            else (availability.weekly(int(limit)) if mode == "weekly" and limit.isdigit() else None)
        )
        await save_availability(ack, body, setting)

    @app.action(ActionId.AVAILABILITY_BREAK)
    async def availability_break(ack: AsyncAck, body: dict) -> None:
        team_id, user = body["team"]["id"], body["user"]["id"]
        try:
            day = date.fromisoformat(selected(body, "selected_date") or "")
        except ValueError:
            day = None
        person = await services.people.get(team_id, user)
        today = availability.local_today(datetime.now(UTC), person.tz)
        await save_availability(ack, body, availability.break_until(day, today) if day else None)

    @app.action(ActionId.HOME_NEW_ASK)
    async def new_ask_from_home(ack: AsyncAck, body: dict) -> None:
        await ack()
        team_id, user = body["team"]["id"], body["user"]["id"]
        services.open_modal(team_id, user, body["trigger_id"], lambda: services.ask_forms.blank(team_id, user))

    @app.action(ActionId.HOME_EXPORT_DATA)
    async def export_data(ack: AsyncAck, body: dict) -> None:
        await ack()
        team_id, user = body["team"]["id"], body["user"]["id"]
        lang = await services.language_of(team_id, user)
        await background.spawn(services.personal.send_export(team_id, user, lang), "export data", for_a_person=True)

    @app.action(ActionId.HOME_ERASE_OPEN)
    async def open_erase(ack: AsyncAck, body: dict) -> None:
        await ack()
        services.open_modal(body["team"]["id"], body["user"]["id"], body["trigger_id"], drawn(erase_modal))

    async def save_digest_setting(ack: AsyncAck, body: dict, name: str, value: str | None) -> None:
        team_id, user = body["team"]["id"], body["user"]["id"]
        await ack()
        person = await services.people.get(team_id, user)
        if not person.is_admin or value is None:
            return
        await services.digests.save_setting(team_id, name, value)
        await background.spawn(services.home.publish(team_id, user), "home settings", for_a_person=True)

    def selected(body: dict, key: str) -> str | None:
        action = body["actions"][0]
        value = action.get(key)
        if isinstance(value, dict):
            value = value.get("value")
        return value if isinstance(value, str) else None

    @app.action(ActionId.DIGEST_CHANNEL)
    async def digest_channel(ack: AsyncAck, body: dict) -> None:
        await save_digest_setting(ack, body, "digest_channel", selected(body, "selected_channel"))

    @app.action(ActionId.DIGEST_DAY)
    async def digest_day(ack: AsyncAck, body: dict) -> None:
        day = selected(body, "selected_option")
        await save_digest_setting(ack, body, "digest_day", day if day in {str(n) for n in range(7)} else None)

    @app.action(ActionId.DIGEST_TIME)
    async def digest_time(ack: AsyncAck, body: dict) -> None:
        chosen = selected(body, "selected_time")
        await save_digest_setting(ack, body, "digest_time", chosen if chosen and valid_time(chosen) else None)

    @app.action(ActionId.DIGEST_TZ)
    async def digest_tz(ack: AsyncAck, body: dict) -> None:
        chosen = selected(body, "selected_option")
        await save_digest_setting(ack, body, "digest_tz", chosen if chosen and valid_time_zone(chosen) else None)

    @app.action(ActionId.DIGEST_LANGUAGE)
    async def digest_language(ack: AsyncAck, body: dict) -> None:
        chosen = selected(body, "selected_option")
        await save_digest_setting(ack, body, "digest_language", chosen if chosen in LANGUAGES else None)
