"""The playground over HTTP: its page's JSON API drives the real app as Slack would, and what Slack would
reject shows up in the page's state. The app runs in-process exactly as `slack-ask playground` runs it."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fake_slack import REFERENCE, ROOT, STRICT
from test_cli import clean_env

from slack_app.domain.asks import Ask
from slack_app.domain.offers import Kind
from slack_app.features.modals import ask_modal, offer_modal
from slack_app.playground.checks import (
    ANSWERED_METHOD_SCOPES,
    Checks,
    ModelBlockKit,
    check_blocks,
    check_view,
)
from slack_app.playground.server import GENERAL, KUDOS, PlaygroundServer, playground_settings
from slack_app.text.i18n import ENGLISH

PLAYGROUND = [sys.executable, "-m", "slack_app.cli", "playground"]
ADA, HAL, HANA, HUGO, PRIYA = "U0ADA", "U0HAL", "U0HANA", "U0HUGO", "U0PRIYA"
ASK = {
    "ask": "Review the retry logic in PR 412",
    "scope": "In: retry.py. Out: tests.",
    "estimate": "30",
    "decline": "no_reason",
    "teammates": [HAL, HANA],
    "needed_by": None,
    "helpers_needed": "1",
}


def dm(user: str) -> str:
    return "D" + user[1:]


def post_json(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text.startswith(b"{") else {}


class Page:
    """What the playground's web page does, minus the drawing."""

    def __init__(self, server: PlaygroundServer):
        self.url = server.url
        self.playground = server.playground
        self.token = server.playground.token

    def do(self, action: str, user: str, **body: Any) -> dict:
        return post_json(f"{self.url}playground/{action}", {"as": user, **body})

    def state(self, user: str) -> dict:
        with urllib.request.urlopen(f"{self.url}playground/state?as={user}", timeout=10) as response:
            return json.loads(response.read())

    def wait_for(self, user: str, condition: Callable[[dict], Any], what: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = condition(self.state(user))
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; {user} sees {json.dumps(self.state(user))[:2000]}")

    def dm(self, user: str, containing: str, button: str | None = None) -> dict:
        """The newest message in the person's DM with the app that contains `containing` (and the `button`
        to press, when given: a summary may say the same words before the message with the button arrives)."""

        def wanted(message: dict) -> bool:
            shown = json.dumps(message, ensure_ascii=False)
            return containing in shown and (button is None or f'"action_id": "{button}"' in shown)

        return self.wait_for(
            user,
            lambda s: next((m for m in reversed(s["conversations"][s["dm"]]) if wanted(m)), None),
            f"{containing!r} for {user}" + (f" with {button}" if button else ""),
        )

    def call_api(self, method: str, **args: Any) -> dict:
        """A Web API call as the app would make it, with its bot token."""
        return post_json(f"{self.url}api/{method}", args, {"Authorization": f"Bearer {self.token}"})


@pytest.fixture
def page(redis_url, tmp_path):
    listening = socket.create_server(("127.0.0.1", 0))
    server = PlaygroundServer(listening, playground_settings(listening.getsockname()[1], tmp_path, redis_url), STRICT)
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), name="playground", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started.is_set():
        assert thread.is_alive() and time.monotonic() < deadline, "the playground did not start"
        time.sleep(0.02)
    yield Page(server)
    server.stop()
    thread.join(20)
    assert not thread.is_alive(), "the playground did not stop"


def send_ask(page: Page, **changes: Any) -> None:
    page.do("command", ADA, channel=dm(ADA), text="/ask Review the retry logic in PR 412")
    page.wait_for(ADA, lambda s: s["modal"], "the ask modal")
    page.do("submit", ADA, values={**ASK, **changes})


def card_of(page: Page, user: str) -> dict:
    return page.dm(user, "is asking for a hand")


