"""Slack's Web API, as far as slack-ask uses it, answered locally over real HTTP.

It answers the methods with the shapes Slack uses, keeps every conversation's messages (so a
person's DMs can be read back), and checks each call the way Slack would (see checks.py):
anything Slack would reject is answered with Slack's error and recorded in `violations`.
The playground serves it to the app; the tests' fake Slack extends it with faults and controls.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml
from aiohttp import web

from .checks import MANIFEST, Checks, as_json

APP_ID = "A0SLACKASK"
BOT_ID = "B0SLACKASK"
BOT_USER_ID = "U0SLACKASK"
VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    token: str = ""


@dataclass
class Execution:
    """A run of one of the app's custom steps, as Slack keeps it: running until the app completes it."""

    function: str  # its callback_id
    token: str  # the run's own token (the event's bot_access_token)
    state: str = "running"  # running | completed | failed
    outputs: dict | None = None
    error: str = ""
    completions: int = 0  # completeSuccess/completeError calls Slack accepted for it (at most one)


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict]
    history: list[dict] = field(default_factory=list)  # earlier versions, oldest first
    metadata: dict | None = None
    user: str = ""  # who wrote it, for a person's message; the app's own have none
    thread_ts: str = ""  # the thread's first message, for a reply
    files: list[dict] = field(default_factory=list)  # files shared with it: id, title, filename, content

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


def person(user_id: str, name: str, tz: str = "Europe/London", locale: str = "en-GB", **extra: Any) -> dict:
    """A users.info `user` object (`locale` is only answered to a call with include_locale, as Slack does)."""
    return {
        "id": user_id,
        "name": name.lower().replace(" ", "."),
        "real_name": name,
        "tz": tz,
        "locale": locale,
        "deleted": False,
        "is_bot": False,
        "is_admin": False,
        "is_owner": False,
        "updated": 1_700_000_000,
        **extra,
    }


