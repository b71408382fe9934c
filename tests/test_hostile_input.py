"""Property-based hostile input through signed HTTP: never a 500, never a traceback, never an
injected mention, never a corrupted ask."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ask_flow import HAL, HANA, send_ask

from slack_app.store.store import _ask_from_fields

pytestmark = pytest.mark.reliability

ACTION_IDS = [
    "ask_accept",
    "ask_decline",
    "ask_cancel",
    "ask_done",
    "check_in_snooze",
    "thanks_open",
    "ask_again",
    "home_new_ask",
    "digest_channel",
    "digest_day",
    "digest_time",
    "digest_tz",
    "offer_later",
    "offer_smaller",
    "offer_suggest",
    "offer_accept",
    "offer_decline",
    "availability_mode",
    "availability_break",
    "no_such_action",
]
INJECTIONS = ["<!channel>", "<!here>", "<@UINJECT>", "<https://evil.example|x>", "&", "{{ 7*7 }}", "\u0000", "\ud7ff"]
PINGS = ("<!channel>", "<!here>", "<@UINJECT>", "<https://evil")

texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from(INJECTIONS),
    st.text(alphabet=string.printable, min_size=5000, max_size=20000),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), texts)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12,
)
teams = st.sampled_from(["T0TEAM", "T0FOREIGN", "", "T0TEAM\u202e"])
users = st.one_of(st.sampled_from(["U0ASKER", "U0HELP1", "U0HELP2", "UINJECT", ""]), texts)

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def assert_graceful(reply) -> None:
    assert reply.status < 500, reply
    assert "Traceback" not in reply.body and "Error" not in reply.body


@pytest.fixture
def world(slack, fake_slack, redis_sync):
    """An ask with cards in flight, for hostile requests to aim at."""
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    yield slack, fake_slack, redis_sync, cards
    for call in fake_slack.calls:
        if call.method in ("chat.postMessage", "chat.update"):
            rendered = json.dumps(call.args, ensure_ascii=False)
            assert not any(ping in rendered for ping in PINGS), rendered[:500]
    for key in redis_sync.keys("{*:ask:*}"):
        if not key.endswith((":answers", ":cards")):
            _ask_from_fields(redis_sync.hgetall(key))  # every stored ask still reads back whole


@FUZZ
@given(text=texts, user=users, team=teams)
def test_slash_commands(world, text, user, team):
    slack = world[0]
    assert_graceful(slack.slash_ask(user if isinstance(user, str) else "U0ASKER", text, team=team or "T0TEAM"))


@FUZZ
@given(
    values=anything,
    user=users,
    team=teams,
    callback=st.sampled_from(["ask_submit", "thanks_submit", "offer_submit", "nope"]),
    metadata=st.one_of(texts, st.just('{"ask": "x", "helper": "U0HELP1"}'), st.just('{"ask": "x", "kind": "suggest"}')),
)
def test_view_submissions(world, values, user, team, callback, metadata):
    slack = world[0]
    payload = slack.view_submission(
        user, values if isinstance(values, dict) else {"ask": values}, team=team, callback_id=callback
    )
    payload["view"]["private_metadata"] = metadata
    assert_graceful(slack.send_interaction(payload))


@FUZZ
@given(
    action_id=st.sampled_from(ACTION_IDS),
    value=st.one_of(anything, st.just("THE-ASK")),
    user=users,
    team=teams,
    extra=anything,
)
def test_block_actions(world, action_id, value, user, team, extra):
    slack, _, redis_sync, cards = world
    if value == "THE-ASK":  # aim at the real ask, with everything else hostile
        value = next(k for k in redis_sync.keys("{T0TEAM:ask:*}") if k.count(":") == 2).split(":")[2].rstrip("}")
    payload = {
        "type": "block_actions",
        "team": {"id": team},
        "user": {"id": user},
        "api_app_id": "A0SLACKASK",
        "trigger_id": "1.2.3",
        "container": {"type": "message", "channel_id": cards[HAL].channel},
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "selected_option": extra}],
    }
    assert_graceful(slack.send_interaction(payload))


@FUZZ
@given(
    reaction=st.one_of(st.sampled_from(["white_check_mark", "x", "+1::skin-tone-9", "tada"]), texts),
    user=users,
    team=teams,
    item=anything,
    on_card=st.booleans(),
    removed=st.booleans(),
)
def test_reaction_events(world, reaction, user, team, item, on_card, removed):
    slack, _, _, cards = world
    target = {"type": "message", "channel": cards[HAL].channel, "ts": cards[HAL].ts} if on_card else item
    event = {
        "type": "reaction_removed" if removed else "reaction_added",
        "user": user,
        "reaction": reaction,
        "item": target,
        "event_ts": "1.0",
    }
    assert_graceful(slack.send_event(event, team=team or "T0TEAM"))


@FUZZ
@given(cut=st.integers(min_value=1, max_value=400), kind=st.sampled_from(["command", "interaction", "event"]))
def test_truncated_bodies(world, cut, kind):
    slack = world[0]
    if kind == "command":
        body, content_type = (
            "command=%2Fask&text=hi&user_id=U0ASKER&team_id=T0TEAM&trigger_id=1.2",
            "application/x-www-form-urlencoded",
        )
    elif kind == "interaction":
        body = "payload=" + json.dumps(slack.view_submission("U0ASKER", slack.ask_values()))
        content_type = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(
            slack.event_envelope(
                {
                    "type": "reaction_added",
                    "user": "U0HELP1",
                    "reaction": "x",
                    "item": {"type": "message", "channel": "D1", "ts": "1.1"},
                }
            )
        )
        content_type = "application/json"
    assert_graceful(slack.send(body[:cut], content_type))  # signed correctly, cut short