def test_an_ask_goes_from_slash_command_to_each_helper_and_a_reaction_takes_it(page):
    send_ask(page)

    assert page.wait_for(ADA, lambda s: s["modal"] is None, "the modal to close")
    page.dm(ADA, "Your ask went to")
    card = card_of(page, HAL)
    assert "<@U0ADA> is asking for a hand" in json.dumps(card)
    page.do("react", HAL, channel=dm(HAL), ts=card["ts"], reaction="white_check_mark")

    assert page.dm(HAL, "You're on it")["reactions"] == [{"name": "white_check_mark", "count": 1, "mine": True}]
    page.dm(HANA, "<@U0HAL> さんが引き受けてくれました")  # Hana's Slack is in Japanese, so her card is too
    page.dm(ADA, "is on your ask")
    assert page.state(ADA)["problems"] == []


def general(page: Page, user: str, containing: str) -> dict:
    return page.wait_for(
        user,
        lambda s: next((m for m in s["conversations"][GENERAL] if containing in m["text"]), None),
        f"{containing!r} in #general",
    )


def modal_blocks(modal: dict) -> dict:
    return {block.get("block_id"): block for block in modal["view"]["blocks"]}


def test_the_message_shortcut_starts_an_ask_from_a_message_and_coaching_shows_on_the_field(page):
    message = general(page, ADA, "retry logic in PR 412")
    page.do("shortcut", ADA, channel=GENERAL, ts=message["ts"], callback_id="ask_about_message")

    blocks = modal_blocks(page.wait_for(ADA, lambda s: s["modal"], "the ask modal"))
    assert (
        blocks["ask"]["element"]["initial_value"] == "The retry logic in PR 412 times out on CI about one run in five."
    )
    scope = blocks["scope"]["element"]["initial_value"]
    assert scope.startswith(page.playground.permalink(GENERAL, message["ts"]))

    values = {**ASK, "ask": "Sorry to bother you: fix the retry backoff in PR 412", "scope": scope + "Done: CI green."}
    page.do("submit", ADA, values=values)
    errors = page.wait_for(ADA, lambda s: s["modal"] and s["modal"]["errors"], "the coaching")
    assert list(errors) == ["ask"] and "“Sorry to bother”" in errors["ask"]  # quoted back as typed

    page.do("submit", ADA, values=values)  # sent again unchanged: it goes
    page.wait_for(ADA, lambda s: s["modal"] is None, "the modal to close")
    assert page.playground.permalink(GENERAL, message["ts"]) in json.dumps(card_of(page, HAL))
    assert page.state(ADA)["problems"] == []


def test_mentions_typed_in_slash_ask_arrive_escaped_and_are_chosen(page):
    page.do("command", ADA, channel=GENERAL, text="/ask @hal @design check the onboarding copy & tone in #general")

    blocks = modal_blocks(page.wait_for(ADA, lambda s: s["modal"], "the ask modal"))
    assert blocks["teammates"]["element"]["initial_users"] == [HAL, HANA, "U0HUGO"]
    assert blocks["ask"]["element"]["initial_value"] == "Check the onboarding copy & tone in #general"
    assert (
        page.playground.escaped("@hana & <b> @nobody #general")
        == "<@U0HANA|hana.sato> &amp; &lt;b&gt; @nobody <#C0GENERAL|general>"
    )


def test_plain_text_in_a_channel_is_a_message_and_the_lightning_menu_opens_a_blank_ask(page):
    page.do("command", HAL, channel=GENERAL, text="Deploys are frozen until 3pm.")
    said = general(page, ADA, "Deploys are frozen")
    assert said["user"] == HAL

    page.do("shortcut", HANA, callback_id="new_ask")
    blocks = modal_blocks(page.wait_for(HANA, lambda s: s["modal"], "the ask modal"))
    assert "initial_value" not in blocks["ask"]["element"]
    assert page.state(HANA)["problems"] == []


def test_the_apps_validation_errors_show_on_the_modals_fields(page):
    send_ask(page, teammates=[ADA, HAL], scope="")

    errors = page.wait_for(ADA, lambda s: s["modal"] and s["modal"]["errors"], "field errors")
    assert set(errors) == {"teammates", "scope"} and "other than yourself" in errors["teammates"]
    assert page.state(ADA)["modal"]["view"]["callback_id"] == "ask_submit"  # still open, as Slack keeps it


