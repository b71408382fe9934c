"""What the two bare Bolt baselines share: how they are configured, and the Slack calls they make.

The baselines are the floor slack-ask is measured against: Bolt with its defaults, no Redis, no
state, making the same Web API calls with payloads of the same size. Their payloads are rendered
once from slack-ask's own templates, so serialising them costs the same; rendering them per
event is slack-ask's work, not Bolt's, and stays out of the floor.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from slack_app.domain.asks import Ask
from slack_app.features.modals import ask_modal
from slack_app.features.routing import render_card
from slack_app.text.i18n import ENGLISH
from slack_app.text.render import render

_SAMPLE_ASK = Ask(
    team_id="T0TEAM",
    asker="U0ASKER",
    text="Review the retry logic in PR 412 before Friday's release",
    scope="In: error handling in retry.py. Out: naming and tests.",
    estimate_minutes=30,
    decline_line="no_reason",
    teammates=["U0HELP1", "U0HELP2", "U0HELP3"],
    helpers=["U0HELP1"],
)
_CARD = render_card(_SAMPLE_ASK, "mine", ENGLISH)
_NOTICE = render(
    "asker_notice.json.j2",
    lang=ENGLISH,
    ask=_SAMPLE_ASK,
    notice="helper_found",
    helper="U0HELP1",
    snoozed=False,
    scope="",
)

# The Web API methods a reaction may cost, as the slack_sdk client method that makes each one.
_CLIENT_METHODS = {"chat.update": "chat_update", "chat.postMessage": "chat_postMessage"}


@dataclass(frozen=True)
class BaselineConfig:
    port: int
    api_url: str
    token: str
    signing_secret: str
    calls_per_reaction: dict[str, int]  # e.g. {"chat.update": 4, "chat.postMessage": 1}


def parse_args(argv: list[str]) -> BaselineConfig:
    """Port, fake Slack URL and call mix from argv; token and secret from the env, as slack-ask reads them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--calls", required=True, help="what one reaction costs, e.g. chat.update=4,chat.postMessage=1")
    args = parser.parse_args(argv)
    return BaselineConfig(
        port=args.port,
        api_url=args.api_url,
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        calls_per_reaction=_parse_calls(args.calls),
    )


def _parse_calls(spec: str) -> dict[str, int]:
    calls = {}
    for part in spec.split(","):
        method, count = part.split("=")
        if method not in _CLIENT_METHODS:
            raise SystemExit(f"a baseline cannot make {method}; it knows {sorted(_CLIENT_METHODS)}")
        calls[method] = int(count)
    return calls


def modal_for(command: dict) -> dict:
    """The same modal slack-ask opens for this /ask."""
    return ask_modal(ENGLISH, command.get("text", ""), command.get("channel_id", ""))


def reaction_calls(event: dict, calls_per_reaction: dict[str, int]) -> list[tuple[str, dict]]:
    """(client method, kwargs) for each call a reaction costs: updates of the reacted message, DMs to the reactor.

    The benchmark reacts on real cards the fake Slack holds, so every chat.update finds its message.
    """
    item = event["item"]
    kwargs = {
        "chat.update": {"channel": item["channel"], "ts": item["ts"], **_CARD},
        "chat.postMessage": {"channel": event["user"], **_NOTICE},
    }
    return [
        (_CLIENT_METHODS[method], kwargs[method]) for method, count in calls_per_reaction.items() for _ in range(count)
    ]
