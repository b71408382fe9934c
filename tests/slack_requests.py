"""Plays Slack's side of the HTTP conversation: builds payloads and signs them the way Slack does."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

TEAM = "T0TEAM"
_ids = itertools.count(1)


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackRequests:
    def __init__(self, app_url: str, signing_secret: str, fake_slack=None):
        self.url = app_url.rstrip("/") + "/slack/events"
        self.signer = SignatureVerifier(signing_secret)
        self.fake = fake_slack

    # --- transport ---

    def send(self, body: str, content_type: str, *, timestamp: int | None = None, signature: str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 10.0) -> Reply:
        timestamp = int(time.time()) if timestamp is None else timestamp
        if signature is None:
            signature = self.signer.generate_signature(timestamp=str(timestamp), body=body)
        request = urllib.request.Request(self.url, data=body.encode(), method="POST", headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature,
            **(headers or {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def send_form(self, fields: dict[str, str], **kwargs) -> Reply:
        return self.send(urllib.parse.urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    def send_interaction(self, payload: dict, **kwargs) -> Reply:
        return self.send_form({"payload": json.dumps(payload)}, **kwargs)

    def send_event(self, event: dict, *, event_id: str | None = None, retry_num: int | None = None, team: str = TEAM, **kwargs) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.send(json.dumps(self.event_envelope(event, event_id=event_id, team=team)), "application/json",
                         headers=headers, **kwargs)

    def event_envelope(self, event: dict, *, event_id: str | None = None, team: str = TEAM) -> dict:
        return {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": "A0SLACKASK",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": "U0SLACKASK", "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False,
        }

    # --- what people do ---

    def slash_ask(self, user: str, text: str = "", *, team: str = TEAM, **kwargs) -> Reply:
        return self.send_form(self.command_fields(user, text, team=team), **kwargs)

    def command_fields(self, user: str, text: str = "", *, team: str = TEAM) -> dict[str, str]:
        return {
            "token": "legacy-verification-token", "team_id": team, "team_domain": "fake", "channel_id": "C0GENERAL",
            "channel_name": "general", "user_id": user, "user_name": user.lower(), "command": "/ask", "text": text,
            "api_app_id": "A0SLACKASK", "response_url": self.fake.response_url("cmd") if self.fake else "",
            "trigger_id": f"{next(_ids)}.{next(_ids)}.trigger",
        }

    def submit_ask(self, user: str, *, team: str = TEAM, timestamp: int | None = None, signature: str | None = None,
                   **fields) -> Reply:
        """Submits the ask modal; `fields` are ask_values' (text, scope, estimate, …)."""
        payload = self.view_submission(user, self.ask_values(**fields), team=team)
        return self.send_interaction(payload, timestamp=timestamp, signature=signature)

    @staticmethod
    def ask_values(*, text: str = "Review the retry logic in PR 412 before Friday's release",
                   scope: str = "In: error handling in retry.py. Out: naming and tests.", estimate: str | None = "30",
                   decline: str | None = "no_reason", teammates: list[str] | None = None, needed_by: str | None = None,
                   helpers_needed: str | None = "1") -> dict:
        """The ask modal's state.values as Slack sends them on submission."""
        def option(value):
            return {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value} if value else None}

        return {
            "ask": {"value": {"type": "plain_text_input", "value": text}},
            "scope": {"value": {"type": "plain_text_input", "value": scope}},
            "estimate": {"value": option(estimate)},
            "decline": {"value": {"type": "radio_buttons", "selected_option": {"text": {"type": "plain_text", "text": decline}, "value": decline} if decline else None}},
            "teammates": {"value": {"type": "multi_users_select", "selected_users": teammates if teammates is not None else ["U0HELP1"]}},
            "needed_by": {"value": {"type": "datepicker", "selected_date": needed_by}},
            "helpers_needed": {"value": option(helpers_needed)},
        }

    def view_submission(self, user: str, values: dict, *, team: str = TEAM, callback_id: str = "ask_submit") -> dict:
        return {
            "type": "view_submission",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A0SLACKASK",
            "token": "legacy-verification-token",
            "trigger_id": f"{next(_ids)}.{next(_ids)}.trigger",
            "view": {
                "id": "V0MODAL", "team_id": team, "type": "modal", "callback_id": callback_id,
                "private_metadata": json.dumps({"channel": "C0GENERAL"}), "blocks": [],
                "state": {"values": values}, "hash": "h", "root_view_id": "V0MODAL", "app_id": "A0SLACKASK",
                "bot_id": "B0SLACKASK",
            },
            "response_urls": [],
            "is_enterprise_install": False,
        }

    def click(self, user: str, message, action_id: str, *, team: str = TEAM, **kwargs) -> Reply:
        """Presses the button `action_id` on a message the fake Slack holds."""
        block, button = next((block, element) for block in message.blocks
                             for element in [*block.get("elements", []), block.get("accessory") or {}]
                             if element.get("action_id") == action_id)
        return self.send_interaction({
            "type": "block_actions",
            "team": {"id": team, "domain": "fake"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A0SLACKASK",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel, "is_ephemeral": False},
            "trigger_id": f"{next(_ids)}.{next(_ids)}.trigger",
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
            "response_url": self.fake.response_url("action") if self.fake else "",
            "actions": [{"type": "button", "action_id": action_id, "block_id": block.get("block_id", "b"), "value": button.get("value", ""),
                         "text": button["text"], "action_ts": str(time.time())}],
            "is_enterprise_install": False,
        }, **kwargs)

    def react(self, user: str, message, reaction: str, *, removed: bool = False, **kwargs) -> Reply:
        event = {
            "type": "reaction_removed" if removed else "reaction_added",
            "user": user,
            "reaction": reaction,
            "item": {"type": "message", "channel": message.channel, "ts": message.ts},
            "item_user": "U0SLACKASK",
            "event_ts": f"{time.time():.6f}",
        }
        return self.send_event(event, **kwargs)
