"""Slash commands: /ask opens the modal, with the people it mentions chosen; /ask help says how it works."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from ...domain.prefill import wants_help
from ...ids import Command
from ...text.render import render
from ..services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.command(Command.ASK)
    async def open_ask_modal(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        text = body.get("text", "")
        if wants_help(text):
            await ack(render("ask_help.json.j2", lang=await services.language_of(body["team_id"], body["user_id"])))
            return
        # Without storage a submitted ask would be lost, so say so now rather than open the modal.
        if not await services.store_reachable():
            lang = await services.language_of(body["team_id"], body["user_id"])
            await ack(render("unavailable.json.j2", lang=lang, what=lang.gettext("your /ask")))
            return
        await ack()
        team_id, user, trigger_id = body["team_id"], body.get("user_id", ""), body["trigger_id"]
        channel = body.get("channel_id", "")
        services.open_modal(
            team_id,
            user,
            trigger_id,
            lambda: services.ask_forms.from_command(team_id, user, text, channel),
            respond,
        )
