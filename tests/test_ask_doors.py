"""Every door into an ask, through signed HTTP against the fake Slack: a message shortcut (in a channel, in
a thread, where the app can't see), the lightning menu, /ask with mentions and user groups, /ask help; and
coaching on Send that never blocks."""

from __future__ import annotations

import json
import time

import pytest
from test_ask_flow import ASKER, HAL, HANA, stored_ask
from test_home_and_digest import home_opened
from test_lifecycle_flow import submit_thanks, taken_by_hal

from slack_app.domain.asks import Ask
from slack_app.playground.payloads import TEAM_DOMAIN

GENERAL = "C0GENERAL"
QUESTION = "The retry logic in PR 412 times out on CI. Could someone look at the backoff? It's blocking the release."


def opened_view(fake_slack, count: int = 1) -> dict:
    call = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open")[count - 1 :], what="views.open")[0]
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def blocks_of(view: dict) -> dict:
    return {block.get("block_id"): block for block in view["blocks"]}


def intro(view: dict) -> str:
    return " ".join(element["text"] for element in view["blocks"][0]["elements"])


# --- the message shortcut ------------------------------------------------------------------------


def test_message_shortcut_in_a_channel_prefills_the_first_sentence_and_the_messages_link(slack, fake_slack):
    message = fake_slack.say(HAL, GENERAL, QUESTION)

    started = time.monotonic()
    reply = slack.message_shortcut(ASKER, message)
    view = opened_view(fake_slack)

    assert reply.status == 200 and reply.body == ""
    assert fake_slack.calls_to("views.open")[0].at - started < 3.0  # inside the trigger's 3 seconds
    assert view["callback_id"] == "ask_submit"
    blocks = blocks_of(view)
    assert blocks["ask"]["element"]["initial_value"] == "The retry logic in PR 412 times out on CI."
    link = fake_slack.permalink(GENERAL, message.ts)
    assert blocks["scope"]["element"]["initial_value"].startswith(link)
    assert [call.args["message_ts"] for call in fake_slack.calls_to("chat.getPermalink")] == [message.ts]
    assert json.loads(view["private_metadata"]) == {"channel": GENERAL}


def test_message_shortcut_in_a_thread_links_to_the_reply_in_its_thread(slack, fake_slack):
    parent = fake_slack.say(HAL, GENERAL, "Release train status for Friday.")
    reply_in_thread = fake_slack.say(
        HANA, GENERAL, "Can someone pair on the flaky login test today? It fails one run in five.", thread_ts=parent.ts
    )

    assert slack.message_shortcut(ASKER, reply_in_thread).status == 200
    blocks = blocks_of(opened_view(fake_slack))

    assert blocks["ask"]["element"]["initial_value"] == "Can someone pair on the flaky login test today?"
    scope = blocks["scope"]["element"]["initial_value"]
    assert scope.startswith(fake_slack.permalink(GENERAL, reply_in_thread.ts, parent.ts))
    assert f"thread_ts={parent.ts}" in scope


@pytest.mark.parametrize("why", ["channel the app isn't in", "Slack too slow"])
def test_message_shortcut_where_slack_wont_link_still_opens_with_a_link_and_says_nothing_wrong(slack, fake_slack, why):
    if why == "Slack too slow":
        fake_slack.fail("chat.getPermalink", status=0, retry_after=3)
        message = fake_slack.say(HAL, GENERAL, QUESTION)
    else:
        fake_slack.private_channels.add("C0SECRET")
        message = fake_slack.say(HAL, "C0SECRET", QUESTION)

    started = time.monotonic()
    assert slack.message_shortcut(ASKER, message).status == 200
    view = opened_view(fake_slack)
    fake_slack.settle(quiet=0.2)

    assert fake_slack.calls_to("views.open")[0].at - started < 3.0
    scope = blocks_of(view)["scope"]["element"]["initial_value"]
    assert scope.startswith(
        f"https://{TEAM_DOMAIN}.slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}"
    )
    assert blocks_of(view)["ask"]["element"]["initial_value"] == "The retry logic in PR 412 times out on CI."
    assert not fake_slack.responses and not fake_slack.calls_to("chat.postMessage")  # nothing said about it


def test_message_shortcut_in_a_dm_between_people_opens_with_a_built_link(slack, fake_slack):
    fake_slack.private_channels.add("D0HALADA")  # a DM between two people: the app isn't in it
    message = fake_slack.say(HAL, "D0HALADA", "Could you sanity check my on-call handover notes? No rush.")

    assert slack.message_shortcut(ASKER, message).status == 200
    blocks = blocks_of(opened_view(fake_slack))

    assert blocks["ask"]["element"]["initial_value"] == "Could you sanity check my on-call handover notes?"
    assert blocks["scope"]["element"]["initial_value"].startswith(
        f"https://{TEAM_DOMAIN}.slack.com/archives/D0HALADA/p"
    )


