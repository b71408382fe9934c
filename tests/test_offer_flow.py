"""Answers between yes and no, and a standing "not now", end to end: signed HTTP in, a real
Redis-protocol server, Web API calls out to the fake Slack (which checks every message and view)."""

from __future__ import annotations

import copy
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from fake_slack import Message
from test_ask_flow import ASKER, HAL, HANA, HUGO, card_text, send_ask, stored_ask
from test_home_and_digest import as_message, home_opened, published_home, view_text

from slack_app.playground import payloads
from slack_app.playground.checks import as_json

PRIYA = "U0HELP4"  # "Helper 4" in the fake Slack
HOSTILE = "<!channel> <@U0VICTIM> & {{ 7*7 }} {% if 1 %}"


def open_offer(slack, fake_slack, user, card, kind) -> dict:
    """Presses an offer button on a card and returns the modal Slack was asked to open."""
    before = len(fake_slack.calls_to("views.open"))
    assert slack.click(user, card, f"offer_{kind}").status == 200
    call = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open")[before:], what=f"the {kind} modal")[0]
    return as_json(call.args["view"])


def submit(slack, user, view, **inputs):
    payload = payloads.view_submission(user, view, payloads.state_values(view, inputs), team="T0TEAM")
    return slack.send_interaction(payload)


def offer(slack, fake_slack, user, card, kind, **inputs):
    reply = submit(slack, user, open_offer(slack, fake_slack, user, card, kind), **inputs)
    assert reply.status == 200 and reply.body == "", reply.body
    return reply


def offer_dm(fake_slack, count=2) -> Message:
    """The asker's DM about an offer: their messages are the summary, then what came after."""
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) >= count, what="the asker's offer DM")
    fake_slack.settle(quiet=0.2)
    return fake_slack.dms(ASKER)[count - 1]


def offer_to_answer(fake_slack) -> Message:
    """The asker's newest DM about an offer that still has its answer buttons, once it is there (counting the
    asker's messages after the offer races the offer's own DM)."""
    return fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "offer_accept" in m.action_ids()], what="the asker's offer DM"
    )[-1]


def summary_text(fake_slack) -> str:
    return fake_slack.dms(ASKER)[0].all_text


def days_ahead(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def pretty(day: str) -> str:
    return date.fromisoformat(day).strftime("%a %-d %b")


def no_channel_posts(fake_slack) -> bool:
    return not [call for call in fake_slack.calls_to("chat.postMessage") if str(call.args["channel"]).startswith("C")]


# --- later ---------------------------------------------------------------------------------------


def test_later_accepted_makes_a_helper_and_moves_the_needed_by(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, decline="later", needed_by=days_ahead(2))
    card = cards[HAL]
    assert card.action_ids() == ["ask_accept", "ask_decline", "offer_later", "offer_smaller", "offer_suggest"]
    assert "said *later* works too" in card.all_text  # the asker's decline line invited it, so it comes first

    by = days_ahead(5)
    offer(slack, fake_slack, HAL, card, "later", day=by, time="15:00")
    dm = offer_dm(fake_slack)
    assert f"<@U0HELP1> could do this by {pretty(by)}, 15:00" in dm.all_text
    assert "after your needed-by date" in dm.all_text
    assert dm.action_ids() == ["offer_accept", "offer_decline"]
    fake_slack.wait_for(lambda: "Offered: by" in card_text(fake_slack, HAL), what="Hal's card says it waits")
    hal = fake_slack.dms(HAL)[0]
    assert "waiting for <@U0ASKER>" in hal.all_text and "after the needed-by date" in hal.all_text
    assert hal.action_ids() == ["ask_accept", "ask_decline"]  # still free to take it outright or pass
    assert "waiting for your answer" in summary_text(fake_slack)

    slack.click(ASKER, dm, "offer_accept")
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, HAL), what="Hal is the helper")
    fake_slack.wait_for(lambda: "Covered by <@U0HELP1>" in card_text(fake_slack, HANA), what="the others are covered")
    fake_slack.settle()
    stored = stored_ask(redis_sync)
    assert stored["status"] == "taken" and json.loads(stored["helpers"]) == [HAL]
    assert stored["needed_by"] == by
    assert "You said yes — <@U0HELP1> is on it" in fake_slack.dms(ASKER)[1].all_text
    assert fake_slack.dms(ASKER)[1].action_ids() == []  # answered once, no buttons left
    assert pretty(by) in summary_text(fake_slack) and "you said yes" in summary_text(fake_slack)
    assert len(fake_slack.dms(ASKER)) == 2  # one DM per offer, nothing more
    assert no_channel_posts(fake_slack)


