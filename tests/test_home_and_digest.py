"""The Home tab and the weekly digest, through signed HTTP and a real Redis-protocol server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from fake_slack import Message, person
from freezegun import freeze_time
from redis.asyncio import Redis
from test_ask_flow import ASKER, HAL, HANA, send_ask
from test_cli import clean_env

from slack_app.domain.asks import Ask
from slack_app.features.digests import Digests, DigestSettings
from slack_app.settings import Settings
from slack_app.slack.slack_api import Clients
from slack_app.store.store import Store, _ask_fields, ask_key, asked_by_key, asked_of_key, kudos_key
from slack_app.wiring.app import create_app

ADMIN = "U0ADMIN"


def home_opened(slack, user):
    return slack.send_event(
        {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": "1.0"}
    )


def published_home(fake_slack, user, count=1) -> dict:
    calls = fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == user][count - 1 :],
        what=f"Home tab #{count} for {user}",
    )
    view = calls[-1].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def view_text(view: dict) -> str:
    return Message("home", "0", "", view["blocks"]).all_text


def as_message(view: dict) -> Message:
    return Message(channel="", ts="", text="", blocks=view["blocks"])


# --- Home ----------------------------------------------------------------------------------------


def test_home_shows_your_asks_and_asks_for_you_and_keeps_no_ledger(slack, fake_slack):
    send_ask(slack, fake_slack, teammates=[HAL, HANA])

    home_opened(slack, ASKER)
    home_opened(slack, HAL)
    mine, hals = published_home(fake_slack, ASKER), published_home(fake_slack, HAL)

    assert "Review the retry logic in PR 412" in view_text(mine) and "Waiting for answers" in view_text(mine)
    assert "you've asked for help" not in view_text(mine) and "helped finish" not in view_text(mine)
    assert "ask_cancel" in as_message(mine).action_ids() and "home_new_ask" in json.dumps(mine)
    assert "<@U0ASKER> asks" in view_text(hals) and "Open — no reason needed to pass" in view_text(hals)
    assert {"ask_accept", "ask_decline"} <= set(as_message(hals).action_ids())
    assert "digest_settings" not in json.dumps(hals)  # not an admin


def test_answering_from_home_updates_the_card_and_every_open_home(slack, fake_slack, redis_sync):
    send_ask(slack, fake_slack, teammates=[HAL, HANA])
    home_opened(slack, ASKER)
    home_opened(slack, HAL)
    hals = published_home(fake_slack, HAL)
    published_home(fake_slack, ASKER)

    slack.click(HAL, as_message(hals), "ask_accept")

    assert "You're on it" in view_text(published_home(fake_slack, HAL, count=2))
    assert "Taken" in view_text(published_home(fake_slack, ASKER, count=2))
    fake_slack.wait_for(lambda: "You're on it" in fake_slack.dms(HAL)[0].all_text, what="card updated too")
    assert not [c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == HANA]  # never opened Home


def test_new_ask_from_home_opens_the_modal(slack, fake_slack):
    home_opened(slack, ASKER)
    slack.click(ASKER, as_message(published_home(fake_slack, ASKER)), "home_new_ask")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="modal")


def test_home_of_someone_with_300_asks_stays_within_limits(app_server, slack, fake_slack):
    store = app_server.app.services.store

    async def stored_long_ago(ask: Ask) -> None:  # as the submission stored it, sent long since: nothing owed
        await store.redis.hset(ask_key("T0TEAM", ask.id), mapping=_ask_fields(ask))
        await store.redis.zadd(asked_by_key("T0TEAM", ask.asker), {ask.id: ask.created_at})
        await store.redis.zadd(asked_of_key("T0TEAM", ask.teammates[0]), {ask.id: ask.created_at})

    async def many():
        for n in range(300):
            await stored_long_ago(
                Ask(
                    team_id="T0TEAM",
                    asker=ASKER,
                    text=f"Ask number {n} <!channel>",
                    scope="s" * 1500,
                    estimate_minutes=30,
                    decline_line="later",
                    teammates=[HAL],
                    created_at=n + 1.0,
                )
            )
            await stored_long_ago(
                Ask(
                    team_id="T0TEAM",
                    asker=HAL,
                    text=f"Ask for you {n}",
                    scope="x",
                    estimate_minutes=30,
                    decline_line="later",
                    teammates=[ASKER],
                    created_at=n + 1.0,
                )
            )

    app_server.call(many())
    home_opened(slack, ASKER)
    view = published_home(fake_slack, ASKER)  # the fake validates it as a home_view of ≤ 100 blocks

    assert len(view["blocks"]) <= 100
    assert "Ask number 299" in view_text(view) and "…and 290 older." in view_text(view)


def test_admins_choose_the_digest_channel_day_time_and_zone_on_home(slack, fake_slack, redis_sync):
    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", tz="Asia/Kolkata", is_admin=True)
    home_opened(slack, ADMIN)
    view = published_home(fake_slack, ADMIN)
    assert "digest_settings" in json.dumps(view) and "Asia/Kolkata" in json.dumps(view)

    def choose(user, action_id, **chosen):
        slack.send_interaction(
            {
                "type": "block_actions",
                "team": {"id": "T0TEAM"},
                "user": {"id": user, "team_id": "T0TEAM"},
                "api_app_id": "A0SLACKASK",
                "container": {"type": "view", "view_id": "V1"},
                "trigger_id": "1.2.3",
                "view": {"id": "V1", "type": "home"},
                "actions": [{"action_id": action_id, "block_id": "digest_settings", "action_ts": "1.0", **chosen}],
            }
        )

    choose(ADMIN, "digest_channel", type="channels_select", selected_channel="C0KUDOS")
    choose(ADMIN, "digest_day", type="static_select", selected_option={"value": "0"})
    choose(ADMIN, "digest_time", type="timepicker", selected_time="09:30")
    choose(ADMIN, "digest_tz", type="static_select", selected_option={"value": "Asia/Kolkata"})
    choose(HAL, "digest_channel", type="channels_select", selected_channel="C0HIJACK")  # not an admin
    choose(ADMIN, "digest_time", type="timepicker", selected_time="25:99")  # nonsense is ignored

    assert redis_sync.hgetall("{T0TEAM}:settings") == {
        "digest_channel": "C0KUDOS",
        "digest_day": "0",
        "digest_time": "09:30",
        "digest_tz": "Asia/Kolkata",
    }
    fake_slack.settle()
    shown_last = [c.args["view"] for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == ADMIN][-1]
    shown = shown_last if isinstance(shown_last, str) else json.dumps(shown_last)
    assert '"initial_time": "09:30"' in shown


# --- the digest's schedule -----------------------------------------------------------------------

KUDOS = {
    "ask_id": "a1",
    "ask": "Review the retry logic",
    "asker": ASKER,
    "helper": HAL,
    "note": "The release went out on time",
    "shared": True,
    "estimate_minutes": 30,
    "at": 1.0,
}


@pytest.fixture
def digest_world(redis_url, fake_slack, run):
    """Digest posters sharing one Redis, each with its own connection, posting to the fake Slack."""

    def make(settings: DigestSettings, posters: int = 1):
        async def build():
            made = []
            for _ in range(posters):
                redis = Redis.from_url(redis_url, decode_responses=True)
                clients = Clients(
                    Settings(bot_token="xoxb-test-token", signing_secret="s", slack_api_url=fake_slack.api_url)
                )
                made.append(Digests(Store(redis), clients, settings))
            return made

        return run(build())

    return make


def posts_to(fake_slack, channel):
    return [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == channel]


def seed(run, digests, week, kudos=KUDOS):
    async def go():
        await digests.track("T0TEAM")
        await digests.store.record_thanks("T0TEAM", week, kudos)

    run(go())


@pytest.mark.parametrize(
    "week, local_slot_utc",
    [
        ("2026-W44", datetime(2026, 10, 30, 20, 0, tzinfo=UTC)),  # Friday 16:00 EDT
        ("2026-W45", datetime(2026, 11, 6, 21, 0, tzinfo=UTC)),  # Friday 16:00 EST, after the clocks change
    ],
)
def test_the_digest_goes_out_at_friday_four_local_time_across_dst(digest_world, fake_slack, run, week, local_slot_utc):
    [digests] = digest_world(DigestSettings(channel="C0KUDOS", tz="America/New_York"))
    seed(run, digests, week)

    with freeze_time(local_slot_utc, real_asyncio=True) as frozen:  # post_due reads the (frozen) clock itself
        frozen.move_to(datetime.fromtimestamp(local_slot_utc.timestamp() - 60, UTC))
        assert run(digests.post_due()) == []
        frozen.move_to(local_slot_utc)
        assert run(digests.post_due()) == [("T0TEAM", week)]
        frozen.move_to(datetime.fromtimestamp(local_slot_utc.timestamp() + 3600, UTC))
        assert run(digests.post_due()) == []

    [post] = posts_to(fake_slack, "C0KUDOS")
    assert "The release went out on time" in json.dumps(post.args["blocks"])


def test_a_thank_you_is_filed_under_the_week_the_workspaces_own_digest_posts(settings, redis_sync, run):
    services = create_app(replace(settings, workspace_tz="UTC")).services  # DIGEST_TZ says UTC...
    kudos = {
        "ask_id": "a1",
        "ask": "Review PR 412",
        "asker": ASKER,
        "helper": HAL,
        "note": "It shipped on time",
        "shared": True,
        "estimate_minutes": 30,
        "at": 0.0,
    }

    async def thank() -> bool:
        await services.digests.save_setting("T0TEAM", "digest_tz", "Pacific/Kiritimati")  # ...an admin picked UTC+14
        return await services.lifecycle.thanked("T0TEAM", kudos)

    sunday_noon_utc = datetime(2026, 11, 29, 12, tzinfo=UTC)  # already Monday 02:00 of W49 in Kiritimati
    with freeze_time(sunday_noon_utc, real_asyncio=True):
        assert run(thank())

    assert redis_sync.llen(kudos_key("T0TEAM", "2026-W49")) == 1  # the week that workspace's digest will post
    assert not redis_sync.exists(kudos_key("T0TEAM", "2026-W48"))


def test_two_posters_racing_post_the_digest_once(digest_world, fake_slack, run):
    posters = digest_world(DigestSettings(channel="C0KUDOS"), posters=4)
    seed(run, posters[0], "2026-W47")
    slot = datetime(2026, 11, 20, 16, tzinfo=UTC).timestamp()

    async def race():
        return await asyncio.gather(*(poster.post_due(now=slot) for poster in posters for _ in range(3)))

    results = run(race())

    assert sum(len(posted) for posted in results) == 1
    assert len(posts_to(fake_slack, "C0KUDOS")) == 1


def test_a_missed_slot_is_posted_once_later_that_week_but_not_the_week_after(digest_world, fake_slack, run):
    [digests] = digest_world(DigestSettings(channel="C0KUDOS"))
    seed(run, digests, "2026-W46")
    seed(run, digests, "2026-W47")

    sunday_w47 = datetime(2026, 11, 22, 12, tzinfo=UTC).timestamp()  # Friday's slot passed while all were down
    assert run(digests.post_due(now=sunday_w47)) == [("T0TEAM", "2026-W47")]
    assert run(digests.post_due(now=sunday_w47 + 3600)) == []

    monday_w48 = datetime(2026, 11, 23, 12, tzinfo=UTC).timestamp()
    assert run(digests.post_due(now=monday_w48)) == []  # W47 went out; W46 is history; W48's slot is Friday
    assert len(posts_to(fake_slack, "C0KUDOS")) == 1


def test_a_digest_slack_failed_to_take_during_an_incident_goes_out_once_soon_after(digest_world, fake_slack, run):
    """Slack answers the post with 5xx: nothing went out, so the week is tried again within a minute (not only
    once a two-minute claim has lapsed), and posted once."""
    [digests] = digest_world(DigestSettings(channel="C0KUDOS"))
    seed(run, digests, "2026-W47")
    slot = datetime(2026, 11, 20, 16, tzinfo=UTC).timestamp()
    fake_slack.fail("chat.postMessage", status=503, times=3)  # the client's try and its two retries

    assert run(digests.post_due(now=slot)) == []
    assert run(digests.post_due(now=slot + 5)) == []  # not yet: Slack is given a moment
    assert run(digests.post_due(now=slot + 20)) == [("T0TEAM", "2026-W47")]
    assert run(digests.post_due(now=slot + 200)) == []
    assert len(posts_to(fake_slack, "C0KUDOS")) == 4 and len(fake_slack.conversation("C0KUDOS")) == 1


def test_a_quiet_week_posts_a_warm_line_or_nothing(digest_world, fake_slack, run):
    [warm] = digest_world(DigestSettings(channel="C0WARM"))
    [silent] = digest_world(DigestSettings(channel="C0SILENT", skip_empty=True))
    run(warm.track("T0TEAM"))
    slot = datetime(2026, 11, 20, 16, tzinfo=UTC).timestamp()

    run(warm.post_due(now=slot))
    assert "quiet week" in posts_to(fake_slack, "C0WARM")[0].args["text"].lower()

    run(warm.store.redis.delete("{T0TEAM}:digest:2026-W47"))
    run(silent.index.lower("T0TEAM", 0.0))  # as an admin changing a setting does: look again now
    run(silent.post_due(now=slot))
    assert posts_to(fake_slack, "C0SILENT") == []


def test_digest_preview_on_the_command_line(redis_url, run, tmp_path):
    async def seed_week():
        redis = Redis.from_url(redis_url, decode_responses=True)
        await Store(redis).record_thanks("T0TEAM", "2026-W47", {**KUDOS, "note": "Shipped on time <!channel>"})
        await Store(redis).record_thanks(
            "T0TEAM", "2026-W47", {**KUDOS, "ask_id": "a2", "note": "kept private", "shared": False}
        )
        await redis.aclose()

    run(seed_week())
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", REDIS_URL=redis_url)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "slack_app.cli",
            "digest",
            "--preview",
            "--week",
            "2026-W47",
            "--team",
            "T0TEAM",
            "--json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Kudos this week" in result.stdout and "Shipped on time &lt;!channel&gt;" in result.stdout
    assert "kept private" not in result.stdout
    assert '"blocks": [' in result.stdout  # --json adds the Block Kit payload


def test_digest_post_on_the_command_line_posts_once_a_week(redis_url, run, tmp_path, fake_slack):
    async def seed_week():
        redis = Redis.from_url(redis_url, decode_responses=True)
        await redis.hset("{T0TEAM}:settings", "digest_channel", "C0KUDOS")
        await redis.aclose()

    run(seed_week())
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL=redis_url,
        SLACK_API_URL=fake_slack.api_url,
    )
    command = [sys.executable, "-m", "slack_app.cli", "digest", "--post"]
    first = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    second = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    assert first.returncode == 0 and "Posted the" in first.stdout, first.stderr
    assert second.returncode == 1 and "went out already" in second.stdout
    assert len(posts_to(fake_slack, "C0KUDOS")) == 1
