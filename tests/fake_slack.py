"""The tests' fake Slack: the playground's Web API (slack_app.playground.slack_api), on its own thread.

On top of the shared Web API it adds what tests need: the strictest checks, always (the shared
Block Kit schema, the method catalogue and manifest.yml's scopes, read from ../shared/slack-reference;
anything Slack would reject is recorded in `violations`, and the fixture fails the test), injected
faults, Slack's side of Socket Mode and of the OAuth install, and ways to wait for the app.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web

from slack_app.playground import checks
from slack_app.playground.checks import MESSAGE_BLOCK_LIMIT, VIEW_BLOCK_LIMIT, Checks  # noqa: F401
from slack_app.playground.slack_api import Call, Message, WebApi, person  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "slack-reference"
STRICT = Checks.from_reference(REFERENCE, ROOT / "manifest.yml")


def _tier_limits() -> dict[str, int]:
    """Calls per minute each method allows, from the catalogue's rate-limit labels ("Tier 3: 50+ per minute")."""
    per_tier = {"1": 1, "2": 20, "3": 50, "4": 100}
    catalogue = json.loads((REFERENCE / "web-api-methods" / "methods.json").read_text())
    limits = {}
    for method, spec in catalogue.items():
        limit = spec.get("rate_limit") or {}
        label = limit.get("label", "") if isinstance(limit, dict) else str(limit)
        if label.startswith("Tier "):
            limits[method] = per_tier[label[5]]
    return limits


TIER_LIMITS = _tier_limits()
POST_MESSAGE_PER_CHANNEL_PER_MINUTE = 60  # chat.postMessage's special limit: about one a second per channel

# Checks of one message's blocks or one view, for tests of the templates themselves.
_check_blocks = partial(checks.check_blocks, STRICT.block_kit)
_check_view = partial(checks.check_view, STRICT.block_kit)


# What an incident at Slack looks like from the app's side, one kind a stretch (FakeSlack.incident):
INCIDENT_KINDS = (
    "html_503",  # Slack's edge: 503 with an HTML page, no JSON at all
    "json_5xx",  # a 500/502/504 with a JSON error body
    "slack_error",  # HTTP 200, ok false: service_unavailable, internal_error, fatal_error or request_timeout
    "timeout",  # carried out (or not), but answered only after the app's client gave up
    "ratelimited",  # 429 with Retry-After, whatever the budget
    "slow",  # answered, correctly, after 5 seconds
)
TEMPORARY_ERRORS = ("service_unavailable", "internal_error", "fatal_error", "request_timeout")


@dataclass
class Incident:
    """Every call to `methods` (None: every method) answers the same way until `until` (time.monotonic)."""

    kind: str
    until: float
    methods: frozenset[str] | None = None
    error: str = "service_unavailable"  # slack_error's
    status: int = 503  # json_5xx's
    seconds: float = 5.0  # slow's latency, timeout's hold, ratelimited's Retry-After
    carried_out: bool = True  # timeout: whether the call took effect before the late answer

    def covers(self, method: str, now: float) -> bool:
        return now < self.until and (self.methods is None or method in self.methods)


@dataclass
class Fault:
    status: int
    times: int
    retry_after: int = 1
    body: dict = field(default_factory=lambda: {"ok": False, "error": "ratelimited"})


# What Slack's edge answers in an incident: an HTML page, not the Web API's JSON.
INCIDENT_PAGE = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>Slack is down</body></html>"


@dataclass
class Outage:
    methods: set[str]
    until: float  # monotonic
    status: int
    body: str
    content_type: str


DEFAULT_USERS = {
    "U0ASKER": person("U0ASKER", "Ada Asker"),
    "U0HELP1": person("U0HELP1", "Hal Helper", tz="America/New_York"),
    "U0HELP2": person("U0HELP2", "Hana Helper", tz="Asia/Tokyo"),
    "U0HELP3": person("U0HELP3", "Hugo Helper"),
    "U0BOT": person("U0BOT", "Build Bot", is_bot=True),
    "U0GONE": person("U0GONE", "Gone Person", deleted=True),
}


