"""The Web API client every part of the app shares."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from ..observability import SLACK_CALLS, SLACK_ERRORS, SLACK_RATE_LIMITED, SLACK_SECONDS
from ..settings import Settings
from ..store.installations import RedisInstallationStore
from .effects import IN_FLIGHT, slack_error_code
from .rate_budget import Budget, RateBudget, TurnLater, setting

ROTATE_MINUTES_BEFORE = 10
TOKEN_CACHE_SECONDS = 30.0  # well inside the rotation margin, so a cached token is never an expired one
# Calls in flight to the Web API at once. A process carries out up to IN_FLIGHT asks at once, an accept's
# effects being five calls made together; with fewer connections than that the calls queue for one, and a
# modal's views.open behind them all (400 held a lone process to 220 accepts/s at 70 % of a core, with
# Slack answering in 300 ms; aiohttp's default is 100).
CALLS_PER_ASK = 6
SLACK_CONNECTIONS = IN_FLIGHT * CALLS_PER_ASK
SAFE_TO_REPEAT = {
    "chat.update",
    "views.publish",
    "users.info",
    "conversations.open",
    "conversations.history",
    "auth.test",
    "chat.getPermalink",
    "usergroups.users.list",
    "users.list",
}
# What the app asks for when a workspace installs it; tests/test_manifest.py keeps it equal to manifest.yml.
BOT_SCOPES = [
    "commands",
    "chat:write",
    "users:read",
    "reactions:read",
    "im:write",
    "im:history",
    "usergroups:read",
    "files:write",
]


# The budget the call under way in this task spends, for a 429 to hold exactly that one.
SPENDING: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("slack_ask_spending", default=None)


class MeteredWebClient(AsyncWebClient):
    """Counts and times every Web API call, and its failures, by method; each call first waits for
    its turn in its workspace's shared rate budget (when there is one)."""

    budget: RateBudget | None = None
    workspace: str | None = (
        None  # whose budget this client's calls spend: a team id, or an org-wide install's enterprise id
    )

    async def api_call(self, api_method: str, **kwargs) -> AsyncSlackResponse:
        started = time.perf_counter()
        SLACK_CALLS.labels(api_method).inc()
        budget = self.budget
        spending = Budget(self.workspace, api_method, _channel(kwargs)) if budget and self.workspace else None
        try:
            with setting(SPENDING, spending):
                if budget is not None and spending is not None:
                    await budget.wait_turn(spending)
                return await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            SLACK_ERRORS.labels(api_method, slack_error_code(error)).inc()  # (an HTML 503's body is no JSON)
            raise
        except TurnLater:  # not a failure: the work is put back until its turn
            raise
        except Exception as error:
            SLACK_ERRORS.labels(api_method, type(error).__name__).inc()
            raise
        finally:
            SLACK_SECONDS.labels(api_method).observe(time.perf_counter() - started)


def _channel(kwargs: dict) -> str:
    for where in ("json", "params", "data"):
        if isinstance(kwargs.get(where), dict) and kwargs[where].get("channel"):
            return str(kwargs[where]["channel"])
    return ""


class BudgetRateLimitHandler(AsyncRateLimitErrorRetryHandler):
    """Counts a 429 and honours its Retry-After. With a shared budget the hold is recorded on the very
    budget the call spent, so every instance holds off it, and the retry then takes its turn like any
    call (a background one under late_turns_put_back() is put back instead); without one, like
    slack_sdk's own handler."""

    def __init__(self, budget: RateBudget | None = None, **kwargs):
        super().__init__(**kwargs)
        self.budget = budget

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # The TurnLater this handler raised comes back to the retry loop as an error beside the same 429
        # response: that is the call put back, not another 429 to count and hold for again.
        if isinstance(error, TurnLater):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        SLACK_RATE_LIMITED.labels(request.url.rsplit("/", 1)[-1]).inc()
        spending = SPENDING.get()
        if self.budget is None or response is None or spending is None:
            await super().prepare_for_next_attempt_async(state=state, request=request, response=response, error=error)
            return
        await self.budget.hold_off(spending, _retry_after(response))
        await self.budget.wait_turn(spending)
        state.next_attempt_requested = True
        state.increment_current_attempt()


def _retry_after(response: HttpResponse) -> float:
    """Seconds Slack asked us to wait (its Retry-After header; 1 when absent or unreadable)."""
    value = next((values for name, values in response.headers.items() if name.lower() == "retry-after"), ["1"])
    try:
        return max(0.0, float(value[0] if isinstance(value, list) else value))
    except (TypeError, ValueError, IndexError):
        return 1.0


