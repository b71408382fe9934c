"""The admins' insights: weekly counters kept as asks change, checked against a recount from the raw
asks; the privacy rule; the Home section with its chart uploaded to Slack; `slack-ask stats`; /metrics."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from fake_slack import person
from redis.asyncio import Redis
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, send_ask
from test_cli import clean_env
from test_home_and_digest import ADMIN, home_opened, published_home, view_text
from test_lifecycle_flow import last_view, submit_thanks
from test_observability import scrape

from slack_app.domain.asks import Ask
from slack_app.domain.insights import (
    FEWER,
    KEEP_WEEKS,
    figures,
    keep_until,
    last_settled,
    weeks_up_to,
    yes_bucket,
)
from slack_app.domain.offers import Kind, Offer
from slack_app.features.lifecycle import iso_week
from slack_app.observability import INSIGHTS
from slack_app.store.store import (
    TEAMS_KEY,
    Store,
    _ask_from_fields,
    insights_key,
    offers_key,
    settled_insights_key,
    thanked_key,
    workspace_settings_key,
)
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer

TEAM = "T0TEAM"


def this_week() -> str:
    return iso_week(datetime.now(UTC), "UTC")


def last_week() -> str:
    """The newest week the figures show: a week shows once it has ended and settled (7 days by default)."""
    return last_settled(datetime.now(UTC), "UTC", 7)


def nth_home(fake_slack, user: str, n: int) -> dict:
    """The n-th Home tab published for `user` (waiting for it), whatever came after it."""
    calls = fake_slack.wait_for(
        lambda: [c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == user][n - 1 :],
        what=f"Home tab #{n} for {user}",
    )
    view = calls[0].args["view"]
    return json.loads(view) if isinstance(view, str) else view


def week_settles(redis_sync) -> None:
    """As if this week had ended and settled unseen (the app's clock is real time here): its counters become
    the newest shown week's, and the snapshot an earlier view took of that week (empty) is dropped, as a
    week first shown now has none. test_insights_settling.py moves the clock instead."""
    redis_sync.rename(insights_key(TEAM, this_week()), insights_key(TEAM, last_week()))
    redis_sync.delete(settled_insights_key(TEAM, last_week()))


# --- the figures and the privacy rule -----------------------------------------------------------


def test_any_figure_about_fewer_than_five_shows_as_fewer_than_five_and_zero_stays_zero():
    few = figures(
        "2026-W47",
        Counter(
            asks=4,
            found_help=3,
            **{"yes_within:15": 3},
            done=2,
            help_minutes=120,
            thanked=1,
            people_both=1,
            people_only_asked=6,
            people_only_helped=0,
        ),
    )
    assert (few.asks_sent, few.found_help, few.median_minutes_to_yes, few.hours_of_help, few.thanked) == (FEWER,) * 5
    assert (few.asked_and_helped, few.only_asked, few.only_helped) == (FEWER, 6, 0)
    assert figures("2026-W48", Counter()).asks_sent == 0 and figures("2026-W48", Counter()).found_help is None


def test_the_median_first_yes_comes_from_the_weeks_histogram():
    counts = Counter(
        asks=12,
        found_help=7,
        done=5,
        help_minutes=450,
        thanked=5,
        **{"yes_within:5": 2, "yes_within:60": 1, "yes_within:240": 3, "yes_within:more": 1},
    )
    week = figures("2026-W47", counts)
    assert week.median_minutes_to_yes == 240  # the 4th of 7 first yeses falls in "within 4 hours"
    assert (week.asks_sent, week.found_help, week.hours_of_help, week.thanked) == (12, 0.583, 7.5, 0.417)
    assert figures("W", Counter(found_help=5, **{"yes_within:more": 5})).median_minutes_to_yes == "more"


def test_buckets_weeks_and_how_long_the_counters_last():
    assert [yes_bucket(s) for s in (0, 300, 301, 86400, 8 * 86400)] == [
        "yes_within:5",
        "yes_within:5",
        "yes_within:15",
        "yes_within:1440",
        "yes_within:more",
    ]
    assert weeks_up_to("2027-W02", 4) == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    ends = datetime.fromtimestamp(keep_until("2026-W47"), UTC)
    # 2026-W47 starts 16 Nov; + (14 + 1) weeks, + 14 days (the longest settling period), + a day
    assert ends.date().isoformat() == "2027-03-16"


# --- counted as asks change, compared with a recount from the raw asks ---------------------------


def recount(raw_asks: list[dict], thanked: set[str], offers: dict[str, dict], tz: str = "UTC") -> dict[str, Counter]:
    """The figures' counters computed the slow way: every ask (and its offers), read back from Redis."""
    weeks: dict[str, Counter] = defaultdict(Counter)
    asked, helped = defaultdict(set), defaultdict(set)
    for fields in raw_asks:
        ask, week = _ask_from_fields(fields), fields["week"]
        weeks[week]["asks"] += 1
        asked[week].add(ask.asker)
        if fields.get("first_yes_at"):
            weeks[week]["found_help"] += 1
            weeks[week][yes_bucket(float(fields["first_yes_at"]) - ask.created_at)] += 1
        if ask.status.value == "done":
            weeks[week]["done"] += 1
            weeks[week]["help_minutes"] += ask.estimate_minutes * len(ask.helpers)
            helped[iso_week(datetime.fromtimestamp(ask.done_at, UTC), tz)].update(ask.helpers)
        if ask.id in thanked:
            weeks[week]["thanked"] += 1
        made = [json.loads(raw) for teammate, raw in offers[ask.id].items() if " " not in teammate]  # not "<id> notice"
        weeks[week]["offers_made"] += len(made)
        weeks[week]["offers_accepted"] += sum(offer["state"] == "accepted" for offer in made)
    for week in set(asked) | set(helped):
        weeks[week].update(
            people_both=len(asked[week] & helped[week]),
            people_only_asked=len(asked[week] - helped[week]),
            people_only_helped=len(helped[week] - asked[week]),
        )
    return {week: +counts for week, counts in weeks.items()}


def test_counters_kept_as_asks_change_match_a_recount_from_the_raw_asks(redis_url, run):
    rng = random.Random(15)
    people = [f"U0P{n:02d}" for n in range(12)]
    now = time.time()
    current = this_week()
    weeks = weeks_up_to(current, 3)

    async def simulate() -> tuple[dict, dict]:
        redis = Redis.from_url(redis_url, decode_responses=True)
        store = Store(redis)
        thanked: set[str] = set()
        asks = []
        for number in range(60):
            asker, *teammates = rng.sample(people, rng.randint(2, 4))
            ago = rng.choice([0, 1, 2])
            asks.append(
                Ask(
                    team_id=TEAM,
                    asker=asker,
                    text=f"Ask number {number} please",
                    scope="s",
                    decline_line="no_reason",
                    estimate_minutes=rng.choice([5, 15, 30, 60, 120, 240]),
                    teammates=teammates,
                    helpers_needed=rng.choice([1, 1, 2]) if len(teammates) > 1 else 1,
                    created_at=now - ago * 7 * 86400 - rng.uniform(60, 3 * 86400) * (ago > 0),
                    week=weeks[2 - ago],
                )
            )
        for ask in sorted(asks, key=lambda ask: ask.created_at):  # time only moves forward
            await store.save_ask(ask)
        for ask in asks:  # everything after sending happens this week
            offered = []
            for teammate in list(ask.teammates):
                verb = rng.choice(["accept", "accept", "decline", "none", "offer"])
                if verb == "offer":  # later, a smaller yes, or someone else; the asker may take it up below
                    others = [p for p in people if p not in (ask.asker, *ask.teammates)]
                    offer = rng.choice(
                        [
                            Offer(teammate, Kind.LATER, by=date.today() + timedelta(days=3)),
                            Offer(teammate, Kind.SMALLER, minutes=15),
                            Offer(teammate, Kind.SUGGEST, suggested=rng.choice(others), suggested_name="P"),
                        ]
                    )
                    if (await store.offer(TEAM, ask.id, offer)).outcome == "offered":
                        offered.append(teammate)
                elif verb != "none":
                    await store.answer(TEAM, ask.id, teammate, verb)
                if verb == "accept" and rng.random() < 0.2:  # steps back, perhaps comes back: one first yes only
                    await store.answer(TEAM, ask.id, teammate, "withdraw_accept")
                    if rng.random() < 0.5:
                        await store.answer(TEAM, ask.id, teammate, "accept")
            for teammate in offered:
                if rng.random() < 0.7:
                    await store.settle_offer(
                        TEAM,
                        ask.id,
                        ask.asker,
                        rng.choice(["accept", "accept", "decline"]),
                        teammate,
                        if_already_asked="asked",
                        if_full="full",
                    )
            ending = rng.choice(["done", "done", "cancelled", "expired", "live"])
            if ending != "live":
                snapshot = await store.close(TEAM, ask.id, ending, ask.asker)
                if snapshot.outcome == "done":
                    await store.count_done(snapshot.ask, current)  # what Lifecycle.ended does
                    for helper in snapshot.ask.helpers:
                        for _ in range(rng.choice([0, 1, 2])):  # a repeated thank-you counts once
                            kudos = {
                                "ask_id": ask.id,
                                "asker": ask.asker,
                                "helper": helper,
                                "note": "It made the release",
                            }
                            if await store.record_thanks(TEAM, current, kudos, snapshot.ask):
                                thanked.add(ask.id)
        raw = [await redis.hgetall(key) async for key in redis.scan_iter(match="{T0TEAM:ask:*}")]
        raw = [fields for fields in raw if "asker" in fields]
        kept = dict(
            zip(
                weeks,
                [Counter({k: int(v) for k, v in c.items()}) for c in await store.insight_counts(TEAM, weeks)],
                strict=False,
            )
        )
        ttls = [await redis.ttl(insights_key(TEAM, week)) for week in weeks]
        markers = {
            ask.id
            for ask in map(_ask_from_fields, raw)
            for helper in ask.helpers
            if await redis.exists(thanked_key(TEAM, ask.id, helper))
        }
        offers = {fields["id"]: await redis.hgetall(offers_key(TEAM, fields["id"])) for fields in raw}
        await redis.aclose()
        return raw, {week: +counts for week, counts in kept.items()}, thanked, markers, offers, ttls

    raw, kept, thanked, markers, offers, ttls = run(simulate())
    assert len(raw) == 60 and thanked == markers
    assert kept == recount(raw, markers, offers)
    assert sum(kept[week]["offers_accepted"] for week in weeks) > 3  # offers taken up, of every kind, among them
    assert sum(kept[week]["found_help"] for week in weeks) > 10 and kept[current]["people_both"] > 0  # a real mix
    assert all(0 < ttl <= (KEEP_WEEKS + 4) * 7 * 86400 for ttl in ttls)  # every counter expires on its own


def test_counters_hold_numbers_only_and_outlive_the_asks(redis_url, run):
    async def go():
        redis = Redis.from_url(redis_url, decode_responses=True)
        store = Store(redis)
        ask = Ask(
            team_id=TEAM,
            asker=ASKER,
            text="Review the retry logic in PR 412",
            scope="secret scope words",
            estimate_minutes=30,
            decline_line="no_reason",
            teammates=[HAL],
            week=this_week(),
        )
        await store.save_ask(ask)
        await store.answer(TEAM, ask.id, HAL, "accept")
        await redis.delete(*[key async for key in redis.scan_iter(match="{T0TEAM:ask:*")])  # retention took the ask
        counters = await redis.hgetall(insights_key(TEAM, this_week()))
        await redis.aclose()
        return counters

    counters = run(go())
    assert counters["asks"] == "1" and counters["found_help"] == "1"
    assert not any(person_id in json.dumps(counters) for person_id in (ASKER, HAL)) and "retry" not in json.dumps(
        counters
    )
    assert all(value.lstrip("-").isdigit() for value in counters.values())


# --- the admins' Home section --------------------------------------------------------------------


def test_an_admin_sees_how_asking_is_going_with_a_chart_uploaded_to_slack(slack, fake_slack, redis_sync):
    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", is_admin=True)
    cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
    slack.react(HAL, cards[HAL], "white_check_mark")
    fake_slack.wait_for(lambda: "ask_done" in fake_slack.dms(ASKER)[0].action_ids(), what="taken")
    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    slack.click(ASKER, prompt, "thanks_open")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="thanks modal")
    assert submit_thanks(slack, last_view(fake_slack), "It unblocked the release this week").status == 200
    assert redis_sync.hgetall(insights_key(TEAM, this_week())) == {
        "asks": "1",
        "found_help": "1",
        "yes_within:5": "1",
        "done": "1",
        "help_minutes": "30",
        "thanked": "1",
        "people_only_asked": "1",
        "people_only_helped": "1",
    }

    home_opened(slack, ADMIN)  # the week in progress shows nothing yet: nobody can watch one person's yes
    text = view_text(nth_home(fake_slack, ADMIN, 2))
    assert this_week() not in text and "*Asks sent*\n0" in text and "*Found help*\n—" in text

    week_settles(redis_sync)
    home_opened(slack, ADMIN)
    view = nth_home(fake_slack, ADMIN, 3)  # at once, before the chart is drawn
    assert not [block for block in view["blocks"] if block["type"] == "image"]
    view = nth_home(fake_slack, ADMIN, 4)  # again, with it
    text = view_text(view)
    assert "How asking is going" in text and "only admins see this" in text and "weeks that have ended" in text
    # One ask: nothing to read, and the total says only what the weeks show (that week had at least one).
    assert "*Asks sent*\nat least 1" in text and "*Found help*\nfewer than 5" in text
    assert f"{last_week()}: 0 asked and helped, fewer than 5 only asked, fewer than 5 only helped" in text
    assert HAL not in json.dumps(view) and ASKER not in json.dumps(view)  # nobody is named

    chart = next(block for block in view["blocks"] if block["type"] == "image")
    uploaded = fake_slack.files[chart["slack_file"]["id"]]
    assert uploaded["complete"] and uploaded["content"].startswith(b"\x89PNG") and uploaded["filename"].endswith(".png")
    assert f"{last_week()}: fewer than 5 asks" in chart["alt_text"] and this_week() not in chart["alt_text"]
    uploads = len(fake_slack.calls_to("files.getUploadURLExternal"))
    assert uploads == len(fake_slack.calls_to("files.completeUploadExternal")) == 2  # the empty span's, then this

    home_opened(slack, ADMIN)  # the same figures: the same chart at once, not another upload
    assert next(b for b in nth_home(fake_slack, ADMIN, 5)["blocks"] if b["type"] == "image") == chart
    fake_slack.settle(quiet=0.3)
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == uploads

    redis_sync.hincrby(insights_key(TEAM, last_week()), "asks", 5)  # counted after the week was shown...
    home_opened(slack, ADMIN)  # ...never in what it shows: the same figures, the same chart
    assert next(b for b in nth_home(fake_slack, ADMIN, 6)["blocks"] if b["type"] == "image") == chart
    assert "*Asks sent*\nat least 1" in view_text(nth_home(fake_slack, ADMIN, 6))
    fake_slack.settle(quiet=0.3)
    assert len(fake_slack.calls_to("files.getUploadURLExternal")) == uploads

    home_opened(slack, HAL)
    assert "How asking is going" not in view_text(published_home(fake_slack, HAL))  # admins only


