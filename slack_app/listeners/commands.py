"""Slash commands: /ask opens the modal."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..modals import ask_modal
from ..render import render
from ..services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.command("/ask")
    async def open_ask_modal(ack: AsyncAck, body: dict, client: AsyncWebClient, respond: AsyncRespond) -> None:
        # Without storage a submitted ask would be lost, so say so now rather than open the modal.
        if not await services.store_reachable():
            await ack(render("unavailable.json.j2", what="your /ask"))
            return
        await ack()
        view = ask_modal(body.get("text", ""), body.get("channel_id", ""))
        services.background.spawn(_open(client, respond, body["trigger_id"], view), "views.open")


async def _open(client: AsyncWebClient, respond: AsyncRespond, trigger_id: str, view: dict) -> None:
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        await respond(
            response_type="ephemeral",
            text="Slack didn't let the ask form open in time. Type `/ask` again and it should appear.",
        )
