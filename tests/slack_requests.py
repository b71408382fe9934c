"""Plays Slack's side of the HTTP conversation: the playground's payloads (slack_app.playground.payloads),
signed and sent one at a time over urllib, as the tests want them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from slack_app.playground import payloads

TEAM = "T0TEAM"


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

    def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Reply:
        signed = payloads.signed_headers(self.signer, body, content_type, timestamp=timestamp, signature=signature)
        request = urllib.request.Request(
            self.url, data=body.encode(), method="POST", headers={**signed, **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def send_form(self, fields: dict[str, str], **kwargs) -> Reply:
        return self.send(payloads.form_body(fields), payloads.FORM, **kwargs)

    def send_interaction(self, payload: dict, **kwargs) -> Reply:
        return self.send(payloads.interaction_body(payload), payloads.FORM, **kwargs)

    def send_event(
        self, event: dict, *, event_id: str | None = None, retry_num: int | None = None, team: str = TEAM, **kwargs
    ) -> Reply:
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else None
        return self.send(
            json.dumps(self.event_envelope(event, event_id=event_id, team=team)),
            payloads.JSON,
            headers=headers,
            **kwargs,
        )

    def event_envelope(self, event: dict, *, event_id: str | None = None, team: str = TEAM) -> dict:
        return payloads.event_envelope(event, team=team, event_id=event_id)

    def _response_url(self, name: str) -> str:
        return self.fake.response_url(name) if self.fake else ""

    # --- what people do ---

    def slash_ask(self, user: str, text: str = "", *, team: str = TEAM, **kwargs) -> Reply:
        return self.send_form(self.command_fields(user, text, team=team), **kwargs)

    def command_fields(self, user: str, text: str = "", *, team: str = TEAM) -> dict[str, str]:
        return payloads.command_fields(user, text, team=team, response_url=self._response_url("cmd"))

    def submit_ask(
        self, user: str, *, team: str = TEAM, timestamp: int | None = None, signature: str | None = None, **fields
    ) -> Reply:
        """Submits the ask modal; `fields` are ask_values' (text, scope, estimate, …)."""
        payload = self.view_submission(user, self.ask_values(**fields), team=team)
        return self.send_interaction(payload, timestamp=timestamp, signature=signature)

    @staticmethod
    def ask_values(
        *,
        text: str = "Review the retry logic in PR 412 before Friday's release",
        scope: str = "In: error handling in retry.py. Out: naming and tests.",
        estimate: str | None = "30",
        decline: str | None = "no_reason",
        teammates: list[str] | None = None,
        needed_by: str | None = None,
        helpers_needed: str | None = "1",
    ) -> dict:
        """The ask modal's state.values as Slack sends them on submission."""

        def option(value):
            return {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value} if value else None,
            }

        return {
            "ask": {"value": {"type": "plain_text_input", "value": text}},
            "scope": {"value": {"type": "plain_text_input", "value": scope}},
            "estimate": {"value": option(estimate)},
            "decline": {
                "value": {
                    "type": "radio_buttons",
                    "selected_option": {"text": {"type": "plain_text", "text": decline}, "value": decline}
                    if decline
                    else None,
                }
            },
            "teammates": {
                "value": {
                    "type": "multi_users_select",
                    "selected_users": teammates if teammates is not None else ["U0HELP1"],
                }
            },
            "needed_by": {"value": {"type": "datepicker", "selected_date": needed_by}},
            "helpers_needed": {"value": option(helpers_needed)},
        }

    def message_shortcut(
        self, user: str, message, *, callback_id: str = "ask_about_message", team: str = TEAM, **kwargs
    ) -> Reply:
        """Chooses "Ask for help with this" from a message's menu, as Slack sends it (a message_action)."""
        payload = payloads.message_shortcut(
            user, message, callback_id, team=team, response_url=self._response_url("shortcut")
        )
        return self.send_interaction(payload, **kwargs)

    def global_shortcut(self, user: str, *, callback_id: str = "new_ask", team: str = TEAM, **kwargs) -> Reply:
        return self.send_interaction(payloads.global_shortcut(user, callback_id, team=team), **kwargs)

    def view_submission(self, user: str, values: dict, *, team: str = TEAM, callback_id: str = "ask_submit") -> dict:
        view = {
            "id": "V0MODAL",
            "callback_id": callback_id,
            "private_metadata": json.dumps({"channel": "C0GENERAL"}),
            "blocks": [],
        }
        return payloads.view_submission(user, view, values, team=team)

    def click(self, user: str, message, action_id: str, *, team: str = TEAM, **kwargs) -> Reply:
        """Presses the button `action_id` on a message the fake Slack holds."""
        block, button = payloads.find_element(message.blocks, action_id)
        return self.send_interaction(
            payloads.block_actions(
                user,
                payloads.action(block, button),
                team=team,
                message=message,
                response_url=self._response_url("action"),
            ),
            **kwargs,
        )

    def react(self, user: str, message, reaction: str, *, removed: bool = False, **kwargs) -> Reply:
        return self.send_event(
            payloads.reaction_event(user, message.channel, message.ts, reaction, removed=removed), **kwargs
        )
