"""Slash commands: /ask opens the modal."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from ..modals import ask_modal
from ..render import render
from ..services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/ask")
    async def open_ask_modal(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        # Without storage a submitted ask would be lost, so say so now rather than open the modal.
        if not await services.store_reachable():
            await ack(render("unavailable.json.j2", what="your /ask"))
            return
        await ack()
        view = ask_modal(body.get("text", ""), body.get("channel_id", ""))
        services.open_modal(body["team_id"], body["trigger_id"], view, respond)
