"""Distribution to many workspaces: Bolt's OAuth flow, installations in Redis, isolation, uninstall."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, HUGO, send_ask

from slack_app.store.sealing import Seal, new_key
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

OTHER = "T0OTHER"
KEY = new_key()


@pytest.fixture
def oauth_server(settings, fake_slack):
    distributed = replace(
        settings,
        bot_token=None,
        client_id=fake_slack.client_id,
        client_secret=fake_slack.client_secret,
        encryption_keys=(KEY,),
    )
    assert distributed.oauth
    server = ThreadedServer(create_app(distributed)).start()
    yield server
    server.stop()


def install(server, fake_slack, team: str, *, rotating: bool = False, forged_state: bool = False) -> tuple[int, str]:
    """Does what a person's browser does: opens the install page, approves, follows Slack's redirect.

    Bolt's state cookie is marked Secure; a browser on the production https URL sends it back, so
    this one does too, over the test's plain http.
    """
    with urllib.request.urlopen(server.url + "/slack/install") as opened:
        page, cookie = opened.read().decode(), opened.headers["Set-Cookie"].split(";", 1)[0]
    state = re.search(r"state=([A-Za-z0-9_\-]+)", page).group(1)
    fake_slack.prepare_install(f"code-{team}", team, rotating)
    callback = f"{server.url}/slack/oauth_redirect?code=code-{team}&state={'forged' if forged_state else state}"
    try:
        with urllib.request.urlopen(urllib.request.Request(callback, headers={"Cookie": cookie})) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def bot_record(redis_sync, team: str) -> dict:
    return json.loads(Seal((KEY,)).open(redis_sync.get(f"{{{team}}}:install:bot")))


def token_of(fake_slack, team: str) -> str:
    return [token for token, owner in fake_slack.tokens.items() if owner == team][-1]


def test_installing_stores_the_installation_and_the_workspace_can_ask(oauth_server, fake_slack, redis_sync, settings):
    status, page = install(oauth_server, fake_slack, "T0TEAM")

    assert status == 200
    assert bot_record(redis_sync, "T0TEAM")["bot_token"] == token_of(fake_slack, "T0TEAM")
    assert [c.args.get("code") for c in fake_slack.calls_to("oauth.v2.access")] == ["code-T0TEAM"]

    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "Covered by" in fake_slack.dms(HANA)[0].all_text, what="covered")
    used = {call.token for call in fake_slack.calls if call.method in ("chat.postMessage", "chat.update", "users.info")}
    assert used == {token_of(fake_slack, "T0TEAM")}


def test_a_forged_state_installs_nothing(oauth_server, fake_slack, redis_sync):
    status, _ = install(oauth_server, fake_slack, "T0TEAM", forged_state=True)

    assert status >= 400
    assert not fake_slack.calls_to("oauth.v2.access")
    assert redis_sync.get("{T0TEAM}:install:bot") is None


def test_two_workspaces_side_by_side_never_see_each_others_asks(oauth_server, fake_slack, redis_sync, settings):
    install(oauth_server, fake_slack, "T0TEAM")
    install(oauth_server, fake_slack, OTHER)
    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    cards = send_ask(slack, fake_slack, teammates=[HAL])
    before = len(fake_slack.calls)

    # Someone in the other workspace presses a button carrying this workspace's ask id.
    slack.click(HAL, cards[HAL], "ask_accept", team=OTHER)
    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_cancel", team=OTHER)
    fake_slack.settle()

    ask = next(
        redis_sync.hgetall(k) for k in redis_sync.keys("{T0TEAM:ask:*}") if ":answers" not in k and ":cards" not in k
    )
    assert ask["status"] == "open" and json.loads(ask["helpers"]) == []
    assert not [c for c in fake_slack.calls[before:] if c.method in ("chat.update", "chat.postMessage")]
    assert not redis_sync.keys(f"{{{OTHER}:ask:*")

    assert slack.slash_ask(ASKER, "Review PR 9", team=OTHER).status == 200
    opened = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="the other workspace's modal")
    assert opened[-1].token == token_of(fake_slack, OTHER)


def test_uninstalling_forgets_the_workspace_and_only_it(oauth_server, fake_slack, redis_sync, settings):
    install(oauth_server, fake_slack, "T0TEAM")
    install(oauth_server, fake_slack, OTHER)
    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    send_ask(slack, fake_slack, teammates=[HAL])
    assert redis_sync.keys("{T0TEAM*")

    assert slack.send_event({"type": "app_uninstalled", "event_ts": "1.0"}).status == 200

    assert redis_sync.keys("{T0TEAM*") == [] and redis_sync.keys("{T0TEAM:*") == []
    assert "T0TEAM" not in redis_sync.smembers("slack-ask:teams")
    assert redis_sync.get(f"{{{OTHER}}}:install:bot") is not None
    fake_slack.calls.clear()
    slack.slash_ask(ASKER, "Review PR 412")
    fake_slack.settle(quiet=0.3)
    assert not fake_slack.calls_to("views.open")


def test_rotating_tokens_are_refreshed_at_slack_api_url(oauth_server, fake_slack, redis_sync, settings):
    install(oauth_server, fake_slack, "T0TEAM", rotating=True)
    first = token_of(fake_slack, "T0TEAM")

    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    assert slack.slash_ask(ASKER, "Review PR 412").status == 200
    opened = fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="modal")

    refreshes = [c for c in fake_slack.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
    assert refreshes  # went to the fake at SLACK_API_URL, not to slack.com
    assert opened[-1].token != first and opened[-1].token == bot_record(redis_sync, "T0TEAM")["bot_token"]


def test_lookups_at_once_share_one_token_refresh(oauth_server, fake_slack, settings):
    """A submission looks several teammates up at once; each lookup needs the workspace's token,
    and a refresh token is good for one refresh, so they must wait for one refresh, not race."""
    install(oauth_server, fake_slack, "T0TEAM", rotating=True)
    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)

    for _ in range(3):
        send_ask(slack, fake_slack, teammates=[HAL, HANA, HUGO])  # each submission answered 200, each card sent


def test_an_org_wide_install_serves_every_workspace_of_the_organisation(redis_url, run, fake_slack):
    from redis.asyncio import Redis
    from slack_sdk.oauth.installation_store import Installation

    from slack_app.settings import Settings
    from slack_app.slack.slack_api import Clients
    from slack_app.store.installations import RedisInstallationStore

    async def scenario():
        redis = Redis.from_url(redis_url, decode_responses=True)
        store = RedisInstallationStore(redis, Seal((KEY,)))
        await store.async_save(
            Installation(
                app_id="A0SLACKASK",
                enterprise_id="E0ORG",
                team_id=None,
                user_id="U0ADMIN",
                bot_token="xoxb-org",
                bot_id="B1",
                bot_user_id="U0SLACKASK",
                is_enterprise_install=True,
            )
        )
        by_bolt = await store.async_find_bot(enterprise_id="E0ORG", team_id="T0WS1", is_enterprise_install=True)
        installation = await store.async_find_installation(
            enterprise_id="E0ORG", team_id=None, is_enterprise_install=True
        )
        await store.note_enterprise("T0WS1", "E0ORG")
        settings = Settings(
            bot_token=None, signing_secret="s", client_id="1", client_secret="2", slack_api_url=fake_slack.api_url
        )
        client = await Clients(settings, store).for_team("T0WS1")
        await store.async_delete_all(enterprise_id="E0ORG", team_id=None)
        gone = await store.async_find_bot(enterprise_id="E0ORG", team_id="T0WS1", is_enterprise_install=True)
        keys = await redis.keys("{E0ORG}:*")
        await redis.aclose()
        return by_bolt, installation, client, gone, keys

    by_bolt, installation, client, gone, keys = run(scenario())
    assert by_bolt.bot_token == "xoxb-org" and installation.user_id == "U0ADMIN"
    assert client.token == "xoxb-org"  # a timed job in workspace T0WS1 posts with the organisation's token
    assert gone is None and keys == []


def every_value(redis_sync) -> dict[str, str]:
    """Every key and everything stored under it, as text, whatever its type."""
    readers = {
        "string": redis_sync.get,
        "hash": redis_sync.hgetall,
        "list": lambda k: redis_sync.lrange(k, 0, -1),
        "set": redis_sync.smembers,
        "zset": lambda k: redis_sync.zrange(k, 0, -1, withscores=True),
        "stream": lambda k: redis_sync.xrange(k),
    }
    values = {key: readers.get(redis_sync.type(key)) for key in redis_sync.scan_iter(count=1000)}
    return {key: repr(read(key)) for key, read in values.items() if read}  # (a key gone meanwhile has type none)


def test_no_token_nor_any_long_prefix_of_one_is_kept_in_the_clear(oauth_server, fake_slack, redis_sync, settings):
    install(oauth_server, fake_slack, "T0TEAM", rotating=True)
    install(oauth_server, fake_slack, OTHER)
    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    send_ask(slack, fake_slack, teammates=[HAL])  # uses, and so rotates, the first workspace's token
    secrets = [*fake_slack.tokens, *fake_slack.granted_refresh_tokens]
    assert len(secrets) >= 4

    stored = every_value(redis_sync)

    assert any(":install:bot" in key for key in stored)
    for secret in secrets:
        prefix = secret[:9]
        assert not [key for key, value in stored.items() if prefix in key or prefix in value], secret


def legacy_json(model) -> str:
    """A record exactly as slack-ask wrote it before installations were sealed."""
    return json.dumps({key: value for key, value in vars(model).items() if not key.startswith("_")}, default=str)


def test_a_record_written_before_sealing_is_read_then_sealed_on_its_next_save(
    oauth_server, fake_slack, redis_sync, settings
):
    import time

    from slack_sdk.oauth.installation_store import Bot

    install(oauth_server, fake_slack, "T0TEAM", rotating=True)
    token = token_of(fake_slack, "T0TEAM")
    refresh = fake_slack.granted_refresh_tokens[-1]

    def legacy(expires_in: int) -> str:
        return legacy_json(
            Bot(
                app_id="A0SLACKASK",
                team_id="T0TEAM",
                bot_token=token,
                bot_id="B0SLACKASK",
                bot_user_id="U0SLACKASK",
                bot_refresh_token=refresh,
                bot_token_expires_at=int(time.time()) + expires_in,
                installed_at=time.time(),
            )
        )

    redis_sync.set("{T0TEAM}:install:bot", legacy(4 * 3600))  # not due for rotation

    slack = SlackRequests(oauth_server.url, settings.signing_secret, fake_slack)
    assert slack.slash_ask(ASKER, "Review PR 412").status == 200
    opened = fake_slack.wait_for(
        lambda: fake_slack.calls_to("views.open"), what="the modal, with the plain record's token"
    )
    assert opened[-1].token == token
    assert redis_sync.get("{T0TEAM}:install:bot").startswith("{")  # read as it was: nothing to save yet

    redis_sync.set("{T0TEAM}:install:bot", legacy(60))
    oauth_server.app.services.clients.forget("T0TEAM")
    assert slack.slash_ask(ASKER, "Review PR 413").status == 200  # the token is due: rotated, and saved
    fake_slack.wait_for(lambda: len(fake_slack.calls_to("views.open")) == 2, what="the second modal")

    raw = redis_sync.get("{T0TEAM}:install:bot")
    assert raw.startswith("gA") and token[:9] not in raw and refresh[:9] not in raw
    assert json.loads(Seal((KEY,)).open(raw))["bot_token"] == fake_slack.calls_to("views.open")[-1].token != token
