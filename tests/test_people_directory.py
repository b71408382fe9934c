"""The people directory: a workspace's members from users.list, kept exact by user_change and team_join,
so nothing a person waits for waits for Slack to say who a teammate is."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace

import pytest
from fake_slack import FakeSlack, person
from slack_requests import SlackRequests

from slack_app.features.people import person_from_slack
from slack_app.settings import MissingSetting, Settings
from slack_app.store.store import people_key, people_state_key
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

LOCALES = ["en-US", "en-GB", "es-LA", "fr-FR", "de-DE", "pt-BR", "ja-JP", "sv-SE"]
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "America/Sao_Paulo"]


def members(count: int, seed: int = 22) -> dict[str, dict]:
    rng = random.Random(seed)
    return {
        f"U1{n:06d}": person(
            f"U1{n:06d}",
            f"Member {n}",
            tz=rng.choice(ZONES),
            locale=rng.choice(LOCALES),
            is_admin=n % 97 == 0,
            is_bot=n % 251 == 0,
            deleted=n % 113 == 0,
            updated=1_700_000_000 + n,
        )
        for n in range(count)
    }


def directory(redis_sync) -> dict[str, dict]:
    """The directory as slack-ask reads it: each person's fields, without when Slack changed them."""
    records = {uid: json.loads(raw) for uid, raw in redis_sync.hgetall(people_key("T0TEAM")).items()}
    return {uid: {k: v for k, v in record.items() if k != "updated"} for uid, record in records.items()}


def as_slack_shows(users: dict[str, dict]) -> dict[str, dict]:
    return {uid: person_from_slack(user).__dict__ for uid, user in users.items()}


MINUTE = 6.0  # Slack's tiers, and slack-ask's budget alike, with a minute made 6 s: a fill 10× as fast as Slack allows


@pytest.fixture
def big_workspace(settings, redis_sync):
    """A 2,000-member workspace behind a fake Slack enforcing Slack's tiers, and slack-ask's rate budget on the
    same clock (both with a minute made `MINUTE` seconds)."""
    fake = FakeSlack(token="xoxb-test-token", rate_window=MINUTE)
    fake.users.update(members(2000 - len(fake.users)))
    fake.start()
    server = ThreadedServer(create_app(replace(settings, slack_api_url=fake.api_url, slack_rate_window=MINUTE))).start()
    yield fake, server, SlackRequests(server.url, settings.signing_secret, fake)
    server.stop()
    fake.stop()
    assert not fake.violations, fake.violations


def view_of(call) -> dict:
    view = call.args["view"]
    return json.loads(view) if isinstance(view, str) else view


def filled(redis_sync) -> bool:
    return bool(redis_sync.hget(people_state_key("T0TEAM"), "filled_at"))


def test_a_2000_member_workspace_fills_in_ten_pages_and_events_keep_it_exact(big_workspace, redis_sync):
    fake, _, slack = big_workspace
    assert len(fake.users) == 2000
    started = time.monotonic()
    assert slack.slash_ask("U0ASKER").status == 200  # the workspace's first need of it
    fake.wait_for(lambda: filled(redis_sync), timeout=60, what="the directory filled")
    took = time.monotonic() - started

    pages = fake.calls_to("users.list")
    assert len(pages) <= 10 and took <= 30 * MINUTE / 60, (len(pages), took)
    print(f"2,000 members: {len(pages)} users.list calls, filled in {took * 60 / MINUTE:.1f} s of Slack's minutes")
    assert all(call.args.get("include_locale") in (True, "true", "1") for call in pages)
    assert directory(redis_sync) == as_slack_shows(fake.users)
    assert not fake.rate_limited  # within Slack's tiers throughout

    rng = random.Random(50)
    for n, uid in enumerate(rng.sample(sorted(fake.users), 50)):
        user = fake.users[uid]
        change = {"real_name": f"{user['real_name']} (changed)", "updated": user["updated"] + 100}
        if n % 3 == 0:
            change.update(tz=rng.choice(ZONES), locale=rng.choice(LOCALES))
        if n % 10 == 0:
            change["deleted"] = True
        user.update(change)
        shown = {k: v for k, v in user.items() if k != "locale" or "locale" in change}  # (an event may not carry it)
        assert slack.send_event({"type": "user_change", "user": shown, "event_ts": f"{n}.0"}).status == 200
    late = {**fake.users[uid], "real_name": "An older name", "updated": fake.users[uid]["updated"] - 50}
    assert slack.send_event({"type": "user_change", "user": late, "event_ts": "99.0"}).status == 200  # out of order
    newcomer = person("U2NEW", "Nadia Newcomer", tz="Asia/Tokyo", locale="ja-JP")
    fake.users["U2NEW"] = newcomer
    assert slack.send_event({"type": "team_join", "user": newcomer, "event_ts": "100.0"}).status == 200

    assert directory(redis_sync) == as_slack_shows(fake.users)
    assert len(fake.calls_to("users.list")) == len(pages)  # no refresh needed for any of it
    # Only the very first asker was looked up, once, while the directory was being filled for them.
    assert [call.args["user"] for call in fake.calls_to("users.info")] == ["U0ASKER"]


