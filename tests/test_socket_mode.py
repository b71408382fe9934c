"""Socket Mode: with SLACK_APP_TOKEN the app takes Slack's requests over a WebSocket, not HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA

from slack_app.settings import MissingSetting, Settings
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer


@pytest.fixture
def socket_server(settings, fake_slack):
    server = ThreadedServer(create_app(replace(settings, app_token=fake_slack.app_token, signing_secret=""))).start()
    yield server
    server.stop()


def test_the_whole_flow_over_socket_mode(socket_server, fake_slack):
    slack = SlackRequests(socket_server.url, "unused", fake_slack)  # builds payloads; nothing goes over HTTP

    assert fake_slack.socket_request("slash_commands", slack.command_fields(ASKER, "Review PR 412")) is None
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="modal")

    errors = fake_slack.socket_request("interactive", slack.view_submission(ASKER, slack.ask_values(teammates=[ASKER])))
    assert errors["response_action"] == "errors" and "teammates" in errors["errors"]

    fake_slack.socket_request("interactive", slack.view_submission(ASKER, slack.ask_values(teammates=[HAL, HANA])))
    fake_slack.wait_for(lambda: fake_slack.dms(HAL) and fake_slack.dms(HANA), what="cards")
    fake_slack.settle(quiet=0.2)
    card = fake_slack.dms(HAL)[0]
    reaction = {
        "type": "reaction_added",
        "user": HAL,
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": card.channel, "ts": card.ts},
        "event_ts": "1.0",
    }
    fake_slack.socket_request("events_api", slack.event_envelope(reaction))
    fake_slack.wait_for(lambda: "Covered by <@U0HELP1>" in fake_slack.dms(HANA)[0].all_text, what="covered")


def test_socket_mode_still_answers_healthz_and_takes_nothing_over_http(socket_server, fake_slack):
    fake_slack.socket_connected.wait(5)
    with urllib.request.urlopen(socket_server.url + "/healthz") as response:
        assert json.loads(response.read()) == {
            "status": "ok",
            "redis": "ok",
            "effects": {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0},
        }
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(socket_server.url + "/slack/events", data=b"{}", method="POST"))
    assert refused.value.code == 404
    assert fake_slack.calls_to("apps.connections.open")  # at SLACK_API_URL, with the app token


def test_socket_mode_needs_no_signing_secret():
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, dotenv_path="/nonexistent")
    assert settings.app_token == "xapp-1" and settings.signing_secret == ""
    with pytest.raises(MissingSetting, match="SLACK_SIGNING_SECRET"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}, dotenv_path="/nonexistent")
