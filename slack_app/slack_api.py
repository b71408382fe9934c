"""The Web API client every part of the app shares."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from .observability import SLACK_CALLS, SLACK_ERRORS, SLACK_SECONDS, CountingRateLimitHandler
from .settings import Settings


class MeteredWebClient(AsyncWebClient):
    """Counts and times every Web API call, and its failures, by method."""

    async def api_call(self, api_method: str, **kwargs) -> AsyncSlackResponse:
        started = time.perf_counter()
        SLACK_CALLS.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            SLACK_ERRORS.labels(api_method, str(error.response.get("error", "unknown"))).inc()
            raise
        except Exception as error:
            SLACK_ERRORS.labels(api_method, type(error).__name__).inc()
            raise
        finally:
            SLACK_SECONDS.labels(api_method).observe(time.perf_counter() - started)


def web_client(settings: Settings) -> AsyncWebClient:
    """A client for SLACK_API_URL that waits out 429s (Retry-After) and retries transient faults."""
    return MeteredWebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            CountingRateLimitHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
