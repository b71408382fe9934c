"""A week's figures are frozen once (issue 24): a week shows only after it has ended and settled
(INSIGHTS_SETTLE_DAYS after its end, in the workspace's time zone), from a snapshot of its counters taken
once, and a yes or a thank-you arriving later — which still counts towards the week its ask was sent —
never changes what any surface shows. Otherwise two looks at the same week, differenced, would show one
person's reply. The clock is moved with freezegun, across time zones (the workspace's digest time zone
defines its weeks); the app runs in-process on it, against the real Redis and the fake Slack over HTTP.
The weeks are in 2030: Redis keeps its own clock, and a week's keys expire some months after it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fake_slack import person
from freezegun import freeze_time
from redis.asyncio import Redis
from test_ask_flow import ASKER, HAL
from test_home_and_digest import ADMIN

from slack_app.domain.asks import Ask
from slack_app.domain.insights import KEEP_WEEKS
from slack_app.observability import INSIGHTS, metrics_text
from slack_app.store.store import SETTLED_AT, Store, insights_key, settled_insights_key
from slack_app.wiring import server
from slack_app.wiring.app import create_app

TEAM = "T0TEAM"
SETTLE = timedelta(days=7)  # INSIGHTS_SETTLE_DAYS' default


def local(tz: str, *moment: int) -> datetime:
    """A wall-clock time in `tz`, as the (frozen) UTC clock reads it."""
    return datetime(*moment, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def new_ask(number: int) -> Ask:
    return Ask(
        team_id=TEAM,
        asker=ASKER,
        text=f"Review the retry logic in PR {400 + number}",
        scope="retry.py",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=[HAL],
    )


def what_an_admin_sees(services, settings, run, capsys, fake_slack) -> dict:
    """Every figure an admin can see at this moment: the Home section as published to Slack (its totals,
    people and chart with its alt text), `slack-ask stats` for every --weeks (JSON) and as text, and the
    /metrics insights series."""
    run(services.home.publish(TEAM, ADMIN))
    view = [c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == ADMIN][-1].args["view"]
    blocks = (json.loads(view) if isinstance(view, str) else view)["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "header" and "How asking" in b["text"]["text"])
    end = next(i for i in range(start, len(blocks)) if blocks[i]["type"] == "divider")
    stats = {}
    for weeks in range(1, KEEP_WEEKS + 1):
        assert server.stats(settings, team=TEAM, weeks=weeks, as_json=True, chart=None) == 0
        stats[weeks] = json.loads(capsys.readouterr().out)
    server.stats(settings, team=TEAM, weeks=12, as_json=False, chart=None)
    table = capsys.readouterr().out
    for gauge in INSIGHTS.values():  # one registry per process: only this app's refresh may fill it
        gauge.clear()
    run(services.insights.export_gauges())
    metrics = sorted(line for line in metrics_text().decode().splitlines() if line.startswith("slack_ask_insights_"))
    return {"home": blocks[start:end], "stats": stats, "table": table, "metrics": metrics}


@pytest.mark.parametrize(
    ("tz", "sent", "week"),
    [
        ("UTC", (2030, 10, 30, 10), "2030-W44"),
        ("Pacific/Kiritimati", (2030, 10, 30, 10), "2030-W44"),  # UTC+14: its weeks end 14 h before UTC's
        ("America/Los_Angeles", (2030, 10, 30, 10), "2030-W44"),  # its clocks go back on 3 Nov, in that week
    ],
)
def test_a_week_shows_once_settled_and_late_replies_never_move_any_figure(
    settings, fake_slack, run, capsys, redis_sync, tz, sent, week
):
    settings = replace(settings, workspace_tz=tz, metrics_insights=True)
    services = create_app(settings).services
    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", is_admin=True)
    week_ends = local(tz, 2030, 11, 4)  # Monday 00:00 there: the end of 2030-W44 in that time zone

    async def send(number: int) -> Ask:
        ask = new_ask(number)
        assert await services.send_ask(ask)
        assert await services.router.carry_out(TEAM, ask.id)
        return ask

    async def yes(ask: Ask) -> None:
        await services.store.answer(TEAM, ask.id, HAL, "accept")

    async def done_and_thanked(ask: Ask) -> None:
        ended = await services.store.close(TEAM, ask.id, "done", ASKER)
        await services.lifecycle.ended(ended)
        kudos = {
            "ask_id": ask.id,
            "ask": ask.text,
            "asker": ASKER,
            "helper": HAL,
            "note": "It unblocked the release",
            "shared": False,
            "estimate_minutes": 30,
            "at": datetime.now(UTC).timestamp(),
        }
        assert await services.lifecycle.thanked(TEAM, kudos, ended.ask)

    with freeze_time(local(tz, *sent), real_asyncio=True) as clock:
        asks = [run(send(number)) for number in range(20)]
        assert {ask.week for ask in asks} == {week}
        for ask in asks[:10]:  # in its own week: 10 of 20 found help, 6 of them thanked
            run(yes(ask))
        for ask in asks[:6]:
            run(done_and_thanked(ask))

        clock.move_to(week_ends + SETTLE - timedelta(minutes=1))  # ended, not yet settled: shown nowhere
        run(yes(asks[10]))  # before it settles, a yes still counts in what will be shown: 11 of 20
        unsettled = what_an_admin_sees(services, settings, run, capsys, fake_slack)
        assert {shown["weeks"][-1]["week"] for shown in unsettled["stats"].values()} == {"2030-W43"}
        assert week not in json.dumps(unsettled["home"]) and week not in unsettled["table"]

        clock.move_to(week_ends + SETTLE + timedelta(minutes=1))  # settled: shown, everywhere
        before = what_an_admin_sees(services, settings, run, capsys, fake_slack)
        newest = before["stats"][1]["weeks"][-1]
        assert (newest["week"], newest["asks_sent"], newest["found_help"], newest["thanked"]) == (week, 20, 0.55, 0.3)
        assert f"{week}: 20 asks, 55% found help" in before["table"]
        assert f'slack_ask_insights_found_help_ratio{{team="{TEAM}",weeks="1"}} 0.55' in before["metrics"]
        chart = next(block for block in before["home"] if block["type"] == "image")
        assert f"{week}: 20 asks, 55% found help, 30% thanked." in chart["alt_text"]
        uploads = len(fake_slack.calls_to("files.completeUploadExternal"))

        clock.move_to(week_ends + SETTLE + timedelta(days=2))  # late: a yes, and a thank-you for an earlier yes
        run(yes(asks[11]))
        run(done_and_thanked(asks[6]))
        counted = redis_sync.hgetall(insights_key(TEAM, week))
        assert (counted["found_help"], counted["thanked"]) == ("12", "7")  # they count, internally
        after = what_an_admin_sees(services, settings, run, capsys, fake_slack)

    assert after == before  # every surface: the same figures, the same chart (not drawn again)
    assert len(fake_slack.calls_to("files.completeUploadExternal")) == uploads
    snapshot = redis_sync.hgetall(settled_insights_key(TEAM, week))
    assert (snapshot["found_help"], snapshot["thanked"]) == ("11", "6")
    assert float(snapshot[SETTLED_AT]) == (week_ends + SETTLE + timedelta(minutes=1)).timestamp()  # when, as data
    assert redis_sync.ttl(settled_insights_key(TEAM, week)) > 0  # and it expires with the counters


def test_instances_racing_to_show_a_settled_week_freeze_it_once_while_replies_keep_coming(redis_url, run):
    """Many first looks at once, from two instances, while yeses are counted into the same week: every look
    returns the one snapshot, taken once (a single settled_at), whatever came in after it."""
    week = "2030-W44"

    async def race() -> tuple[list, list, dict]:
        clients = [Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
        stores = [Store(client) for client in clients]
        await clients[0].hset(insights_key(TEAM, week), mapping={"asks": 9, "found_help": 5})
        looks = [store.settled_insight_counts(TEAM, [week], 1_000_000 + n) for n, store in enumerate(stores * 10)]
        replies = [stores[0]._count_week(TEAM, week, {"found_help": 1}) for _ in range(4)]
        results = await asyncio.gather(*looks, *replies)
        again = [await store.settled_insight_counts(TEAM, [week], 2_000_000) for store in stores]
        snapshot = await clients[0].hgetall(settled_insights_key(TEAM, week))
        for client in clients:
            await client.aclose()
        return results[: len(looks)], again, snapshot

    looks, again, snapshot = run(race())
    first = looks[0]
    assert all(look == first for look in looks + again)  # one snapshot, whoever looked and when
    assert SETTLED_AT not in first[0] and int(first[0]["asks"]) == 9
    assert 1_000_000 <= int(snapshot[SETTLED_AT]) < 1_000_020  # taken by the first look, never again


def test_the_settling_period_is_a_setting_with_a_clear_answer_when_wrong():
    from slack_app.settings import MissingSetting, Settings

    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert Settings.from_env(base).insights_settle_days == 7
    assert Settings.from_env(base | {"INSIGHTS_SETTLE_DAYS": "0"}).insights_settle_days == 0
    for wrong in ("15", "-1", "a week"):
        with pytest.raises(MissingSetting, match="INSIGHTS_SETTLE_DAYS"):
            Settings.from_env(base | {"INSIGHTS_SETTLE_DAYS": wrong})
