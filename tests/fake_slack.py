"""A local stand-in for Slack's Web API, over real HTTP.

It answers the methods slack-ask calls with the shapes Slack uses, keeps each conversation's
messages (so a test can read what a person would see), and checks every call the way Slack
would: the method exists, required arguments are present, no unknown arguments, the bot token
is sent, and every view and blocks payload validates against the shared Block Kit schema and
Slack's size limits. Anything Slack would reject is recorded in `violations`, and the fixture
fails the test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema
from aiohttp import web

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "slack-reference"
BLOCK_KIT_SCHEMA = REFERENCE / "block-kit-schema-tightknit" / "slack-block-kit.schema.json"
METHODS = REFERENCE / "web-api-methods" / "methods.json"

# slack_sdk adds team_id to every call from a client Bolt hands a listener (org-ready apps);
# Slack accepts it on every method, though the catalogue lists it on few.
ALWAYS_ACCEPTED_ARGS = {"token", "team_id"}

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40000


def _load_validators() -> dict[str, jsonschema.Draft202012Validator]:
    schema = json.loads(BLOCK_KIT_SCHEMA.read_text())
    defs = {"$schema": schema["$schema"], "$defs": schema["$defs"]}
    return {
        "blocks": jsonschema.Draft202012Validator(schema),
        "modal": jsonschema.Draft202012Validator({**defs, "$ref": "#/$defs/modal_view"}),
        "home": jsonschema.Draft202012Validator({**defs, "$ref": "#/$defs/home_view"}),
    }


VALIDATORS = _load_validators()
METHOD_CATALOGUE: dict[str, dict] = json.loads(METHODS.read_text())


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    token: str = ""


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict]
    history: list[dict] = field(default_factory=list)  # earlier versions, oldest first
    metadata: dict | None = None

    @property
    def all_text(self) -> str:
        """The fallback text and every text in the blocks, joined: what a person reads."""
        parts = [self.text]
        _collect_text(self.blocks, parts)
        return "\n".join(parts)

    def action_ids(self) -> list[str]:
        ids: list[str] = []
        for block in self.blocks:
            for element in [*block.get("elements", []), block.get("accessory") or {}]:
                if "action_id" in element:
                    ids.append(element["action_id"])
        return ids


def _collect_text(node: Any, parts: list[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("text"), str):
            parts.append(node["text"])
        for value in node.values():
            _collect_text(value, parts)
    elif isinstance(node, list):
        for value in node:
            _collect_text(value, parts)


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int = 1
    body: dict = field(default_factory=lambda: {"ok": False, "error": "ratelimited"})


def person(user_id: str, name: str, tz: str = "Europe/London", **extra: Any) -> dict:
    return {"id": user_id, "name": name.lower().replace(" ", "."), "real_name": name, "tz": tz,
            "deleted": False, "is_bot": False, "is_admin": False, "is_owner": False, **extra}


DEFAULT_USERS = {
    "U0ASKER": person("U0ASKER", "Ada Asker"),
    "U0HELP1": person("U0HELP1", "Hal Helper", tz="America/New_York"),
    "U0HELP2": person("U0HELP2", "Hana Helper", tz="Asia/Tokyo"),
    "U0HELP3": person("U0HELP3", "Hugo Helper"),
    "U0BOT": person("U0BOT", "Build Bot", is_bot=True),
    "U0GONE": person("U0GONE", "Gone Person", deleted=True),
}


class FakeSlack:
    team_id = "T0TEAM"
    bot_user_id = "U0SLACKASK"

    app_token = "xapp-test-app-token"
    client_id, client_secret = "1234.5678", "test-client-secret"

    def __init__(self, token: str, users: dict[str, dict] | None = None, latency: float = 0.0, validate: bool = True):
        self.token = token
        self.tokens: dict[str, str] = {token: self.team_id}  # bot token → its workspace
        self._codes: dict[str, tuple[str, bool]] = {}  # OAuth code → (workspace, rotating tokens?)
        self._refresh_tokens: dict[str, str] = {}
        self._socket: web.WebSocketResponse | None = None
        self._socket_acks: dict[str, asyncio.Future] = {}
        self.socket_connected = threading.Event()
        self.validate = validate  # False skips the schema checks: benchmarks must not spend CPU on them
        self.users = dict(users or DEFAULT_USERS)
        for uid in range(4, 13):  # enough teammates for the ten-person limit
            self.users.setdefault(f"U0HELP{uid}", person(f"U0HELP{uid}", f"Helper {uid}"))
        self.latency = latency
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.responses: list[dict] = []  # what the app sent to response_url
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle ---

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def start(self) -> FakeSlack:
        started = threading.Event()

        async def serve() -> None:
            app = web.Application(client_max_size=4 * 1024 * 1024)
            app.router.add_post("/api/{method}", self._handle_api)
            app.router.add_get("/api/{method}", self._handle_api)
            app.router.add_post("/response/{name}", self._handle_response_url)
            app.router.add_get("/socket", self._handle_socket)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Slack did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- test controls ---

    def fail(self, method: str, status: int = 429, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls to `method` answer `status` (429s carry Retry-After).

        status 0 is a timeout: the call is carried out, but answered only after `retry_after` seconds,
        by when the app has given up on it — as when Slack is slow but not down."""
        body = {"ok": False, "error": "ratelimited"} if status == 429 else {"ok": False, "error": "internal_error"}
        self._faults[method].append(Fault(status=status, times=times, retry_after=retry_after, body=body))

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def dms(self, user_id: str) -> list[Message]:
        """Messages in the app's DM with a person, oldest first, as they look now."""
        channel = self.dm_channel(user_id)
        with self._lock:
            return sorted((m for m in self.messages.values() if m.channel == channel), key=lambda m: float(m.ts))

    def wait_for(self, condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Waits until no call has arrived for `quiet` seconds: the app has finished its work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)

    # --- HTTP ---

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self.responses.append(payload)
        return web.Response(text="ok")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            self.calls.append(Call(method, args, token=token))
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self._take_fault(method)
        if fault and fault.status == 0:
            answer = self._answer(method, args, token)
            await asyncio.sleep(fault.retry_after)
            return web.json_response(answer)
        if fault:
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            return web.json_response(fault.body, status=fault.status, headers=headers)
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_access(args, request))
        valid = token == self.app_token if method == "apps.connections.open" else token in self.tokens
        if not valid:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        problems = self._check(method, args) if self.validate else []
        if problems:
            with self._lock:
                self.violations.extend(f"{method}: {problem}" for problem in problems)
            return web.json_response({"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": problems}})
        return web.json_response(self._answer(method, args, token))

    # --- Socket Mode: Slack's side of the WebSocket ---

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                                "connection_info": {"app_id": "A0SLACKASK"}})
        self.socket_connected.set()
        async for frame in socket:
            if frame.type.name == "TEXT":
                ack = json.loads(frame.data)
                waiting = self._socket_acks.pop(ack.get("envelope_id"), None)
                if waiting and not waiting.done():
                    waiting.set_result(ack.get("payload"))
        return socket

    def socket_request(self, kind: str, payload: dict, timeout: float = 5.0) -> Any:
        """Sends one envelope over the app's WebSocket and returns the payload of its ack."""
        if not self.socket_connected.wait(timeout):
            raise AssertionError("the app never connected over Socket Mode")
        envelope_id = f"env-{next(self._ts)}"

        async def send() -> Any:
            acked = asyncio.get_running_loop().create_future()
            self._socket_acks[envelope_id] = acked
            await self._socket.send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                          "accepts_response_payload": kind != "events_api", "retry_attempt": 0})
            return await asyncio.wait_for(acked, timeout)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout + 1)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            faults = self._faults.get(method)
            if not faults:
                return None
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            return fault

    # --- checks: what Slack would reject ---

    def _check(self, method: str, args: dict[str, Any]) -> list[str]:
        spec = METHOD_CATALOGUE.get(method)
        if spec is None:
            return [f"unknown method {method}"]
        known = spec.get("args", {})
        problems = [f"missing required argument {name}" for name, arg in known.items() if arg.get("required") and name not in args]
        problems += [f"unknown argument {name}" for name in args if name not in known and name not in ALWAYS_ACCEPTED_ARGS]
        if "blocks" in args:
            problems += _check_blocks(args["blocks"], MESSAGE_BLOCK_LIMIT, "blocks")
            if not args.get("text"):
                problems.append("blocks without a text fallback (notifications and screen readers need it)")
        if len(str(args.get("text", ""))) > MESSAGE_TEXT_LIMIT:
            problems.append("text over 40,000 characters")
        if "view" in args:
            problems += _check_view(args["view"], "home" if method == "views.publish" else "modal")
        return problems

    # --- answers ---

    def _answer(self, method: str, args: dict[str, Any], token: str = "") -> dict:
        if method == "auth.test":
            team = self.tokens.get(token, self.team_id)
            return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake Team", "user": "slack-ask",
                    "team_id": team, "user_id": self.bot_user_id, "bot_id": "B0SLACKASK", "is_enterprise_install": False}
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "users.info":
            user = self.users.get(args["user"])
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {**user, "team_id": self.team_id}}
        if method == "chat.postMessage":
            return self._post(args)
        if method == "chat.update":
            return self._update(args)
        if method in ("views.open", "views.push", "views.update", "views.publish"):
            view = _as_json(args["view"])
            return {"ok": True, "view": {**view, "id": f"V{next(self._ts):08d}", "team_id": self.team_id, "state": {"values": {}}, "hash": "h"}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": self.dm_channel(args.get("users", "U0NOBODY").split(",")[0])}}
        if method == "conversations.history":
            return self._history(args)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        return {"ok": True}

    # --- OAuth: installing into a workspace, and rotating its token ---

    def prepare_install(self, code: str, team_id: str, rotating: bool = False) -> None:
        """The code Slack would hand the browser after someone approves the app for `team_id`."""
        self._codes[code] = (team_id, rotating)

    def _oauth_access(self, args: dict[str, Any], request: web.Request) -> dict:
        credentials = (args.get("client_id"), args.get("client_secret"))
        if credentials != (self.client_id, self.client_secret) and not request.headers.get("Authorization", "").startswith("Basic "):
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("grant_type") == "refresh_token":
            team = self._refresh_tokens.pop(args.get("refresh_token", ""), None)
            return self._grant(team, rotating=True) if team else {"ok": False, "error": "invalid_refresh_token"}
        team, rotating = self._codes.pop(args.get("code", ""), (None, False))
        return self._grant(team, rotating) if team else {"ok": False, "error": "invalid_code"}

    def _grant(self, team: str, rotating: bool) -> dict:
        token = f"xoxb-{team.lower()}-{next(self._ts)}"
        with self._lock:
            self.tokens[token] = team
        grant = {"ok": True, "access_token": token, "token_type": "bot", "scope": "commands,chat:write,users:read,reactions:read",
                 "bot_user_id": self.bot_user_id, "app_id": "A0SLACKASK", "team": {"id": team, "name": f"Team {team}"},
                 "enterprise": None, "is_enterprise_install": False, "authed_user": {"id": "U0ASKER"}}
        if rotating:
            refresh = f"xoxe-{team.lower()}-{next(self._ts)}"
            self._refresh_tokens[refresh] = team
            grant.update(refresh_token=refresh, expires_in=60)  # inside the app's rotate-ahead window
        return grant

    def _next_ts(self) -> str:
        return f"{1_800_000_000 + next(self._ts)}.000100"

    def _post(self, args: dict[str, Any]) -> dict:
        channel = args["channel"]
        if channel.startswith(("U", "W")):
            if channel not in self.users:
                return {"ok": False, "error": "channel_not_found"}
            channel = self.dm_channel(channel)
        message = Message(channel=channel, ts=self._next_ts(), text=args.get("text", ""), blocks=_as_json(args.get("blocks", [])),
                          metadata=_as_json(args["metadata"]) if args.get("metadata") else None)
        with self._lock:
            self.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": {"type": "message", "text": message.text, "ts": message.ts}}

    def _history(self, args: dict[str, Any]) -> dict:
        with self._lock:
            found = sorted((m for m in self.messages.values() if m.channel == args["channel"]), key=lambda m: -float(m.ts))
        limit = int(args.get("limit", 100))
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        return {"ok": True, "has_more": len(found) > limit, "messages": [
            {"type": "message", "ts": m.ts, "text": m.text, **({"metadata": m.metadata} if with_metadata and m.metadata else {})}
            for m in found[:limit]]}

    def _update(self, args: dict[str, Any]) -> dict:
        key = (args["channel"], args["ts"])
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.history.append({"text": message.text, "blocks": message.blocks})
            message.text = args.get("text", message.text)
            message.blocks = _as_json(args.get("blocks", message.blocks))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}

    def counts(self) -> Counter:
        with self._lock:
            return Counter(call.method for call in self.calls)


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(dict(await request.post()))
    return args


