"""manifest.yml is valid, and declares exactly what the app listens for and the scopes its calls need.

What the app registers is read from the real Bolt app: the names slack_app/ids.py defines (and the
manifest declares) are only candidates, kept when one of the app's listeners matches a request for
them. Every listener must match some candidate, so a listener this test cannot name fails it rather
than slipping past.
"""

from __future__ import annotations

import ast
import asyncio
import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from slack_app.domain.asks import DECLINE_LINES, ESTIMATES
from slack_app.ids import ActionId, CallbackId, Command, EventType, FunctionId, StepInput, StepOutput
from slack_app.settings import Settings
from slack_app.wiring.app import create_app

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "slack_app"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "slack-reference"
SCHEMA = REFERENCE / "manifest-schema" / "schemas" / "manifest.schema.1.0.0.json"
METHODS = REFERENCE / "web-api-methods" / "methods.json"

EVENTS_URL_SUFFIX = "/slack/events"

# Bot scopes each subscribed event needs (the Events API reference; not in methods.json).
# Subscribing to a new event means adding it here, with an empty set if it needs no scope.
EVENT_SCOPES: dict[str, set[str]] = {
    "reaction_added": {"reactions:read"},
    "reaction_removed": {"reactions:read"},
    "app_home_opened": set(),
    "app_uninstalled": set(),
    "tokens_revoked": set(),
    "user_change": {"users:read"},
    "team_join": {"users:read"},
    "function_executed": set(),
}

# Calls that are not `client.<method>(…)` but still reach the Web API with the bot token.
IMPLICIT_METHODS = {"say": "chat.postMessage"}
# slack_sdk's helpers that are several Web API calls under one name.
CLIENT_HELPERS = {"files_upload_v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}

# How Slack would deliver each kind of registration, to ask Bolt's own matchers.
CANDIDATE_BODIES = {
    "command": lambda name: [{"command": name, "text": ""}],
    "event": lambda name: [{"type": "event_callback", "team_id": "T1", "event": {"type": name}}],
    "action": lambda name: [{"type": "block_actions", "actions": [{"action_id": name, "block_id": "b"}]}],
    "view": lambda name: [
        {"type": "view_submission", "view": {"type": "modal", "callback_id": name}},
        {"type": "view_closed", "view": {"type": "modal", "callback_id": name}},
    ],
    "shortcut": lambda name: [
        {"type": "shortcut", "callback_id": name},
        {"type": "message_action", "callback_id": name},
    ],
    "function": lambda name: [
        {
            "type": "event_callback",
            "team_id": "T1",
            "event": {
                "type": "function_executed",
                "function": {"callback_id": name},
                "function_execution_id": "Fx1",
                "inputs": {},
            },
        }
    ],
}
INTERACTIVE_KINDS = {"action", "view", "shortcut"}


# --- loading ---


@cache
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@cache
def methods_catalogue() -> dict:
    return json.loads(METHODS.read_text())


@cache
def source_trees() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in sorted(SOURCE.rglob("*.py"))]


def declared_commands() -> set[str]:
    return {entry["command"] for entry in manifest().get("features", {}).get("slash_commands", [])}


def declared_events() -> set[str]:
    return set(manifest().get("settings", {}).get("event_subscriptions", {}).get("bot_events", []))


def declared_shortcuts() -> set[str]:
    return {entry["callback_id"] for entry in manifest().get("features", {}).get("shortcuts", [])}


def declared_functions() -> dict[str, dict]:
    return manifest().get("functions", {})


def bot_scopes() -> set[str]:
    return set(manifest().get("oauth_config", {}).get("scopes", {}).get("bot", []))


# --- what the app registers ---


# Where each kind of registration takes its names from.
NAMED_IN_IDS = {
    "command": Command,
    "event": EventType,
    "action": ActionId,
    "view": CallbackId,
    "shortcut": CallbackId,
    "function": FunctionId,
}


@cache
def candidate_names() -> dict[str, set[str]]:
    """The names slack_app/ids.py defines for each kind of registration, plus everything the manifest declares."""
    found = {kind: {str(member) for member in NAMED_IN_IDS[kind]} for kind in CANDIDATE_BODIES}
    found["command"] |= declared_commands()
    found["event"] |= declared_events()
    found["shortcut"] |= declared_shortcuts()
    found["function"] |= set(declared_functions())
    return found


