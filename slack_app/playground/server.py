"""`slack-ask playground`: the real app, a stand-in for Slack, and a web page for Slack's surfaces, on one port.

The playground plays Slack toward the app and nothing more: it answers the app's Web API calls at
/api/ (checking them as Slack would), and turns what people do on the page into the requests Slack
would send, signed with the app's signing secret and POSTed to the app's /slack/events. It never
calls into the app. The page talks to it through a small JSON API under /playground/.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from ..ids import FunctionId
from ..settings import Settings
from ..wiring.app import create_app
from ..wiring.server import outlive_stop_signals, uvicorn_server, with_redis
from . import payloads
from .checks import Checks
from .slack_api import Message, WebApi, person

STATIC = Path(__file__).parent / "static"
HOST = "127.0.0.1"  # the playground has no authentication: it listens on this machine only
SLACK_TIMEOUT_SECONDS = 3.0  # Slack gives up on an app's answer after 3 s
TRIGGER_SECONDS = 3.0  # a trigger_id opens a modal only within 3 s, as in Slack
LONG_POLL_SECONDS = 25.0
COMMANDS = {"/ask"}  # manifest.yml's slash commands
EXIT_PORT_TAKEN = 2

KUDOS, GENERAL = "C0KUDOS", "C0GENERAL"
CHANNELS = {KUDOS: "kudos", GENERAL: "general"}
# Each reads slack-ask in their own Slack's language; Hugo's Swedish isn't one of slack-ask's, so he gets English.
PEOPLE = {
    "U0ADA": person("U0ADA", "Ada Okafor", tz="Europe/London", locale="en-GB"),
    "U0HAL": person("U0HAL", "Hal Jensen", tz="America/New_York", locale="en-US"),
    "U0HANA": person("U0HANA", "Hana Sato", tz="Asia/Tokyo", locale="ja-JP"),
    "U0LUCIA": person("U0LUCIA", "Lucía Fernández", tz="Europe/Madrid", locale="es-ES"),
    "U0CAMILLE": person("U0CAMILLE", "Camille Martin", tz="Europe/Paris", locale="fr-FR"),
    "U0LUKAS": person("U0LUKAS", "Lukas Becker", tz="Europe/Berlin", locale="de-DE"),
    "U0JOAO": person("U0JOAO", "João Silva", tz="America/Sao_Paulo", locale="pt-BR"),
    "U0HUGO": person("U0HUGO", "Hugo Lindqvist", tz="Europe/Stockholm", locale="sv-SE"),
    "U0PRIYA": person("U0PRIYA", "Priya Raman", tz="Asia/Kolkata", locale="en-IN", is_admin=True),
}
USER_GROUPS = {"S0DESIGN": ("design", ["U0HANA", "U0HUGO"])}  # id → (handle, members)
# What #general starts with, so there is something to ask about with the message shortcut.
GENERAL_CHATTER = [
    (
        "U0HAL",
        "The retry logic in PR 412 times out on CI about one run in five. Could someone look at the backoff "
        "before Friday's release?",
        None,
    ),
    (
        "U0HANA",
        "Sorry to bother everyone — the new onboarding copy is in the doc and I'd love a second pair of eyes on "
        "the tone.",
        None,
    ),
    ("U0HUGO", "It's the jitter: every client retries at the same moment. Happy to pair on it.", 0),
]
SHORTCUTS = {"ask_about_message", "new_ask"}  # manifest.yml's shortcuts: a message one and a global one
# The Workflows panel's one sample workflow: a new starter joins, their buddy is asked for a walkthrough. Whoever
# runs it is the lead the ask goes out for; the buddy is Hal (Hugo, when Hal runs it).
SAMPLE_WORKFLOW = {
    "name": "New starter",
    "description": "When a new starter joins, ask their buddy for a 30-minute walkthrough of how we ship.",
    "buddy": "U0HAL",
    "stand_in": "U0HUGO",
}
# The digest goes out when asked from the page; its scheduled slot is the last minute of the week,
# so the worker that `serve` runs doesn't post it first.
DIGEST_DAY, DIGEST_TIME = 6, "23:59"


@dataclass
class Ephemeral:
    """A message only `user` sees, as Slack shows a response_url or slash-command reply."""

    user: str
    channel: str
    ts: str
    text: str
    blocks: list[dict] = field(default_factory=list)
    sender: str = "slack-ask"


class Playground(WebApi):
    """Slack, as far as slack-ask and the people on the page can tell."""

    team_id = "T0PLAYGROUND"

    def __init__(self, settings: Settings, checks: Checks):
        if settings.bot_token is None:
            raise ValueError("the playground is one workspace with a bot token, not OAuth")
        super().__init__(settings.bot_token, PEOPLE, checks)
        self.checks: Checks = checks  # the page shows what is checked, so here something always is
        self.settings = settings
        self.url = settings.slack_api_url.removesuffix("api/")
        self.app_url = ""  # the app's address, once it listens
        self.signer = SignatureVerifier(settings.signing_secret)
        self.modals: dict[str, list[dict]] = {}  # each person's open modal stack, top last
        self.modal_errors: dict[str, dict[str, str]] = {}  # block_id → the app's error, on the top modal
        self.homes: dict[str, dict] = {}  # each person's published Home tab
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = {}  # message → reaction → who
        self.ephemerals: list[Ephemeral] = []
        self.failures: list[str] = []  # the app answering Slack badly: errors, non-2xx, too slow
        self.digest_log: list[str] = []
        self.digest_running = False
        self.workflow_runs: list[dict] = []  # each run of the sample workflow: who ran it, its step's execution
        self._triggers: dict[str, tuple[str, float]] = {}  # trigger_id → (whose, issued when)
        self._response_urls: dict[str, tuple[str, str, str]] = {}  # name → (user, channel, message ts)
        self._version = 0
        self._changed = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self.usergroups = {group: list(members) for group, (_, members) in USER_GROUPS.items()}
        threads: list[Message] = []
        for author, text, in_thread_of in GENERAL_CHATTER:
            parent = threads[in_thread_of].ts if in_thread_of is not None else ""
            threads.append(self.say(author, GENERAL, text, thread_ts=parent))

    # --- serving ---

    def web_app(self) -> web.Application:
        app = web.Application()
        self.add_routes(app)
        app.router.add_get("/", self._page)
        app.router.add_static("/static/", STATIC)
        app.router.add_get("/playground/state", self._state)
        for name, handler in {
            "command": self.command,
            "submit": self.submit,
            "close": self.close_modal,
            "action": self.act,
            "shortcut": self.shortcut,
            "react": self.react,
            "home": self.open_home,
            "digest": self.run_digest,
            "workflow": self.run_workflow,
        }.items():
            app.router.add_post(f"/playground/{name}", self._page_action(handler))
        app.on_startup.append(self._open_session)
        app.on_shutdown.append(self._close)
        return app

    @staticmethod
    async def _page(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _open_session(self, _: web.Application) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_SECONDS))

    async def _close(self, _: web.Application) -> None:
        self._bump()  # answers every waiting page, so shutdown doesn't wait out their long polls
        if self._session is not None:
            await self._session.close()

    def _bump(self) -> None:
        self._version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handle_api(self, request: web.Request) -> web.Response:
        response = await super()._handle_api(request)
        self._bump()
        return response

    # --- the page's JSON API ---

    async def _state(self, request: web.Request) -> web.Response:
        viewer = self._person(
            request.query.get("as") or next(iter(self.users))
        )  # a new page starts as the first person
        if self._version == int(request.query.get("since", -1)):  # nothing new for this page yet: wait for it
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), LONG_POLL_SECONDS)
        return web.json_response(self.state_for(viewer))

    def _page_action(self, handler):
        async def handle(request: web.Request) -> web.Response:
            body = await request.json()
            try:
                result = await handler(self._person(body.get("as")), body)
            except LookupError as missing:
                raise web.HTTPBadRequest(text=str(missing)) from None
            self._bump()
            return web.json_response({"ok": True, **(result or {})})

        return handle

    def _person(self, user: Any) -> str:
        if user not in self.users:
            raise web.HTTPBadRequest(text=f"no such person: {user!r}")
        return user

    def state_for(self, viewer: str) -> dict:
        """Everything `viewer` would see in Slack, plus what Slack would have rejected."""
        modal = self.modals.get(viewer)
        return {
            "version": self._version,
            "viewer": viewer,
            "people": list(self.users.values()),
            "channels": [{"id": channel, "name": name} for channel, name in CHANNELS.items()],
            "dm": self.dm_channel(viewer),
            "conversations": {
                channel: self._conversation_for(viewer, channel) for channel in [self.dm_channel(viewer), *CHANNELS]
            },
            "modal": {"view": modal[-1], "errors": self.modal_errors.get(viewer, {})} if modal else None,
            "home": self.homes.get(viewer),
            "problems": [*self.violations, *self.failures],
            "checks": self.checks.describe(),
            "digest": {"running": self.digest_running, "log": self.digest_log},
            "workflows": {
                "sample": {**SAMPLE_WORKFLOW, "inputs": sample_inputs(viewer)},
                "runs": [self._run_shown(run) for run in self.workflow_runs],
            },
        }

    def _run_shown(self, run: dict) -> dict:
        execution = self.executions[run["execution"]]
        return {**run, "state": execution.state, "outputs": execution.outputs, "error": execution.error}

    def _conversation_for(self, viewer: str, channel: str) -> list[dict]:
        shown = [
            {
                "ts": m.ts,
                "text": m.text,
                "blocks": m.blocks,
                "edited": bool(m.history),
                "user": m.user,
                "thread_ts": m.thread_ts,
                "reactions": self._reactions_on(m, viewer),
                "files": [{"id": f["id"], "title": f["title"], "size": len(f["content"])} for f in m.files],
            }
            for m in self.conversation(channel)
        ]
        shown += [
            {"ts": e.ts, "text": e.text, "blocks": e.blocks, "ephemeral": True, "sender": e.sender}
            for e in self.ephemerals
            if e.user == viewer and e.channel == channel
        ]
        return sorted(shown, key=lambda m: float(m["ts"]))

    def _reactions_on(self, message: Message, viewer: str) -> list[dict]:
        reacted = self.reactions.get((message.channel, message.ts), {})
        return [{"name": name, "count": len(who), "mine": viewer in who} for name, who in reacted.items() if who]

    # --- what people do, sent to the app as Slack sends it ---

    async def command(self, user: str, body: dict) -> None:
        """What someone types: a slash command goes to the app; anything else is a message in a channel."""
        channel = self._channel(user, body.get("channel"))
        typed = str(body.get("text", "")).strip()
        if not typed.startswith("/") and channel in CHANNELS:
            self.say(user, channel, self.escaped(typed))
            return
        command, _, text = typed.partition(" ")
        if command not in COMMANDS:
            self._tell(
                user, channel, f"`{command}` is not a command slack-ask knows here. Try `/ask` and what you need."
            )
            return
        fields = payloads.command_fields(
            user,
            self.escaped(text.strip()),
            team=self.team_id,
            command=command,
            channel_id=channel,
            channel_name=CHANNELS.get(channel, "directmessage"),
            response_url=self._response_url(user, channel, ""),
        )
        answer = await self._deliver(payloads.form_body(fields), payloads.FORM, command, user, fields["trigger_id"])
        if answer:
            self._show_reply(user, channel, "", answer)

    def escaped(self, text: str) -> str:
        """Text as Slack sends it with should_escape: & < > escaped, and @person, @group, @here and #channel
        turned into Slack's <@U…|name>, <!subteam^S…|@group>, <!here> and <#C…|name>."""
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        people = {}
        for uid, who in self.users.items():
            people[who["name"].lower()] = people[who["real_name"].split()[0].lower()] = (uid, who["name"])
        groups = {handle: group for group, (handle, _) in USER_GROUPS.items()}
        channels = {name: channel for channel, name in CHANNELS.items()}

        def mention(match: re.Match) -> str:
            sigil, name = match.group(1), match.group(2)
            key = name.lower()
            if sigil == "#":
                return f"<#{channels[key]}|{key}>" if key in channels else match.group(0)
            if key in ("here", "channel", "everyone"):
                return f"<!{key}>"
            if key in groups:
                return f"<!subteam^{groups[key]}|@{key}>"
            if key in people:
                return f"<@{people[key][0]}|{people[key][1]}>"
            return match.group(0)

        return re.sub(r"(?<![\w<])([@#])([\w.-]*\w)", mention, text)

    async def submit(self, user: str, body: dict) -> None:
        view = self._top_modal(user)
        values = payloads.state_values(view, body.get("values") or {})
        payload = payloads.view_submission(user, view, values, team=self.team_id)
        what = f"submitting {view.get('callback_id')}"
        answer = await self._deliver(
            payloads.interaction_body(payload), payloads.FORM, what, user, payload["trigger_id"]
        )
        if answer is None:
            self.modal_errors[user] = {"": "We had some trouble connecting. Try again?"}  # Slack's own words
            return
        action = answer.get("response_action") if isinstance(answer, dict) else None
        if action == "errors":
            self.modal_errors[user] = self._field_errors(view, answer.get("errors") or {}, what)
        elif action == "clear":
            self._close_modals(user, everything=True)
        elif action is None:
            self._close_modals(user)
        else:
            self.failures.append(f"{what}: response_action {action!r} isn't something the playground shows yet")

    async def close_modal(self, user: str, body: dict) -> None:
        self._top_modal(user)
        self._close_modals(user)  # the app sets no notify_on_close, so Slack would tell it nothing

    async def act(self, user: str, body: dict) -> None:
        """A button pressed, or a choice made, on a message or on the Home tab."""
        if body.get("surface") == "home":
            view = self.homes.get(user)
            if view is None:
                raise LookupError("no Home tab published for this person")
            block, element = payloads.find_element(view["blocks"], body["action_id"], body.get("block_id"))
            payload = payloads.block_actions(
                user, payloads.action(block, element, body.get("chosen")), team=self.team_id, view=view
            )
        else:
            message = self._message(user, body)
            block, element = payloads.find_element(message.blocks, body["action_id"], body.get("block_id"))
            payload = payloads.block_actions(
                user,
                payloads.action(block, element, body.get("chosen")),
                team=self.team_id,
                message=message,
                response_url=self._response_url(user, message.channel, message.ts),
            )
        await self._deliver(
            payloads.interaction_body(payload), payloads.FORM, body["action_id"], user, payload["trigger_id"]
        )

    async def shortcut(self, user: str, body: dict) -> None:
        """A shortcut: from a message's menu when the page names a message, else from the lightning menu."""
        callback_id = str(body.get("callback_id", ""))
        if callback_id not in SHORTCUTS:
            raise LookupError(f"no shortcut {callback_id!r} in manifest.yml")
        if body.get("ts"):
            message = self._message(user, body)
            payload = payloads.message_shortcut(
                user,
                message,
                callback_id,
                team=self.team_id,
                channel_name=CHANNELS.get(message.channel, "directmessage"),
                response_url=self._response_url(user, message.channel, ""),
            )
        else:
            payload = payloads.global_shortcut(user, callback_id, team=self.team_id)
        await self._deliver(payloads.interaction_body(payload), payloads.FORM, callback_id, user, payload["trigger_id"])

    async def react(self, user: str, body: dict) -> None:
        """Adds the reaction, or takes it back if this person already added it."""
        message = self._message(user, body)
        name = str(body.get("reaction", ""))
        who = self.reactions.setdefault((message.channel, message.ts), {}).setdefault(name, [])
        removed = user in who
        who.remove(user) if removed else who.append(user)
        event = payloads.reaction_event(user, message.channel, message.ts, name, removed=removed)
        await self._send_event(event, f":{name}: {'removed' if removed else 'added'}")

    async def open_home(self, user: str, body: dict) -> None:
        await self._send_event(
            payloads.home_opened_event(user, self.dm_channel(user), self.homes.get(user)), "opening Home"
        )

    async def run_digest(self, user: str, body: dict) -> dict:
        """`slack-ask digest --post`: the scheduled digest's own code, as a separate process, like a cron job."""
        if self.digest_running:
            return {"output": "already running"}
        self.digest_running = True
        self._bump()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "slack_app.cli",
                "digest",
                "--post",
                env=self._digest_env(),
                cwd=self.settings.data_dir,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
        finally:
            self.digest_running = False
        output = out.decode().strip() or f"slack-ask digest --post exited with status {process.returncode}"
        self.digest_log.append(output)
        if process.returncode not in (0, 1):  # 1: nothing posted, as this week's went out already
            last_words = (err.decode().strip().splitlines() or ["no output"])[-1]
            self.failures.append(f"slack-ask digest --post failed (exit status {process.returncode}): {last_words}")
        return {"output": output}

    async def run_workflow(self, user: str, body: dict) -> None:
        """Workflow Builder runs the sample workflow: its one step is the app's send_ask, so Slack starts a run
        of it (minting the run's token) and sends the app function_executed; the run completes when the app
        says so, with functions.completeSuccess or functions.completeError."""
        number = len(self.workflow_runs) + 1
        execution, token = f"Fx0SAMPLE{number:04d}", f"xwfp-{secrets.token_hex(12)}"
        self.start_execution(execution, FunctionId.SEND_ASK, token)
        self.workflow_runs.append({"workflow": SAMPLE_WORKFLOW["name"], "by": user, "execution": execution})
        event = payloads.function_executed_event(
            FunctionId.SEND_ASK,
            sample_inputs(user),
            execution_id=execution,
            workflow_execution_id=f"Wx0SAMPLE{number:04d}",
            token=token,
        )
        await self._send_event(event, f"running the {SAMPLE_WORKFLOW['name']} workflow")

    def _digest_env(self) -> dict[str, str]:
        """The app's own configuration, so the digest process reads the same Redis and posts to the playground."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REDIS_", "DIGEST_"))}
        s = self.settings
        return {
            **inherited,
            "SLACK_BOT_TOKEN": s.bot_token or "",  # empty reads as unset
            "SLACK_SIGNING_SECRET": s.signing_secret,
            "REDIS_URL": s.redis_url or "",
            "SLACK_API_URL": s.slack_api_url,
            "DIGEST_CHANNEL": s.digest_channel,
            "DIGEST_DAY": str(s.digest_day),
            "DIGEST_TIME": s.digest_time,
            "DIGEST_TZ": s.workspace_tz,
        }

    # --- sending to the app ---

    async def _send_event(self, event: dict, what: str) -> None:
        await self._deliver(json.dumps(payloads.event_envelope(event, team=self.team_id)), payloads.JSON, what)

    async def _deliver(self, body: str, content_type: str, what: str, user: str = "", trigger_id: str = "") -> Any:
        """POSTs one signed request to the app; returns its answer (parsed JSON, text, or "" for an empty ack),
        or None when Slack would have shown the person an error."""
        if trigger_id:
            self._triggers[trigger_id] = (user, time.monotonic())
        headers = payloads.signed_headers(self.signer, body, content_type)
        if self._session is None:
            raise RuntimeError("the playground sends to the app only once its web app has started")
        try:
            async with self._session.post(
                self.app_url + "/slack/events", data=body.encode(), headers=headers
            ) as response:
                status, text = response.status, await response.text()
        except TimeoutError:
            self.failures.append(
                f"{what}: the app took longer than {SLACK_TIMEOUT_SECONDS:.0f} s to answer; Slack would give up"
            )
            return None
        except aiohttp.ClientError as error:
            self.failures.append(f"{what}: couldn't reach the app ({error})")
            return None
        if status != 200:
            self.failures.append(f"{what}: the app answered HTTP {status}")
            return None
        try:
            return json.loads(text) if text.strip() else ""
        except json.JSONDecodeError:
            return text

    def _show_reply(self, user: str, channel: str, ts: str, reply: Any) -> None:
        """A slash command's answer, or a message sent to a response_url, shown where Slack would show it."""
        message: dict[str, Any] = {"text": reply} if isinstance(reply, str) else reply
        if not message:
            return
        problems = self.checks.content_problems("reply", message)
        if problems:
            self.violations.extend(f"reply to {user}: {problem}" for problem in problems)
            return
        original = self.messages.get((channel, ts))
        if original and message.get("delete_original"):
            with self._lock:
                del self.messages[(channel, ts)]
        elif original and message.get("replace_original"):
            self._update(
                {"channel": channel, "ts": ts, "text": message.get("text", ""), "blocks": message.get("blocks", [])}
            )
        elif message.get("response_type") == "in_channel":
            self._post({"channel": channel, "text": message.get("text", ""), "blocks": message.get("blocks", [])})
        else:
            self.ephemerals.append(
                Ephemeral(user, channel, self._next_ts(), message.get("text", ""), message.get("blocks", []))
            )

    def _tell(self, user: str, channel: str, text: str) -> None:
        """A word from Slack itself, as Slackbot says it."""
        self.ephemerals.append(Ephemeral(user, channel, self._next_ts(), text, sender="Slackbot"))

    def _response_url(self, user: str, channel: str, ts: str) -> str:
        name = f"r{next(self._ts)}"
        self._response_urls[name] = (user, channel, ts)
        return f"{self.url}response/{name}"

    def _responded(self, name: str, payload: dict) -> None:
        target = self._response_urls.get(name)
        if target is None:
            self.violations.append(f"response_url: {name} was never handed out")
        else:
            self._show_reply(*target, payload)
        self._bump()

    # --- Slack's side of the app's calls ---

    def _show_view(self, method: str, args: dict[str, Any]) -> dict:
        if method == "views.open":
            owner = self._trigger_owner(args.get("trigger_id", ""))
            if owner is None:
                self.violations.append(
                    "views.open: trigger_id expired or unknown (they last 3 seconds and open one view)"
                )
                return {"ok": False, "error": "expired_trigger_id"}
            answer = super()._show_view(method, args)
            self.modals[owner] = [answer["view"]]
            self.modal_errors.pop(owner, None)
            return answer
        answer = super()._show_view(method, args)
        if method == "views.publish":
            self.homes[args["user_id"]] = answer["view"]
        return answer

    def _trigger_owner(self, trigger_id: str) -> str | None:
        user, issued = self._triggers.pop(trigger_id, ("", 0.0))
        return user if user and time.monotonic() - issued <= TRIGGER_SECONDS else None

    # --- helpers ---

    def _channel(self, user: str, channel: Any) -> str:
        if channel == self.dm_channel(user) or channel in CHANNELS:
            return channel
        raise LookupError(f"{user} can't write in {channel!r}")

    def _message(self, user: str, body: dict) -> Message:
        """A message this person can see: in their DM with the app, or in a channel."""
        message = self.messages.get((str(body.get("channel")), str(body.get("ts"))))
        if message is None or message.channel not in (self.dm_channel(user), *CHANNELS):
            raise LookupError("no such message in this person's conversations")
        return message

    def _top_modal(self, user: str) -> dict:
        if not self.modals.get(user):
            raise LookupError("no modal open")
        return self.modals[user][-1]

    def _close_modals(self, user: str, everything: bool = False) -> None:
        stack = self.modals.get(user, [])
        del stack[0 if everything else -1 :]
        self.modal_errors.pop(user, None)

    def _field_errors(self, view: dict, errors: dict, what: str) -> dict[str, str]:
        """The app's errors by input block; Slack refuses errors for blocks the view doesn't have."""
        inputs = {block.get("block_id") for block in view.get("blocks", []) if block.get("type") == "input"}
        unknown = [block_id for block_id in errors if block_id not in inputs]
        if unknown:
            self.violations.append(f"{what}: errors for blocks the view doesn't have: {', '.join(map(str, unknown))}")
            return {"": "We had some trouble connecting. Try again?"}
        return {block_id: str(text) for block_id, text in errors.items()}


