"""Modal submissions: a valid ask is stored, then routed after the ack."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from ..asks import Ask, Draft, Person, validate
from ..modals import parse_submission
from ..services import Services

log = logging.getLogger(__name__)

# users.info for up to 11 people has to fit inside Slack's 3-second window with the save.
LOOKUP_TIMEOUT_SECONDS = 2.0


def register(app: AsyncApp, services: Services) -> None:
    @app.view("ask_submit")
    async def submit_ask(ack: AsyncAck, body: dict, view: dict) -> None:
        team_id, asker = body["team"]["id"], body["user"]["id"]
        draft = parse_submission(view.get("state", {}).get("values", {}))
        try:
            people = await asyncio.wait_for(
                services.people.get_many(team_id, [asker, *draft.teammates]), LOOKUP_TIMEOUT_SECONDS
            )
        except (SlackApiError, RedisError, OSError, asyncio.TimeoutError):
            log.warning("could not look up teammates", exc_info=True)
            await ack(response_action="errors", errors={"teammates": "Couldn't check these teammates just now — press Send again."})
            return
        errors = validate(draft, asker, people, today=_today_for(people[asker]))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        ask = _ask_from(draft, team_id, asker)
        try:
            await services.store.save_ask(ask)
        except (RedisError, OSError):
            log.warning("could not store an ask", exc_info=True)
            await ack(response_action="errors", errors={"ask": "Couldn't save your ask just now, so nothing was sent. Press Send again."})
            return
        await ack()
        services.background.spawn(services.router.route(ask), f"route ask {ask.id}")


def _today_for(person: Person):
    try:
        zone = ZoneInfo(person.tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def _ask_from(draft: Draft, team_id: str, asker: str) -> Ask:
    return Ask(
        team_id=team_id,
        asker=asker,
        text=draft.text,
        scope=draft.scope,
        estimate_minutes=draft.estimate_minutes,
        decline_line=draft.decline_line,
        teammates=draft.teammates,
        helpers_needed=draft.helpers_needed,
        needed_by=draft.needed_by,
    )
