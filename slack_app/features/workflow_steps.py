"""The Workflow Builder step "Send a low-pressure ask": a run of it sends an ask the way the form does, by the
form's rules, and the step completes — once, whatever crashes in between — when the ask has ended.

Starting: the step's inputs are read as the form's draft and checked by the form's own rules (asks.validate,
who is on a break); any problem fails the step at once, with nothing sent. Otherwise the run is recorded beside
the ask (the token it completes with, sealed where installations are) before the ask is saved, so every ending
finds it. Completing: each change that may end the ask owes the step a look (the `step` effect, carried out by
the effect queue, routing.py); the look completes it when the ask has ended. A completion is claimed in Redis
before it is sent, and one found claimed but unfinished is sent again: Slack refuses a second completion of a
run (`execution_not_in_running_state`), which then means the first one reached it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain import workflow_step
from ..domain.asks import Ask, Person, Status, validate
from ..domain.availability import local_today
from ..ids import StepInput
from ..slack.slack_api import Clients
from ..store.sealing import Seal
from ..store.store import COMPLETED, Snapshot, Store
from ..text.i18n import ENGLISH, Language, language_of
from .ask_forms import ask_from_draft
from .availabilities import Availabilities
from .lifecycle import thanks_reminder_due
from .people import People

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 2.0  # users.info for up to 11 people, inside Slack's 3 seconds for the event
# Slack's answers to a completion of a run that no longer runs: an earlier completion reached it.
ALREADY_COMPLETED = {"execution_not_in_running_state", "function_execution_not_found"}
# Slack's answers when the run's own token is no longer good: the bot token completes it instead.
TOKEN_REFUSED = {"invalid_auth", "token_expired", "token_revoked", "not_authed"}


class NotSent(RedisError):
    """The ask could not be saved (Redis refused): Slack is answered with an error and delivers the event again."""


class WorkflowSteps:
    def __init__(
        self, store: Store, people: People, availabilities: Availabilities, clients: Clients, seal: Seal | None
    ):
        self.store = store
        self.people = people
        self.availabilities = availabilities
        self.clients = clients
        self.seal = seal  # installations are sealed: so is the token a run completes with

    # --- a run starts ---

    async def start(self, team_id: str, event: dict, send: Callable[[Ask], Awaitable[bool]]) -> str | None:
        """Sends the ask a run of the step describes (`send` saves it as the form's Send does). Returns why
        it was not sent, for the workflow's activity; None once it is (or was, for a repeated event)."""
        request = workflow_step.read_inputs(event.get("inputs") or {})
        wanted = [uid for uid in [request.asker, *request.draft.teammates] if uid]
        people = await asyncio.wait_for(self.people.get_many(team_id, wanted), LOOKUP_TIMEOUT_SECONDS)
        asker = people.get(request.asker)
        lang = language_of(asker.locale) if asker else ENGLISH
        errors = self._errors(request, people, lang)
        if not errors:
            teammates = {uid: people[uid] for uid in request.draft.teammates}
            unavailable = await self.availabilities.unavailable(team_id, teammates, lang)
            if unavailable:
                errors[StepInput.TEAMMATES] = " ".join(unavailable.values())
        if errors:
            return workflow_step.failure_message(errors, lang)
        ask = ask_from_draft(request.draft, team_id, request.asker, people)
        ask.step, ask.workflow, ask.created_at = event["function_execution_id"], request.workflow_name, time.time()
        ask.id = await self.store.claim_step_run(team_id, ask.step, ask.id)
        if await self.store.load_ask(team_id, ask.id):
            return None  # Slack delivered the event again: this run's ask is out already
        token = event.get("bot_access_token") or ""
        await self.store.record_step(
            team_id, ask.id, ask.step, self.seal.seal(token) if self.seal else token, request.draft.teammates
        )
        if not await send(ask):
            raise NotSent(ask.id)
        return None

    @staticmethod
    def _errors(request: workflow_step.StepRequest, people: dict[str, Person], lang: Language) -> dict[str, str]:
        """The form's errors for these inputs (keyed by the inputs, which share the form's field names)."""
        errors: dict[str, str] = {}
        asker_problem = workflow_step.asker_error(request.asker, people, lang)
        if asker_problem:
            errors[StepInput.ASKER] = asker_problem
        tz = people[request.asker].tz if not asker_problem else "UTC"
        found = validate(request.draft, request.asker, people, today=local_today(datetime.now(UTC), tz), lang=lang)
        errors.update({str(field): message for field, message in found.items()})
        if request.unreadable:
            errors[StepInput.NEEDED_BY] = workflow_step.unreadable_error(lang)
        return errors

    # --- a run completes, once its ask has ended ---

    async def complete_if_ended(self, snapshot: Snapshot) -> None:
        """The owed `step` effect: tells Slack how the ask went once it has ended (or outlived Slack's patience)."""
        ask = snapshot.ask
        if ask is None:  # gone, and its run with it: nothing left to tell
            return
        run = await self.store.step(ask.team_id, ask.id)
        if not run or run.get("completed") == COMPLETED:
            return
        thanked = {helper for helper in ask.helpers if await self.store.was_thanked(ask.team_id, ask.id, helper)}
        # The timers' moments as they noted them (a timer runs when due, perhaps late), or as the clock has them.
        now = datetime.now(UTC)
        waited = bool(run.get("thanks_waited")) or (ask.status is Status.DONE and now >= thanks_reminder_due(ask))
        ended = workflow_step.outcome(
            ask,
            snapshot.answers,
            _named(run),
            thanks_settled=bool(ask.helpers) and (set(ask.helpers) <= thanked or waited),
            past_limit=bool(run.get("limit_reached")) or now >= workflow_step.limit_at(ask),
        )
        if ended is None:
            return  # the next change that may end it owes the step another look
        earlier = await self.store.claim_step_completion(ask.team_id, ask.id)
        if earlier == COMPLETED:
            return
        await self._tell_slack(ask, run, workflow_step.outputs(ask, ended, thanked))
        await self.store.record_step_completed(ask.team_id, ask.id)
        log.info("workflow step completed", extra={"team": ask.team_id, "ask": ask.id, "outcome": ended.value})

    async def _tell_slack(self, ask: Ask, run: dict[str, str], outputs: dict) -> None:
        """functions.completeSuccess with the run's own token (the event's `bot_access_token`), or the bot's
        when Slack no longer takes that one."""
        client = await self.clients.for_team(ask.team_id)
        token = self.seal.open(run["token"]) if self.seal and run["token"] else run["token"]
        try:
            try:
                await client.functions_completeSuccess(
                    function_execution_id=run["execution"], outputs=outputs, **({"token": token} if token else {})
                )
            except SlackApiError as error:
                if not token or error.response.get("error") not in TOKEN_REFUSED:
                    raise
                await client.functions_completeSuccess(function_execution_id=run["execution"], outputs=outputs)
        except SlackApiError as error:
            if error.response.get("error") not in ALREADY_COMPLETED:
                raise
            log.info("workflow step was completed before", extra={"team": ask.team_id, "ask": ask.id})


def _named(run: dict[str, str]) -> list[str]:
    return json.loads(run.get("named") or "[]")