def test_later_declined_thanks_the_helper_and_changes_nothing_else(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(1))
    slack.click(ASKER, offer_dm(fake_slack), "offer_decline")

    fake_slack.wait_for(
        lambda: "They found another way — thanks for offering" in card_text(fake_slack, HAL), what="kind no"
    )
    fake_slack.settle()
    assert fake_slack.dms(HAL)[0].action_ids() == []
    assert stored_ask(redis_sync)["status"] == "open" and not stored_ask(redis_sync)["needed_by"]
    assert "React :white_check_mark: to take it" in card_text(fake_slack, HANA)
    assert "You said no thanks" in fake_slack.dms(ASKER)[1].all_text
    assert len(fake_slack.dms(HAL)) == 1 and len(fake_slack.dms(ASKER)) == 2


def test_a_past_day_is_refused_on_the_field(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    view = open_offer(slack, fake_slack, HAL, cards[HAL], "later")

    reply = submit(slack, HAL, view, day="2020-01-01")

    assert reply.json()["response_action"] == "errors" and "passed" in reply.json()["errors"]["day"]
    assert not redis_sync.keys("{T0TEAM:ask:*}:offers") and len(fake_slack.dms(ASKER)) == 1


# --- a smaller yes -------------------------------------------------------------------------------


def test_a_smaller_yes_accepted_narrows_the_scope_in_the_summary_and_the_thanks_prompt(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, estimate="60")
    view = open_offer(slack, fake_slack, HAL, cards[HAL], "smaller")
    minutes = next(block for block in view["blocks"] if block.get("block_id") == "minutes")["element"]["options"]
    assert [option["value"] for option in minutes] == ["5", "15", "30"]  # strictly below the ask's hour

    assert submit(slack, HAL, view, minutes="15", note="the error handling, not the tests").body == ""
    dm = offer_dm(fake_slack)
    assert "<@U0HELP1> can give 15 minutes to *" in dm.all_text and "— you asked for 1 hour." in dm.all_text
    assert "the error handling" in dm.all_text
    slack.click(ASKER, dm, "offer_accept")
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, HAL), what="Hal is the helper")
    assert "said yes to your offer: 15 minutes" in card_text(fake_slack, HAL)
    fake_slack.wait_for(
        lambda: "can give 15 minutes (you asked for 1 hour) — you said yes" in summary_text(fake_slack), what="summary"
    )

    slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "What difference did it make" in m.all_text],
        what="thank-you prompt",
    )[0]
    assert "<@U0HELP1> gave it 15 minutes." in prompt.all_text


def test_a_smaller_yes_declined(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, estimate="60")
    offer(slack, fake_slack, HAL, cards[HAL], "smaller", minutes="30")
    slack.click(ASKER, offer_dm(fake_slack), "offer_decline")

    fake_slack.wait_for(lambda: "They found another way" in card_text(fake_slack, HAL), what="declined")
    fake_slack.settle()
    assert json.loads(stored_ask(redis_sync)["helpers"]) == [] and stored_ask(redis_sync)["status"] == "open"


def test_an_ask_of_five_minutes_offers_no_smaller_yes(slack, fake_slack):
    cards = send_ask(slack, fake_slack, estimate="5", decline="redirect")
    assert cards[HAL].action_ids() == ["ask_accept", "ask_decline", "offer_suggest", "offer_later"]


# --- suggest someone ----------------------------------------------------------------------------


