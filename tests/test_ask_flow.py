"""The /ask flow end to end: signed HTTP in, real Redis, Web API calls out to the fake Slack."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

ASKER, HAL, HANA, HUGO = "U0ASKER", "U0HELP1", "U0HELP2", "U0HELP3"


def send_ask(slack, fake_slack, teammates=(HAL, HANA, HUGO), **fields):
    """Submits a valid ask and waits until every teammate has their card."""
    reply = slack.submit_ask(ASKER, teammates=list(teammates), **fields)
    assert reply.status == 200 and reply.body == "", reply
    fake_slack.wait_for(
        lambda: all(fake_slack.dms(uid) for uid in [*teammates, ASKER]), what="every card and the summary"
    )
    fake_slack.settle(quiet=0.1)
    return {uid: fake_slack.dms(uid)[0] for uid in teammates}


def card_text(fake_slack, user):
    return fake_slack.dms(user)[0].all_text


def stored_ask(redis_sync):
    keys = [key for key in redis_sync.keys("{T0TEAM:ask:*}") if not key.endswith(("answers", "cards"))]
    assert len(keys) == 1, keys
    return redis_sync.hgetall(keys[0])


# --- the modal -----------------------------------------------------------------------------------


def test_slash_ask_opens_the_modal_prefilled_with_the_command_text(slack, fake_slack):
    reply = slack.slash_ask(ASKER, "Review the retry logic in PR 412")

    assert reply.status == 200 and reply.body == ""
    call = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="views.open")[0]
    view = json.loads(call.args["view"]) if isinstance(call.args["view"], str) else call.args["view"]
    blocks = {block.get("block_id"): block for block in view["blocks"]}
    assert blocks["ask"]["element"]["initial_value"] == "Review the retry logic in PR 412"
    required = {bid for bid, block in blocks.items() if block["type"] == "input" and not block.get("optional")}
    assert required == {"ask", "scope", "estimate", "decline", "teammates"}
    assert blocks["teammates"]["element"]["type"] == "multi_users_select"
    assert blocks["teammates"]["element"]["max_selected_items"] == 10
    assert "skip the sorry" in blocks["ask"]["hint"]["text"]
    assert blocks["decline"]["label"]["text"] == "How they can say no"
    assert call.args["trigger_id"]


def test_slash_ask_with_storage_down_answers_kindly_and_opens_nothing(settings, fake_slack):
    import urllib.error
    import urllib.request
    from dataclasses import replace

    from slack_requests import SlackRequests

    from slack_app.wiring.app import create_app
    from slack_app.wiring.server import ThreadedServer

    server = ThreadedServer(create_app(replace(settings, redis_url="redis://127.0.0.1:1"))).start()
    try:
        reply = SlackRequests(server.url, "test-signing-secret", fake_slack).slash_ask(ASKER, "Review PR 412")
        try:
            urllib.request.urlopen(server.url + "/healthz")
        except urllib.error.HTTPError as error:
            health = error
    finally:
        server.stop()

    assert health.status == 503 and json.loads(health.read()) == {"status": "unavailable", "redis": "unreachable"}
    assert reply.status == 200
    assert reply.json()["response_type"] == "ephemeral"
    assert "try again" in reply.json()["text"]
    assert not fake_slack.calls_to("views.open")


@pytest.mark.parametrize(
    "fields, block_id, wording",
    [
        ({"teammates": [ASKER, HAL]}, "teammates", "other than yourself"),
        ({"teammates": [HAL, "U0BOT"]}, "teammates", "Build Bot"),
        ({"teammates": ["U0GONE"]}, "teammates", "No longer in the workspace"),
        ({"teammates": ["U0NOSUCH"]}, "teammates", "No longer in the workspace"),
        ({"teammates": [f"U0HELP{n}" for n in range(1, 12)]}, "teammates", "at most 10"),
        ({"teammates": []}, "teammates", "at least one"),
        ({"text": "help pls"}, "ask", "Say a bit more"),
        ({"scope": "   "}, "scope", "what is in and what is out"),
        ({"estimate": None}, "estimate", "how long"),
        ({"decline": None}, "decline", "how they can say no"),
        ({"decline": "ignore-me"}, "decline", "how they can say no"),
        ({"needed_by": "2020-01-01"}, "needed_by", "passed"),
        (
            {"helpers_needed": "3", "teammates": [HAL, HANA]},
            "helpers_needed",
            "more helpers than the people you're asking",
        ),
    ],
)
def test_invalid_ask_gets_a_field_error_and_sends_nothing(slack, fake_slack, redis_sync, fields, block_id, wording):
    reply = slack.submit_ask(ASKER, **fields)

    assert reply.status == 200
    answer = reply.json()
    assert answer["response_action"] == "errors"
    assert block_id in answer["errors"]
    assert wording.lower() in answer["errors"][block_id].lower()
    fake_slack.settle(quiet=0.2)
    assert not fake_slack.calls_to("chat.postMessage")
    assert not redis_sync.keys("{T0TEAM:ask:*")


# --- routing -------------------------------------------------------------------------------------


def test_submitted_ask_is_stored_and_each_teammate_gets_one_card(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, needed_by="2099-03-06", helpers_needed="1")

    ask = stored_ask(redis_sync)
    assert ask["status"] == "open" and ask["asker"] == ASKER
    assert json.loads(ask["teammates"]) == [HAL, HANA, HUGO]
    for uid, card in cards.items():
        assert len(fake_slack.dms(uid)) == 1
        text = card.all_text
        assert "<@U0ASKER> is asking for a hand" in text
        assert "Review the retry logic in PR 412" in text
        assert "In: error handling in retry.py" in text
        assert "30 minutes" in text
        assert "Fri, 6 Mar 2099" in text
        assert "No reason needed — just react ❌" in text
        assert "React :white_check_mark: to take it, or :x: to pass" in text
        assert card.action_ids() == ["ask_accept", "ask_decline", "offer_later", "offer_smaller", "offer_suggest"]
    summary = fake_slack.dms(ASKER)[0]
    assert "Your ask went to <@U0HELP1>, <@U0HELP2> and <@U0HELP3>" in summary.all_text
    assert "ask_cancel" in summary.action_ids()
    assert len(fake_slack.calls_to("chat.postMessage")) == 4  # one per teammate, one summary


def test_rate_limited_sends_wait_for_retry_after_and_still_deliver_every_card(slack, fake_slack):
    fake_slack.fail("chat.postMessage", status=429, times=2, retry_after=1)

    send_ask(slack, fake_slack)
    fake_slack.wait_for(lambda: fake_slack.dms(ASKER), what="the summary, after its own wait")
    fake_slack.settle(quiet=1.5)

    assert all(len(fake_slack.dms(uid)) == 1 for uid in (HAL, HANA, HUGO))
    assert len(fake_slack.dms(ASKER)) == 1
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 6  # four messages, two of them tried again
    assert posts[-1].at - posts[0].at >= 1.0  # the retry waited for Retry-After


# --- answers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reaction", ["white_check_mark", "heavy_check_mark", "+1", "raised_hands", "+1::skin-tone-3"])
def test_accepting_by_reaction_takes_the_ask_and_tells_everyone_kindly(slack, fake_slack, redis_sync, reaction):
    cards = send_ask(slack, fake_slack)

    assert slack.react(HAL, cards[HAL], reaction).status == 200
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    fake_slack.settle()

    assert stored_ask(redis_sync)["status"] == "taken"
    assert "You're on it — thank you" in card_text(fake_slack, HAL)
    assert "ask_accept" not in fake_slack.dms(HAL)[0].action_ids()
    for other in (HANA, HUGO):
        assert "Covered by <@U0HELP1> — nothing needed from you" in card_text(fake_slack, other)
    told = fake_slack.dms(ASKER)[1]
    assert "<@U0HELP1> is on your ask" in told.all_text
    assert "Taken on by <@U0HELP1>." in fake_slack.dms(ASKER)[0].all_text


def test_accepting_by_button_works_like_the_reaction(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)

    assert slack.click(HANA, cards[HANA], "ask_accept").status == 200
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, HANA), what="card updated")
    fake_slack.settle()

    assert json.loads(stored_ask(redis_sync)["helpers"]) == [HANA]
    assert "Covered by <@U0HELP2>" in card_text(fake_slack, HAL)


def test_accepting_after_it_is_covered_is_thanked_and_changes_nothing(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "Covered by" in card_text(fake_slack, HANA), what="covered")
    fake_slack.settle()

    slack.react(HANA, cards[HANA], "+1")
    fake_slack.wait_for(lambda: "Thanks for offering" in card_text(fake_slack, HANA), what="kind no-op")
    fake_slack.settle()

    assert json.loads(stored_ask(redis_sync)["helpers"]) == [HAL]
    assert len(fake_slack.dms(ASKER)) == 2  # summary + one "is on your ask"


def test_two_helpers_needed_the_ask_stays_open_until_the_second_accepts(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, helpers_needed="2")

    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(
        lambda: "Helping: <@U0HELP1>. Still looking for 1 more." in fake_slack.dms(ASKER)[0].all_text, what="partial"
    )
    assert "React :white_check_mark: to take it" in card_text(fake_slack, HANA)

    slack.react(HANA, cards[HANA], "white_check_mark")
    fake_slack.wait_for(lambda: "Covered by <@U0HELP1> and <@U0HELP2>" in card_text(fake_slack, HUGO), what="covered")
    assert stored_ask(redis_sync)["status"] == "taken"


def test_declining_is_private_needs_no_reason_and_all_declines_bring_one_gentle_note(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)

    slack.react(HAL, cards[HAL], "x")
    fake_slack.wait_for(lambda: "Passed — no problem" in card_text(fake_slack, HAL), what="passed")
    fake_slack.settle()
    assert len(fake_slack.dms(ASKER)) == 1  # the asker hears nothing about one pass
    assert "Pass" not in fake_slack.dms(ASKER)[0].all_text.replace("Passed", "")

    slack.react(HANA, cards[HANA], "no_entry_sign")
    slack.click(HUGO, cards[HUGO], "ask_decline")
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="gentle note")
    fake_slack.settle()
    slack.react(HUGO, cards[HUGO], "-1")  # a second way of saying the same no
    fake_slack.settle()

    notes = fake_slack.dms(ASKER)
    assert len(notes) == 2
    assert "Everyone you asked passed" in notes[1].all_text and "ask someone else" in notes[1].all_text
    assert notes[1].action_ids() == ["ask_again"]  # reopens the form, filled in, to pick new teammates
    assert not [call for call in fake_slack.calls_to("chat.postMessage") if call.args["channel"].startswith("C")]
    assert stored_ask(redis_sync)["status"] == "open"


def test_only_the_addressed_teammate_reacting_on_their_own_card_counts(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    before = len(fake_slack.calls)

    slack.react(ASKER, cards[HAL], "white_check_mark")  # someone else's reaction on Hal's card
    slack.react(HANA, cards[HAL], "white_check_mark")
    slack.react(HAL, cards[HAL], "tada")  # not an answer
    slack.react(HAL, fake_slack.dms(ASKER)[0], "white_check_mark")  # not a card
    fake_slack.settle()

    assert len(fake_slack.calls) == before
    assert stored_ask(redis_sync)["status"] == "open"
    assert not redis_sync.keys("{T0TEAM:ask:*}:answers")


def test_removing_a_reaction_takes_the_answer_back(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "Covered by" in card_text(fake_slack, HANA), what="covered")

    slack.react(HAL, cards[HAL], "white_check_mark", removed=True)
    fake_slack.wait_for(lambda: "React :white_check_mark: to take it" in card_text(fake_slack, HANA), what="reopened")
    fake_slack.settle()

    assert stored_ask(redis_sync)["status"] == "open"
    assert "React :white_check_mark: to take it" in card_text(fake_slack, HAL)
    assert "had to step back" in fake_slack.dms(ASKER)[-1].all_text

    slack.react(HANA, cards[HANA], "x")
    fake_slack.wait_for(lambda: "Passed" in card_text(fake_slack, HANA), what="passed")
    slack.react(HANA, cards[HANA], "x", removed=True)
    fake_slack.wait_for(lambda: "React :white_check_mark: to take it" in card_text(fake_slack, HANA), what="undeclined")


def test_simultaneous_accepts_have_exactly_one_winner(slack, fake_slack, redis_sync):
    teammates = [f"U0HELP{n}" for n in range(1, 11)]
    cards = send_ask(slack, fake_slack, teammates=teammates)

    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda uid: slack.react(uid, cards[uid], "white_check_mark"), teammates))
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) >= 2, what="asker told")
    fake_slack.settle()

    assert all(reply.status == 200 for reply in replies)
    helpers = json.loads(stored_ask(redis_sync)["helpers"])
    assert len(helpers) == 1
    assert len(fake_slack.dms(ASKER)) == 2  # the summary and exactly one "is on your ask"
    mine = [uid for uid in teammates if "You're on it" in card_text(fake_slack, uid)]
    assert mine == helpers


def test_event_retries_and_duplicate_deliveries_do_nothing_twice(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    event = {
        "type": "reaction_added",
        "user": HAL,
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": cards[HAL].channel, "ts": cards[HAL].ts},
        "event_ts": "1.0",
    }

    first = slack.send_event(event, event_id="Ev0DUPLICATE")
    with ThreadPoolExecutor(max_workers=3) as pool:
        again = list(pool.map(lambda n: slack.send_event(event, event_id="Ev0DUPLICATE", retry_num=n), [1, 2, 3]))
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    fake_slack.settle()

    assert first.status == 200 and all(reply.status == 200 for reply in again)
    assert len(fake_slack.dms(ASKER)) == 2
    updates_of_hal = [c for c in fake_slack.calls_to("chat.update") if c.args["ts"] == cards[HAL].ts]
    assert len(updates_of_hal) == 1


def test_cancel_closes_every_card_and_only_the_asker_may(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    summary = fake_slack.dms(ASKER)[0]

    slack.click(HAL, summary, "ask_cancel")
    fake_slack.wait_for(lambda: fake_slack.responses, what="polite refusal")
    assert "Only the person who asked" in fake_slack.responses[0]["text"]
    assert stored_ask(redis_sync)["status"] == "open"

    slack.click(ASKER, summary, "ask_cancel")
    fake_slack.wait_for(
        lambda: all("No longer needed" in card_text(fake_slack, uid) for uid in cards), what="cards closed"
    )
    fake_slack.settle()
    assert stored_ask(redis_sync)["status"] == "cancelled"
    assert "Cancelled" in fake_slack.dms(ASKER)[0].all_text
    assert len(fake_slack.dms(ASKER)) == 1  # nobody is notified beyond the cards


# --- safety --------------------------------------------------------------------------------------

HOSTILE = '<!channel> <!here> <@U0VICTIM> <https://evil.example|click> & "quotes" {{ 7*7 }} {% raw %} \\ \u202e'


def test_hostile_text_pings_nobody_and_stays_valid(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, text="Please look at " + HOSTILE, scope="Done when merged. " + HOSTILE * 10)
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 2, what="asker told")
    fake_slack.settle()

    stored = stored_ask(redis_sync)
    assert stored["text"] == "Please look at " + HOSTILE  # stored as typed
    for uid in (ASKER, HAL, HANA, HUGO):
        for message in fake_slack.dms(uid):
            text = message.all_text
            assert "<!channel>" not in text and "<!here>" not in text and "<@U0VICTIM>" not in text
            assert "<https://evil" not in text
            assert "&lt;!channel&gt;" in text
            assert "{{ 7*7 }}" in text and "49" not in text


@pytest.mark.parametrize("tamper", ["bad-signature", "no-signature", "old-timestamp", "future-timestamp"])
def test_badly_signed_requests_get_401_and_change_nothing(slack, fake_slack, redis_sync, tamper):
    import time

    now = int(time.time())
    kwargs = {
        "bad-signature": {"signature": "v0=" + "0" * 64},
        "no-signature": {"signature": ""},
        "old-timestamp": {"timestamp": now - 301},
        "future-timestamp": {"timestamp": now + 301},
    }[tamper]  # a timestamp alone is signed correctly: only its age is wrong

    replies = [slack.slash_ask(ASKER, "Review PR 412", **kwargs), slack.submit_ask(ASKER, **kwargs)]
    fake_slack.settle(quiet=0.2)

    assert [reply.status for reply in replies] == [401, 401]
    assert not fake_slack.calls_to("views.open") and not fake_slack.calls_to("chat.postMessage")
    assert not redis_sync.keys("*:ask:*")


def test_healthz_reports_redis(app_server):
    import urllib.request

    with urllib.request.urlopen(app_server.url + "/healthz") as response:
        assert response.status == 200
        assert json.loads(response.read()) == {
            "status": "ok",
            "redis": "ok",
            "effects": {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0},
        }
