"""What runs around every listener: describing requests for logs and metrics, remembering
organisations, and answering kindly when something fails."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from redis.exceptions import RedisError
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from ..features.people import People
from ..ids import BlockId, CallbackId
from ..observability import REDIS_ERRORS
from ..slack.rate_budget import for_a_waiting_person
from ..store.installations import RedisInstallationStore
from ..store.store import Store
from ..text.i18n import ENGLISH, N_, Language

log = logging.getLogger(__name__)


def request_kind(body: dict) -> tuple[str, str]:
    """What Slack sent, in words with few enough values to label metrics by."""
    if body.get("command"):
        return "slash_command", str(body["command"])
    kind = str(body.get("type", "unknown"))
    if kind == "event_callback":
        return kind, str(body.get("event", {}).get("type", ""))
    if kind == "block_actions":
        return kind, str((body.get("actions") or [{}])[0].get("action_id", ""))
    if kind == "view_submission":
        return kind, str(body.get("view", {}).get("callback_id", ""))
    return kind, ""


async def describe_request(req, resp, next):
    """Tells the HTTP route what this verified request was, for its log line and metrics."""
    info = req.context.get("request_info")  # absent in Socket Mode, where no HTTP route asks
    if info is not None:
        kind, detail = request_kind(req.body)
        info.update(kind=kind, detail=detail, team=req.context.team_id)
    return await next()


async def for_the_person_waiting(req, resp, next):
    """Whatever a listener asks of Slack before its answer, a person is waiting for: those calls go at
    once (rate_budget.py). Work it hands to the background decides for itself (Background.spawn)."""
    with for_a_waiting_person():
        return await next()


def workspace_of(body: dict) -> str | None:
    """The workspace a payload came from: events carry team_id, interactions team.id."""
    team = body.get("team")
    return body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)


def remember_organisations(installations: RedisInstallationStore):
    """Notes each workspace's enterprise, so timed jobs can find an org-wide install's token."""
    noted: set[str] = set()

    async def middleware(req, resp, next):
        # For an org-wide install Bolt's context has no team (the token is the organisation's); the
        # workspace the request came from is still in the payload.
        team, enterprise = req.context.team_id or workspace_of(req.body), req.context.enterprise_id
        if team and enterprise and team not in noted:
            await installations.note_enterprise(team, enterprise)
            noted.add(team)
        return await next()

    return middleware


class SlackUnreachable(aiohttp.ClientError):
    """Slack could not say who the bot token belongs to, and nobody had asked before: Slack is down."""


def remembered_identity(store: Store, client: AsyncWebClient) -> Callable[..., Awaitable[AuthorizeResult]]:
    """Bolt's authorize for one bot token: auth.test once ever, its answer kept in Redis.

    Bolt's own single-workspace authorization asks auth.test again on each process's first request, and
    while Slack is failing it tells the person to reinstall the app; a restart during a Slack incident
    (a rolling deploy, a crash) must not. The record keeps the token's digest, so a new token asks anew,
    and goes with the workspace's other keys when it uninstalls."""
    token = client.token or ""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    known: dict[str, str] = {}
    noted: set[str] = set()  # workspaces whose record is known to be there

    async def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        if not known:
            remembered = await store.bot_identity(team_id) if team_id else {}
            if remembered.get("token_digest") != digest:
                remembered = {**await _ask_slack_who(client), "token_digest": digest}
                await store.remember_bot_identity(remembered["team_id"] or team_id or "", remembered)
            else:
                noted.add(team_id or "")
            known.update(remembered)
        # One token may serve several workspaces (an organisation's): each keeps the record, so a process
        # started while Slack fails finds it whichever workspace's request comes first.
        if team_id and team_id not in noted:
            await store.remember_bot_identity(team_id, known)
            noted.add(team_id)
        return AuthorizeResult(
            enterprise_id=known["enterprise_id"] or enterprise_id,
            team_id=known["team_id"] or team_id,
            bot_token=token,
            bot_id=known["bot_id"],
            bot_user_id=known["user_id"],
            user_id=user_id,
        )

    return authorize