def test_a_suggestion_the_asker_takes_up_sends_a_normal_card_and_counts_as_a_pass(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA), decline="redirect")
    assert cards[HAL].action_ids()[2] == "offer_suggest"  # invited by "Point me to someone else"

    offer(slack, fake_slack, HAL, cards[HAL], "suggest", person=PRIYA, note="she wrote the retry code")
    dm = offer_dm(fake_slack)
    assert "<@U0HELP1> suggests <@U0HELP4>" in dm.all_text and "she wrote the retry code" in dm.all_text
    assert [b["text"]["text"] for b in dm.blocks[-1]["elements"]] == ["Ask Helper 4 too", "Not now"]
    fake_slack.wait_for(lambda: "You suggested <@U0HELP4>" in card_text(fake_slack, HAL), what="Hal passed")
    assert not fake_slack.dms(PRIYA)  # never contacted without the asker's click

    slack.click(ASKER, dm, "offer_accept")
    fake_slack.wait_for(lambda: fake_slack.dms(PRIYA), what="Priya's card")
    fake_slack.settle()
    priya = fake_slack.dms(PRIYA)[0]
    assert "<@U0ASKER> is asking for a hand" in priya.all_text and "ask_accept" in priya.action_ids()
    stored = stored_ask(redis_sync)
    assert json.loads(stored["teammates"]) == [HAL, HANA, PRIYA]
    assert redis_sync.hget(f"{{T0TEAM:ask:{stored['id']}}}:answers", HAL) == "declined"
    assert "You asked <@U0HELP4> too" in fake_slack.dms(ASKER)[1].all_text
    assert "<@U0HELP4>" in summary_text(fake_slack)

    slack.react(PRIYA, priya, "white_check_mark")  # a card like any other
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, PRIYA), what="Priya took it")


def test_not_now_contacts_nobody(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    offer(slack, fake_slack, HAL, cards[HAL], "suggest", person=PRIYA)
    slack.click(ASKER, offer_dm(fake_slack), "offer_decline")

    fake_slack.wait_for(
        lambda: "Not now — <@U0HELP4> wasn't contacted" in fake_slack.dms(ASKER)[1].all_text, what="not now"
    )
    fake_slack.settle()
    assert not fake_slack.dms(PRIYA)
    assert json.loads(stored_ask(redis_sync)["teammates"]) == [HAL, HANA]


@pytest.mark.parametrize(
    "suggested, wording",
    [
        (ASKER, "Ada Asker is the one asking"),
        ("U0BOT", "Apps and bots can't help with this one: Build Bot"),
        ("U0GONE", "Gone Person is no longer in the workspace"),
        (HANA, "Hana Helper already has this ask"),
    ],
)
def test_a_suggestion_that_cant_be_asked_is_refused_on_the_field(slack, fake_slack, redis_sync, suggested, wording):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    view = open_offer(slack, fake_slack, HAL, cards[HAL], "suggest")

    reply = submit(slack, HAL, view, person=suggested)

    assert reply.json()["response_action"] == "errors" and wording in reply.json()["errors"]["person"]
    fake_slack.settle(quiet=0.2)
    assert len(fake_slack.dms(ASKER)) == 1 and "React :white_check_mark:" in card_text(fake_slack, HAL)


def test_ask_them_too_answers_kindly_for_someone_on_a_break(slack, fake_slack, redis_sync):
    take_a_break(slack, fake_slack, PRIYA, days_ahead(6))
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    offer(slack, fake_slack, HAL, cards[HAL], "suggest", person=PRIYA)

    slack.click(ASKER, offer_dm(fake_slack), "offer_accept")

    fake_slack.wait_for(lambda: "taking a break" in fake_slack.dms(ASKER)[1].all_text, what="the kind answer")
    fake_slack.settle()
    assert (
        f"Helper 4 is taking a break from asks until {pretty(days_ahead(6))} — ask someone else, or after that."
        in fake_slack.dms(ASKER)[1].all_text
    )
    assert fake_slack.dms(ASKER)[1].action_ids() == [] and not fake_slack.dms(PRIYA)
    assert json.loads(stored_ask(redis_sync)["teammates"]) == [HAL, HANA]


def test_only_the_asker_answers_an_offer(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(1))
    dm = offer_dm(fake_slack)

    slack.click(HANA, dm, "offer_accept")

    fake_slack.wait_for(lambda: fake_slack.responses, what="a polite refusal")
    assert "Only the person who asked" in fake_slack.responses[-1]["text"]
    assert json.loads(stored_ask(redis_sync)["helpers"]) == []


# --- races and endings ---------------------------------------------------------------------------


@pytest.mark.parametrize("trial", range(3))
def test_an_accepted_offer_racing_a_take_it_leaves_exactly_one_helper_and_every_card_true(
    slack, fake_slack, redis_sync, trial
):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(1))
    dm = offer_dm(fake_slack)

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(
            pool.map(
                lambda go: go(),
                [
                    lambda: slack.click(ASKER, dm, "offer_accept"),
                    lambda: slack.react(HANA, cards[HANA], "white_check_mark"),
                ],
            )
        )
    fake_slack.wait_for(
        lambda: "You're on it" in card_text(fake_slack, HAL) + card_text(fake_slack, HANA), what="a winner"
    )
    fake_slack.settle(quiet=0.5)

    assert all(reply.status == 200 for reply in replies)
    helpers = json.loads(stored_ask(redis_sync)["helpers"])
    assert len(helpers) == 1 and stored_ask(redis_sync)["status"] == "taken"
    winner, loser = (HAL, HANA) if helpers == [HAL] else (HANA, HAL)
    assert "You're on it" in card_text(fake_slack, winner)
    covered = (  # the loser's card: covered, or covered with thanks for the yes that came too late
        f"Covered by <@{winner}> — nothing needed from you.",
        f"Thanks for offering. It's covered by <@{winner}>, so nothing is needed from you.",
    )
    assert any(line in card_text(fake_slack, loser) for line in covered)
    offer_words = fake_slack.dms(ASKER)[1].all_text
    assert ("You said yes" in offer_words) if winner == HAL else ("It's covered now by <@U0HELP2>" in offer_words)