@cache
def bolt_listeners() -> list:
    app = create_app(Settings(bot_token="xoxb-x", signing_secret="s", redis_url="redis://127.0.0.1:1"))
    return list(app.bolt._async_listeners)


async def _matches(listener, body: dict) -> bool:
    # matchers[0] is the one Bolt built from the decorator's argument; any further ones are
    # the listener's own `matchers=` filters, which say nothing about what it registered for.
    request = AsyncBoltRequest(body=body, mode="socket_mode")
    return await listener.matchers[0].async_matches(request, BoltResponse(status=200))


async def _registrations() -> tuple[dict[str, set[str]], list[str]]:
    registered: dict[str, set[str]] = {kind: set() for kind in CANDIDATE_BODIES}
    unnamed = []
    for listener in bolt_listeners():
        hit = False
        for kind, names in candidate_names().items():
            for name in names:
                for body in CANDIDATE_BODIES[kind](name):
                    if await _matches(listener, body):
                        registered[kind].add(name)
                        hit = True
        if not hit:
            unnamed.append(getattr(listener.ack_function, "__qualname__", repr(listener)))
    return registered, unnamed


@cache
def registrations() -> tuple[dict[str, set[str]], list[str]]:
    """(kind -> names some listener answers, names of listeners that matched no candidate)."""
    loop = asyncio.new_event_loop()  # private: leaves the thread's current event loop alone
    try:
        return loop.run_until_complete(_registrations())
    finally:
        loop.close()


# --- what the app calls ---


def _receiver_is_client(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "client") or (
        isinstance(node, ast.Attribute) and node.attr == "client"
    )


@cache
def called_methods() -> dict[str, list[str]]:
    """Web API method (dotted, as written in Slack's docs) -> where the app calls it."""
    by_snake = {name.replace(".", "_"): name for name in methods_catalogue()}
    calls: dict[str, list[str]] = {}
    for path, tree in source_trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            func = node.func
            if isinstance(func, ast.Attribute) and _receiver_is_client(func.value) and func.attr in CLIENT_HELPERS:
                for method in CLIENT_HELPERS[func.attr]:
                    calls.setdefault(method, []).append(where)
            elif isinstance(func, ast.Attribute) and _receiver_is_client(func.value):
                if func.attr == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                    method = node.args[0].value
                else:
                    # Unknown names are kept as written so the catalogue check below reports them.
                    method = by_snake.get(func.attr, func.attr)
                calls.setdefault(method, []).append(where)
            elif isinstance(func, ast.Name) and func.id in IMPLICIT_METHODS:
                calls.setdefault(IMPLICIT_METHODS[func.id], []).append(where)
    return calls


def method_bot_scopes(method: str) -> set[str]:
    return {scope["name"] for scope in methods_catalogue()[method].get("scopes", {}).get("bot", [])}


# --- tests ---


def test_manifest_is_valid_against_slacks_schema():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors)


def test_every_listener_is_accounted_for():
    listeners = bolt_listeners()
    assert listeners, "the app registered no listeners at all"
    _, unnamed = registrations()
    assert not unnamed, (
        f"listeners {unnamed} match none of the names found in slack_app/ or manifest.yml; "
        "register them with a literal name, or teach tests/test_manifest.py about the new kind"
    )


def test_slash_commands_match_the_manifest():
    registered, _ = registrations()
    assert registered["command"], "found no slash command listener, so this test would pass vacuously"
    assert registered["command"] == declared_commands()


def test_bot_events_match_the_manifest():
    registered, _ = registrations()
    assert registered["event"], "found no event listener, so this test would pass vacuously"
    # A custom step's listener hears function_executed (for its own callback_id only).
    heard = registered["event"] | ({EventType.FUNCTION_EXECUTED.value} if registered["function"] else set())
    assert heard == declared_events()


def test_custom_steps_match_the_manifest_and_run_remotely_in_an_org_ready_app():
    registered, _ = registrations()
    assert registered["function"], "found no custom step listener, so this test would pass vacuously"
    assert registered["function"] == set(declared_functions()) == set(FunctionId)
    assert manifest()["settings"]["function_runtime"] == "remote"
    assert manifest()["settings"]["org_deploy_enabled"] is True  # Slack lists custom steps of org-ready apps only


