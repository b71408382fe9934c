"""Events: reactions answer asks, the Home tab opens, the people directory follows who joins and changes
(and a deactivated person's asks end), and an uninstall forgets the workspace (or the whole organisation)."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from ...ids import EventType
from ..services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.event(EventType.REACTION_ADDED)
    @app.event(EventType.REACTION_REMOVED)
    async def reaction(body: dict, event: dict) -> None:  # over HTTP the express lane takes these first
        await services.answers.by_reaction(body["team_id"], body["event_id"], event)

    @app.event(EventType.APP_HOME_OPENED)
    async def home_opened(body: dict, event: dict) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            await services.background.spawn(
                services.home.opened(body["team_id"], event["user"]), "home opened", for_a_person=True
            )

    @app.event(EventType.USER_CHANGE)
    @app.event(EventType.TEAM_JOIN)
    async def user_changed(body: dict, event: dict) -> None:
        user = event.get("user") or {}
        team_id = body.get("team_id") or user.get("team_id")
        if not user.get("id") or not team_id:  # no workspace: nowhere to find anything of theirs
            return
        person = await services.people.changed(team_id, user)
        if person.deleted:
            # Every step is idempotent, so Slack's retries of this event change nothing more; each change
            # owes its messages in the step that makes it.
            await services.personal.deactivated(team_id, person.id)

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