async def _ask_slack_who(client: AsyncWebClient) -> dict[str, str]:
    try:
        answer = await client.auth_test()
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as failed:
        raise SlackUnreachable(f"auth.test: {failed}") from failed
    return {field: str(answer.get(field) or "") for field in ("enterprise_id", "team_id", "user_id", "bot_id")}


# Checked first: aiohttp's connection errors are OSErrors too, and a person should hear which one is down.
SLACK_DOWN = (aiohttp.ClientError,)
DEPENDENCY_DOWN = (*SLACK_DOWN, RedisError, OSError, asyncio.TimeoutError)
FIRST_FIELD: dict[str, BlockId] = {
    CallbackId.ASK_SUBMIT: BlockId.ASK,
    CallbackId.THANKS_SUBMIT: BlockId.NOTE,
}  # where a modal shows a whole-form error
UNAVAILABLE = N_(
    "slack-ask couldn't save that just now (its storage is unreachable or full), so it didn't go "
    "through. Nothing was lost — please try again in a minute."
)
SLACK_UNAVAILABLE = N_(
    "slack-ask can't reach Slack right now, so that didn't go through. Nothing was lost — please try again in a minute."
)
# With a dependency down, the person's language is what the other one can still tell, if it answers at once.
LANGUAGE_LOOKUP_SECONDS = 0.5


FailureHandler = Callable[[Exception, dict, Any], Awaitable[BoltResponse]]  # (error, body, respond) → the answer


def answer_failure(saw: Callable[[BaseException], None], people: People) -> FailureHandler:
    """Bolt's error handler: `saw` hears of every dependency failure (for /healthz); each person is
    answered in their language as far as it can still be found out."""

    async def handler(error: Exception, body: dict, respond) -> BoltResponse:
        if isinstance(error, DEPENDENCY_DOWN):
            saw(error)
        return await answer_kindly(error, body, respond, people)

    return handler


async def _language(people: People, body: dict) -> Language:
    user = body.get("user")
    user_id = body.get("user_id") or (user.get("id") if isinstance(user, dict) else None)
    team_id = workspace_of(body)
    if not (user_id and team_id):
        return ENGLISH
    try:
        return await asyncio.wait_for(people.language_of(team_id, user_id), LANGUAGE_LOOKUP_SECONDS)
    except (TimeoutError, *DEPENDENCY_DOWN):
        return ENGLISH


async def answer_kindly(error: Exception, body: dict, respond, people: People) -> BoltResponse:
    """No traceback ever reaches a person: a dependency being down (or Redis refusing a write, out of
    memory) gets a kind word in their language (and events a non-2xx, so Slack delivers them again);
    a payload we can't make sense of gets a 400."""
    kind, detail = request_kind(body if isinstance(body, dict) else {})
    if not isinstance(error, DEPENDENCY_DOWN):
        log.warning("request not understood", exc_info=error, extra={"kind": kind, "detail": detail})
        return BoltResponse(status=400, body="")
    slack_down = isinstance(error, SLACK_DOWN)
    if not slack_down:
        REDIS_ERRORS.labels("listener").inc()
    log.error(
        "dependency down",
        exc_info=error,
        extra={"kind": kind, "detail": detail, "dependency": "slack" if slack_down else "storage"},
    )
    if kind == "event_callback":
        return BoltResponse(status=503, body="")
    unavailable = (await _language(people, body)).gettext(SLACK_UNAVAILABLE if slack_down else UNAVAILABLE)
    if kind == "view_submission":  # keep the modal open, with what they typed, and say why
        field = FIRST_FIELD.get(detail, BlockId.ASK)
        return BoltResponse(
            status=200,
            body=json.dumps({"response_action": "errors", "errors": {field: unavailable}}),
            headers={"content-type": ["application/json"]},
        )
    if kind == "block_actions" and body.get("response_url"):
        with contextlib.suppress(Exception):
            await respond(response_type="ephemeral", replace_original=False, text=unavailable)
    return BoltResponse(
        status=200,
        body=json.dumps({"response_type": "ephemeral", "text": unavailable}),
        headers={"content-type": ["application/json"]},
    )