class TimeoutRetryHandler(AsyncRetryHandler):
    """Retries a timed-out call when doing it twice is harmless; a timed-out post is left to the
    delivery check, which looks for the message before sending it again."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rsplit("/", 1)[-1]
        return isinstance(error, asyncio.TimeoutError) and method in SAFE_TO_REPEAT


def web_client(
    settings: Settings, token: str | None = None, budget: RateBudget | None = None, workspace: str | None = None
) -> AsyncWebClient:
    """A client for SLACK_API_URL that spends `workspace`'s shared rate budget, waits out 429s
    (Retry-After, told to every instance through the budget) and retries transient faults."""
    client = MeteredWebClient(
        token=token,
        base_url=settings.slack_api_url,
        # slack_sdk annotates the timeout as int but hands it to aiohttp.ClientTimeout, which takes seconds as a float.
        timeout=settings.slack_timeout,  # type: ignore[arg-type]
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            BudgetRateLimitHandler(budget, max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            TimeoutRetryHandler(max_retry_count=2),
        ],
    )
    client.budget = budget
    client.workspace = workspace
    return client


class NotInstalled(Exception):
    """No installation holds a bot token for this workspace (never installed, or uninstalled)."""


class Clients:
    """The Web API client for a workspace: the one bot token, or the one its installation holds."""

    def __init__(
        self, settings: Settings, installations: RedisInstallationStore | None = None, budget: RateBudget | None = None
    ):
        self.settings = settings
        self.installations = installations
        self.budget = budget
        self.app_client = web_client(settings, settings.bot_token, budget)  # OAuth mode: no token, for oauth.v2.access
        self._rotator = (  # without the app's credentials no token can be refreshed
            AsyncTokenRotator(
                client_id=settings.client_id, client_secret=settings.client_secret, client=self.app_client
            )
            if installations and settings.client_id and settings.client_secret
            else None
        )
        # (token, workspace) → its client; safe to lose: rebuilt from the installation (or the one token)
        self._by_token: dict[tuple[str | None, str], AsyncWebClient] = {}
        self._by_team: dict[str, tuple[float, AsyncWebClient]] = {}  # team → (fresh until, its client)
        self._looking_up: dict[str, asyncio.Future] = {}  # team → its lookup in flight
        self._session: aiohttp.ClientSession | None = None

    @contextlib.asynccontextmanager
    async def sharing_connections(self):
        """While the block runs, every client reuses one pool of connections to SLACK_API_URL.

        Without it slack_sdk opens a new session and TCP connection for every call: most of the
        CPU an answer costs under load."""
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SLACK_CONNECTIONS))
        for client in (self.app_client, *self._by_token.values()):
            client.session = self._session
        try:
            yield
        finally:
            for client in (self.app_client, *self._by_token.values()):
                client.session = None
            session, self._session = self._session, None
            await session.close()

    async def for_team(self, team_id: str) -> AsyncWebClient:
        installations = self.installations
        if installations is None:  # the one bot token: each workspace it serves spends its own budget
            return self._client(self.settings.bot_token, team_id)
        known = self._by_team.get(team_id)
        if known and known[0] > time.monotonic():  # a fan-out's many calls look the token up once
            return known[1]
        # One lookup per workspace at a time: two callers rotating one refresh token at once would
        # see the second refresh refused, as Slack refuses a refresh token already used.
        looking_up = self._looking_up.get(team_id)
        if looking_up is None:
            looking_up = asyncio.ensure_future(self._look_up(installations, team_id))
            self._looking_up[team_id] = looking_up
            looking_up.add_done_callback(lambda _: self._looking_up.pop(team_id, None))
        return await asyncio.shield(looking_up)

    async def _look_up(self, installations: RedisInstallationStore, team_id: str) -> AsyncWebClient:
        bot = await self._bot(installations, team_id)
        if bot is None or not bot.bot_token:
            raise NotInstalled(team_id)
        # An org-wide install's token serves every workspace of the organisation, under one budget.
        workspace = bot.enterprise_id if bot.is_enterprise_install and bot.enterprise_id else bot.team_id or team_id
        client = self._client(bot.bot_token, workspace)
        self._by_team[team_id] = (time.monotonic() + TOKEN_CACHE_SECONDS, client)
        return client

    def _client(self, token: str | None, workspace: str) -> AsyncWebClient:
        client = self._by_token.get((token, workspace))
        if client is None:
            client = self._by_token[(token, workspace)] = web_client(self.settings, token, self.budget, workspace)
            client.session = self._session
        return client

    def forget(self, team_id: str) -> None:
        self._by_team.pop(team_id, None)

    async def _bot(self, installations: RedisInstallationStore, team_id: str) -> Bot | None:
        bot = await installations.find_workspace_bot(team_id)
        if bot is None or self._rotator is None:
            return bot
        refreshed = await self._rotator.perform_bot_token_rotation(
            bot=bot, minutes_before_expiration=ROTATE_MINUTES_BEFORE
        )
        if refreshed is not None:
            await installations.async_save_bot(refreshed)
            return refreshed
        return bot