def test_without_the_chart_the_section_still_shows_the_figures(slack, fake_slack):
    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", is_admin=True)
    fake_slack.fail("files.getUploadURLExternal", status=500, times=10)
    home_opened(slack, ADMIN)
    view = published_home(fake_slack, ADMIN)
    assert "*Asks sent*\n0" in view_text(view) and not [b for b in view["blocks"] if b["type"] == "image"]


# --- slack-ask stats and /metrics ----------------------------------------------------------------


def seed_six_asks(redis_url, run, helped: int = 5, week: str = ""):
    """Six asks sent in `week` (by default last week, the newest the figures show), `helped` of them taken."""

    async def go():
        redis = Redis.from_url(redis_url, decode_responses=True)
        store = Store(redis)
        for number in range(6):
            teammate = f"U0HELP{number + 4}"
            ask = Ask(
                team_id=TEAM,
                asker=f"U0ASK{number}",
                text="Review the retry logic in PR 412",
                scope="s",
                estimate_minutes=60,
                decline_line="no_reason",
                teammates=[teammate],
                week=week or last_week(),
            )
            await store.save_ask(ask)
            if number < helped:
                await store.answer(TEAM, ask.id, teammate, "accept")
        await redis.aclose()

    run(go())


def stats_command(redis_url, *options: str) -> subprocess.CompletedProcess:
    env = clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", REDIS_URL=redis_url)
    command = [sys.executable, "-m", "slack_app.cli", "stats", "--team", TEAM, *options]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_stats_on_the_command_line_as_text_json_and_a_chart(redis_url, run, tmp_path):
    seed_six_asks(redis_url, run, helped=6)
    seed_six_asks(redis_url, run, helped=1, week=this_week())  # the week in progress: not shown until it ends

    text = stats_command(redis_url, "--weeks", "4")
    assert text.returncode == 0, text.stderr
    assert f"{last_week()}: 6 asks, 100% found help, first yes within 5 min" in text.stdout
    assert "people: 0 asked and helped, 6 only asked, 0 only helped" in text.stdout
    assert this_week() not in text.stdout and "All these weeks: 6 asks, 100% found help" in text.stdout

    chart = tmp_path / "trend.png"
    as_json = stats_command(redis_url, "--weeks", "4", "--json", "--chart", str(chart))
    shown = json.loads(as_json.stdout)
    figures_now = shown["weeks"][-1]
    assert [week["week"] for week in shown["weeks"]] == weeks_up_to(last_week(), 4)
    assert (figures_now["asks_sent"], figures_now["found_help"], figures_now["median_minutes_to_yes"]) == (6, 1.0, 5)
    assert figures_now["hours_of_help"] == 0 and figures_now["only_helped"] == 0
    assert chart.read_bytes().startswith(b"\x89PNG")

    too_many = stats_command(redis_url, "--weeks", "40")
    assert too_many.returncode == 2 and "--weeks must be between 1 and 14" in too_many.stderr


