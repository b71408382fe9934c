"""Bolt-python's own recorded payloads, not only ours: signed and sent to a running `serve`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from slack_requests import SlackRequests
from test_ask_flow import HAL
from test_edge import SECRET, served  # noqa: F401 (one `serve` process for the module)
from test_oauth import KEY

from slack_app.domain.asks import Ask
from slack_app.playground import payloads
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "slack-reference" / "bolt-python-test-payloads"
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
SUBSCRIBED = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
FUNCTIONS = set(MANIFEST["functions"])  # a function_executed event is wanted for the app's own steps only


def sample_files() -> list[Path]:
    return sorted(
        path for path in SAMPLES.iterdir() if path.suffix in (".json", ".txt") and not path.name.startswith("_")
    )


def as_slack_sends_it(path: Path) -> tuple[str, str]:
    """The body and content type Slack would use: events as JSON, commands as a form, interactions as payload=."""
    if path.suffix == ".txt":
        return path.read_text().strip(), payloads.FORM
    body = json.loads(path.read_text())
    if body.get("type") in ("event_callback", "url_verification"):
        return json.dumps(body), payloads.JSON
    return payloads.interaction_body(body), payloads.FORM


def expected_status(path: Path) -> str:
    body = {} if path.suffix == ".txt" else json.loads(path.read_text())
    if body.get("type") == "url_verification":
        return "2xx"
    if body.get("type") == "event_callback" and body["event"]["type"] == "function_executed":
        return "2xx" if body["event"]["function"]["callback_id"] in FUNCTIONS else "404"
    if body.get("type") == "event_callback" and body["event"]["type"] in SUBSCRIBED:
        return "2xx"
    return "404"  # Bolt's deliberate answer to what no listener wants


def test_the_samples_cover_org_level_events():
    org_level = [
        path.name
        for path in sample_files()
        if path.suffix == ".json"
        and "enterprise_id" in (body := json.loads(path.read_text()))
        and not body.get("team_id")
    ]
    assert len(sample_files()) >= 35 and len(org_level) >= 3


@pytest.mark.parametrize("path", sample_files(), ids=lambda path: path.stem)
def test_every_recorded_payload_gets_2xx_if_subscribed_and_bolts_404_if_not(served, path):  # noqa: F811
    _, url, _, fake = served
    body, content_type = as_slack_sends_it(path)

    reply = SlackRequests(url, SECRET, fake).send(body, content_type)

    status = "2xx" if 200 <= reply.status < 300 else str(reply.status)
    assert status == expected_status(path), (reply.status, reply.body[:300])


ORG_WIDE = {
    "enterprise_id": "E111",
    "team_id": None,
    "user_id": "U0SLACKASK",
    "is_bot": True,
    "is_enterprise_install": True,
}


@pytest.fixture
def oauth_app(settings, fake_slack):
    distributed = replace(
        settings,
        bot_token=None,
        client_id=fake_slack.client_id,
        client_secret=fake_slack.client_secret,
        encryption_keys=(KEY,),
    )
    server = ThreadedServer(create_app(distributed)).start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    "sample",
    [
        "test_events_token_revocations__event_payload__L143.json",
        "test_events_token_revocations__event_payload__L106.json",
    ],
)
def test_an_organisations_uninstall_forgets_its_installation_and_every_workspace_of_it(
    oauth_app, fake_slack, redis_sync, settings, sample
):
    from slack_sdk.oauth.installation_store import Installation

    installations = oauth_app.app.services.installations
    oauth_app.call(
        installations.async_save(
            Installation(
                app_id="A0SLACKASK",
                enterprise_id="E111",
                team_id=None,
                user_id="U0ADMIN",
                bot_token="xoxb-org",
                bot_id="B1",
                bot_user_id="U0SLACKASK",
                is_enterprise_install=True,
            )
        )
    )
    oauth_app.call(
        installations.async_save(
            Installation(
                app_id="A0SLACKASK",
                team_id="T0OTHER",
                user_id="U0ADMIN",
                bot_token="xoxb-other",
                bot_id="B1",
                bot_user_id="U0SLACKASK",
            )
        )
    )
    fake_slack.tokens["xoxb-org"] = "T0TEAM"
    slack = SlackRequests(oauth_app.url, settings.signing_secret, fake_slack)
    for team in ("T0TEAM", "T0WS2"):  # workspaces of the organisation, seen through its requests
        signed = slack.send(
            json.dumps(
                {
                    **slack.event_envelope(
                        {
                            "type": "app_home_opened",
                            "user": "U0ASKER",
                            "tab": "home",
                            "channel": "D0ASKER",
                            "event_ts": "1.0",
                        },
                        team=team,
                    ),
                    "enterprise_id": "E111",
                    "authorizations": [ORG_WIDE],
                }
            ),
            payloads.JSON,
        )
        assert signed.status == 200
    for team in ("T0TEAM", "T0WS2", "T0OTHER"):
        oauth_app.call(
            oauth_app.app.services.store.save_ask(
                Ask(
                    team_id=team,
                    asker="U0ASKER",
                    text="Review PR 412",
                    scope="retry.py",
                    estimate_minutes=30,
                    decline_line="no_reason",
                    teammates=[HAL],
                )
            )
        )
    assert redis_sync.keys("{T0WS2}:home_viewers") and redis_sync.keys("{E111}:install:*")
    fake_slack.wait_for(lambda: not redis_sync.keys("*:owed"), what="the asks sent")
    fake_slack.settle()  # the Home tabs opened above are published: nothing of theirs is still on its way

    body, content_type = as_slack_sends_it(SAMPLES / sample)
    reply = slack.send(body, content_type)

    assert reply.status == 200
    assert redis_sync.keys("{E111}*") == []
    assert redis_sync.keys("{T0TEAM*") + redis_sync.keys("{T0WS2*") == []
    assert "T0TEAM" not in redis_sync.smembers("slack-ask:teams")
    assert redis_sync.keys("{T0OTHER:ask:*")  # another customer's workspace is untouched
    assert redis_sync.get("{T0OTHER}:install:bot") is not None
    assert slack.send(body, content_type).status == 200  # Slack's retry finds nothing left, and is fine with it


def test_when_slack_cannot_be_reached_people_are_told_so_not_that_storage_is_down(settings, fake_slack):
    unreachable = replace(settings, slack_api_url="http://127.0.0.1:9/api/", slack_timeout=1)  # nothing listens on 9
    server = ThreadedServer(create_app(unreachable)).start()
    try:
        reply = SlackRequests(server.url, settings.signing_secret, fake_slack).slash_ask("U0ASKER", "Review PR 412")
    finally:
        server.stop()

    assert reply.status == 200
    assert "can't reach Slack" in reply.json()["text"] and "storage" not in reply.json()["text"]


def test_an_instance_started_while_slack_fails_auth_test_still_serves_people(settings, fake_slack):
    """A restart during a Slack incident: who the bot is was said once and kept, so nobody is told to reinstall,
    whichever of the workspaces its token serves sends the first request."""
    first = ThreadedServer(create_app(settings)).start()
    try:
        requests = SlackRequests(first.url, settings.signing_secret, fake_slack)
        assert requests.slash_ask("U0ASKER", "PR 411").status == 200
        assert requests.slash_ask("U0ASKER", "PR 410", team="T0OTHER").status == 200
    finally:
        first.stop()
    asked_before = len(fake_slack.calls_to("auth.test"))
    fake_slack.fail("auth.test", status=503, times=100)

    restarted = ThreadedServer(create_app(settings)).start()
    try:
        requests = SlackRequests(restarted.url, settings.signing_secret, fake_slack)
        reply = requests.slash_ask("U0ASKER", "Review PR 412", team="T0OTHER")
        fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.open")) == 3, what="the third modal")
    finally:
        restarted.stop()

    assert asked_before == 1 and len(fake_slack.calls_to("auth.test")) == 1  # asked once, ever
    assert reply.status == 200 and "reinstall" not in reply.body
