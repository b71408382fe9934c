"""What the listeners work with, built once per app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from redis.exceptions import OutOfMemoryError, RedisError
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError

from ..domain.asks import Ask
from ..features.answers import Answers
from ..features.ask_forms import AskForms
from ..features.availabilities import Availabilities
from ..features.digests import Digests
from ..features.home import Home
from ..features.insights_service import Insights
from ..features.lifecycle import Lifecycle
from ..features.modals import Draw, Prepare
from ..features.people import People
from ..features.personal_data import PersonalData
from ..features.routing import Router
from ..features.workflow_steps import WorkflowSteps
from ..observability import REDIS_ERRORS
from ..settings import Settings
from ..slack.effects import EffectQueue
from ..slack.slack_api import Clients
from ..store.installations import RedisInstallationStore
from ..store.scheduler import Scheduler
from ..store.store import Store
from ..text.i18n import ENGLISH, Language
from .background import Background

PING_TIMEOUT_SECONDS = 1.0
# users.info for up to 11 people has to fit inside Slack's 3-second window with the save.
LOOKUP_TIMEOUT_SECONDS = 2.0
# A private reply waits this long at most to find out its reader's language (the directory, or Slack once).
LANGUAGE_LOOKUP_SECONDS = 1.0
HEALTH_FRESH_SECONDS = 1.0
# After Redis refuses a write for lack of memory, /healthz says so for this long (and longer if it goes on).
OUT_OF_MEMORY_SHOWN_SECONDS = 60.0
OUT_OF_MEMORY = "out of memory: Redis refuses writes (maxmemory reached under noeviction)"

log = logging.getLogger(__name__)


class StoreHealth:
    """Whether Redis answers, asked at most once a second however many requests want to know: a
    burst of /ask must not become a burst of PINGs."""

    def __init__(self, store: Store):
        self.store = store
        self._fresh_until = 0.0
        self._asking: asyncio.Future | None = None
        self._full_until = 0.0

    def saw(self, error: BaseException) -> None:
        """Notes a failed write, so /healthz can say why writes fail while PING still answers."""
        if isinstance(error, OutOfMemoryError):
            self._full_until = time.monotonic() + OUT_OF_MEMORY_SHOWN_SECONDS

    async def problem(self) -> str | None:
        """None while Redis answers and takes writes; otherwise what is wrong, in a few words."""
        if not await self.reachable():
            return "unreachable"
        return OUT_OF_MEMORY if time.monotonic() < self._full_until else None

    async def reachable(self) -> bool:
        if time.monotonic() < self._fresh_until:
            return True
        if self._asking is None or self._asking.done():
            self._asking = asyncio.ensure_future(self._ping())
        return await asyncio.shield(self._asking)

    async def _ping(self) -> bool:
        try:
            await asyncio.wait_for(self.store.ping(), PING_TIMEOUT_SECONDS)
        except (TimeoutError, RedisError, OSError):
            REDIS_ERRORS.labels("ping").inc()
            return False
        self._fresh_until = time.monotonic() + HEALTH_FRESH_SECONDS
        return True


@dataclass
class Services:
    settings: Settings
    clients: Clients
    installations: RedisInstallationStore | None
    store: Store
    people: People
    availabilities: Availabilities
    router: Router
    scheduler: Scheduler
    lifecycle: Lifecycle
    digests: Digests
    insights: Insights
    home: Home
    background: Background
    health: StoreHealth
    ask_forms: AskForms
    personal: PersonalData
    effects: EffectQueue
    answers: Answers
    workflow_steps: WorkflowSteps
    metrics_port: int | None = None  # where /metrics is bound once serving (METRICS_PORT 0 picks one)

    async def send_ask(self, ask: Ask) -> bool:
        """Saves a new ask with its timers, all or nothing: False, with nothing of it kept, when
        Redis refused (down, or out of memory) part-way."""
        try:
            ask.created_at = ask.created_at or time.time()  # the timers count from it
            ask.week = await self.insights.this_week(ask.team_id)
            await self.digests.track(ask.team_id)
            # Its timers first: the ask's own write, which owes its sending, comes late in saving (store.save_ask).
            await self.lifecycle.sent(ask)
            await self.store.save_ask(ask)
        except (RedisError, OSError) as error:
            self.health.saw(error)
            REDIS_ERRORS.labels("save_ask").inc()
            log.warning("could not store an ask; taking back what was written", exc_info=True)
            with contextlib.suppress(RedisError, OSError):  # deletions, which a full Redis still takes
                await self.lifecycle.unsent(ask)
            return False
        return True

    def job_handlers(self):
        """What running each kind of timed job does."""
        return {**self.lifecycle.handlers(), **self.personal.handlers()}

    async def run_jobs_of(self, team_id: str) -> None:
        """Runs what is due in a workspace now, here, rather than at a worker's next poll (an erasure
        just asked for); the jobs' leases keep any worker from running them too."""
        await self.scheduler.run_due_of(team_id, self.job_handlers())

    async def language_of(self, team_id: str, user_id: str) -> Language:
        """The language `user_id` reads slack-ask in; English if it can't be found out quickly."""
        try:
            return await asyncio.wait_for(self.people.language_of(team_id, user_id), LANGUAGE_LOOKUP_SECONDS)
        except TimeoutError:
            return ENGLISH

    def open_modal(
        self, team_id: str, user_id: str, trigger_id: str, prepare: Prepare, respond: AsyncRespond | None = None
    ) -> None:
        """Opens the modal `prepare` makes, in the language of `user_id`, off the ack path; Slack's trigger_id
        is good for 3 seconds, so this comes first. What the modal needs looked up (`prepare`, within that time)
        and the language it is drawn in are found at once, side by side."""
        self.background.spawn_now(
            self._open_modal(team_id, user_id, trigger_id, prepare, respond), "views.open", for_a_person=True
        )

    async def _open_modal(
        self, team_id: str, user_id: str, trigger_id: str, prepare: Prepare, respond: AsyncRespond | None
    ) -> None:
        # Nothing is asked of Slack before views.open: the directory knows nearly everyone's language,
        # and someone it doesn't yet sees the form in English, then in theirs as soon as Slack says.
        known, draw = await asyncio.gather(self.people.known_language(team_id, user_id), prepare())
        lang = known or ENGLISH
        try:
            client = await self.clients.for_team(team_id)
            opened = await client.views_open(trigger_id=trigger_id, view=draw(lang))
        except SlackApiError as error:
            log.warning("views.open failed", extra={"error": error.response.get("error")})
            if respond:
                await respond(
                    response_type="ephemeral",
                    replace_original=False,
                    text=lang.gettext("Slack didn't let the form open in time. Try again and it should appear."),
                )
            return
        if known is None:
            await self._in_their_language(team_id, user_id, draw, opened.get("view") or {})

    async def _in_their_language(self, team_id: str, user_id: str, draw: Draw, shown: dict) -> None:
        lang = await self.people.language_of(team_id, user_id)
        if lang.code == ENGLISH.code or not shown.get("id"):
            return
        client = await self.clients.for_team(team_id)
        try:  # the hash: if they already changed the form, it stays as it is
            await client.views_update(view_id=shown["id"], hash=shown.get("hash"), view=draw(lang))
        except SlackApiError as error:
            log.info("form left in English", extra={"error": error.response.get("error")})

    def reply(self, respond: AsyncRespond, **message) -> None:
        """Answers through the response URL after the ack, which must not wait on that HTTP call."""
        self.background.spawn_now(respond(**message), "respond")

    async def store_reachable(self) -> bool:
        return await self.health.reachable()