def test_stats_for_any_weeks_cannot_be_differenced_into_a_hidden_week(redis_url, redis_sync):
    """Issue 24's reproduction: the week before shows 7 asks, last week "fewer than 5", and the total was 10,
    so last week had 3 asks, none found help. Now no span's total is exact while a week in it is hidden."""
    before = weeks_up_to(last_week(), 2)[0]
    redis_sync.hset(insights_key(TEAM, before), mapping={"asks": 7, "found_help": 7, "yes_within:5": 7})
    redis_sync.hset(insights_key(TEAM, last_week()), mapping={"asks": 3})

    outputs = {weeks: stats_command(redis_url, "--weeks", str(weeks), "--json") for weeks in (1, 2, 12)}
    totals = {weeks: json.loads(result.stdout)["total"] for weeks, result in outputs.items()}
    assert totals[1]["asks_sent"] == "fewer than 5"  # one week: the week itself
    assert totals[2]["asks_sent"] == {"at_least": 8} == totals[12]["asks_sent"]  # 7, and at least 1
    assert totals[2]["found_help"] == {"in_weeks_shown": 1.0}  # 7 of 7 in the week that shows
    text = stats_command(redis_url, "--weeks", "2").stdout
    assert f"{last_week()}: fewer than 5 asks, fewer than 5 found help" in text
    assert "All these weeks: at least 8 asks, 100% (weeks shown) found help" in text


