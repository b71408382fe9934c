"""Shortcuts: "Ask for help with this" on any message, and "New ask" in the lightning menu."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from ...ids import CallbackId
from ..services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.shortcut({"type": "message_action", "callback_id": CallbackId.ASK_ABOUT_MESSAGE})
    async def ask_about_message(ack: AsyncAck, body: dict) -> None:
        await ack()
        team_id, user, trigger_id = body["team"]["id"], body["user"]["id"], body["trigger_id"]
        services.open_modal(team_id, user, trigger_id, lambda: services.ask_forms.from_message(team_id, user, body))

    @app.shortcut({"type": "shortcut", "callback_id": CallbackId.NEW_ASK})
    async def new_ask(ack: AsyncAck, body: dict) -> None:
        await ack()
        team_id, user = body["team"]["id"], body["user"]["id"]
        services.open_modal(team_id, user, body["trigger_id"], lambda: services.ask_forms.blank(team_id, user))
