"""`slack-ask playground` in a real browser: a whole ask, clicked through as each person, with screenshots for README.

Playwright drives Debian's Chromium (`apt-get install chromium`; .ci/run installs it) and never
downloads a browser of its own.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright
from test_playground import start_playground

CHROMIUM = Path("/usr/bin/chromium")
# README's screenshots are refreshed with SLACK_ASK_SCREENSHOTS=docs/screenshots; other runs keep theirs
# out of the tree (the digest shows the week's dates, so it would change every week).
SCREENSHOTS = Path(os.environ.get("SLACK_ASK_SCREENSHOTS") or tempfile.mkdtemp(prefix="slack-ask-screenshots-"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STEP_TIMEOUT_MS = 10_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture
def playground_url(tmp_path) -> Iterator[str]:
    """`slack-ask playground --port 0` as a person runs it; stopped with Ctrl-C, which must exit 0."""
    process, url, output = start_playground(tmp_path)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert process.returncode == 0, output.read_text()


@pytest.fixture
def page(playground_url):
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        page.goto(playground_url)
        yield page
        browser.close()


def be(page, first_name: str) -> None:
    page.locator(".person", has_text=first_name).click()
    expect(page.locator(".person[aria-pressed=true]")).to_contain_text(first_name)


def latest_message(page, text: str):
    message = page.locator("article.message", has_text=text).last
    expect(message).to_be_visible()
    return message


def submit(modal, button: str) -> None:
    modal.get_by_role("button", name=button).click()
    expect(modal).to_be_hidden()


def shot(target, name: str, tries: int = 3) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for attempt in range(tries):  # the page redraws as the app's updates arrive: take it again if it moved
        try:
            target.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
            break
        except PlaywrightError:
            if attempt == tries - 1:
                raise
    assert (SCREENSHOTS / f"{name}.png").stat().st_size > 1000


def test_an_ask_from_slash_command_to_the_digest(page):
    be(page, "Ada")
    page.get_by_label("Message").fill("/ask Review the retry logic in PR 412")
    page.get_by_label("Message").press("Enter")

    modal = page.get_by_role("dialog")
    expect(modal).to_contain_text("Ask for a hand")
    expect(modal.get_by_label("What do you need?")).to_have_value("Review the retry logic in PR 412")
    modal.get_by_label("Scope: what's in, what's out").fill("In: error handling in retry.py. Out: naming and tests.")
    modal.get_by_label("How long will it take?").select_option(label="30 minutes")
    modal.get_by_label("No reason needed — just react ❌").check()
    for name in ("Ada Okafor", "Hal Jensen", "Hana Sato"):
        modal.get_by_label(name).check()
    shot(modal, "modal")

    modal.get_by_role("button", name="Send ask").click()  # asking yourself is refused, on the field
    teammates = modal.locator(".field[data-block-id=teammates]")
    expect(teammates.locator(".field-error")).to_contain_text("other than yourself")
    modal.get_by_label("Ada Okafor").uncheck()
    submit(modal, "Send ask")
    expect(latest_message(page, "Your ask went to")).to_contain_text("@Hal Jensen")

    be(page, "Hal")
    card = latest_message(page, "is asking for a hand")
    expect(card).to_contain_text("@Ada Okafor is asking for a hand")
    expect(card).to_contain_text("30 minutes")
    shot(card, "helper-card")
    card.get_by_role("button", name="React with :white_check_mark:").click()
    expect(card).to_contain_text("You're on it — thank you.")

    be(page, "Hana")  # her Slack is in Japanese, so her card is too; Ada's words stay as Ada wrote them
    hanas_card = latest_message(page, "Review the retry logic in PR 412")
    expect(hanas_card).to_contain_text("@Ada Okafor さんが手伝いを頼んでいます")
    expect(hanas_card).to_contain_text("@Hal Jensen さんが引き受けてくれました — あなたは何もしなくて大丈夫です。")
    shot(hanas_card, "helper-card-ja")

    be(page, "Hal")
    latest_message(page, "You're on it").get_by_role("button", name="Mark done").click()
    expect(latest_message(page, "is asking for a hand")).to_contain_text("Done — thank you for helping")

    be(page, "Ada")
    latest_message(page, "What difference did it make?").get_by_role("button", name="Say thanks").click()
    expect(modal).to_contain_text("Say thanks")
    modal.get_by_label("What difference did it make?").fill("The release went out on time & nobody got paged <!here>.")
    submit(modal, "Send thanks")
    expect(latest_message(page, "Your thanks for")).to_contain_text("went to @Hal Jensen")

    be(page, "Hal")
    thanks = latest_message(page, "says thanks for")
    expect(thanks).to_contain_text(
        "The release went out on time & nobody got paged <!here>."
    )  # shown as typed, pings nobody
    shot(thanks, "thanks-dm")

    page.get_by_role("button", name="# kudos").click()
    page.get_by_role("button", name="Run this week's digest").click()
    digest = latest_message(page, "The release went out on time")
    expect(digest).to_contain_text("@Ada Okafor → @Hal Jensen")
    shot(page.locator(".main"), "digest")
    expect(page.locator("#problems")).to_contain_text("Nothing so far")

    # The admin's view of how asking is going: figures for the workspace, never anyone's name, and the
    # trend chart the app uploaded as a Slack file (the playground serves it back to the page).
    be(page, "Priya")
    page.locator("#sidebar [data-place=messages]").click()
    page.locator("#app-tabs").get_by_role("tab", name="Home").click()
    section = page.locator(".block-section", has_text="Asks sent")
    expect(section).to_contain_text(
        "Found help"
    )  # of settled weeks: today's ask shows a settling period after its week
    expect(page.locator(".surface")).to_contain_text("weeks that have ended")
    chart = page.locator(".block-image img")
    expect(chart).to_have_attribute("alt", re.compile(r"Asks per week and the share that found help"))
    page.wait_for_function("document.querySelector('.block-image img').naturalWidth > 0")
    expect(page.locator(".surface")).not_to_contain_text("@Hal Jensen")
    page.set_viewport_size({"width": 1280, "height": 1500})  # the whole Home, chart included
    shot(page.locator("#surface"), "insights")


def test_an_ask_started_from_a_message_with_coaching_on_the_way(page):
    be(page, "Ada")
    page.get_by_role("button", name="# general").click()
    question = latest_message(page, "The retry logic in PR 412 times out")
    question.get_by_role("button", name="Ask for help with this").click()

    modal = page.get_by_role("dialog")
    expect(modal.get_by_label("What do you need?")).to_have_value(
        "The retry logic in PR 412 times out on CI about one run in five."
    )
    scope = modal.get_by_label("Scope: what's in, what's out")
    expect(scope).to_have_value(re.compile(r"^https://\S+/archives/C0GENERAL/p\d+\n"))
    scope.press("Control+End")
    scope.type("Done: CI green for ten runs. Out: other flaky tests.")
    modal.get_by_label("What do you need?").fill("Sorry to bother you: fix the retry backoff in PR 412")
    modal.get_by_label("How long will it take?").select_option(label="1 hour")
    modal.get_by_label("No reason needed — just react ❌").check()
    modal.get_by_label("Hal Jensen").check()

    modal.get_by_role("button", name="Send ask").click()  # a kind suggestion, on the field, once
    ask_field = modal.locator(".field[data-block-id=ask]")
    expect(ask_field.locator(".field-error")).to_contain_text("You don't need to apologise")
    shot(modal, "coaching")
    submit(modal, "Send ask")  # sent again unchanged, it goes as typed
    page.locator("#sidebar [data-place=messages]").click()
    expect(latest_message(page, "Your ask went to")).to_contain_text("@Hal Jensen")

    be(page, "Hal")
    card = latest_message(page, "is asking for a hand")
    expect(card).to_contain_text("Sorry to bother you: fix the retry backoff in PR 412")
    expect(card).to_contain_text("/archives/C0GENERAL/p")
    expect(page.locator("#problems")).to_contain_text("Nothing so far")


def test_a_later_offer_accepted_by_the_asker(page):
    be(page, "Ada")
    page.get_by_label("Message").fill("/ask Review the retry logic in PR 412")
    page.get_by_label("Message").press("Enter")
    modal = page.get_by_role("dialog")
    modal.get_by_label("Scope: what's in, what's out").fill("In: error handling in retry.py. Out: naming and tests.")
    modal.get_by_label("How long will it take?").select_option(label="1 hour")
    modal.get_by_label("Later works too — tell me when").check()
    modal.get_by_label("Hal Jensen").check()
    submit(modal, "Send ask")

    be(page, "Hal")
    card = latest_message(page, "is asking for a hand")
    expect(card).to_contain_text("said later works too")
    card.get_by_role("button", name="Later").click()
    expect(modal).to_contain_text("I could do it by")
    day = date.today() + timedelta(days=3)
    modal.get_by_label("I could do it by").fill(day.isoformat())
    modal.get_by_label("At about (your time)").fill("15:00")
    submit(modal, "Offer this")
    expect(card).to_contain_text(f"Offered: by {day:%a %-d %b}, 15:00 — waiting for @Ada Okafor")
    shot(card, "offer-waiting")

    be(page, "Ada")
    offer = latest_message(page, "could do this by")
    expect(offer).to_contain_text(f"@Hal Jensen could do this by {day:%a %-d %b}, 15:00")
    shot(offer, "offer-dm")
    offer.get_by_role("button", name="Yes, that works").click()
    expect(offer).to_contain_text("You said yes — @Hal Jensen is on it.")
    expect(latest_message(page, "Your ask went to")).to_contain_text("you said yes")

    be(page, "Hal")
    expect(latest_message(page, "is asking for a hand")).to_contain_text("You're on it — thank you.")
    expect(page.locator("#problems")).to_contain_text("Nothing so far")


def test_the_sample_workflow_sends_its_ask_and_shows_the_step_completing_when_the_ask_ends(page):
    be(page, "Ada")
    page.locator("#sidebar [data-place=workflows]").click()
    workflow = page.locator("#sample-workflow")
    expect(workflow).to_contain_text("New starter")
    expect(workflow).to_contain_text("Send a low-pressure ask — in your name, to Hal Jensen")
    page.get_by_role("button", name="Run workflow").click()
    run = page.locator("#workflow-runs .workflow-run").last
    expect(run).to_contain_text("Running — the step completes when the ask ends.")

    be(page, "Hal")  # the ask is Ada's, with the workflow's quiet note
    page.locator("#sidebar [data-place=messages]").click()
    card = latest_message(page, "is asking for a hand")
    expect(card).to_contain_text("@Ada Okafor is asking for a hand")
    expect(card).to_contain_text("Sent by the 'New starter' workflow on behalf of @Ada Okafor")
    shot(card, "workflow-card")
    card.get_by_role("button", name="React with :white_check_mark:").click()
    expect(card).to_contain_text("You're on it — thank you.")
    latest_message(page, "You're on it").get_by_role("button", name="Mark done").click()
    expect(latest_message(page, "is asking for a hand")).to_contain_text("Done — thank you for helping")

    be(page, "Ada")
    page.locator("#sidebar [data-place=messages]").click()
    latest_message(page, "What difference did it make?").get_by_role("button", name="Say thanks").click()
    modal = page.get_by_role("dialog")
    modal.get_by_label("What difference did it make?").fill("Our new starter shipped a fix on day two.")
    submit(modal, "Send thanks")

    page.locator("#sidebar [data-place=workflows]").click()
    run = page.locator("#workflow-runs .workflow-run").last
    expect(run).to_contain_text(
        "Completed — outcome: done; helpers: Hal Jensen; minutes of help: 30; thanked: yes", timeout=20_000
    )
    shot(page.locator(".main"), "workflow-completed")
    expect(page.locator("#problems")).to_contain_text("Nothing so far")
