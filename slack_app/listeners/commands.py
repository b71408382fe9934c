"""Slash commands: /ask opens the modal, with the people it mentions chosen; /ask help says how it works."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from ..prefill import wants_help
from ..render import render
from ..services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/ask")
    async def open_ask_modal(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        text = body.get("text", "")
        if wants_help(text):
            await ack(render("ask_help.json.j2"))
            return
        # Without storage a submitted ask would be lost, so say so now rather than open the modal.
        if not await services.store_reachable():
            await ack(render("unavailable.json.j2", what="your /ask"))
            return
        await ack()
        team_id, trigger_id = body["team_id"], body["trigger_id"]
        view = services.ask_forms.from_command(team_id, body.get("user_id", ""), text, body.get("channel_id", ""))
        services.open_modal(team_id, trigger_id, view, respond)