def redis_calls(redis_sync, *commands: str) -> int:
    stats = redis_sync.info("commandstats")
    return sum(stats.get(f"cmdstat_{command}", {}).get("calls", 0) for command in commands)


def insight_samples(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("slack_ask_insights_")]


def test_metrics_have_no_workspace_series_by_default_and_a_scrape_reads_no_workspace(app_server, redis_sync):
    for gauge in INSIGHTS.values():  # one registry per process: another test's server may have filled them
        gauge.clear()
    for number in range(300):  # many installed workspaces, each with settings and a week of figures
        team = f"T0MANY{number:03d}"
        redis_sync.sadd(TEAMS_KEY, team)
        redis_sync.hset(workspace_settings_key(team), "tz", "Europe/Paris")
        redis_sync.hset(insights_key(team, last_week()), mapping={"asks": 9})
    before = redis_calls(redis_sync, "hgetall", "smembers", "hget", "hmget")
    texts = [scrape(app_server.metrics_url) for _ in range(3)]

    assert redis_calls(redis_sync, "hgetall", "smembers", "hget", "hmget") == before  # nothing per workspace
    assert all(not insight_samples(text) and "slack_ask_effects_pending 0.0" in text for text in texts)


def test_with_metrics_insights_set_gauges_show_only_exact_figures_refreshed_in_the_background(settings, redis_sync):
    redis_sync.sadd(TEAMS_KEY, TEAM)
    six = {"asks": 6, "found_help": 6, "yes_within:5": 6, "people_only_asked": 6}
    redis_sync.hset(insights_key(TEAM, last_week()), mapping=six)  # 6 asks, all found help
    redis_sync.hset(insights_key(TEAM, weeks_up_to(last_week(), 2)[0]), mapping={"asks": 3})  # hidden
    redis_sync.hset(insights_key(TEAM, this_week()), mapping={"asks": 40})  # in progress: never a sample
    server = ThreadedServer(create_app(replace(settings, metrics_insights=True))).start()
    try:
        before, scripts = redis_calls(redis_sync, "hgetall"), redis_calls(redis_sync, "evalsha")
        deadline = time.monotonic() + 30
        expected = 'slack_ask_insights_asks_sent{team="T0TEAM",weeks="1"} 6.0'
        while expected not in insight_samples(text := scrape(server.metrics_url)):  # the first scrape starts it
            assert time.monotonic() < deadline, "the insights gauges never came"
            time.sleep(0.05)
        for _ in range(5):
            text = scrape(server.metrics_url)
        calls = redis_calls(redis_sync, "hgetall") - before, redis_calls(redis_sync, "evalsha") - scripts
    finally:
        server.stop()

    samples = insight_samples(text)
    assert 'slack_ask_insights_asks_sent{team="T0TEAM",weeks="1"} 6.0' in samples
    assert 'slack_ask_insights_found_help_ratio{team="T0TEAM",weeks="1"} 1.0' in samples
    # The 12 weeks' total hides a week ("at least 7"): not exact, so no sample that could be differenced.
    assert not [line for line in samples if 'weeks="12"' in line and ("asks_sent" in line or "ratio" in line)]
    assert not [line for line in samples if "U0" in line]
    # One refresh however many scrapes: the settings, then the twelve weeks' snapshots; as none was made
    # yet, one script each makes it (reading the counters and the snapshot: two more reads each).
    assert calls == (1 + 12 + 12 * 2, 12)