def test_an_ask_started_from_a_message_goes_out_with_its_link(slack, fake_slack, redis_sync):
    message = fake_slack.say(HAL, GENERAL, QUESTION)
    slack.message_shortcut(ASKER, message)
    blocks = blocks_of(opened_view(fake_slack))

    scope = blocks["scope"]["element"]["initial_value"] + "Done: a fix or a cause. Out: other flaky tests."
    reply = slack.submit_ask(ASKER, text=blocks["ask"]["element"]["initial_value"], scope=scope, teammates=[HANA])

    assert reply.status == 200 and reply.body == ""
    card = fake_slack.wait_for(lambda: fake_slack.dms(HANA), what="Hana's card")[0]
    assert fake_slack.permalink(GENERAL, message.ts) in card.all_text
    assert stored_ask(redis_sync)["text"] == "The retry logic in PR 412 times out on CI."


# --- the lightning menu and Home -----------------------------------------------------------------


def test_global_shortcut_opens_a_blank_ask_with_the_start_small_hint_for_a_first_asker(slack, fake_slack):
    reply = slack.global_shortcut(ASKER)
    view = opened_view(fake_slack)

    assert reply.status == 200 and reply.body == ""
    assert view["callback_id"] == "ask_submit"
    assert "initial_value" not in blocks_of(view)["ask"]["element"]
    assert "5–15 minutes" in intro(view)


def test_the_start_small_hint_is_for_first_asks_only(slack, fake_slack):
    assert slack.submit_ask(ASKER, teammates=[HAL]).body == ""
    fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="the card")

    slack.global_shortcut(ASKER)
    slack.slash_ask(HAL, "Review the billing export totals")

    hints = {opened_view(fake_slack, n)["blocks"][0]["elements"][-1]["text"] for n in (1, 2)}
    assert sum("5–15 minutes" in hint for hint in hints) == 1  # Hal has never asked; Ada has


def test_a_generous_helper_who_never_asked_is_nudged_privately_on_home(slack, fake_slack, app_server):
    store = app_server.app.services.store

    def helped_finish(helper):
        ask = Ask(
            team_id="T0TEAM",
            asker=ASKER,
            text="Review the retry logic",
            scope="s",
            estimate_minutes=15,
            decline_line="no_reason",
            teammates=[helper],
            helpers=[helper],
        )
        app_server.call(store.count_done(ask, "2026-W47"))

    for _ in range(3):
        helped_finish(HAL)
    helped_finish(HANA)  # helped once: no nudge

    for user in (HAL, HANA):
        home_opened(slack, user)
    published = fake_slack.wait_for(
        lambda: (
            {
                c.args["user_id"]: json.dumps(c.args["view"], ensure_ascii=False)
                for c in fake_slack.calls_to("views.publish")
            }
            if len(fake_slack.calls_to("views.publish")) == 2
            else None
        ),
        what="both Home tabs",
    )

    assert "You can ask for help too" in published[HAL]
    assert "You can ask for help too" not in published[HANA]
    assert "helped finish" not in published[HAL] + published[HANA]  # no ledger of anyone's asks and help


# --- /ask with mentions, user groups and channels ------------------------------------------------


def test_slash_ask_with_mentions_chooses_them_and_keeps_the_ask_line_clean(slack, fake_slack):
    reply = slack.slash_ask(ASKER, "<@U0HELP1|hal> <@U0HELP2|hana> review the retry logic in PR 412")
    blocks = blocks_of(opened_view(fake_slack))

    assert reply.status == 200 and reply.body == ""
    assert blocks["teammates"]["element"]["initial_users"] == [HAL, HANA]
    assert blocks["ask"]["element"]["initial_value"] == "Review the retry logic in PR 412"


def test_a_user_group_brings_its_members_up_to_the_cap_with_a_note(slack, fake_slack):
    fake_slack.usergroups["S0DESIGN"] = [ASKER, HAL, *[f"U0HELP{n}" for n in range(2, 13)]]

    slack.slash_ask(ASKER, "<@U0HELP1|hal> <!subteam^S0DESIGN|@design> check the new onboarding copy")
    view = opened_view(fake_slack)
    chosen = blocks_of(view)["teammates"]["element"]["initial_users"]

    assert len(chosen) == 10 and chosen[0] == HAL and ASKER not in chosen
    assert chosen[1:] == [f"U0HELP{n}" for n in range(2, 11)]
    assert "2 people from @design were left out" in intro(view)
    assert blocks_of(view)["ask"]["element"]["initial_value"] == "Check the new onboarding copy"
    assert [call.args["usergroup"] for call in fake_slack.calls_to("usergroups.users.list")] == ["S0DESIGN"]