def test_an_offer_after_the_ask_ended_gets_the_same_kind_answer_as_a_late_accept(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    view = open_offer(slack, fake_slack, HAL, cards[HAL], "later")
    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_cancel")
    fake_slack.wait_for(lambda: "No longer needed" in card_text(fake_slack, HAL), what="cancelled")

    assert submit(slack, HAL, view, day=days_ahead(1)).body == ""

    fake_slack.settle()
    assert "No longer needed — thanks for looking" in card_text(fake_slack, HAL)
    assert len(fake_slack.dms(ASKER)) == 1  # the asker hears nothing of it
    assert not redis_sync.keys("{T0TEAM:ask:*}:offers")


def test_an_offer_after_the_ask_was_covered_is_thanked(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    view = open_offer(slack, fake_slack, HAL, cards[HAL], "smaller")
    slack.react(HANA, cards[HANA], "white_check_mark")
    fake_slack.wait_for(lambda: "Covered by" in card_text(fake_slack, HAL), what="covered")
    fake_slack.settle()

    assert submit(slack, HAL, view, minutes="15").body == ""

    fake_slack.wait_for(
        lambda: (
            "Thanks for offering. It's covered by <@U0HELP2>, so nothing is needed from you."
            in card_text(fake_slack, HAL)
        ),
        what="thanked",
    )
    fake_slack.settle()
    assert len(fake_slack.dms(ASKER)) == 2  # the summary and "is on your ask"; no offer DM


def test_an_unanswered_offer_lapses_with_the_ask_and_nobody_is_nagged(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(1))
    dm = copy.deepcopy(offer_dm(fake_slack))  # as it was, buttons and all

    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_cancel")
    fake_slack.wait_for(lambda: "This ask has ended" in fake_slack.dms(ASKER)[1].all_text, what="offer DM lapsed")
    slack.click(ASKER, dm, "offer_accept")  # an old button pressed anyway
    fake_slack.settle()

    assert fake_slack.dms(ASKER)[1].action_ids() == []
    assert "No longer needed" in card_text(fake_slack, HAL)
    assert len(fake_slack.dms(HAL)) == 1 and len(fake_slack.dms(ASKER)) == 2
    assert stored_ask(redis_sync)["status"] == "cancelled"


def test_an_offer_answered_after_the_ask_was_covered_follows_the_ask_to_its_end(slack, fake_slack, redis_sync):
    """The asker says yes to an offer from a DM drawn before Hana took the ask: it lapses ("covered now by
    Hana"); when the ask then ends, the DM says so too. (Before: only waiting offers were redrawn when the
    ask moved, so it went on naming Hana as covering an ask that was cancelled.)"""
    cards = send_ask(slack, fake_slack)
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(1))
    dm = copy.deepcopy(offer_dm(fake_slack))  # as it was, buttons and all
    slack.react(HANA, cards[HANA], "white_check_mark")
    fake_slack.wait_for(lambda: "offer_accept" not in fake_slack.dms(ASKER)[1].action_ids(), what="covered")
    fake_slack.settle()

    slack.click(ASKER, dm, "offer_accept")
    fake_slack.wait_for(lambda: stored_offer_state(redis_sync, HAL) == "lapsed", what="the offer lapsed")
    fake_slack.settle()
    assert f"It's covered now by <@{HANA}>" in fake_slack.dms(ASKER)[1].all_text

    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_cancel")
    fake_slack.wait_for(lambda: "This ask has ended" in fake_slack.dms(ASKER)[1].all_text, what="offer DM ended")
    assert stored_ask(redis_sync)["status"] == "cancelled"


def stored_offer_state(redis_sync, helper: str) -> str:
    [key] = redis_sync.keys("{T0TEAM:ask:*}:offers")
    return json.loads(redis_sync.hget(key, helper))["state"]


def test_taking_it_outright_while_an_offer_waits(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack)
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(3))
    offer_dm(fake_slack)

    slack.click(HAL, fake_slack.dms(HAL)[0], "ask_accept")

    fake_slack.wait_for(
        lambda: "answered the ask directly" in fake_slack.dms(ASKER)[1].all_text, what="offer DM updated"
    )
    fake_slack.settle()
    assert "You're on it" in card_text(fake_slack, HAL) and fake_slack.dms(ASKER)[1].action_ids() == []
    assert json.loads(stored_ask(redis_sync)["helpers"]) == [HAL]


