"""Structured logs and Prometheus metrics.

Logs are one JSON object per line. They carry ids, kinds and timings, never tokens or what people
wrote: ask text, scopes and notes stay out of logs.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped

REGISTRY = CollectorRegistry()
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)

REQUEST_SECONDS = Histogram(
    "slack_ask_request_seconds",
    "Time to answer Slack (the ack), by kind of request",
    ["kind"],
    buckets=FAST_BUCKETS,
    registry=REGISTRY,
)
HTTP_RESPONSES = Counter(
    "slack_ask_http_responses_total", "HTTP answers by route and status", ["route", "status"], registry=REGISTRY
)
SLACK_CALLS = Counter("slack_ask_slack_api_calls_total", "Web API calls by method", ["method"], registry=REGISTRY)
SLACK_ERRORS = Counter(
    "slack_ask_slack_api_errors_total",
    "Web API calls that failed, by method and error",
    ["method", "error"],
    registry=REGISTRY,
)
SLACK_RATE_LIMITED = Counter(
    "slack_ask_slack_api_rate_limited_total", "429 answers from the Web API, by method", ["method"], registry=REGISTRY
)
SLACK_SECONDS = Histogram(
    "slack_ask_slack_api_seconds", "Web API call latency, retries included", ["method"], registry=REGISTRY
)
JOBS = Counter("slack_ask_jobs_total", "Timed jobs run, by kind and outcome", ["kind", "outcome"], registry=REGISTRY)
SCHEDULER_LAG = Histogram(
    "slack_ask_scheduler_lag_seconds",
    "How late a timed job started after its due time",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)
EFFECTS = Counter(
    "slack_ask_effects_total",
    "Effect queue entries by outcome: carried out (done); failed for now and put back to retry after a backoff "
    "(retry); put back for a rate-budget turn (later) or because another process holds the ask (busy); out of "
    "tries or age, into the dead letters (dead); taken over from a consumer that went quiet (reclaimed); looked "
    "at through a Redis Cluster change's intent (intent); queued again by the sweep (swept)",
    ["outcome"],
    registry=REGISTRY,
)
EFFECTS_DROPPED = Counter(
    "slack_ask_effects_dropped_total",
    "Owed effects ended for good because Slack refused them in a way no retry mends, by Slack's error",
    ["error"],
    registry=REGISTRY,
)
EFFECTS_DEAD = Gauge(
    "slack_ask_effects_dead",
    "Effect queue entries whose tries or age ran out, waiting in the dead letters (`slack-ask effects list`)",
    registry=REGISTRY,
)
LOOP_FAILURES = Counter(
    "slack_ask_loop_failures_total",
    "Background loops that failed and were started again, by loop",
    ["loop"],
    registry=REGISTRY,
)
EFFECTS_PENDING = Gauge(
    "slack_ask_effects_pending",
    "Asks with effects owed and not yet carried out (the effect queue's depth, all instances)",
    registry=REGISTRY,
)
EFFECTS_OLDEST_SECONDS = Gauge(
    "slack_ask_effects_oldest_seconds", "Age of the oldest effect still owed", registry=REGISTRY
)
SLACK_BUDGET_WAIT = Histogram(
    "slack_ask_slack_api_budget_wait_seconds",
    "Time a Web API call waited for its turn in the workspace's shared rate budget",
    ["method"],
    buckets=(0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
REDIS_ERRORS = Counter("slack_ask_redis_errors_total", "Redis operations that failed", ["where"], registry=REGISTRY)
# The admins' insights, per workspace, over the last week that ended (weeks="1") or the last twelve
# (weeks="12"), only with METRICS_INSIGHTS set. Labels name a workspace, never a person; a figure about
# fewer than 5 people or asks, or a total that is not exact (a week of it hidden), has no sample at all.
INSIGHTS = {
    figure: Gauge(f"slack_ask_insights_{figure}", help_text, ["team", "weeks"], registry=REGISTRY)
    for figure, help_text in {
        "asks_sent": "Asks sent",
        "found_help_ratio": "Share of asks sent that got a yes",
        "median_minutes_to_first_yes": "Median time from ask to first yes (upper bound of its bucket)",
        "help_hours": "Hours of help given on asks marked done (their estimates)",
        "thanked_ratio": "Share of asks sent that ended with a thank-you",
        "offers_made": "Offers made by people asked (later, a smaller yes, someone else)",
        "offers_accepted": "Offers the asker accepted",
    }.items()
}


def metrics_text() -> bytes:
    return generate_latest(REGISTRY)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with whatever `extra=` fields the call site gave."""

    _standard = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in self._standard})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # uvicorn's start and stop chatter says nothing about the setup; slack-ask's own start line does.
    for noisy in ("slack_bolt", "slack_sdk", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Bolt warns that SLACK_BOT_TOKEN is unused because it was given our client, which holds that very token,
    # and an authorize function, which answers with it.
    logging.getLogger("slack_bolt.AsyncApp").addFilter(_not_the_unused_token_warnings)


def _not_the_unused_token_warnings(record: logging.LogRecord) -> bool:
    return record.getMessage() not in (warning_client_prioritized_and_token_skipped(), warning_token_skipped())
