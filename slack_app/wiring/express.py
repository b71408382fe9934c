"""The express lane: reactions on cards and the cards' accept/decline buttons, answered without Bolt.

These come by the hundred once an ask reaches a team, and each is one Redis step (the answer and what it
owes; effects.py sends the messages). Bolt's dispatch around that step (its request object, middleware
chain, matching every listener, injecting arguments) cost about as much CPU as the rest of the ack put
together, so these skip it: the body is read once, and the same Answers that Bolt's listeners call
records the answer. Everything else, and all of Socket Mode, goes through Bolt.

What Bolt's middleware would have added is not needed here: the edge has checked the signature; the
card index only knows cards of installed workspaces (an uninstall deletes it) and its teammate is never
the bot; organisations were noted when the ask itself came in through Bolt.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.context.respond.async_respond import AsyncRespond
from starlette.responses import Response

from ..features.answers import ANSWER_FOR_BUTTON, Answers
from ..ids import EventType
from .middleware import FailureHandler, request_kind, workspace_of

REACTIONS = {EventType.REACTION_ADDED, EventType.REACTION_REMOVED}


class Express:
    def __init__(self, answers: Answers, failed: FailureHandler):
        self.answers = answers
        self.failed = failed

    async def answer(self, body: bytes, content_type: str, info: dict) -> Response | None:
        """The ack for an answer to a card; None for any other request (Bolt's to handle)."""
        payload = _answer_payload(body, content_type)
        if payload is None:
            return None
        kind, detail = request_kind(payload)
        info.update(kind=kind, detail=detail, team=workspace_of(payload))
        try:
            if kind == "event_callback":
                await self.answers.by_reaction(payload["team_id"], payload["event_id"], payload["event"])
            else:
                action = payload["actions"][0]
                await self.answers.by_button(
                    payload["team"]["id"],
                    payload["user"]["id"],
                    str(action.get("value", "")),
                    ANSWER_FOR_BUTTON[action["action_id"]],
                )
        except Exception as error:
            return to_starlette_response(
                await self.failed(error, payload, AsyncRespond(response_url=payload.get("response_url")))
            )
        return Response()


def _answer_payload(body: bytes, content_type: str) -> dict | None:
    try:
        if content_type.startswith("application/json"):
            payload = json.loads(body)
            event = payload.get("event") or {}
            hot = payload.get("type") == "event_callback" and event.get("type") in REACTIONS
        elif content_type.startswith("application/x-www-form-urlencoded"):
            payload = json.loads(parse_qs(body.decode())["payload"][0])
            actions = payload.get("actions") or []
            hot = (
                payload.get("type") == "block_actions"
                and len(actions) == 1
                and actions[0].get("action_id") in ANSWER_FOR_BUTTON
            )
        else:
            return None
    except (ValueError, KeyError, AttributeError, TypeError):  # not ours to judge: Bolt answers it as it would
        return None
    return payload if hot else None