def test_buttons_on_the_home_tab_answer_an_ask(page):
    send_ask(page)
    card_of(page, HAL)

    page.do("home", HAL)
    home = page.wait_for(HAL, lambda s: s["home"], "Hal's Home tab")
    page.do(
        "action",
        HAL,
        surface="home",
        block_id=next(b["block_id"] for b in home["blocks"] if b.get("block_id", "").startswith("for-")),
        action_id="ask_accept",
    )

    page.dm(HAL, "You're on it")
    page.wait_for(HAL, lambda s: "You're on it" in json.dumps(s["home"]), "Home kept current")


def test_download_my_data_arrives_as_a_file_the_page_can_download(page):
    send_ask(page)
    page.do("home", ADA)
    page.wait_for(ADA, lambda s: s["home"], "Ada's Home tab")

    page.do("action", ADA, surface="home", block_id="your_data", action_id="home_export_data")

    (shared,) = page.dm(ADA, "everything slack-ask keeps about you")["files"]
    assert shared["title"] == f"slack-ask-T0PLAYGROUND-{ADA}.json"
    with urllib.request.urlopen(f"{page.url}files/{shared['id']}", timeout=10) as download:
        data = json.loads(download.read())
    assert data["user"] == ADA and [ask["text"] for ask in data["asks_you_made"]] == [ASK["ask"]]


def test_an_admin_chooses_the_digest_settings_on_home(page):
    page.do("home", PRIYA)
    home = page.wait_for(PRIYA, lambda s: s["home"], "Priya's Home tab")
    assert '"initial_channel": "C0KUDOS"' in json.dumps(home)

    page.do("action", PRIYA, surface="home", block_id="digest_settings", action_id="digest_day", chosen="0")
    page.do("action", PRIYA, surface="home", block_id="digest_settings", action_id="digest_time", chosen="09:30")

    def chosen(state: dict) -> tuple:
        settings = next(block for block in state["home"]["blocks"] if block.get("block_id") == "digest_settings")
        day, time_of_day = (
            next(e for e in settings["elements"] if e["action_id"] == a) for a in ("digest_day", "digest_time")
        )
        return day["initial_option"]["value"], time_of_day["initial_time"]

    page.wait_for(PRIYA, lambda s: chosen(s) == ("0", "09:30"), "Home showing Monday at 09:30")


def test_buttons_on_messages_and_replies_to_their_response_url(page):
    send_ask(page)
    summary = page.dm(ADA, "Your ask went to")

    page.do("action", ADA, channel=dm(ADA), ts=summary["ts"], action_id="ask_cancel")
    page.dm(ADA, "Cancelled — everyone's card says")  # the app's own update of the summary is done
    # What the app's respond() would send to the response_url of that press.
    response_url = f"{page.url}response/{list(page.playground._response_urls)[-1]}"
    post_json(response_url, {"response_type": "ephemeral", "replace_original": False, "text": "Only for Ada"})
    post_json(response_url, {"replace_original": True, "text": "Replaced"})

    mine = page.state(ADA)["conversations"][dm(ADA)]
    assert [m["text"] for m in mine if m.get("ephemeral")] == ["Only for Ada"]
    assert next(m for m in mine if m["ts"] == summary["ts"])["text"] == "Replaced"


def press(page: Page, user: str, message: dict, action_id: str) -> None:
    page.do("action", user, channel=message.get("channel") or dm(user), ts=message["ts"], action_id=action_id)


def offer_from_card(page: Page, user: str, kind: str, values: dict) -> None:
    press(page, user, card_of(page, user), f"offer_{kind}")
    modal = page.wait_for(user, lambda s: s["modal"], f"the {kind} modal")
    assert modal["view"]["callback_id"] == "offer_submit"
    page.do("submit", user, values=values)
    page.wait_for(user, lambda s: s["modal"] is None, "the offer modal to close")