def test_a_user_group_slack_cant_list_leaves_the_picker_to_the_asker(slack, fake_slack):
    slack.slash_ask(ASKER, "<!subteam^S0GONE|@ghosts> check the new onboarding copy")
    view = opened_view(fake_slack)

    assert "initial_users" not in blocks_of(view)["teammates"]["element"]
    assert "Couldn't bring in the people in @ghosts" in intro(view)


def test_at_most_three_user_groups_are_looked_up_and_the_rest_are_named(slack, fake_slack):
    for n in range(1, 5):
        fake_slack.usergroups[f"S0TEAM{n}"] = [f"U0HELP{n}"]

    slack.slash_ask(
        ASKER, " ".join(f"<!subteam^S0TEAM{n}|@team{n}>" for n in range(1, 5)) + " review the launch checklist"
    )
    view = opened_view(fake_slack)

    assert blocks_of(view)["teammates"]["element"]["initial_users"] == [HAL, HANA, "U0HELP3"]
    assert len(fake_slack.calls_to("usergroups.users.list")) == 3
    assert "Couldn't bring in the people in @team4" in intro(view)


def test_a_channel_mention_stays_in_the_text_and_chooses_nobody(slack, fake_slack):
    slack.slash_ask(ASKER, "post the release notes in <#C0GENERAL|general> before <!here> standup")
    blocks = blocks_of(opened_view(fake_slack))

    assert blocks["ask"]["element"]["initial_value"] == "Post the release notes in #general before @here standup"
    assert "initial_users" not in blocks["teammates"]["element"]
    assert not fake_slack.calls_to("usergroups.users.list")


@pytest.mark.parametrize("text", ["help", "?", " Help "])
def test_slash_ask_help_is_a_short_private_how_to_instead_of_a_modal(slack, fake_slack, text):
    reply = slack.slash_ask(ASKER, text)
    fake_slack.settle(quiet=0.2)

    assert reply.status == 200
    answer = reply.json()
    assert answer["response_type"] == "ephemeral"
    said = json.dumps(answer, ensure_ascii=False)
    for point in ("A good ask", "How people answer", "Ask for help with this", "Home"):
        assert point in said
    assert not fake_slack.calls_to("views.open")


# --- coaching, never blocking --------------------------------------------------------------------


def test_coaching_suggests_once_then_the_same_ask_goes_through_as_typed(slack, fake_slack, redis_sync):
    apologetic = "Sorry to bother, review the retry logic in PR 412"

    first = slack.submit_ask(ASKER, text=apologetic)
    assert first.json()["response_action"] == "errors"
    assert (
        "You don't need to apologise" in first.json()["errors"]["ask"]
        and "“Sorry to bother”" in first.json()["errors"]["ask"]  # quoted back as typed
    )
    assert not redis_sync.keys("{T0TEAM:ask:*")

    again = slack.submit_ask(ASKER, text=apologetic)
    assert again.status == 200 and again.body == ""
    fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="the card")
    assert stored_ask(redis_sync)["text"] == apologetic


def test_a_changed_submission_is_checked_again(slack, fake_slack, redis_sync):
    assert "ask" in slack.submit_ask(ASKER, text="Sorry, review the retry logic in PR 412").json()["errors"]

    changed = slack.submit_ask(ASKER, text="Quick look at the retry logic in PR 412", estimate="240")
    assert list(changed.json()["errors"]) == ["estimate"] and "half a day" in changed.json()["errors"]["estimate"]

    better = slack.submit_ask(ASKER, text="Quick look at the retry logic in PR 412", estimate="15")
    assert better.status == 200 and better.body == ""
    fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="the card")
    assert stored_ask(redis_sync)["estimate_minutes"] == "15"


def test_a_vague_ask_is_coached_on_its_field(slack, fake_slack, redis_sync):
    vague = slack.submit_ask(ASKER, text="Can you look at this for me?")
    repeated = slack.submit_ask(ASKER, text="Review the retry logic in PR 412", scope="The retry logic in PR 412.")

    assert "what done looks like" in vague.json()["errors"]["ask"]
    assert "what done looks like" in repeated.json()["errors"]["scope"]
    assert not redis_sync.keys("{T0TEAM:ask:*")


def test_a_thank_you_that_apologises_is_coached_once(slack, fake_slack, redis_sync):
    taken_by_hal(slack, fake_slack)
    slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    slack.click(ASKER, prompt, "thanks_open")
    view = opened_view(fake_slack)

    note = "Sorry it took so long to say it — the release went out on time."
    coached = submit_thanks(slack, view, note)
    assert coached.json()["errors"]["note"].startswith("Say what their help changed")
    assert submit_thanks(slack, view, note).body == ""
    delivered = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(HAL) if "says thanks" in m.all_text], what="thanks DM"
    )[0]
    assert "the release went out on time" in delivered.all_text
