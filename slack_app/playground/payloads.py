"""What Slack sends an app, built and signed the way Slack does: slash commands, interactions and events.

Shapes follow Slack's payloads (and the samples in slack-reference/bolt-python-test-payloads):
interactive payloads travel form-encoded as `payload=<JSON>`, events as a JSON `event_callback`
envelope, and every request carries Slack's v0 signature of its timestamp and body.
"""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
from typing import Any, cast

from slack_sdk.signature import SignatureVerifier

from .slack_api import APP_ID, BOT_ID, BOT_USER_ID, Message, declared_functions

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
LEGACY_TOKEN = "legacy-verification-token"  # Slack still sends it; Bolt ignores it in favour of the signature
TEAM_DOMAIN = "local"

_ids = itertools.count(1)


def new_trigger_id() -> str:
    return f"{next(_ids)}.{next(_ids)}.trigger"


def signed_headers(
    signer: SignatureVerifier,
    body: str,
    content_type: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> dict[str, str]:
    """Slack's headers for a request body; a given timestamp or signature stands in for the real one."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    if signature is None:
        # slack_sdk returns None only when the timestamp or the body is missing, and both are given here.
        signature = cast(str, signer.generate_signature(timestamp=str(timestamp), body=body))
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def form_body(fields: dict[str, str]) -> str:
    return urllib.parse.urlencode(fields)


def interaction_body(payload: dict) -> str:
    return form_body({"payload": json.dumps(payload)})


def _user(user: str, team: str) -> dict:
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}


# --- slash commands ---


def command_fields(
    user: str,
    text: str,
    *,
    team: str,
    response_url: str,
    command: str = "/ask",
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    trigger_id: str | None = None,
) -> dict[str, str]:
    return {
        "token": LEGACY_TOKEN,
        "team_id": team,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


# --- events ---


def event_envelope(event: dict, *, team: str, event_id: str | None = None) -> dict:
    return {
        "token": LEGACY_TOKEN,
        "team_id": team,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def reaction_event(user: str, channel: str, ts: str, reaction: str, *, removed: bool = False) -> dict:
    return {
        "type": "reaction_removed" if removed else "reaction_added",
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": BOT_USER_ID,
        "event_ts": f"{time.time():.6f}",
    }


def home_opened_event(user: str, channel: str, view: dict | None = None) -> dict:
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    return {**event, "view": view} if view else event


def function_executed_event(
    callback_id: str, inputs: dict, *, execution_id: str, workflow_execution_id: str, token: str
) -> dict:
    """A workflow reached one of the app's custom steps: Slack's `function_executed`, shaped as Bolt's recorded
    sample (slack-reference/bolt-python-test-payloads/test_function__function_body.json) with what Slack's docs
    add to it: the run's own `bot_access_token` and its `workflow_execution_id`."""
    declared = declared_functions().get(callback_id, {})
    return {
        "type": "function_executed",
        "function": {
            "id": f"Fn0{callback_id.upper().replace('_', '')[:8]}",
            "callback_id": callback_id,
            "title": declared.get("title", ""),
            "description": declared.get("description", ""),
            "type": "app",
            "input_parameters": _parameters(declared.get("input_parameters", {})),
            "output_parameters": _parameters(declared.get("output_parameters", {})),
            "app_id": APP_ID,
            "date_updated": int(time.time()),
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": workflow_execution_id,
        "event_ts": f"{time.time():.6f}",
        "bot_access_token": token,
    }


def _parameters(declared: dict[str, dict]) -> list[dict]:
    """manifest.yml's parameters as the event lists them."""
    return [
        {
            "type": spec["type"],
            "name": name,
            "title": spec.get("title", name),
            "description": spec.get("description", ""),
            "is_required": bool(spec.get("is_required")),
        }
        for name, spec in declared.items()
    ]


# --- interactions ---


def view_submission(user: str, view: dict, values: dict, *, team: str) -> dict:
    """Submitting `view` (as the app sent it, with Slack's id) with its inputs in `values`."""
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": TEAM_DOMAIN},
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": LEGACY_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "team_id": team,
            "type": "modal",
            "hash": "h",
            "root_view_id": view.get("id"),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            **view,
            "state": {"values": values},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def message_shortcut(
    user: str, message: Message, callback_id: str, *, team: str, response_url: str, channel_name: str = ""
) -> dict:
    """Someone chose one of the app's shortcuts from a message's menu (a `message_action`)."""
    shown = {
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "user": message.user or BOT_USER_ID,
        **({"thread_ts": message.thread_ts} if message.thread_ts else {}),
        **({"blocks": message.blocks} if message.blocks else {}),
        **({} if message.user else {"bot_id": BOT_ID}),
    }
    return {
        "type": "message_action",
        "token": LEGACY_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team, "domain": TEAM_DOMAIN},
        "user": _user(user, team),
        "channel": {"id": message.channel, "name": channel_name or message.channel},
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
        "message_ts": message.ts,
        "message": shown,
        "response_url": response_url,
        "is_enterprise_install": False,
    }


def global_shortcut(user: str, callback_id: str, *, team: str) -> dict:
    """Someone chose one of the app's shortcuts from the lightning menu."""
    return {
        "type": "shortcut",
        "token": LEGACY_TOKEN,
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team, "domain": TEAM_DOMAIN},
        "user": _user(user, team),
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
        "is_enterprise_install": False,
    }