# --- safety and privacy --------------------------------------------------------------------------


def test_hostile_offer_lines_are_shown_inert_and_never_logged(slack, fake_slack, redis_sync, caplog):
    caplog.set_level(logging.DEBUG)
    cards = send_ask(slack, fake_slack, estimate="60")
    offer(slack, fake_slack, HAL, cards[HAL], "smaller", minutes="15", note="smaller " + HOSTILE)
    offer(slack, fake_slack, HANA, cards[HANA], "suggest", person=PRIYA, note="why " + HOSTILE)
    fake_slack.wait_for(lambda: len(fake_slack.dms(ASKER)) == 3, what="two offer DMs")
    fake_slack.settle()
    home_opened(slack, ASKER)
    published_home(fake_slack, ASKER)

    shown = [m.all_text for uid in (ASKER, HAL, HANA) for m in fake_slack.dms(uid)]
    shown += [json.dumps(as_json(c.args["view"]), ensure_ascii=False) for c in fake_slack.calls_to("views.publish")]
    assert any("&lt;!channel&gt; &lt;@U0VICTIM&gt; &amp; {{ 7*7 }} {% if 1 %}" in text for text in shown)
    for text in shown:
        assert "<!channel>" not in text and "<@U0VICTIM>" not in text and "&amp; 49" not in text
    ours = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if r.name.startswith("slack_app"))
    assert ours and "U0VICTIM" not in ours and "7*7" not in ours  # our logs carry ids only
    assert no_channel_posts(fake_slack)


def test_offers_stay_between_the_helper_and_the_asker(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    offer(slack, fake_slack, HAL, cards[HAL], "later", day=days_ahead(4))
    offer_dm(fake_slack)

    for user in (ASKER, HAL, HANA):
        home_opened(slack, user)
    mine, hals, hanas = (published_home(fake_slack, user) for user in (ASKER, HAL, HANA))

    assert f"<@U0HELP1> offered: by {pretty(days_ahead(4))} (waiting)" in view_text(mine)
    assert f"Your offer: by {pretty(days_ahead(4))} (waiting)" in view_text(hals)
    assert "You made an offer — waiting for their answer" in view_text(hals)
    assert {"ask_accept", "ask_decline"} <= set(as_message(hals).action_ids())
    assert "offer" not in view_text(hanas).lower() or "offered" not in view_text(hanas)
    assert pretty(days_ahead(4)) not in view_text(hanas) and pretty(days_ahead(4)) not in card_text(fake_slack, HANA)
    assert no_channel_posts(fake_slack)


# --- availability --------------------------------------------------------------------------------


def take_a_break(slack, fake_slack, user, until: str) -> None:
    home_opened(slack, user)
    home = published_home(fake_slack, user)
    block, picker = payloads.find_element(as_message(home).blocks, "availability_break")
    slack.send_interaction(
        payloads.block_actions(user, payloads.action(block, picker, until), team="T0TEAM", view=home)
    )
    fake_slack.wait_for(
        lambda: "Taking a break until" in view_text(published_home(fake_slack, user, 2)), what="break saved"
    )


def choose(slack, fake_slack, user, value: str, count: int) -> dict:
    home = published_home(fake_slack, user, count)
    block, select = payloads.find_element(as_message(home).blocks, "availability_mode")
    slack.send_interaction(
        payloads.block_actions(user, payloads.action(block, select, value), team="T0TEAM", view=home)
    )
    return published_home(fake_slack, user, count + 1)


def test_a_break_set_on_home_keeps_new_asks_away_kindly_and_ends_with_one_click(slack, fake_slack, redis_sync):
    until = days_ahead(6)
    take_a_break(slack, fake_slack, HANA, until)

    reply = slack.submit_ask(ASKER, teammates=[HAL, HANA])

    error = reply.json()["errors"]["teammates"]
    assert error == f"Hana Helper is taking a break from asks until {pretty(until)} — ask someone else, or after that."
    assert not fake_slack.calls_to("chat.postMessage")
    home = choose(slack, fake_slack, HANA, "open", 2)
    assert "Open to asks." in view_text(home)
    assert slack.submit_ask(ASKER, teammates=[HAL, HANA]).body == ""


def test_someone_on_a_break_keeps_what_they_took(slack, fake_slack, redis_sync):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA))
    slack.react(HANA, cards[HANA], "white_check_mark")
    fake_slack.wait_for(lambda: "You're on it" in card_text(fake_slack, HANA), what="taken")

    take_a_break(slack, fake_slack, HANA, days_ahead(3))

    assert json.loads(stored_ask(redis_sync)["helpers"]) == [HANA]
    assert "You're on it" in card_text(fake_slack, HANA) and "ask_done" in fake_slack.dms(HANA)[0].action_ids()


