"""Events: reactions answer asks, the Home tab opens, a deactivated person's asks end, and an
uninstall forgets the workspace (or the whole organisation)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from ...domain.asks import answer_for_reaction
from ...features.routing import UNDO_FOR_ANSWER, VERB_FOR_ANSWER
from ...ids import EventType
from ..services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    async def on_reaction(body: dict, event: dict, undo: bool) -> None:
        answer = answer_for_reaction(str(event.get("reaction", "")))
        item = event.get("item") or {}
        if answer is None or item.get("type") != "message":
            return
        team_id = body["team_id"]
        event_id = body["event_id"]
        # Slack retries an event it thinks we missed; the first delivery wins.
        first, card = await services.store.first_sighting_and_card(team_id, event_id, item["channel"], item["ts"])
        if not first or card is None or card.teammate != event.get("user"):
            return
        verb = (UNDO_FOR_ANSWER if undo else VERB_FOR_ANSWER)[answer]
        try:
            await services.store.answer(team_id, card.ask_id, card.teammate, verb)  # owes its messages too
        except Exception:
            # Answer non-2xx and forget the event so that Slack's retry is processed.
            await services.store.forget_event(team_id, event_id)
            raise

    @app.event(EventType.REACTION_ADDED)
    async def reaction_added(body: dict, event: dict) -> None:
        await on_reaction(body, event, undo=False)

    @app.event(EventType.REACTION_REMOVED)
    async def reaction_removed(body: dict, event: dict) -> None:
        await on_reaction(body, event, undo=True)

    @app.event(EventType.APP_HOME_OPENED)
    async def home_opened(body: dict, event: dict) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            await services.background.spawn(services.home.opened(body["team_id"], event["user"]), "home opened")

    @app.event(EventType.USER_CHANGE)
    async def user_changed(body: dict, event: dict) -> None:
        person = event.get("user") or {}
        if not person.get("deleted") or not person.get("id"):
            return
        team_id = body.get("team_id") or person.get("team_id")
        # Every step is idempotent, so Slack's retries of this event change nothing more; each change
        # owes its messages in the step that makes it.
        await services.personal.deactivated(team_id, person["id"])

    @app.event(EventType.APP_UNINSTALLED)
    async def uninstalled(body: dict) -> None:
        await forget(body)

    @app.event(EventType.TOKENS_REVOKED)
    async def tokens_revoked(body: dict, event: dict) -> None:
        if event.get("tokens", {}).get("bot"):  # without its bot token the app can do nothing there
            await forget(body)

    async def forget(body: dict) -> None:
        """A workspace's uninstall forgets it; an organisation's (enterprise_id, no team_id) forgets the
        organisation's installation and every one of its workspaces."""
        team_id, enterprise_id = body.get("team_id"), body.get("enterprise_id")
        teams = [team_id] if team_id else await organisation_teams(enterprise_id)
        if services.installations is not None:
            await services.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        for team in teams:
            services.clients.forget(team)
            await services.scheduler.forget_workspace(team)
            await services.digests.forget_workspace(team)
            deleted = await services.store.forget_workspace(team)
            log.info("workspace forgotten", extra={"team": team, "enterprise": enterprise_id, "keys_deleted": deleted})

    async def organisation_teams(enterprise_id: str | None) -> list[str]:
        if services.installations is not None:
            return sorted(await services.installations.enterprise_teams(enterprise_id)) if enterprise_id else []
        # One bot token serves every workspace this app has seen: an organisation's uninstall ends them all.
        return await services.store.teams()