class WebApi:
    """The Web API's state and answers; `add_routes` puts it on an aiohttp application."""

    team_id = "T0TEAM"
    bot_user_id = BOT_USER_ID

    def __init__(self, token: str, users: dict[str, dict], checks: Checks | None):
        self.token = token
        self.tokens: dict[str, str] = {token: self.team_id}  # bot token → its workspace
        self.users = dict(users)
        self.checks = checks  # None: nothing is checked (benchmarks must not spend CPU on it)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.messages: dict[tuple[str, str], Message] = {}
        self.responses: list[dict] = []  # what the app sent to response_url
        self.usergroups: dict[str, list[str]] = {}  # user group id → its members
        self.private_channels: set[str] = set()  # channels the app isn't in: it can't link to their messages
        self.files: dict[str, dict] = {}  # uploads: file id → filename, declared length, content once sent
        self.executions: dict[str, Execution] = {}  # function_execution_id → the run of a custom step
        self._ts = itertools.count(1)
        self._lock = threading.Lock()  # the tests read from other threads than the one serving

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._handle_api)
        app.router.add_get("/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files/{file_id}", self._handle_file)

    # --- reading what happened ---

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def counts(self) -> Counter:
        with self._lock:
            return Counter(call.method for call in self.calls)

    def say(self, user: str, channel: str, text: str, thread_ts: str = "") -> Message:
        """A person writes in a channel (or a thread of it), as people do between the app's messages."""
        message = Message(channel=channel, ts=self._next_ts(), text=text, blocks=[], user=user, thread_ts=thread_ts)
        with self._lock:
            self.messages[(channel, message.ts)] = message
        return message

    def permalink(self, channel: str, ts: str, thread_ts: str = "") -> str:
        link = f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}"
        return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts else link

    def dm_channel(self, user_id: str) -> str:
        return "D" + user_id[1:]

    def dms(self, user_id: str) -> list[Message]:
        """Messages in the app's DM with a person, oldest first, as they look now."""
        return self.conversation(self.dm_channel(user_id))

    def conversation(self, channel: str) -> list[Message]:
        with self._lock:
            return sorted((m for m in self.messages.values() if m.channel == channel), key=lambda m: float(m.ts))

    def start_execution(self, execution_id: str, function: str, token: str, team: str = "") -> Execution:
        """A workflow reaches one of the app's steps: Slack mints the run's token and keeps the run until the
        app completes it."""
        execution = Execution(function=function, token=token)
        with self._lock:
            self.tokens[token] = team or self.team_id
            self.executions[execution_id] = execution
        return execution

    # --- HTTP ---

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            self.calls.append(Call(method, args, token=token))
        return await self._reply(method, args, token, request)

    async def _reply(self, method: str, args: dict[str, Any], token: str, request: web.Request) -> web.Response:
        if not self._authorised(method, token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        rejection = self.checks.rejection(method, args) if self.checks else None
        if rejection:
            with self._lock:
                self.violations.extend(f"{method}: {problem}" for problem in rejection.problems)
            return web.json_response(
                {"ok": False, "error": rejection.error, "response_metadata": {"messages": rejection.problems}}
            )
        unknown = self._unknown_files(args)
        if unknown:  # Slack: "the user posting these blocks must have access to this file"
            with self._lock:
                self.violations.append(f"{method}: an image's slack_file {unknown} is no file the app uploaded")
            return web.json_response({"ok": False, "error": "invalid_blocks"})
        if method == "files.getUploadURLExternal":  # the upload URL is this server's own
            return web.json_response(self._upload_url(args, f"{request.scheme}://{request.host}"))
        return web.json_response(self._answer(method, args, token))

    def _unknown_files(self, args: dict[str, Any]) -> list[str]:
        found: list[str] = []
        _collect_file_ids(as_json(args.get("view")) or as_json(args.get("blocks")) or [], found)
        with self._lock:
            return [file_id for file_id in found if not self.files.get(file_id, {}).get("complete")]

    def _authorised(self, method: str, token: str) -> bool:
        return token in self.tokens

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self.responses.append(payload)
        self._responded(request.match_info["name"], payload)
        return web.Response(text="ok")

    def _responded(self, name: str, payload: dict) -> None:
        """What the app sent to the response_url named `name`; the playground shows it."""

    # --- files.uploadV2: an upload URL, the bytes posted to it, then completeUploadExternal ---

    def _upload_url(self, args: dict[str, Any], origin: str) -> dict:
        file_id = f"F{next(self._ts):08d}"
        with self._lock:
            self.files[file_id] = {"filename": args["filename"], "length": int(args["length"]), "content": None}
        return {"ok": True, "upload_url": f"{origin}/upload/{file_id}", "file_id": file_id}

    async def _handle_upload(self, request: web.Request) -> web.Response:
        content = await request.read()
        with self._lock:
            upload = self.files.get(request.match_info["file_id"])
            if upload is None:
                return web.Response(status=404, text="file not found")
            if len(content) != upload["length"]:
                return web.Response(status=400, text="length does not match getUploadURLExternal's")
            upload["content"] = content
        return web.Response(text=f"OK - {len(content)}")

    def _complete_upload(self, args: dict[str, Any]) -> dict:
        listed = as_json(args["files"])
        with self._lock:
            found = [self.files.get(item.get("id")) for item in listed]
        uploads = [upload for upload in found if upload is not None and upload["content"] is not None]
        if not listed or len(uploads) < len(listed):
            return {"ok": False, "error": "file_not_found"}
        with self._lock:
            for upload in uploads:
                upload["complete"] = True  # shared: blocks may show it now
        shared = [
            {"id": item["id"], "title": item.get("title") or upload["filename"], **upload}
            for item, upload in zip(listed, uploads, strict=False)
        ]
        if args.get("channel_id"):
            message = Message(
                channel=args["channel_id"],
                ts=self._next_ts(),
                text=args.get("initial_comment", ""),
                blocks=[],
                files=shared,
            )
            with self._lock:
                self.messages[(message.channel, message.ts)] = message
        return {"ok": True, "files": [{"id": item["id"], "title": item["title"]} for item in shared]}

    async def _handle_file(self, request: web.Request) -> web.Response:
        """A file's bytes, for the page to draw image blocks and download shared files (Slack's url_private, without the login)."""
        with self._lock:
            upload = self.files.get(request.match_info["file_id"])
        if upload is None or not upload.get("complete"):
            return web.Response(status=404)
        return web.Response(
            body=upload["content"],
            content_type="image/png" if upload["filename"].endswith(".png") else "application/octet-stream",
        )

    # --- answers ---

    def _answer(self, method: str, args: dict[str, Any], token: str = "") -> dict:
        if method == "auth.test":
            team = self.tokens.get(token, self.team_id)
            return {
                "ok": True,
                "url": "https://fake.slack.test/",
                "team": "Fake Team",
                "user": "slack-ask",
                "team_id": team,
                "user_id": self.bot_user_id,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "users.info":
            user = self.users.get(args["user"])
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": self._shown(user, args)}
        if method == "users.list":
            return self._users_page(args)
        if method == "chat.postMessage":
            return self._post(args)
        if method == "chat.update":
            return self._update(args)
        if method in VIEW_METHODS:
            return self._show_view(method, args)
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": self.dm_channel(args.get("users", "U0NOBODY").split(",")[0])}}
        if method == "conversations.history":
            return self._history(args)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "chat.getPermalink":
            return self._permalink(args)
        if method == "usergroups.users.list":
            members = self.usergroups.get(args.get("usergroup", ""))
            return (
                {"ok": True, "users": list(members)}
                if members is not None
                else {"ok": False, "error": "no_such_subteam"}
            )
        if method == "files.completeUploadExternal":
            return self._complete_upload(args)
        if method in ("functions.completeSuccess", "functions.completeError"):
            return self._complete_function(method, args)
        if method == "files.delete":
            with self._lock:
                return {"ok": True} if self.files.pop(args["file"], None) else {"ok": False, "error": "file_not_found"}
        return {"ok": True}

    def _complete_function(self, method: str, args: dict[str, Any]) -> dict:
        with self._lock:
            execution = self.executions.get(args.get("function_execution_id", ""))
            if execution is None:
                return {"ok": False, "error": "function_execution_not_found"}
            if execution.state != "running":
                return {"ok": False, "error": "execution_not_in_running_state"}
            if method == "functions.completeError":
                execution.state, execution.error = "failed", str(args.get("error", ""))
                execution.completions += 1
                return {"ok": True}
            outputs = as_json(args.get("outputs")) or {}
            problems = output_problems(execution.function, outputs)
            if problems:
                self.violations.extend(f"{method}: {problem}" for problem in problems)
                return {"ok": False, "error": "parameter_validation_failed", "errors": problems}
            execution.state, execution.outputs = "completed", outputs
            execution.completions += 1
        return {"ok": True}

    def _shown(self, user: dict, args: dict[str, Any]) -> dict:
        """A user object as Slack answers it: `locale` only to a call with include_locale."""
        with_locale = str(args.get("include_locale", "")).lower() in ("1", "true")
        return {
            **{key: value for key, value in user.items() if key != "locale" or with_locale},
            "team_id": self.team_id,
        }

    def _users_page(self, args: dict[str, Any]) -> dict:
        """users.list as Slack pages it: members in a stable order, `limit` at a time (Slack caps it at
        1000), an opaque cursor naming the next member in response_metadata.next_cursor ("" on the last)."""
        with self._lock:
            everyone = sorted(self.users)
            users = dict(self.users)
        start = 0
        if args.get("cursor"):
            try:
                after = base64.b64decode(str(args["cursor"]), validate=True).decode().removeprefix("user:")
            except ValueError:
                return {"ok": False, "error": "invalid_cursor"}
            if after not in users:
                return {"ok": False, "error": "invalid_cursor"}
            start = everyone.index(after)
        limit = min(int(args.get("limit") or 0) or len(everyone), 1000)
        page = everyone[start : start + limit]
        following = everyone[start + limit] if start + limit < len(everyone) else ""
        return {
            "ok": True,
            "members": [self._shown(users[uid], args) for uid in page],
            "cache_ts": int(time.time()),
            "response_metadata": {
                "next_cursor": base64.b64encode(f"user:{following}".encode()).decode() if following else ""
            },
        }

    def _show_view(self, method: str, args: dict[str, Any]) -> dict:
        view = as_json(args["view"])
        return {
            "ok": True,
            "view": {
                **view,
                "id": f"V{next(self._ts):08d}",
                "team_id": self.team_id,
                "state": {"values": {}},
                "hash": "h",
            },
        }

    def _permalink(self, args: dict[str, Any]) -> dict:
        channel = args.get("channel", "")
        if channel in self.private_channels:
            return {"ok": False, "error": "channel_not_found"}
        message = self.messages.get((channel, args.get("message_ts", "")))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "permalink": self.permalink(channel, message.ts, message.thread_ts)}

    def _next_ts(self) -> str:
        return f"{1_800_000_000 + next(self._ts)}.000100"

    def _post(self, args: dict[str, Any]) -> dict:
        channel = args["channel"]
        if channel.startswith(("U", "W")):
            if channel not in self.users:
                return {"ok": False, "error": "channel_not_found"}
            channel = self.dm_channel(channel)
        message = Message(
            channel=channel,
            ts=self._next_ts(),
            text=args.get("text", ""),
            blocks=as_json(args.get("blocks", [])),
            metadata=as_json(args["metadata"]) if args.get("metadata") else None,
        )
        with self._lock:
            self.messages[(channel, message.ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": {"type": "message", "text": message.text, "ts": message.ts},
        }

    def _history(self, args: dict[str, Any]) -> dict:
        """Newest first, between `oldest` and `latest` (exclusive unless `inclusive`), a page at a time."""
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        found = [
            m
            for m in self.conversation(args["channel"])[::-1]
            if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
        ]
        limit = int(args.get("limit", 100))
        start = int(args.get("cursor") or 0)
        page = found[start : start + limit]
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        more = len(found) > start + limit
        return {
            "ok": True,
            "has_more": more,
            "messages": [
                {
                    "type": "message",
                    "ts": m.ts,
                    "text": m.text,
                    **({"metadata": m.metadata} if with_metadata and m.metadata else {}),
                }
                for m in page
            ],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _update(self, args: dict[str, Any]) -> dict:
        key = (args["channel"], args["ts"])
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            message.history.append({"text": message.text, "blocks": message.blocks})
            message.text = args.get("text", message.text)
            message.blocks = as_json(args.get("blocks", message.blocks))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}


# Slack's check of a step's outputs against the output parameters manifest.yml declares for it.
_OUTPUT_TYPES = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: isinstance(value, int) and not isinstance(value, bool),
    "boolean": lambda value: isinstance(value, bool),
    "slack#/types/user_id": lambda value: isinstance(value, str) and value[:1] in ("U", "W"),
}


@cache
def declared_functions() -> dict[str, dict]:
    """manifest.yml's custom steps (callback_id → definition); none without a manifest."""
    return (yaml.safe_load(MANIFEST.read_text()).get("functions") or {}) if MANIFEST.is_file() else {}


def output_problems(function: str, outputs: dict) -> list[str]:
    """Why Slack would refuse these outputs of `function` (parameter_validation_failed); none without a manifest."""
    if not MANIFEST.is_file():
        return []
    declared = declared_functions().get(function)
    if declared is None:
        return [f"no function {function} in manifest.yml"]
    problems = [f"unknown output {name}" for name in outputs if name not in declared["output_parameters"]]
    for name, spec in declared["output_parameters"].items():
        if name not in outputs:
            problems += [f"missing required output {name}"] if spec.get("is_required") else []
            continue
        value, kind = outputs[name], spec["type"]
        fits = _OUTPUT_TYPES.get(spec.get("items", {}).get("type", ""), lambda _: True)
        if kind == "array":
            if not (isinstance(value, list) and all(fits(item) for item in value)):
                problems.append(f"output {name} is not a list of {spec['items']['type']}")
        elif not _OUTPUT_TYPES.get(kind, lambda _: True)(value):
            problems.append(f"output {name} is not a {kind}")
    return problems


def _collect_file_ids(node: Any, found: list[str]) -> None:
    """Every `slack_file: {id}` in blocks or a view."""
    if isinstance(node, dict):
        if isinstance(node.get("slack_file"), dict) and "id" in node["slack_file"]:
            found.append(node["slack_file"]["id"])
        for value in node.values():
            _collect_file_ids(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_file_ids(value, found)


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(dict(await request.post()))
    return args