def test_at_their_weekly_limit_someone_is_kindly_unavailable_until_next_week(slack, fake_slack, redis_sync):
    home_opened(slack, HANA)
    choose(slack, fake_slack, HANA, "weekly:1", 1)

    assert slack.submit_ask(ASKER, teammates=[HANA]).body == ""  # her one card this week
    refused = slack.submit_ask(ASKER, teammates=[HAL, HANA])

    assert (
        refused.json()["errors"]["teammates"]
        == "Hana Helper isn't taking more asks this week — ask someone else, or next week."
    )
    fake_slack.settle()
    assert len(fake_slack.dms(HANA)) == 1 and not fake_slack.dms(HAL)
    home_opened(slack, HANA)
    assert "At most 1 ask a week — 1 so far this week." in view_text(published_home(fake_slack, HANA, 3))


def test_home_shows_your_own_availability_only_to_you(slack, fake_slack, redis_sync):
    home_opened(slack, HAL)
    first = published_home(fake_slack, HAL)
    assert "Your availability for asks" in view_text(first) and "Open to asks." in view_text(first)

    home = choose(slack, fake_slack, HAL, "weekly:3", 1)

    assert "At most 3 asks a week — 0 so far this week." in view_text(home)
    select = payloads.find_element(as_message(home).blocks, "availability_mode")[1]
    assert select["initial_option"]["value"] == "weekly:3"
    home_opened(slack, HANA)
    assert "At most 3 asks a week" not in view_text(published_home(fake_slack, HANA))


def test_offers_read_in_each_persons_language(slack, fake_slack, redis_sync):
    """Hal reads Spanish: his form and card are in Spanish; the asker's DM stays in English; someone suggested
    gets their card in their own language (Hugo reads French)."""
    for user, locale in {HAL: "es-LA", HUGO: "fr-FR", ASKER: "en-US"}.items():
        fake_slack.users[user] = {**fake_slack.users[user], "locale": locale}
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA), decline="redirect")
    assert "Sugerir a alguien" in cards[HAL].all_text

    view = open_offer(slack, fake_slack, HAL, cards[HAL], "suggest")
    assert view["title"]["text"] == "Sugerir a alguien"
    assert submit(slack, HAL, view, person=HUGO).body == ""
    dm = offer_dm(fake_slack)
    assert "<@U0HELP1> suggests <@U0HELP3>" in dm.all_text
    fake_slack.wait_for(lambda: "Sugeriste a <@U0HELP3>" in card_text(fake_slack, HAL), what="Hal's card, in Spanish")

    slack.click(ASKER, dm, "offer_accept")
    fake_slack.wait_for(lambda: fake_slack.dms(HUGO), what="Hugo's card")
    assert "<@U0ASKER> demande un coup de main" in fake_slack.dms(HUGO)[0].all_text
    assert json.loads(stored_ask(redis_sync)["languages"])[HUGO] == "fr"