def test_every_offer_and_the_availability_setting_can_be_played(page):
    send_ask(page, teammates=[HAL, HANA, HUGO], estimate="60")
    soon = (date.today() + timedelta(days=2)).isoformat()

    offer_from_card(page, HAL, "later", {"day": soon, "time": "15:00"})
    page.dm(HAL, "Offered: by")
    press(page, ADA, page.dm(ADA, "could do this by", "offer_accept"), "offer_accept")
    page.dm(HAL, "You're on it")
    page.dm(ADA, "You said yes")

    send_ask(page, teammates=[HUGO, PRIYA], estimate="60")
    page.wait_for(
        PRIYA, lambda s: any("is asking" in json.dumps(m) for m in s["conversations"][s["dm"]]), "Priya's card"
    )
    offer_from_card(page, HUGO, "smaller", {"minutes": "15", "note": "the error handling"})
    press(page, ADA, page.dm(ADA, "can give 15 minutes", "offer_decline"), "offer_decline")
    page.dm(HUGO, "They found another way")
    offer_from_card(page, PRIYA, "suggest", {"person": HAL, "note": "he wrote it"})
    press(page, ADA, page.dm(ADA, "suggests", "offer_accept"), "offer_accept")
    page.wait_for(
        HAL,
        lambda s: len([m for m in s["conversations"][s["dm"]] if "is asking for a hand" in json.dumps(m)]) == 2,
        "Hal's second card",
    )

    page.do("home", HANA)
    page.wait_for(HANA, lambda s: s["home"], "Hana's Home tab")
    page.do("action", HANA, surface="home", block_id="availability", action_id="availability_break", chosen=soon)
    page.wait_for(
        HANA, lambda s: f'"initial_date": "{soon}"' in json.dumps(s["home"]), "the break on Home (in Japanese)"
    )
    send_ask(page, teammates=[HANA])
    errors = page.wait_for(ADA, lambda s: s["modal"] and s["modal"]["errors"], "the kind answer on the field")
    assert "Hana Sato is taking a break from asks until" in errors["teammates"]
    assert page.state(ADA)["problems"] == []


def test_people_act_only_on_what_they_can_see(page):
    send_ask(page)
    summary = page.dm(ADA, "Your ask went to")

    with pytest.raises(urllib.error.HTTPError) as refused:
        page.do("react", HAL, channel=dm(ADA), ts=summary["ts"], reaction="white_check_mark")
    assert refused.value.code == 400


def test_the_digest_control_runs_the_digest_command_once_a_week(page):
    first = page.do("digest", ADA)
    again = page.do("digest", ADA)

    assert first["output"].startswith("Posted the ") and first["output"].endswith(f"digest to {KUDOS}.")
    assert again["output"].startswith("Not posted")
    kudos = page.state(ADA)["conversations"][KUDOS]
    assert len(kudos) == 1 and "Kudos this week" in json.dumps(kudos[0]["blocks"])


def test_what_slack_would_reject_is_shown_in_the_page(page):
    too_many = [{"type": "divider"}] * 51
    assert page.call_api("chat.postMessage", channel=ADA, text="hi", blocks=too_many)["error"] == "invalid_arguments"
    assert page.call_api("chat.frobnicate", channel=ADA)["error"] == "unknown_method"
    assert page.call_api("conversations.list")["error"] == "missing_scope"
    assert page.call_api("views.open", trigger_id="1.2.stale", view=ask_modal(ENGLISH))["error"] == "expired_trigger_id"

    problems = page.state(HAL)["problems"]
    assert "chat.postMessage: blocks: 51 blocks (limit 50)" in problems
    assert "chat.frobnicate: unknown method chat.frobnicate" in problems
    assert any(p.startswith("conversations.list: missing scope: needs channels:read") for p in problems)
    assert any(p.startswith("views.open: trigger_id expired") for p in problems)
    assert page.state(ADA)["conversations"][dm(ADA)] == []  # nothing rejected was delivered


# --- without the reference data: slack_sdk's models and the numeric limits ---