def test_the_send_ask_step_declares_the_inputs_and_outputs_the_app_reads_and_writes():
    step = declared_functions()[FunctionId.SEND_ASK]
    assert set(step["input_parameters"]) == set(StepInput)
    assert set(step["output_parameters"]) == set(StepOutput)
    inputs = step["input_parameters"]
    assert inputs["estimate"]["enum"] == list(ESTIMATES)
    assert [choice["value"] for choice in inputs["estimate"]["choices"]] == list(ESTIMATES)
    assert inputs["decline"]["enum"] == list(DECLINE_LINES)
    assert inputs["teammates"]["items"]["type"] == inputs["asker"]["type"] == "slack#/types/user_id"
    optional = {name for name, spec in inputs.items() if not spec["is_required"]}
    assert optional == {"needed_by", "helpers_needed", "workflow_name"}


def test_shortcuts_match_the_manifest():
    registered, _ = registrations()
    assert registered["shortcut"], "found no shortcut listener, so this test would pass vacuously"
    assert registered["shortcut"] == declared_shortcuts()


def test_every_shortcut_event_and_command_in_the_manifest_is_named_in_ids():
    assert declared_shortcuts() and declared_shortcuts() <= set(CallbackId)
    assert declared_events() and declared_events() <= set(EventType)
    assert declared_commands() and declared_commands() <= set(Command)


def test_the_shortcuts_are_a_message_shortcut_and_a_global_one():
    kinds = {entry["callback_id"]: entry["type"] for entry in manifest()["features"]["shortcuts"]}
    assert kinds == {"ask_about_message": "message", "new_ask": "global"}


def test_slash_commands_arrive_escaped_so_mentions_can_be_read():
    assert all(entry["should_escape"] is True for entry in manifest()["features"]["slash_commands"])


def test_interactivity_is_enabled_exactly_when_the_app_has_interactive_listeners():
    registered, _ = registrations()
    interactive = {kind: sorted(registered[kind]) for kind in INTERACTIVE_KINDS if registered[kind]}
    enabled = manifest().get("settings", {}).get("interactivity", {}).get("is_enabled", False)
    assert bool(interactive) == enabled, f"interactive listeners: {interactive}; interactivity.is_enabled: {enabled}"


def test_the_app_calls_the_web_api_methods_this_test_expects():
    assert {"chat.postMessage", "chat.update", "views.open", "users.info"} <= called_methods().keys()


def test_every_called_method_exists_in_slacks_catalogue():
    unknown = {method: where for method, where in called_methods().items() if method not in methods_catalogue()}
    assert not unknown, f"not Web API methods: {unknown}"


@pytest.mark.parametrize("method", sorted(called_methods()))
def test_bot_scopes_cover_each_called_method(method):
    if method not in methods_catalogue():
        pytest.skip("reported by test_every_called_method_exists_in_slacks_catalogue")
    needed = method_bot_scopes(method)
    assert not needed or needed & bot_scopes(), (
        f"{method} (called at {called_methods()[method]}) needs one of the bot scopes {sorted(needed)}"
    )


def test_bot_scopes_cover_each_subscribed_event():
    unknown = declared_events() - EVENT_SCOPES.keys()
    assert not unknown, f"add the scopes these events need to EVENT_SCOPES: {sorted(unknown)}"
    for event in declared_events():
        assert EVENT_SCOPES[event] <= bot_scopes(), f"{event} needs {sorted(EVENT_SCOPES[event])}"


def test_no_bot_scope_goes_unused():
    justified = set().union(*(EVENT_SCOPES.get(event, set()) for event in declared_events()))
    for method in called_methods():
        if method in methods_catalogue():
            justified |= method_bot_scopes(method)
    if declared_commands() or declared_shortcuts():
        justified.add("commands")
    assert not bot_scopes() - justified, f"bot scopes nothing in the app needs: {sorted(bot_scopes() - justified)}"


def test_every_url_points_at_the_one_slack_route():
    def urls(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from urls(value)
        elif isinstance(node, list):
            for value in node:
                yield from urls(value)
        elif isinstance(node, str) and node.startswith(("http://", "https://")):
            yield node

    found = list(urls(manifest()))
    assert found, "the manifest names no request URL"
    assert all(url.endswith(EVENTS_URL_SUFFIX) for url in found), found


def test_oauth_installs_ask_for_exactly_the_manifest_scopes():
    from slack_app.slack.slack_api import BOT_SCOPES

    assert sorted(BOT_SCOPES) == sorted(manifest()["oauth_config"]["scopes"]["bot"])