def test_once_filled_nobody_waits_for_slack_to_say_who_a_teammate_is(slack, fake_slack, redis_sync):
    fake_slack.users["U0HANA"] = person("U0HANA", "Hana Hoshino", tz="Asia/Tokyo", locale="ja-JP")
    assert slack.slash_ask("U0ASKER").status == 200
    fake_slack.wait_for(lambda: filled(redis_sync), what="the directory filled")
    fake_slack.settle()  # (on a busy machine the asker's form may have asked Slack who they are before the fill)
    before = len(fake_slack.calls)

    assert slack.slash_ask("U0HANA", "review the retry logic").status == 200
    fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.open")) == 2, what="the second modal")
    ten = [f"U0HELP{n}" for n in range(1, 11)]
    assert slack.submit_ask("U0ASKER", teammates=ten).status == 200
    fake_slack.wait_for(lambda: all(fake_slack.dms(uid) for uid in ten), what="ten cards")

    assert [call.method for call in fake_slack.calls[before:]][0] == "views.open"  # nothing asked of Slack first
    assert "users.info" not in [call.method for call in fake_slack.calls[before:]]
    hana_modal = view_of(fake_slack.calls_to("views.open")[1])
    assert hana_modal["title"]["text"] != "Ask for a hand"  # Hana's Slack is in Japanese: so is her form


def test_someone_the_directory_does_not_know_yet_is_looked_up_once_and_added(slack, fake_slack, redis_sync):
    assert slack.slash_ask("U0ASKER").status == 200
    fake_slack.wait_for(lambda: filled(redis_sync), what="the directory filled")
    fake_slack.settle()  # (on a busy machine the asker's form may have asked Slack who they are before the fill)
    looked_up_before = len(fake_slack.calls_to("users.info"))
    fake_slack.users["U0LATE"] = person("U0LATE", "Lea Late", tz="Europe/Paris", locale="fr-FR")  # no event came

    for asker in ("U0HELP1", "U0HELP2"):
        assert slack.submit_ask(asker, teammates=["U0LATE"]).status == 200
    fake_slack.wait_for(lambda: len(fake_slack.dms("U0LATE")) == 2, what="both cards")

    assert [call.args["user"] for call in fake_slack.calls_to("users.info")[looked_up_before:]] == ["U0LATE"]
    assert directory(redis_sync)["U0LATE"]["locale"] == "fr-FR"
    assert "Lea Late" in directory(redis_sync)["U0LATE"]["name"]


def test_a_first_timer_before_the_directory_is_filled_sees_the_form_at_once_then_in_their_language(
    slack, fake_slack, redis_sync
):
    fake_slack.users["U0HANA"] = person("U0HANA", "Hana Hoshino", tz="Asia/Tokyo", locale="ja-JP")
    fake_slack.latency = 0.3  # so the directory can't be filled before the modal must open
    assert slack.slash_ask("U0HANA", "review the retry logic").status == 200

    opened = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="the modal")[0]
    updated = fake_slack.wait_for(lambda: fake_slack.calls_to("views.update"), what="the modal in Japanese")[0]
    fake_slack.settle()

    # (Bolt's one auth.test of the token; the directory's users.list runs beside, in the background)
    first = [call.method for call in fake_slack.calls if call.method not in ("auth.test", "users.list")][0]
    assert first == "views.open"
    assert view_of(opened)["title"]["text"] == "Ask for a hand"
    assert view_of(updated)["title"]["text"] != "Ask for a hand"
    assert updated.args["hash"]  # a form they already changed is left as it is
    assert len(fake_slack.calls_to("views.update")) == 1


def test_the_directory_is_refreshed_in_full_once_it_is_older_than_the_setting(settings, fake_slack, redis_sync):
    server = ThreadedServer(create_app(replace(settings, directory_days=1))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        assert slack.slash_ask("U0ASKER").status == 200
        fake_slack.wait_for(lambda: filled(redis_sync), what="the directory filled")
        del fake_slack.users["U0HELP12"]  # gone from Slack's list (no event told us)
        assert slack.slash_ask("U0ASKER").status == 200
        fake_slack.settle()
        assert len(fake_slack.calls_to("users.list")) == 1  # still fresh
        redis_sync.hset(people_state_key("T0TEAM"), "filled_at", repr(time.time() - 25 * 3600))  # a day and more
        assert slack.slash_ask("U0ASKER").status == 200
        fake_slack.wait_for(lambda: len(fake_slack.calls_to("users.list")) == 2, what="a refresh")
        fake_slack.wait_for(lambda: "U0HELP12" not in directory(redis_sync), what="the refresh in place")
    finally:
        server.stop()
    assert directory(redis_sync) == as_slack_shows(fake_slack.users)


def test_a_persons_record_is_in_their_export_and_goes_with_an_erasure(slack, fake_slack, redis_sync, app_server):
    assert slack.slash_ask("U0ASKER").status == 200
    fake_slack.wait_for(lambda: filled(redis_sync), what="the directory filled")
    personal = app_server.app.services.personal

    exported = app_server.call(personal.export("T0TEAM", "U0HELP1"))
    assert exported["settings"]["profile_from_slack"]["name"] == "Hal Helper"

    app_server.call(personal.erase("T0TEAM", "U0HELP1"))  # what the erase modal and `slack-ask erase-user` run
    assert "U0HELP1" not in directory(redis_sync) and "U0HELP2" in directory(redis_sync)
    assert app_server.call(personal.export("T0TEAM", "U0HELP1"))["settings"]["profile_from_slack"] is None
    # Slack's own data about a current member: told again when slack-ask next needs it (to write to them).
    assert app_server.call(app_server.app.services.people.get("T0TEAM", "U0HELP1")).name == "Hal Helper"
    assert "U0HELP1" in directory(redis_sync)


def test_the_directory_refresh_setting_is_read_once_and_checked():
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert Settings.from_env(base, dotenv_path="/nonexistent/.env").directory_days == 7
    assert (
        Settings.from_env({**base, "SLACK_ASK_DIRECTORY_DAYS": "2"}, dotenv_path="/nonexistent/.env").directory_days
        == 2
    )
    with pytest.raises(MissingSetting, match="SLACK_ASK_DIRECTORY_DAYS"):
        Settings.from_env({**base, "SLACK_ASK_DIRECTORY_DAYS": "0"}, dotenv_path="/nonexistent/.env")
