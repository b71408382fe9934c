"""Workflow Builder: a run of the "Send a low-pressure ask" step sends its ask, or fails at once with why.

The step completes later, when its ask has ended (features/workflow_steps.py, through the effect queue).
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.errors import SlackApiError

from ...ids import FunctionId
from ..services import Services

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.function(FunctionId.SEND_ASK)
    async def send_ask_step(body: dict, event: dict, fail: AsyncFail) -> None:
        # Bolt acknowledges the event; an error raised here (Redis or Slack down) answers non-2xx, so Slack
        # delivers it again, and a repeat sends nothing twice.
        failure = await services.workflow_steps.start(body["team_id"], event, services.send_ask)
        if failure is None:
            return
        try:
            await fail(failure)  # functions.completeError with the run's own token: the workflow's activity shows it
        except SlackApiError as error:  # a repeated event whose run already failed
            log.info("workflow step not failed again", extra={"error": error.response.get("error")})
