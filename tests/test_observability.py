"""JSON logs and Prometheus metrics, as an operator sees them."""

from __future__ import annotations

import json
import re
import signal
import urllib.request

from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, send_ask
from test_cli import start_serve
from test_lifecycle_flow import load, worker_at

from slack_app.features.lifecycle import check_in_due

SECRET_ASK = "Review the zebra-striped quarterly migration plan"


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = (
        rf"^{re.escape(name)}\{{{re.escape(wanted)}\}} ([0-9.e+]+)$" if labels else rf"^{re.escape(name)} ([0-9.e+]+)$"
    )
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(url: str) -> str:
    with urllib.request.urlopen(url + "/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return response.read().decode()


def test_metrics_count_requests_slack_calls_429s_and_jobs(app_server, slack, fake_slack, redis_sync):
    before = scrape(app_server.metrics_url)
    fake_slack.fail("chat.postMessage", status=429, times=1, retry_after=1)
    cards = send_ask(slack, fake_slack, teammates=[HAL])
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    fake_slack.settle()
    # The first look sets the ask's timer for its check-in, which then asks how it went.
    worker_at(app_server, check_in_due(load(redis_sync)).timestamp())
    after = scrape(app_server.metrics_url)

    def grew(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert grew("slack_ask_request_seconds_count", kind="view_submission") == 1
    assert grew("slack_ask_request_seconds_count", kind="event_callback") == 1
    # summary, card, told, check-in, and the post that met the 429: put back until its turn, then called again
    assert grew("slack_ask_slack_api_calls_total", method="chat.postMessage") == 5
    assert grew("slack_ask_slack_api_rate_limited_total", method="chat.postMessage") == 1
    assert grew("slack_ask_jobs_total", kind="timer", outcome="done") == 2
    assert grew("slack_ask_scheduler_lag_seconds_count") >= 1
    assert grew("slack_ask_http_responses_total", route="/slack/events", status="200") == 2


def test_logs_are_one_json_object_per_line_without_tokens_or_ask_text(tmp_path, fake_slack, redis_url):
    process, url, output_file = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="log-secret",
        REDIS_URL=redis_url,
        SLACK_API_URL=fake_slack.api_url,
    )
    try:
        slack = SlackRequests(url, "log-secret", fake_slack)
        cards = send_ask(slack, fake_slack, teammates=[HAL], text=SECRET_ASK)
        slack.react(HAL, cards[HAL], "white_check_mark")
        fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    output = output_file.read_text()

    lines = [line for line in output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is JSON
    requests = [r for r in records if r["msg"] == "slack request"]
    assert {(r["kind"], r["detail"]) for r in requests} >= {
        ("view_submission", "ask_submit"),
        ("event_callback", "reaction_added"),
    }
    assert all((r["team"], r["status"]) == ("T0TEAM", 200) and r["latency_ms"] > 0 for r in requests), requests
    assert "xoxb-test-token" not in output and "log-secret" not in output
    assert "zebra" not in output


def test_with_metrics_port_set_metrics_are_served_there_and_not_on_the_public_port(tmp_path, fake_slack, redis_url):
    import urllib.error

    from test_cli import free_port

    metrics_port = free_port()
    process, url, _ = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="m-secret",
        REDIS_URL=redis_url,
        SLACK_API_URL=fake_slack.api_url,
        METRICS_PORT=str(metrics_port),
    )
    try:
        SlackRequests(url, "m-secret", fake_slack).slash_ask(ASKER, "Review PR 412")
        scraped = scrape(f"http://127.0.0.1:{metrics_port}")
        try:
            urllib.request.urlopen(url + "/metrics")
            public = 200
        except urllib.error.HTTPError as error:
            public = error.code
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert metric(scraped, "slack_ask_request_seconds_count", kind="slash_command") == 1
    assert public == 404
    assert process.returncode == 0


def test_metrics_are_private_by_default_on_their_own_port_and_local_interface():
    from slack_app.settings import MissingSetting, Settings

    required = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    default = Settings.from_env(required, dotenv_path="/nonexistent")
    assert (default.metrics_port, default.metrics_host, default.metrics_insights) == (9090, "127.0.0.1", False)
    assert default.metrics_port != default.port  # never the public port
    off = Settings.from_env({**required, "METRICS_PORT": "off"}, dotenv_path="/nonexistent")
    assert off.metrics_port is None
    opted = Settings.from_env(
        {**required, "METRICS_HOST": "0.0.0.0", "METRICS_INSIGHTS": "1"},  # nosec B104  (a container's setting)
        dotenv_path="/nonexistent",
    )
    assert (opted.metrics_host, opted.metrics_insights) == ("0.0.0.0", True)  # nosec B104
    try:
        Settings.from_env({**required, "METRICS_PORT": "ninety"}, dotenv_path="/nonexistent")
        raise AssertionError("a port that is no number was taken")
    except MissingSetting as problem:
        assert "METRICS_PORT='ninety'" in str(problem)


def test_a_metrics_port_already_taken_leaves_slack_served_and_says_so(settings, caplog):
    from dataclasses import replace

    from slack_app.wiring.app import create_app
    from slack_app.wiring.server import ThreadedServer

    first = ThreadedServer(create_app(settings)).start()
    try:
        taken = first.app.services.metrics_port
        second = ThreadedServer(create_app(replace(settings, metrics_port=taken))).start()
        try:
            with urllib.request.urlopen(second.url + "/healthz") as response:
                healthy = response.status
            assert second.app.services.metrics_port is None
        finally:
            second.stop()
    finally:
        first.stop()

    assert healthy == 200
    assert any("/metrics not served" in record.getMessage() for record in caplog.records)
