"""An ask's whole life through signed HTTP: done, thanks, check-ins, expiry, and the worker in `serve`."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC

import pytest
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, HUGO, card_text, send_ask, stored_ask

from slack_app.features.lifecycle import check_in_due, expiry_due, iso_week, thanks_reminder_due
from slack_app.store.store import _ask_from_fields
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer


def load(redis_sync):
    return _ask_from_fields(stored_ask(redis_sync))


def run_due_jobs(app_server, at: float) -> int:
    """Runs the jobs due at `at` once, as one poll of the worker would; returns how many ran."""
    services = app_server.app.services
    return app_server.call(services.scheduler.run_due(services.lifecycle.handlers(), now=at))


def worker_at(app_server, at: float) -> int:
    """Polls as a worker would until nothing more is due at `at` (timers re-arm themselves)."""
    ran = total = run_due_jobs(app_server, at)
    while ran:
        ran = run_due_jobs(app_server, at)
        total += ran
    effects_done(app_server)
    return total


def effects_done(app_server, timeout: float = 10.0) -> None:
    """Waits until the effect queue is empty: what the jobs owed has been posted."""
    deadline = time.monotonic() + timeout
    while app_server.call(app_server.app.services.effects.backlog())[0]:
        assert time.monotonic() < deadline, "effects still owed"
        time.sleep(0.02)


def ask_timers(redis_sync) -> list[tuple[str, float]]:
    """The asks' own timers, with their due times (the workspace's backstop pass aside)."""
    return [job for job in redis_sync.zrange("{T0TEAM:jobs}:due", 0, -1, withscores=True) if job[0] != "backstop"]


def check_ins(fake_slack) -> list:
    return [m for m in fake_slack.dms(ASKER) if "Did this get done?" in m.all_text]


def last_view(fake_slack) -> dict:
    view = fake_slack.calls_to("views.open")[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def delivery_checked(app_server, fake_slack, redis_sync) -> None:
    """Every card arrived: the ask owes nothing more, and nothing more is sent."""
    posts = len(fake_slack.calls_to("chat.postMessage"))
    fake_slack.wait_for(lambda: not redis_sync.keys("{T0TEAM:ask:*}:owed"), what="nothing owed")
    fake_slack.settle(quiet=0.3)
    assert len(fake_slack.calls_to("chat.postMessage")) == posts


def taken_by_hal(slack, fake_slack, app_server=None, redis_sync=None):
    cards = send_ask(slack, fake_slack)
    if app_server:
        delivery_checked(app_server, fake_slack, redis_sync)
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "ask_done" in fake_slack.dms(HAL)[0].action_ids(), what="Mark done on Hal's card")
    fake_slack.wait_for(lambda: "ask_done" in fake_slack.dms(ASKER)[0].action_ids(), what="Mark done on the summary")
    fake_slack.settle(quiet=0.1)
    return cards


def submit_thanks(slack, view: dict, note: str, share: bool = True):
    values = {
        "note": {"value": {"type": "plain_text_input", "value": note}},
        "share": {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"text": {"type": "plain_text", "text": "Share"}, "value": "share"}]
                if share
                else [],
            }
        },
    }
    payload = slack.view_submission(ASKER, values, callback_id="thanks_submit")
    payload["view"]["private_metadata"] = view["private_metadata"]
    return slack.send_interaction(payload)


def test_done_then_a_specific_thank_you_reaches_the_helper_and_is_kept_as_kudos(slack, fake_slack, redis_sync):
    taken_by_hal(slack, fake_slack)

    assert slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done").status == 200
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    assert "<@U0HELP1> helped" in prompt.all_text and "What difference did it make?" in prompt.all_text
    # The card and the summary are brought up to date beside the prompt, not before it.
    fake_slack.wait_for(
        lambda: "Done — thank you for helping" in card_text(fake_slack, HAL), what="Hal's card marked done"
    )
    fake_slack.wait_for(
        lambda: "Done — thanks to <@U0HELP1>" in fake_slack.dms(ASKER)[0].all_text, what="summary marked done"
    )

    slack.click(ASKER, prompt, "thanks_open")
    fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.open")) == 1, what="thanks modal")
    view = last_view(fake_slack)
    assert view["callback_id"] == "thanks_submit"
    assert view["blocks"][1]["label"]["text"] == "What difference did it make?"
    assert "skip the apology" in view["blocks"][1]["hint"]["text"]
    assert view["blocks"][2]["element"]["initial_options"]  # sharing is on unless the asker unticks it

    too_short = submit_thanks(slack, view, "thanks!")
    assert too_short.json()["response_action"] == "errors" and "note" in too_short.json()["errors"]

    note = "The release went out on time & nobody got paged <!here>."
    assert submit_thanks(slack, view, note).status == 200
    delivered = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(HAL) if "says thanks" in m.all_text], what="thanks DM"
    )[0]
    assert "<@U0ASKER> says thanks for *Review the retry logic in PR 412" in delivered.all_text
    assert "> The release went out on time &amp; nobody got paged &lt;!here&gt;." in delivered.all_text
    fake_slack.wait_for(lambda: "Your thanks for" in prompt_now(fake_slack, prompt).all_text, what="prompt marked sent")

    ask = load(redis_sync)
    kudos = [
        json.loads(raw) for raw in redis_sync.lrange(f"{{T0TEAM}}:kudos:{iso_week(_utc(ask.done_at), 'UTC')}", 0, -1)
    ]
    assert [(k["asker"], k["helper"], k["note"], k["shared"]) for k in kudos] == [(ASKER, HAL, note, True)]

    again = submit_thanks(slack, view, "Thanks once more for the release help")
    assert "already thanked" in again.json()["errors"]["note"]


def prompt_now(fake_slack, prompt):
    return next(m for m in fake_slack.dms(ASKER) if m.ts == prompt.ts)


def _utc(epoch):
    from datetime import datetime

    return datetime.fromtimestamp(epoch, UTC)


def test_done_before_it_was_fully_taken_ends_every_card_not_only_the_helpers(slack, fake_slack, redis_sync):
    """Two helpers wanted, Hal alone took it, and the asker marks it done: Hana's and Hugo's cards no longer
    offer it. (Before: a done redrew only its helpers' cards, so theirs kept their buttons on a done ask:
    found by the ten-minute chaos run.)"""
    cards = send_ask(slack, fake_slack, helpers_needed="2")
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, HAL), what="Hal on it")
    fake_slack.settle()
    assert "ask_accept" in fake_slack.dms(HANA)[0].action_ids()  # still looking for one more

    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_done")
    for teammate in (HANA, HUGO):
        fake_slack.wait_for(
            lambda teammate=teammate: "ask_accept" not in fake_slack.dms(teammate)[0].action_ids(),
            what=f"{teammate}'s card ended",
        )
    fake_slack.settle()
    assert load(redis_sync).status.value == "done"
    assert "Done — thank you for helping" in card_text(fake_slack, HAL)
    assert all(len(fake_slack.dms(teammate)) == 1 for teammate in (HAL, HANA, HUGO))


def test_only_the_asker_or_helper_can_mark_done(slack, fake_slack, redis_sync):
    taken_by_hal(slack, fake_slack)
    summary = fake_slack.dms(ASKER)[0]

    slack.click(HANA, summary, "ask_done")
    fake_slack.wait_for(lambda: fake_slack.responses, what="ephemeral refusal")

    assert fake_slack.responses[0] == {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": "Only the asker or the helper can do that.",
    }
    assert load(redis_sync).status.value == "taken"

    slack.click(ASKER, summary, "ask_done")
    fake_slack.wait_for(lambda: load(redis_sync).status.value == "done", what="done by the asker")


def test_a_forgotten_thank_you_gets_one_gentle_reminder_in_working_hours(slack, fake_slack, redis_sync, app_server):
    taken_by_hal(slack, fake_slack, app_server, redis_sync)
    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_done")
    fake_slack.wait_for(lambda: load(redis_sync).status.value == "done", what="done")
    fake_slack.settle(quiet=0.2)
    due = thanks_reminder_due(load(redis_sync)).timestamp()
    before = len(fake_slack.dms(ASKER))

    assert worker_at(app_server, due - 1) == 0  # marking it done retired the ask's timer
    assert worker_at(app_server, due) == 1
    assert worker_at(app_server, due + 7 * 86400) == 0  # never more than one

    reminders = [m for m in fake_slack.dms(ASKER)[before:] if "If you'd like to thank them" in m.all_text]
    assert len(reminders) == 1 and "thanks_open" in reminders[0].action_ids()
    assert not [m for m in fake_slack.dms(HAL) if "If you'd like to thank them" in m.all_text]


def test_no_reminder_once_thanked(slack, fake_slack, redis_sync, app_server):
    taken_by_hal(slack, fake_slack, app_server, redis_sync)
    slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    slack.click(ASKER, prompt, "thanks_open")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="thanks modal")
    submit_thanks(slack, last_view(fake_slack), "You unblocked the release, it shipped today", share=False)
    fake_slack.wait_for(lambda: any("says thanks" in m.all_text for m in fake_slack.dms(HAL)), what="delivered")

    assert worker_at(app_server, thanks_reminder_due(load(redis_sync)).timestamp()) == 1  # the job runs …
    fake_slack.settle(quiet=0.2)
    assert not [m for m in fake_slack.dms(ASKER) if "If you'd like to thank them" in m.all_text]  # … and stays quiet
    assert json.loads(redis_sync.lrange(redis_sync.keys("{T0TEAM}:kudos:*")[0], 0, -1)[0])["shared"] is False


def test_check_in_offers_done_still_going_once_and_cancel(slack, fake_slack, redis_sync, app_server):
    taken_by_hal(slack, fake_slack, app_server, redis_sync)
    due = check_in_due(load(redis_sync)).timestamp()

    worker_at(app_server, due - 60)
    assert check_ins(fake_slack) == []
    worker_at(app_server, due)
    [check_in] = check_ins(fake_slack)
    assert check_in.action_ids() == ["ask_done", "check_in_snooze", "ask_cancel"]

    slack.click(ASKER, check_in, "check_in_snooze")
    fake_slack.wait_for(lambda: fake_slack.responses, what="snooze reply")
    assert fake_slack.responses[-1]["replace_original"] is True and "still going" in fake_slack.responses[-1]["text"]
    snoozed_to = float(redis_sync.zscore("{T0TEAM:jobs}:due", f"timer:{load(redis_sync).id}"))
    assert snoozed_to > due

    worker_at(app_server, snoozed_to - 60)
    assert len(check_ins(fake_slack)) == 1
    worker_at(app_server, snoozed_to + 13 * 86400)  # within SLACK_ASK_QUIET_CLOSE_DAYS (14) of the second
    first, second = check_ins(fake_slack)  # and no third, however long it runs on
    assert second.action_ids() == ["ask_done", "ask_cancel"]  # it can be put off only once

    slack.click(ASKER, second, "ask_done")
    fake_slack.wait_for(
        lambda: any("thanks_open" in m.action_ids() for m in fake_slack.dms(ASKER)), what="thanks prompt"
    )
    # The reply goes to the response URL after the ack, so it may land a moment after the prompt.
    fake_slack.wait_for(lambda: "Marked done" in fake_slack.responses[-1]["text"], what="the check-in replaced")
    assert load(redis_sync).status.value == "done"


def test_an_ask_nobody_takes_expires_gently_and_can_be_sent_again(slack, fake_slack, redis_sync, app_server):
    cards = send_ask(slack, fake_slack, scope="In: retry.py. Out: tests.", estimate="60", decline="later")
    delivery_checked(app_server, fake_slack, redis_sync)
    slack.react(HANA, cards[HANA], "x")
    fake_slack.wait_for(lambda: "Passed" in card_text(fake_slack, HANA), what="passed")
    due = expiry_due(load(redis_sync)).timestamp()

    worker_at(app_server, due - 1)
    assert load(redis_sync).status.value == "open"
    worker_at(app_server, due)
    fake_slack.settle(quiet=0.2)

    assert load(redis_sync).status.value == "expired"
    for uid in (HAL, HANA, HUGO):
        assert "No longer needed — thanks for looking" in card_text(fake_slack, uid)
        assert len(fake_slack.dms(uid)) == 1  # helpers never get a "you didn't reply"
    note = fake_slack.dms(ASKER)[-1]
    assert "No one took on *Review" in note.all_text and note.action_ids() == ["ask_again"]
    assert "couldn't" not in note.all_text  # no guess at why nobody took it

    slack.click(ASKER, note, "ask_again")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="modal again")
    blocks = {b.get("block_id"): b for b in last_view(fake_slack)["blocks"]}
    assert blocks["ask"]["element"]["initial_value"].startswith("Review the retry logic in PR 412")
    assert blocks["scope"]["element"]["initial_value"] == "In: retry.py. Out: tests."
    assert blocks["estimate"]["element"]["initial_option"]["value"] == "60"
    assert blocks["decline"]["element"]["initial_option"]["value"] == "later"
    assert "initial_users" not in blocks["teammates"]["element"]


def test_answers_touch_no_timer_and_a_cancelled_asks_timer_only_forgets_it(slack, fake_slack, redis_sync, app_server):
    cards = taken_by_hal(slack, fake_slack, app_server, redis_sync)
    ask = load(redis_sync)
    timers = ask_timers(redis_sync)
    assert timers == [(f"timer:{ask.id}", pytest.approx(ask.created_at + 86400))]  # as set when the ask was sent

    slack.react(HAL, cards[HAL], "white_check_mark", removed=True)  # Hal steps back …
    fake_slack.wait_for(lambda: load(redis_sync).status.value == "open", what="reopened")
    slack.react(HANA, cards[HANA], "white_check_mark")  # … and Hana takes it
    fake_slack.wait_for(lambda: load(redis_sync).status.value == "taken", what="taken by Hana")
    assert ask_timers(redis_sync) == timers
    worker_at(app_server, expiry_due(ask).timestamp() + 86400)
    assert load(redis_sync).status.value == "taken"  # a taken ask never expires; it gets one check-in
    assert len(check_ins(fake_slack)) == 1

    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_cancel")
    fake_slack.wait_for(lambda: load(redis_sync).status.value == "cancelled", what="cancelled")
    cancelled = load(redis_sync)
    assert ask_timers(redis_sync) == [
        (f"timer:{ask.id}", pytest.approx(cancelled.closed_at + 90 * 86400))
    ]  # nothing more until it is forgotten


def test_serve_runs_the_worker_itself(settings, fake_slack, redis_sync):
    server = ThreadedServer(create_app(replace(settings, run_scheduler=True))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        send_ask(slack, fake_slack)
        ask = load(redis_sync)
        four_days_ago = ask.created_at - 4 * 86400
        redis_sync.hset(
            next(k for k in redis_sync.keys("{T0TEAM:ask:*}") if k.count(":") == 2), "created_at", four_days_ago
        )
        redis_sync.zadd("{T0TEAM:jobs}:due", {f"timer:{ask.id}": four_days_ago + 86400})  # as if sent days ago
        redis_sync.zadd("{slack-ask:jobs}:next", {"T0TEAM": four_days_ago + 86400})  # and the due index with it
        fake_slack.wait_for(lambda: load(redis_sync).status.value == "expired", what="worker expired it")
        fake_slack.wait_for(lambda: "No one took on" in fake_slack.dms(ASKER)[-1].all_text, what="asker told")
    finally:
        server.stop()
