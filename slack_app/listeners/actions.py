"""Buttons on cards and summaries: the accessible twin of every reaction, and cancel."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from ..asks import Answer
from ..routing import VERB_FOR_ANSWER
from ..services import Services


def register(app: AsyncApp, services: Services) -> None:
    async def record(body: dict, answer: Answer) -> None:
        team_id, user, ask_id = body["team"]["id"], body["user"]["id"], body["actions"][0]["value"]
        snapshot = await services.store.answer(team_id, ask_id, user, VERB_FOR_ANSWER[answer])
        services.background.spawn(services.router.tell(snapshot, user), f"answer {ask_id}")

    @app.action("ask_accept")
    async def accept(ack: AsyncAck, body: dict) -> None:
        await record(body, Answer.ACCEPT)
        await ack()

    @app.action("ask_decline")
    async def decline(ack: AsyncAck, body: dict) -> None:
        await record(body, Answer.DECLINE)
        await ack()

    @app.action("ask_cancel")
    async def cancel(ack: AsyncAck, body: dict, respond: AsyncRespond) -> None:
        team_id, user, ask_id = body["team"]["id"], body["user"]["id"], body["actions"][0]["value"]
        snapshot = await services.store.cancel(team_id, ask_id, user)
        await ack()
        if snapshot.outcome == "not_asker":
            await respond(response_type="ephemeral", replace_original=False, text="Only the person who asked can cancel an ask.")
            return
        services.background.spawn(services.router.tell(snapshot, user), f"cancel {ask_id}")