# --- running it all ---


def sample_inputs(lead: str) -> dict:
    """The sample workflow's inputs to its send_ask step, run by `lead`."""
    buddy = SAMPLE_WORKFLOW["buddy"] if lead != SAMPLE_WORKFLOW["buddy"] else SAMPLE_WORKFLOW["stand_in"]
    return {
        "asker": lead,
        "teammates": [buddy],
        "ask": "Walk our new starter through how a change reaches production",
        "scope": "In: the deploy pipeline and where to watch it. Out: on-call and incident handling.",
        "estimate": 30,
        "decline": "later",
        "workflow_name": SAMPLE_WORKFLOW["name"],
    }


def playground_settings(port: int, data_dir: Path, redis_url: str | None = None) -> Settings:
    """The app's settings: fresh credentials, the Web API at the playground, #kudos for the digest."""
    return Settings(
        bot_token="xoxb-playground-" + secrets.token_hex(12),
        signing_secret=secrets.token_hex(16),
        redis_url=redis_url,
        slack_api_url=f"http://{HOST}:{port}/api/",
        data_dir=data_dir,
        digest_channel=KUDOS,
        digest_day=DIGEST_DAY,
        digest_time=DIGEST_TIME,
        run_scheduler=True,
    )


class PlaygroundServer:
    """The app exactly as `serve` runs it, and the playground beside it, in one event loop."""

    def __init__(self, listening: socket.socket, settings: Settings, checks: Checks | None = None):
        self.listening = listening
        self.url = settings.slack_api_url.removesuffix("api/")
        self.playground = Playground(settings, checks or Checks.best_available())
        self.app = uvicorn_server(create_app(settings).asgi, HOST, 0)
        self.started = asyncio.Event()

    async def serve(self) -> None:
        runner = web.AppRunner(self.playground.web_app(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.SockSite(runner, self.listening).start()
        try:
            serving = asyncio.create_task(self.app.serve())
            while not self.app.started and not serving.done():
                await asyncio.sleep(0.01)
            if self.app.started:
                self.playground.app_url = f"http://{HOST}:{self.app.servers[0].sockets[0].getsockname()[1]}"
                self.started.set()
            await serving
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        self.app.should_exit = True


def run(port: int) -> int:
    """Serves until Ctrl-C or SIGTERM, then stops the app, the playground and the embedded Valkey; exit 0."""
    try:
        listening = socket.create_server((HOST, port))
    except OSError as error:
        print(
            f"slack-ask playground: can't listen on port {port} ({error.strerror}); try --port 0 for any free port",
            file=sys.stderr,
        )
        return EXIT_PORT_TAKEN
    outlive_stop_signals()
    with contextlib.ExitStack() as running:
        data_dir = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="slack-ask-playground-")))
        settings = running.enter_context(with_redis(playground_settings(listening.getsockname()[1], data_dir)))
        asyncio.run(_serve_and_announce(PlaygroundServer(listening, settings)))
    return 0


async def _serve_and_announce(server: PlaygroundServer) -> None:
    async def announce() -> None:
        await server.started.wait()
        print(f"slack-ask playground: open {server.url} (Ctrl-C stops it)", flush=True)

    announcing = asyncio.create_task(announce())
    await server.serve()
    announcing.cancel()
