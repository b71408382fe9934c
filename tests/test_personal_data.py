"""A person's data: theirs to take (Download my data), theirs to erase (Erase what I wrote), for an
admin too (export-user, erase-user), and what a deactivation does to their asks."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from test_ask_flow import ASKER, HAL, HANA, HUGO, send_ask
from test_cli import clean_env
from test_home_and_digest import as_message, home_opened, published_home, view_text
from test_lifecycle_flow import last_view, submit_thanks, taken_by_hal
from test_oauth import every_value

from slack_app.domain.asks import Ask
from slack_app.features.lifecycle import iso_week
from slack_app.features.personal_data import ERASED
from slack_app.store.store import answers_key, ask_key, balance_key, kudos_key, people_key, thanks_for_key

ASK_TEXT = "Review the retry logic in PR 412 before Friday's release"
SCOPE = "In: error handling in retry.py. Out: naming and tests."
NOTE = "The release went out on time and nobody got paged."
HALS_ASK = "Pair on the flaky websocket test in CI"
HALS_NOTE = "Ada spotted the race in ten minutes flat."


@pytest.fixture
def helped(slack, fake_slack, redis_sync, app_server):
    """Ada asked Hal, Hana and Hugo; Hal took it and finished it, Hana passed, Ada thanked Hal. Hal
    asked Ada something too, and thanked her: his words must survive Ada erasing hers."""
    for user in (ASKER, HAL, HANA):
        home_opened(slack, user)
    cards = taken_by_hal(slack, fake_slack)
    slack.react(HANA, cards[HANA], "x")
    slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    slack.click(ASKER, prompt, "thanks_open")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="thanks modal")
    assert submit_thanks(slack, last_view(fake_slack), NOTE).status == 200
    fake_slack.wait_for(lambda: any("says thanks" in m.all_text for m in fake_slack.dms(HAL)), what="thanks DM")

    services = app_server.app.services
    hals = Ask(
        team_id="T0TEAM",
        asker=HAL,
        text=HALS_ASK,
        scope="Just the test file.",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=[ASKER],
        helpers=[ASKER],
    )
    app_server.call(services.store.save_ask(hals))
    week = iso_week(datetime.now(UTC), "UTC")
    app_server.call(
        services.store.record_thanks(
            "T0TEAM",
            week,
            {
                "ask_id": hals.id,
                "ask": HALS_ASK,
                "asker": HAL,
                "helper": ASKER,
                "note": HALS_NOTE,
                "shared": True,
                "estimate_minutes": 30,
                "at": 1.0,
            },
        )
    )
    fake_slack.settle()
    ada_ask = next(key for key in redis_sync.keys("{T0TEAM:ask:*}") if redis_sync.hget(key, "asker") == ASKER)
    return ada_ask.strip("{}").split(":")[-1], hals.id, week


def exported(fake_slack, user: str) -> dict:
    shared = fake_slack.wait_for(lambda: [m for m in fake_slack.dms(user) if m.files], what=f"{user}'s data file")[-1]
    (file,) = shared.files
    assert file["filename"] == f"slack-ask-T0TEAM-{user}.json" and "everything slack-ask keeps about you" in shared.text
    return json.loads(file["content"])


def press_on_home(slack, fake_slack, user: str, action_id: str):
    return slack.click(user, as_message(published_home(fake_slack, user)), action_id)


def test_download_my_data_sends_a_json_file_to_their_dm_with_only_their_own(slack, fake_slack, helped):
    ada_ask, hals_ask, _ = helped

    assert press_on_home(slack, fake_slack, ASKER, "home_export_data").status == 200
    ada = exported(fake_slack, ASKER)
    assert press_on_home(slack, fake_slack, HAL, "home_export_data").status == 200
    hal = exported(fake_slack, HAL)

    [made] = ada["asks_you_made"]
    assert (made["id"], made["text"], made["scope"], made["status"]) == (ada_ask, ASK_TEXT, SCOPE, "done")
    assert made["teammates"] == [HAL, HANA, HUGO] and made["helpers"] == [HAL]
    assert ada["asks_sent_to_you"] == [
        {
            "id": hals_ask,
            "asker": HAL,
            "asked_at": ada["asks_sent_to_you"][0]["asked_at"],
            "status": "open",
            "your_answer": "no answer",
            "your_offer": None,
        }
    ]
    assert [(n["helper"], n["note"]) for n in ada["thanks_you_wrote"]] == [(HAL, NOTE)]
    assert [(n["asker"], n["note"]) for n in ada["thanks_you_received"]] == [(HAL, HALS_NOTE)]
    assert ada["settings"]["asked_and_helped"] == {"asked": 1, "helped": 0} and ada["settings"]["home_tab_opened"]

    assert [(a["id"], a["your_answer"]) for a in hal["asks_sent_to_you"]] == [(ada_ask, "took it")]
    assert [n["note"] for n in hal["thanks_you_received"]] == [NOTE]
    # Nothing about anyone else beyond the ids: not Ada's words in Hal's file, not Hana's pass in Ada's.
    assert ASK_TEXT not in json.dumps(hal) and SCOPE not in json.dumps(hal)
    assert "passed" not in json.dumps(ada) and HALS_ASK not in json.dumps(ada)
    assert [c.method for c in fake_slack.calls if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ] * 2


def changed_keys(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """Keys whose contents changed, the bookkeeping aside (effects owed, their holder's lease, their queue,
    rate budgets, and the scheduler's keys, which hold the erasure's own job while it runs)."""
    return {
        key
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
        and not key.endswith((":owed", ":holder"))
        and not key.startswith(("{slack-ask:effects:", "slack-ask:rate:", "{T0TEAM:jobs}", "{slack-ask:jobs}"))
    }


def test_erase_what_i_wrote_asks_first_then_replaces_their_words_everywhere_key_by_key(
    slack, fake_slack, redis_sync, app_server, helped
):
    ada_ask, hals_ask, week = helped
    assert press_on_home(slack, fake_slack, ASKER, "home_erase_open").status == 200
    modal = fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("views.open") if "erase_confirm" in json.dumps(c.args["view"])],
        what="the erase modal",
    )[-1]
    assert "can't be undone" in json.dumps(modal.args["view"])
    assert ASK_TEXT in redis_sync.hget(ask_key("T0TEAM", ada_ask), "text")  # nothing happens before confirming
    before = every_value(redis_sync)
    homes_before = len(fake_slack.calls_to("views.publish"))

    confirmed = slack.send_interaction(slack.view_submission(ASKER, {}, callback_id="erase_confirm"))

    assert confirmed.status == 200 and confirmed.body == ""  # the modal closes at once, the work comes after
    fake_slack.wait_for(
        lambda: any("Erased what you wrote" in m.all_text for m in fake_slack.dms(ASKER)), what="done DM"
    )
    fake_slack.settle()
    after = every_value(redis_sync)
    assert changed_keys(before, after) == {
        ask_key("T0TEAM", ada_ask),
        kudos_key("T0TEAM", week),
        thanks_for_key("T0TEAM", HAL),
    }
    erased_ask, kept_ask = (
        redis_sync.hgetall(ask_key("T0TEAM", ada_ask)),
        ast.literal_eval(before[ask_key("T0TEAM", ada_ask)]),
    )
    assert {name for name in kept_ask if kept_ask[name] != erased_ask[name]} == {"text", "scope"}
    assert erased_ask["text"] == erased_ask["scope"] == ERASED
    kudos = [json.loads(raw) for raw in redis_sync.lrange(kudos_key("T0TEAM", week), 0, -1)]
    assert [(k["asker"], k["helper"], k["note"], k["ask"]) for k in kudos] == [
        (ASKER, HAL, ERASED, ERASED),
        (HAL, ASKER, HALS_NOTE, HALS_ASK),
    ]  # Hal's own words stay
    assert [
        (k["note"], k["ask_id"], k["shared"])
        for k in map(json.loads, redis_sync.lrange(thanks_for_key("T0TEAM", HAL), 0, -1))
    ] == [(ERASED, ada_ask, True)]
    for key in (
        balance_key("T0TEAM", ASKER),
        balance_key("T0TEAM", HAL),
        answers_key("T0TEAM", ada_ask),
        ask_key("T0TEAM", hals_ask),
    ):
        assert before[key] == after[key]  # counts, answers and other people's asks are untouched

    for user in (HAL, HANA, HUGO):  # cards redrawn
        card = fake_slack.dms(user)[0]
        assert ASK_TEXT not in card.all_text and ERASED in card.all_text, user
    assert ASK_TEXT not in fake_slack.dms(ASKER)[0].all_text  # the summary too
    hal_home = view_text(
        published_home(
            fake_slack, HAL, count=len([c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == HAL])
        )
    )
    assert len(fake_slack.calls_to("views.publish")) > homes_before
    assert NOTE not in hal_home and ASK_TEXT not in hal_home and ERASED in hal_home
    ada_home = view_text(
        published_home(
            fake_slack,
            ASKER,
            count=len([c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == ASKER]),
        )
    )
    assert HALS_NOTE in ada_home  # a note someone else wrote to her is theirs, and stays

    digest = app_server.call(app_server.app.services.digests.message("T0TEAM", week))
    digest_text = json.dumps(digest)
    assert NOTE not in digest_text and ASK_TEXT not in digest_text and HALS_NOTE in digest_text


def test_an_admin_exports_and_erases_one_person_from_the_command_line(settings, fake_slack, redis_sync, helped):
    ada_ask, _, week = helped
    env = clean_env(
        SLACK_BOT_TOKEN=settings.bot_token,
        SLACK_SIGNING_SECRET="s",
        REDIS_URL=settings.redis_url,
        SLACK_API_URL=fake_slack.api_url,
    )

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "slack_app.cli", *args, "--team", "T0TEAM", "--user", ASKER],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    exported_by_admin = cli("export-user")
    assert exported_by_admin.returncode == 0, exported_by_admin.stderr
    data = json.loads(exported_by_admin.stdout)
    assert [a["text"] for a in data["asks_you_made"]] == [ASK_TEXT] and data["thanks_you_wrote"][0]["note"] == NOTE

    erased = cli("erase-user")

    assert erased.returncode == 0, erased.stderr
    assert "1 ask(s), 0 line(s) on their offers and 1 thank-you note(s)" in erased.stdout
    assert redis_sync.hget(ask_key("T0TEAM", ada_ask), "text") == ERASED
    assert json.loads(redis_sync.lindex(kudos_key("T0TEAM", week), 0))["note"] == ERASED
    fake_slack.wait_for(lambda: ERASED in fake_slack.dms(HAL)[0].all_text, what="Hal's card redrawn")
    assert json.loads(cli("export-user").stdout)["asks_you_made"][0]["text"] == ERASED


def test_a_deactivated_persons_open_asks_end_gently_and_their_pending_answers_are_a_silent_no(
    slack, fake_slack, redis_sync, app_server
):
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    services = app_server.app.services
    hals = Ask(
        team_id="T0TEAM",
        asker=HAL,
        text=HALS_ASK,
        scope="Just the test file.",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=[ASKER, HUGO],
    )
    app_server.call(services.store.save_ask(hals))
    fake_slack.wait_for(lambda: fake_slack.dms(HUGO), what="Hal's ask sent")
    fake_slack.settle()
    hal_dms, ada_dms = len(fake_slack.dms(HAL)), len(fake_slack.dms(ASKER))
    deactivated = {
        "type": "user_change",
        "event_ts": "2.0",
        "user": {"id": ASKER, "team_id": "T0TEAM", "deleted": True, "name": "ada"},
    }

    first = slack.send_event(deactivated, event_id="Ev0GONE")
    retried = slack.send_event(deactivated, event_id="Ev0GONE", retry_num=1)

    assert first.status == retried.status == 200
    fake_slack.wait_for(
        lambda: all("No longer needed" in fake_slack.dms(u)[0].all_text for u in (HAL, HANA)), what="the cards ended"
    )
    fake_slack.settle()
    ada_ask = next(key for key in redis_sync.keys("{T0TEAM:ask:*}") if redis_sync.hget(key, "asker") == ASKER)
    assert redis_sync.hget(ada_ask, "status") == "cancelled"
    assert redis_sync.hgetall(answers_key("T0TEAM", hals.id)) == {ASKER: "declined"}
    assert redis_sync.hget(ask_key("T0TEAM", hals.id), "status") == "open"  # Hugo may still take it
    assert len(fake_slack.dms(HAL)) == hal_dms  # nobody is told: not that Ada passed, not why
    assert len(fake_slack.dms(ASKER)) == ada_dms  # and nothing more goes to the account that is gone
    assert all("blame" not in m.all_text for m in fake_slack.dms(HAL) + fake_slack.dms(HANA))
    assert cards  # the cards were there to end


def test_a_user_change_that_is_not_a_deactivation_changes_only_the_people_directory(slack, fake_slack, redis_sync):
    send_ask(slack, fake_slack, teammates=[HAL])
    before = {k: v for k, v in every_value(redis_sync).items() if k != people_key("T0TEAM")}

    reply = slack.send_event(
        {
            "type": "user_change",
            "event_ts": "2.0",
            "user": {"id": ASKER, "team_id": "T0TEAM", "deleted": False, "real_name": "Ada L."},
        }
    )

    assert reply.status == 200
    after = every_value(redis_sync)
    assert {k: v for k, v in after.items() if ":event:" not in k and k != people_key("T0TEAM")} == before
    assert json.loads(redis_sync.hget(people_key("T0TEAM"), ASKER))["name"] == "Ada L."  # her asks keep going


def test_offers_are_in_the_helpers_data_and_their_lines_are_theirs_to_erase(slack, fake_slack, redis_sync, app_server):
    from test_offer_flow import days_ahead, offer, offer_dm

    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA], estimate="60")
    offer(slack, fake_slack, HAL, cards[HAL], "smaller", minutes="15", note="Only the backoff, not the tests")
    offer(slack, fake_slack, HANA, cards[HANA], "later", day=days_ahead(2))
    offer_dm(fake_slack, count=3)
    home_opened(slack, HAL)
    home_opened(slack, ASKER)

    assert press_on_home(slack, fake_slack, HAL, "home_export_data").status == 200
    hal = exported(fake_slack, HAL)
    assert press_on_home(slack, fake_slack, ASKER, "home_export_data").status == 200
    ada = exported(fake_slack, ASKER)

    [sent] = hal["asks_sent_to_you"]
    assert sent["your_offer"]["kind"] == "smaller" and sent["your_offer"]["minutes"] == 15
    assert sent["your_offer"]["note"] == "Only the backoff, not the tests"
    assert {(o["from"], o["kind"]) for o in ada["asks_you_made"][0]["offers_on_it"]} == {
        (HAL, "smaller"),
        (HANA, "later"),
    }
    assert "Only the backoff" not in json.dumps(ada)  # Hal's words are his to take, not Ada's
    assert hal["settings"]["availability"] == {"mode": "open", "weekly_limit": 0, "until": ""}

    confirmed = slack.send_interaction(slack.view_submission(HAL, {}, callback_id="erase_confirm"))

    assert confirmed.status == 200
    fake_slack.wait_for(lambda: any("Erased what you wrote" in m.all_text for m in fake_slack.dms(HAL)), what="done")
    ada_ask = next(key for key in redis_sync.keys("{T0TEAM:ask:*}") if key.endswith("}"))
    offers = redis_sync.hgetall(ada_ask + ":offers")
    assert json.loads(offers[HAL])["note"] == ERASED and json.loads(offers[HAL])["minutes"] == 15
    fake_slack.wait_for(
        lambda: all("Only the backoff" not in m.all_text for m in fake_slack.dms(ASKER)), what="Ada's DMs redrawn"
    )
    assert any(ERASED in m.all_text for m in fake_slack.dms(ASKER))