class FakeSlack(WebApi):
    app_token = "xapp-test-app-token"
    client_id, client_secret = "1234.5678", "test-client-secret"

    def __init__(
        self,
        token: str,
        users: dict[str, dict] | None = None,
        latency: float = 0.0,
        validate: bool = True,
        rate_window: float | None = None,
    ):
        super().__init__(token, users or DEFAULT_USERS, STRICT if validate else None)
        for uid in range(4, 13):  # enough teammates for the ten-person limit
            self.users.setdefault(f"U0HELP{uid}", person(f"U0HELP{uid}", f"Helper {uid}"))
        self.validate = validate  # False skips the checks: benchmarks must not spend CPU on them
        self.latency = latency
        self.latency_of: dict[str, float] = {}  # method → its own latency, instead of `latency`
        # Whether the app still has work it owes Slack (set by the fixture that serves the app): settling
        # waits for it too, for a busy machine can leave a quiet gap before the app's first call.
        self.app_owes: Callable[[], bool] = lambda: False
        self._codes: dict[str, tuple[str, bool]] = {}  # OAuth code → (workspace, rotating tokens?)
        self._refresh_tokens: dict[str, str] = {}
        self.granted_refresh_tokens: list[str] = []  # every refresh token ever handed out, spent or not
        self._socket: web.WebSocketResponse | None = None
        self._socket_acks: dict[str, asyncio.Future] = {}
        self.socket_connected = threading.Event()
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._outages: list[Outage] = []
        # Slack's rate tiers, each minute lasting `rate_window` seconds (None: no limits): a bucket per
        # token and method (and channel, for chat.postMessage) holding half a minute's calls.
        self.rate_window = rate_window
        self._buckets: dict[tuple, tuple[float, float]] = {}  # → (calls left, when last filled)
        self.rate_limited: Counter = Counter()  # method → 429s answered
        self._incident: Incident | None = None
        self.faulted: Counter = Counter()  # incident kind → calls answered with it
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
            self.add_routes(app)
            app.router.add_get("/socket", self._handle_socket)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        def run() -> None:
            self._loop = self.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-slack", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Slack did not start")
        return self

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.new_event_loop()

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

    def incident(self, incident: Incident) -> None:
        """From now until `incident.until`, calls it covers are answered as in an incident at Slack (they
        are still recorded, and a `timeout` call carried out still changes the conversation)."""
        self._incident = incident

    def calm(self) -> None:
        self._incident = None

    def outage(
        self,
        *methods: str,
        seconds: float,
        status: int = 503,
        body: str = INCIDENT_PAGE,
        content_type: str = "text/html",
    ) -> None:
        """For the next `seconds`, every call to these methods answers `status` with `body` (by default the
        HTML page Slack's edge serves in an incident) and does nothing."""
        with self._lock:
            self._outages.append(Outage(set(methods), time.monotonic() + seconds, status, body, content_type))

    def end_outages(self) -> None:
        with self._lock:
            self._outages.clear()

    def wait_for(self, condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
        """Polls until `condition` holds; the ceiling is generous, for it costs time only when something is wrong."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = condition()
            if result:
                return result
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Waits until the app owes nothing and no call has arrived for `quiet` seconds: it has finished its work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.calls[-1].at if self.calls else 0.0
            if time.monotonic() - last >= quiet and not self.app_owes():
                return
            time.sleep(0.05)

    # --- HTTP: faults and OAuth before the Web API's own answer ---

    async def _reply(self, method: str, args: dict[str, Any], token: str, request: web.Request) -> web.Response:
        incident = self._incident
        if incident is not None and incident.covers(method, time.monotonic()):
            with self._lock:
                self.faulted[incident.kind] += 1
            return await self._incident_answer(incident, method, args, token, request)
        over_budget = self._over_budget(method, args, token)
        if over_budget:
            with self._lock:
                self.rate_limited[method] += 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(max(1, math.ceil(over_budget)))},
            )
        latency = self.latency_of.get(method, self.latency)
        if latency:
            await asyncio.sleep(latency)
        outage = self._outage(method)
        if outage:
            return web.Response(status=outage.status, text=outage.body, content_type=outage.content_type)
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
        return await super()._reply(method, args, token, request)

    async def _incident_answer(
        self, incident: Incident, method: str, args: dict[str, Any], token: str, request: web.Request
    ) -> web.Response:
        if incident.kind == "html_503":
            return web.Response(status=503, text=INCIDENT_PAGE, content_type="text/html")
        if incident.kind == "json_5xx":
            return web.json_response({"ok": False, "error": "internal_error"}, status=incident.status)
        if incident.kind == "slack_error":
            return web.json_response({"ok": False, "error": incident.error})
        if incident.kind == "ratelimited":
            headers = {"Retry-After": str(max(1, math.ceil(incident.seconds)))}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        if incident.kind == "timeout":
            answer = await super()._reply(method, args, token, request) if incident.carried_out else None
            await asyncio.sleep(incident.seconds)
            return answer or web.json_response({"ok": False, "error": "request_timeout"}, status=504)
        await asyncio.sleep(incident.seconds)  # slow
        return await super()._reply(method, args, token, request)

    def _authorised(self, method: str, token: str) -> bool:
        return token == self.app_token if method == "apps.connections.open" else super()._authorised(method, token)

    def _answer(self, method: str, args: dict[str, Any], token: str = "") -> dict:
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return super()._answer(method, args, token)

    def _over_budget(self, method: str, args: dict[str, Any], token: str) -> float:
        """0 if the call fits the method's tier; else seconds until it would."""
        if not self.rate_window:
            return 0.0
        if method == "chat.postMessage":
            per_minute, key = POST_MESSAGE_PER_CHANNEL_PER_MINUTE, (token, method, args.get("channel"))
        elif method in TIER_LIMITS:
            per_minute, key = TIER_LIMITS[method], (token, method)
        else:
            return 0.0
        capacity, per_second = max(2.0, per_minute / 2), per_minute / self.rate_window
        now = time.monotonic()
        with self._lock:
            left, filled = self._buckets.get(key, (capacity, now))
            left = min(capacity, left + (now - filled) * per_second)
            if left >= 1:
                self._buckets[key] = (left - 1, now)
                return 0.0
            self._buckets[key] = (left, now)
            return (1 - left) / per_second

    def _outage(self, method: str) -> Outage | None:
        now = time.monotonic()
        with self._lock:
            return next((o for o in self._outages if method in o.methods and now < o.until), None)

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

    # --- Socket Mode: Slack's side of the WebSocket ---

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0SLACKASK"},
            }
        )
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
            await self._socket.send_json(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": 0,
                }
            )
            return await asyncio.wait_for(acked, timeout)

        return asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout + 1)

    # --- OAuth: installing into a workspace, and rotating its token ---

    def prepare_install(self, code: str, team_id: str, rotating: bool = False) -> None:
        """The code Slack would hand the browser after someone approves the app for `team_id`."""
        self._codes[code] = (team_id, rotating)

    def _oauth_access(self, args: dict[str, Any], request: web.Request) -> dict:
        credentials = (args.get("client_id"), args.get("client_secret"))
        if credentials != (self.client_id, self.client_secret) and not request.headers.get(
            "Authorization", ""
        ).startswith("Basic "):
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
        grant = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write,users:read,reactions:read",
            "bot_user_id": self.bot_user_id,
            "app_id": "A0SLACKASK",
            "team": {"id": team, "name": f"Team {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U0ASKER"},
        }
        if rotating:
            refresh = f"xoxe-{team.lower()}-{next(self._ts)}"
            self._refresh_tokens[refresh] = team
            self.granted_refresh_tokens.append(refresh)
            grant.update(refresh_token=refresh, expires_in=60)  # inside the app's rotate-ahead window
        return grant