def test_home_stats_and_metrics_print_exactly_the_figures_the_privacy_test_checks(settings, fake_slack, redis_sync):
    """test_insights_privacy.py proves its property on overview(); here every surface, run for real, prints
    exactly that overview's figures for one history with hidden weeks in it."""
    from test_insights_privacy import insight_history

    from slack_app.domain.insights import overview
    from slack_app.features.home import insights_section
    from slack_app.features.insights_service import _samples
    from slack_app.text.i18n import ENGLISH

    names = weeks_up_to(last_week(), 12)
    raw = insight_history(len(names))
    redis_sync.sadd(TEAMS_KEY, TEAM)
    for week, counters in zip(names, raw, strict=True):
        if counters:
            redis_sync.hset(insights_key(TEAM, week), mapping=counters)
    redis_sync.hset(insights_key(TEAM, this_week()), mapping={"asks": 3})  # in progress: nowhere
    expected = overview(names, raw)
    section = insights_section(expected, None, ENGLISH)
    assert any(figure.startswith("at least") for _, figure in section["total"])  # the history hides weeks

    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", is_admin=True)
    server = ThreadedServer(create_app(replace(settings, metrics_insights=True))).start()
    try:
        home_opened(SlackRequests(server.url, settings.signing_secret, fake_slack), ADMIN)
        view = nth_home(fake_slack, ADMIN, 2)  # with its chart
        shown = {
            f'slack_ask_insights_{figure}{{team="{team}",weeks="{span}"}} {float(value)}'
            for figure, team, span, value in _samples(TEAM, expected)
        }
        deadline = time.monotonic() + 30
        while set(insight_samples(scrape(server.metrics_url))) != shown:  # once the background refresh is done
            assert time.monotonic() < deadline, "the insights gauges never showed these figures"
            time.sleep(0.05)
    finally:
        server.stop()
    cli = stats_command(settings.redis_url, "--weeks", "12", "--json")

    assert json.loads(cli.stdout) == json.loads(json.dumps(expected.as_json()))
    fields = next(block for block in view["blocks"] if block.get("block_id") == "insights")["fields"]
    assert [field["text"] for field in fields] == [f"*{label}*\n{figure}" for label, figure in section["total"]]
    assert next(b for b in view["blocks"] if b["type"] == "image")["alt_text"] == section["alt_text"]
    assert " · ".join(section["people"]) in view_text(view)
    assert shown and all('team="T0TEAM"' in sample for sample in shown)
