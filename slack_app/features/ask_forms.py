"""The ask modal as each door opens it: /ask with its mentions, a message shortcut, the lightning menu, Home;
in the language of whoever opens it.

Each door may make a Slack call or two before the modal opens (a permalink, a user group's members);
they run with a tight timeout, because the modal must open within Slack's 3 seconds, and a call that
fails or is late leaves its part out rather than the modal.
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain.asks import ASK_MAX_LENGTH, MAX_TEAMMATES, Ask, Draft, Person
from ..domain.prefill import UNNAMED_GROUP, fallback_permalink, first_sentence, parse_command
from ..slack.slack_api import Clients
from ..store.store import Store
from ..text.i18n import Language, language_code
from .modals import Draw, ask_modal

log = logging.getLogger(__name__)

# What may run between the ack and views.open: the trigger_id is good for 3 s from when Slack sent it.
LOOKUP_TIMEOUT_SECONDS = 1.0
MAX_GROUPS_EXPANDED = 3  # one usergroups.users.list call each; more groups than this are left for the picker


class AskForms:
    def __init__(self, store: Store, clients: Clients):
        self.store = store
        self.clients = clients

    async def blank(self, team_id: str, user: str) -> Draw:
        """The lightning menu's New ask and the Home tab's button."""
        first_ask = await self._first_ask(team_id, user)
        return lambda lang: ask_modal(lang, first_ask=first_ask)

    async def from_command(self, team_id: str, user: str, text: str, channel: str) -> Draw:
        """/ask's text: people it mentions are chosen, a user group's members up to the cap, the rest is the ask."""
        parsed = parse_command(text)
        groups = list(parsed.groups.items())[:MAX_GROUPS_EXPANDED]
        members, first_ask = await asyncio.gather(
            self._members(team_id, [gid for gid, _ in groups]), self._first_ask(team_id, user)
        )
        chosen = list(parsed.users)
        cut: dict[str, int] = {}
        unlisted = [handle for gid, handle in groups if members.get(gid) is None]
        unlisted += [handle for _, handle in list(parsed.groups.items())[MAX_GROUPS_EXPANDED:]]
        for gid, handle in groups:
            fresh = [uid for uid in members.get(gid) or [] if uid != user and uid not in chosen]
            room = max(0, MAX_TEAMMATES - len(chosen))
            chosen += fresh[:room]
            if len(fresh) > room:
                cut[handle] = len(fresh) - room

        def draw(lang: Language) -> dict:
            def named(handle: str) -> str:
                return lang.gettext(UNNAMED_GROUP) if handle == UNNAMED_GROUP else handle

            return ask_modal(
                lang,
                parsed.text,
                channel,
                teammates=chosen,
                first_ask=first_ask,
                groups_cut={named(handle): n for handle, n in cut.items()},
                groups_unlisted=[named(handle) for handle in unlisted],
            )

        return draw

    async def from_message(self, team_id: str, user: str, payload: dict) -> Draw:
        """A message shortcut: the ask line from the message's first sentence, the scope from its link."""
        message = _object(payload.get("message"))
        channel = str(_object(payload.get("channel")).get("id") or message.get("channel") or "")
        ts = str(message.get("ts") or payload.get("message_ts") or "")
        link, first_ask = await asyncio.gather(self._permalink(team_id, channel, ts), self._first_ask(team_id, user))
        if not link:  # Slack wouldn't say (a channel the app isn't in, or too slow): build it as Slack does
            domain = str(_object(payload.get("team")).get("domain") or "")
            link = fallback_permalink(domain, channel, ts, str(message.get("thread_ts") or ""))
        text = message.get("text")
        line = first_sentence(text if isinstance(text, str) else "", ASK_MAX_LENGTH)
        scope = f"{link}\n" if link else ""
        return lambda lang: ask_modal(lang, line, channel, scope=scope, first_ask=first_ask)

    async def _first_ask(self, team_id: str, user: str) -> bool:
        try:
            return (await self.store.balance(team_id, user))["asked"] == 0
        except (RedisError, OSError):
            return False  # the hint is a nicety; never hold the modal up for it

    async def _permalink(self, team_id: str, channel: str, ts: str) -> str:
        if not (channel and ts):
            return ""
        try:
            client = await self.clients.for_team(team_id)
            response = await asyncio.wait_for(
                client.chat_getPermalink(channel=channel, message_ts=ts), LOOKUP_TIMEOUT_SECONDS
            )
        except (TimeoutError, SlackApiError, OSError) as error:
            log.info("no permalink from Slack", extra={"error": type(error).__name__})
            return ""
        return str(response.get("permalink") or "")

    async def _members(self, team_id: str, group_ids: list[str]) -> dict[str, list[str] | None]:
        """Each user group's members; None for a group Slack couldn't list in time."""
        if not group_ids:
            return {}
        client = await self.clients.for_team(team_id)

        async def members(group_id: str) -> list[str] | None:
            try:
                response = await asyncio.wait_for(
                    client.usergroups_users_list(usergroup=group_id), LOOKUP_TIMEOUT_SECONDS
                )
            except (TimeoutError, SlackApiError, OSError) as error:
                log.info("couldn't list a user group", extra={"error": type(error).__name__})
                return None
            return [uid for uid in response.get("users") or [] if isinstance(uid, str)]

        return dict(zip(group_ids, await asyncio.gather(*(members(gid) for gid in group_ids)), strict=False))


def ask_from_draft(draft: Draft, team_id: str, asker: str, people: dict[str, Person]) -> Ask:
    """The ask a valid form (or a workflow step's inputs) describes: one that passed `validate`, which reports a
    missing estimate or way to decline."""
    if draft.estimate_minutes is None or draft.decline_line is None:
        raise ValueError("an ask can only be built from a draft that passed validate()")
    # Everyone's language as it is now: each message about this ask is written in its reader's.
    languages = {uid: language_code(people[uid].locale) for uid in [asker, *draft.teammates] if uid in people}
    return Ask(
        asker_tz=people[asker].tz,
        languages=languages,
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


def _object(value: object) -> dict:
    return value if isinstance(value, dict) else {}