def test_without_the_reference_data_block_kit_is_checked_with_slack_sdk_models(monkeypatch, tmp_path):
    monkeypatch.setenv("SLACK_REFERENCE_DIR", str(tmp_path / "absent"))
    checks = Checks.best_available()

    assert isinstance(checks.block_kit, ModelBlockKit) and checks.catalogue is None
    assert checks.rejection(
        "chat.postMessage",
        {"channel": ADA, "text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]},
    ).problems == ["blocks: text attribute cannot exceed 3000 characters at [0]"]
    assert checks.rejection(
        "chat.postMessage", {"channel": ADA, "text": "x", "blocks": [{"type": "nonsense"}]}
    ).problems == ["blocks: unknown block type 'nonsense' at [0]"]
    assert checks.rejection("chat.frobnicate", {}) is None  # no catalogue, no method check
    assert "Methods and arguments: not checked" in " ".join(checks.describe())


def test_without_the_catalogue_scopes_are_still_checked_for_the_methods_the_playground_answers(monkeypatch, tmp_path):
    monkeypatch.setenv("SLACK_REFERENCE_DIR", str(tmp_path / "absent"))
    without_chat_write = Checks(ModelBlockKit(), granted=STRICT.granted - {"chat:write"})

    assert Checks.best_available().granted == STRICT.granted  # manifest.yml's
    assert without_chat_write.rejection("chat.postMessage", {"channel": ADA, "text": "hi"}).error == "missing_scope"
    assert without_chat_write.rejection("users.info", {"user": ADA}) is None
    for method, scopes in ANSWERED_METHOD_SCOPES.items():  # the same as the catalogue says
        assert scopes == [scope["name"] for scope in STRICT.catalogue[method]["scopes"]["bot"]], method


def test_the_reference_directory_can_be_named_and_scopes_come_from_the_manifest(monkeypatch):
    monkeypatch.setenv("SLACK_REFERENCE_DIR", str(REFERENCE))
    checks = Checks.best_available()

    assert checks.catalogue is not None and checks.granted == STRICT.granted
    assert "chat:write" in checks.granted and (ROOT / "manifest.yml").is_file()


def test_the_apps_own_views_and_messages_pass_the_fallback_checks(page):
    models = ModelBlockKit()
    send_ask(page)
    page.dm(HAL, "is asking for a hand")
    page.do("home", HAL)
    page.wait_for(HAL, lambda s: s["home"], "Hal's Home tab")

    page.do("digest", ADA)

    assert check_view(models, ask_modal(ENGLISH, "Review PR 412"), "modal") == []
    for kind in Kind:
        assert (
            check_view(
                models, offer_modal(ENGLISH, Ask("T", ADA, "Review PR 412", "tests", 60, "later", [HAL]), kind), "modal"
            )
            == []
        )
    for user in (ADA, HAL, HANA):
        state = page.state(user)
        for message in [*state["conversations"][state["dm"]], *state["conversations"][KUDOS]]:
            assert check_blocks(models, message["blocks"], 50, "blocks") == []
    assert (
        check_view(
            models,
            {k: v for k, v in page.state(HAL)["home"].items() if k not in ("id", "team_id", "state", "hash")},
            "home",
        )
        == []
    )


# --- `slack-ask playground`, the command ---


def start_playground(tmp_path: Path, port: int = 0) -> tuple[subprocess.Popen, str, Path]:
    """`slack-ask playground` as its own process, once it has printed its URL; output goes to a file."""
    output = tmp_path / "playground.log"
    with open(output, "w") as log:
        process = subprocess.Popen(
            [*PLAYGROUND, "--port", str(port)],
            cwd=tmp_path,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + 30
    while not (printed := re.search(r"open (http://\S+/)", output.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no URL printed: {output.read_text()}")
        time.sleep(0.05)
    return process, printed.group(1), output


def test_the_command_serves_the_page_and_stops_cleanly_on_sigterm(tmp_path):
    process, url, output = start_playground(tmp_path)
    try:
        with urllib.request.urlopen(url, timeout=10) as page:
            html = page.read().decode()
        with urllib.request.urlopen(f"{url}playground/state", timeout=10) as state:
            first_person = json.loads(state.read())["viewer"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)

    assert "<title>slack-ask playground</title>" in html and first_person == ADA
    assert process.returncode == 0, output.read_text()
    assert "Traceback" not in output.read_text()


def test_a_port_in_use_is_one_clear_line_and_exit_2(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        result = subprocess.run(
            [*PLAYGROUND, "--port", str(taken.getsockname()[1])],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--port 0" in result.stderr