def block_actions(
    user: str,
    action: dict,
    *,
    team: str,
    message: Message | None = None,
    view: dict | None = None,
    response_url: str = "",
) -> dict:
    """Someone used an element on a message (with a response_url) or on a view such as the Home tab."""
    payload = {
        "type": "block_actions",
        "team": {"id": team, "domain": TEAM_DOMAIN},
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": LEGACY_TOKEN,
        "trigger_id": new_trigger_id(),
        "actions": [action],
        "is_enterprise_install": False,
    }
    if message is not None:
        payload.update(
            container={
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            channel={
                "id": message.channel,
                "name": "directmessage" if message.channel.startswith("D") else message.channel,
            },
            message={"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
            response_url=response_url,
        )
    if view is not None:
        payload.update(container={"type": "view", "view_id": view.get("id", "")}, view=view)
    return payload


def find_element(blocks: list[dict], action_id: str, block_id: str | None = None) -> tuple[dict, dict]:
    """The block and interactive element with this action_id (and block_id, when given)."""
    found = next(
        (
            (block, element)
            for block in blocks
            for element in [*block.get("elements", []), block.get("accessory") or {}]
            if element.get("action_id") == action_id and block_id in (None, block.get("block_id"))
        ),
        None,
    )
    if found is None:
        raise LookupError(f"no element with action_id {action_id!r}")
    return found


def action(block: dict, element: dict, chosen: Any = None) -> dict:
    """One entry of block_actions' `actions`: the element, and what was chosen in it."""
    pressed = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block.get("block_id", "b"),
        "action_ts": str(time.time()),
    }
    if element["type"] == "button":
        return {**pressed, "value": element.get("value", ""), "text": element["text"]}
    return {**pressed, **chosen_state(element, chosen)}


def state_values(view: dict, inputs: dict[str, Any]) -> dict:
    """A view's state.values on submission, from what was chosen in each input block (by block_id)."""
    return {
        block["block_id"]: {
            block["element"]["action_id"]: {
                "type": block["element"]["type"],
                **chosen_state(block["element"], inputs.get(block["block_id"])),
            }
        }
        for block in view.get("blocks", [])
        if block.get("type") == "input" and block.get("block_id")
    }


def chosen_state(element: dict, chosen: Any) -> dict:
    """How Slack reports what was chosen in an element: an input's state, or a block action's selection.

    `chosen` is the typed text, the chosen option's value (or values), user (or users), date, time or channel."""
    kind = element["type"]
    if kind == "plain_text_input":
        return {"value": chosen or None}
    if kind in ("static_select", "radio_buttons"):
        return {"selected_option": _option(element, chosen)}
    if kind in ("checkboxes", "multi_static_select"):
        return {"selected_options": [option for value in chosen or [] if (option := _option(element, value))]}
    if kind == "multi_users_select":
        return {"selected_users": list(chosen or [])}
    single = {
        "users_select": "selected_user",
        "channels_select": "selected_channel",
        "conversations_select": "selected_conversation",
        "datepicker": "selected_date",
        "timepicker": "selected_time",
    }
    if kind in single:
        return {single[kind]: chosen or None}
    raise ValueError(f"no state for a {kind} element")


def _option(element: dict, value: Any) -> dict | None:
    options = [
        *element.get("options", []),
        *(o for group in element.get("option_groups", []) for o in group["options"]),
    ]
    return next((option for option in options if option.get("value") == value), None)