def _as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _check_blocks(blocks: Any, limit: int, where: str) -> list[str]:
    blocks = _as_json(blocks)
    problems = [f"{where}: {error.message} at {list(error.absolute_path)}" for error in VALIDATORS["blocks"].iter_errors(blocks)]
    if isinstance(blocks, list):
        if len(blocks) > limit:
            problems.append(f"{where}: {len(blocks)} blocks (limit {limit})")
        problems += _duplicate_ids(blocks, where)
    return problems


def _check_view(view: Any, kind: str) -> list[str]:
    view = _as_json(view)
    problems = [f"view: {error.message} at {list(error.absolute_path)}" for error in VALIDATORS[kind].iter_errors(view)]
    blocks = view.get("blocks", []) if isinstance(view, dict) else []
    if len(blocks) > VIEW_BLOCK_LIMIT:
        problems.append(f"view: {len(blocks)} blocks (limit {VIEW_BLOCK_LIMIT})")
    return problems + _duplicate_ids(blocks, "view")


def _duplicate_ids(blocks: list, where: str) -> list[str]:
    block_ids = Counter(b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id"))
    action_ids = Counter()
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = block.get("elements", []) if block.get("type") == "actions" else [block.get("element") or block.get("accessory") or {}]
        for element in elements:
            if isinstance(element, dict) and element.get("action_id"):
                action_ids[(block.get("block_id"), element["action_id"])] += 1
    return [f"{where}: duplicate block_id {bid}" for bid, n in block_ids.items() if n > 1] + [
        f"{where}: duplicate action_id {aid}" for (_, aid), n in action_ids.items() if n > 1
    ]
