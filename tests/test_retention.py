"""Data that ends: ended asks and old thank-yous are forgotten by ordinary timers, every key the
app writes either expires or has an owner that deletes it, and a refused write leaves nothing."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from freezegun import freeze_time
from redis.asyncio import Redis
from test_ask_flow import ASKER, HAL, HANA, HUGO, send_ask
from test_lifecycle_flow import last_view, submit_thanks, taken_by_hal, worker_at
from test_offer_flow import days_ahead, offer, offer_to_answer

from slack_app.domain.asks import Ask
from slack_app.domain.availability import weekly
from slack_app.features.lifecycle import iso_week
from slack_app.store.store import asked_by_key, asked_of_key, balance_key, kudos_key, thanks_for_key
from slack_app.wiring.app import create_app

TEAM = "T0TEAM"
DAY = 86400
START = datetime(2026, 1, 14, 10, tzinfo=UTC)  # a Wednesday


# --- across time, at the domain level -----------------------------------------------------------------


def new_ask(asker=ASKER, teammates=(HAL, HANA), text="Review the retry logic in PR 412") -> Ask:
    return Ask(
        team_id=TEAM,
        asker=asker,
        text=text,
        scope="retry.py",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=list(teammates),
    )


def ask_keys_of(redis_sync, ask_id: str) -> list[str]:
    return redis_sync.keys(f"{{{TEAM}:ask:{ask_id}}}*")


def test_an_ended_ask_is_forgotten_after_the_retention_window_once_and_exactly(
    settings, fake_slack, redis_sync, run, caplog
):
    instances = [create_app(settings).services for _ in range(2)]  # two app instances polling one Redis
    services = instances[0]

    async def poll_everywhere():
        return sum(await asyncio.gather(*(s.scheduler.run_due(s.lifecycle.handlers()) for s in instances)))

    async def send(ask: Ask) -> Ask:
        assert await services.send_ask(ask)
        assert await services.router.carry_out(TEAM, ask.id)  # as the effect queue does, in the background
        return ask

    async def done_and_thanked(ask: Ask, helper: str, note: str) -> None:
        await services.store.answer(TEAM, ask.id, helper, "accept")
        await services.lifecycle.ended(await services.store.close(TEAM, ask.id, "done", ASKER))
        kudos = {
            "ask_id": ask.id,
            "ask": ask.text,
            "asker": ASKER,
            "helper": helper,
            "note": note,
            "shared": True,
            "estimate_minutes": 30,
            "at": datetime.now(UTC).timestamp(),
        }
        assert await services.lifecycle.thanked(TEAM, kudos)

    with (
        freeze_time(START, real_asyncio=True) as clock,
        caplog.at_level(logging.INFO, logger="slack_app.features.lifecycle"),
    ):
        old = run(send(new_ask()))
        run(done_and_thanked(old, HAL, "The release went out on time"))
        old_week = iso_week(START, "UTC")
        cancelled = run(send(new_ask(teammates=[HUGO])))
        run(services.lifecycle.ended(run(services.store.close(TEAM, cancelled.id, "cancelled", ASKER))))
        old_cards = [key for key in redis_sync.keys(f"{{{TEAM}}}:card:*")]

        clock.move_to(START + timedelta(days=80))
        recent = run(send(new_ask(teammates=[HANA])))
        run(done_and_thanked(recent, HANA, "Saved my afternoon"))

        clock.move_to(START + timedelta(days=90) - timedelta(minutes=1))
        run(poll_everywhere())
        kept_until_the_window = [bool(ask_keys_of(redis_sync, a.id)) for a in (old, cancelled, recent)]

        clock.move_to(START + timedelta(days=90, seconds=1))
        run(poll_everywhere())
        run(poll_everywhere())  # again, on both instances: nothing is forgotten twice

        after_window = {
            "asks": [bool(ask_keys_of(redis_sync, a.id)) for a in (old, cancelled, recent)],
            "asked_by": redis_sync.zrange(asked_by_key(TEAM, ASKER), 0, -1),
            "asked_of": {uid: redis_sync.zrange(asked_of_key(TEAM, uid), 0, -1) for uid in (HAL, HANA, HUGO)},
            "old_cards": [key for key in old_cards if redis_sync.exists(key)],
            "thanked_markers": sorted(redis_sync.keys(f"{{{TEAM}}}:thanked:*")),
            "timers": sorted(redis_sync.hkeys(f"{{{TEAM}:jobs}}:data")),
            "balance": [
                {
                    role: count
                    for role, count in redis_sync.hgetall(balance_key(TEAM, uid)).items()
                    if role in ("asked", "helped")
                }
                for uid in (ASKER, HAL)
            ],
            "old_kudos": len(redis_sync.lrange(kudos_key(TEAM, old_week), 0, -1)),
        }

        clock.move_to(START + timedelta(weeks=53, days=1))
        run(poll_everywhere())
        after_a_year = {
            "old_kudos": redis_sync.exists(kudos_key(TEAM, old_week)),
            "hal_thanks": redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1),
            "hana_thanks": len(redis_sync.lrange(thanks_for_key(TEAM, HANA), 0, -1)),
        }

    assert kept_until_the_window == [True, True, True]
    assert after_window["asks"] == [False, False, True]  # 90 days after each ended: the recent one stays
    assert after_window["asked_by"] == [recent.id]
    assert after_window["asked_of"] == {HAL: [], HANA: [recent.id], HUGO: []}
    assert len(old_cards) == 3 and after_window["old_cards"] == []
    assert after_window["thanked_markers"] == [f"{{{TEAM}}}:thanked:{recent.id}:{HANA}"]
    # Only the recent ask's timer (waiting to forget it) and the weekly notes' own are left.
    assert [job for job in after_window["timers"] if old.id in job or cancelled.id in job] == []
    assert f"timer:{recent.id}" in after_window["timers"]
    # What outlives an ask: the private balance, and the thank-you note (it has its own window).
    assert after_window["balance"] == [{"asked": "3"}, {"helped": "1"}]
    assert after_window["old_kudos"] == 1
    assert after_a_year == {"old_kudos": 0, "hal_thanks": [], "hana_thanks": 1}
    forgotten = [record for record in caplog.records if record.getMessage() == "ask forgotten"]
    # Each once, however many instances polled; the recent one too, 90 days after it ended.
    assert sorted(record.ask for record in forgotten) == sorted([old.id, cancelled.id, recent.id])


def test_an_expired_ask_is_forgotten_after_the_window_counted_from_its_expiry(settings, fake_slack, redis_sync, run):
    services = create_app(settings).services
    with freeze_time(START, real_asyncio=True) as clock:
        ask = new_ask()
        assert run(services.send_ask(ask))
        clock.move_to(START + timedelta(days=3, seconds=1))
        run(services.scheduler.run_due(services.lifecycle.handlers()))
        run(services.scheduler.run_due(services.lifecycle.handlers()))
        expired = redis_sync.hget(f"{{{TEAM}:ask:{ask.id}}}", "status")
        clock.move_to(START + timedelta(days=92))
        run(services.scheduler.run_due(services.lifecycle.handlers()))
        kept = bool(ask_keys_of(redis_sync, ask.id))
        clock.move_to(START + timedelta(days=93, seconds=2))
        run(services.scheduler.run_due(services.lifecycle.handlers()))

    assert expired == "expired" and kept is True
    assert ask_keys_of(redis_sync, ask.id) == []


def test_the_windows_come_from_the_environment():
    from slack_app.settings import MissingSetting, Settings

    base = {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y"}
    defaults = Settings.from_env(base, dotenv_path="/nonexistent/.env")
    chosen = Settings.from_env(
        {**base, "SLACK_ASK_RETENTION_DAYS": "30", "SLACK_ASK_KUDOS_WEEKS": "8"}, dotenv_path="/nonexistent/.env"
    )
    assert (defaults.retention_days, defaults.kudos_weeks) == (90, 52)
    assert (chosen.retention_days, chosen.kudos_weeks) == (30, 8)
    with pytest.raises(MissingSetting, match="SLACK_ASK_RETENTION_DAYS"):
        Settings.from_env({**base, "SLACK_ASK_RETENTION_DAYS": "forever"}, dotenv_path="/nonexistent/.env")


# --- every key the whole flow creates -------------------------------------------------------------

# Keys without an expiry, and who deletes each. Anything else the flow writes must carry a TTL.
OWNED = {
    "{T0TEAM:ask:*}*": "the ask's timer, SLACK_ASK_RETENTION_DAYS after it ended",
    "{T0TEAM}:card:*": "the ask's timer (card index entries go with the ask)",
    "{T0TEAM}:asked_by:*": "the ask's timer (its id; the set goes when empty)",
    "{T0TEAM}:asked_of:*": "the ask's timer (its id; the set goes when empty)",
    "{T0TEAM}:asks_sent": "the ask's timer (its id; the backstop pass's index, gone when empty)",
    "{T0TEAM}:thanked:*": "the ask's timer",
    "{T0TEAM}:kudos:*": "the week's forget_kudos timer, SLACK_ASK_KUDOS_WEEKS after the week",
    "{T0TEAM}:thanks_for:*": "the week's forget_kudos timer (and capped at 20)",
    "{T0TEAM}:notes_of:*": "the week's forget_kudos timer (the week leaves each person's index)",
    "{T0TEAM}:thanks_dms:*": "the week's forget_kudos timer (where its thank-you DMs went)",
    "{T0TEAM}:digest_posts": "the week's forget_kudos timer (where its digest went)",
    "{T0TEAM}:suggested_in:*": "the ask's timer (its id; the set goes when empty)",
    "{T0TEAM:jobs}:*": "the scheduler: a job's keys go when it ran or was cancelled",
    "{slack-ask:jobs}:next": "the scheduler: a workspace's entry goes when it has no jobs",
    # Small aggregates and per-workspace state, kept while the workspace has the app installed:
    "{T0TEAM}:balance:*": "uninstall (forget_workspace): the private asked/helped balance",
    "{T0TEAM}:home_viewers": "uninstall (forget_workspace)",
    "{T0TEAM}:settings": "uninstall (forget_workspace)",
    "{T0TEAM}:availability": "uninstall (forget_workspace): each person's own standing setting",
    "{T0TEAM}:people": "the directory's full refresh (drops whom Slack no longer lists), erase-user, uninstall",
    "{T0TEAM}:people:building": "the directory's refresh: renamed into place when done, dropped by the next if it lapsed",
    "{T0TEAM}:people:state": "uninstall (forget_workspace): when the directory was last filled",
    "{T0TEAM}:bot": "uninstall (forget_workspace): who the bot is, as auth.test said once",
    "slack-ask:teams": "uninstall (forget_workspace)",
    "{slack-ask:jobs}:changes": "uninstall (scheduler.forget_workspace)",
    "{slack-ask:digests}:*": "uninstall (digests.forget_workspace)",
    "{slack-ask:effects:*}": "the effect queue: an entry goes once its ask owes nothing (the stream stays, empty)",
    "{slack-ask:effects:*}:intents": "the effect queue: a Cluster change's intent goes once taken over (the stream stays)",
    "{slack-ask:effects}:workers": "the effect queue: a worker's entry goes when it stops, or when silent 10 s",
    "{slack-ask:effects:*}:later": "the effect queue: an entry put back goes into its stream when due",
    "{slack-ask:effects:*}:dead": "the effect queue: `slack-ask effects retry|drop`",
    "{slack-ask:effects}:sweep": "the effect queue: one small lease, kept",
}
RETENTION_OWNED = [pattern for pattern, owner in OWNED.items() if "timer" in owner or "scheduler:" in owner]


def owner_of(key: str) -> str | None:
    return next((owner for pattern, owner in OWNED.items() if fnmatch.fnmatchcase(key, pattern)), None)


def test_every_key_the_flow_creates_expires_or_has_an_owner_that_deletes_it(slack, fake_slack, redis_sync, app_server):
    services = app_server.app.services
    taken_by_hal(slack, fake_slack, app_server, redis_sync)  # a card, a reaction (its event key), an accept
    slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_done")
    prompt = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "thanks_open" in m.action_ids()], what="prompt"
    )[0]
    slack.click(ASKER, prompt, "thanks_open")
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="thanks modal")
    submit_thanks(slack, last_view(fake_slack), "You unblocked the release, it shipped today")
    fake_slack.wait_for(lambda: any("says thanks" in m.all_text for m in fake_slack.dms(HAL)), what="thanks delivered")
    slack.send_event({"type": "app_home_opened", "user": HAL, "tab": "home", "channel": "D0HOME"})
    fake_slack.wait_for(lambda: fake_slack.calls_to("views.publish"), what="Home published")
    redis_sync.hset("{T0TEAM}:settings", "digest_channel", "C0KUDOS")  # as an admin sets it on Home
    app_server.call(services.digests.track(TEAM))
    now = datetime.now(UTC).timestamp()
    digest = app_server.call(services.digests.settings_for(TEAM))
    slot = digest.slot(iso_week(datetime.now(UTC), digest.tz)).timestamp()
    assert app_server.call(services.digests.post_due(now=max(now, slot + 1)))  # this week's slot: posted, marked
    send_ask(slack, fake_slack, teammates=[HUGO])
    summary = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(ASKER) if "ask_cancel" in m.action_ids()], what="the second ask's summary"
    )[-1]
    hugos_card = fake_slack.wait_for(
        lambda: [m for m in fake_slack.dms(HUGO) if "offer_later" in m.action_ids()],
        what="Hugo's card of the second ask",
    )[-1]
    offer(slack, fake_slack, HUGO, hugos_card, "later", day=days_ahead(2))  # an offer, lapsing with the ask
    offer_to_answer(fake_slack)
    app_server.call(services.store.set_availability(TEAM, HAL, weekly(3)))  # as Hal sets it on Home
    slack.click(ASKER, summary, "ask_cancel")
    fake_slack.wait_for(lambda: "No longer needed" in fake_slack.dms(HUGO)[-1].all_text, what="cancelled")
    fake_slack.settle(quiet=0.2)

    created = {key: redis_sync.ttl(key) for key in redis_sync.keys("*")}
    unowned = [key for key, ttl in created.items() if ttl < 0 and owner_of(key) is None]
    assert unowned == [], "keys with neither an expiry nor an owner that deletes them"
    expiring = {key.split(":")[1] for key, ttl in created.items() if ttl > 0}
    # De-duplication, the week's digest marker, the workspace's weekly figures (and, once shown, their snapshots).
    shown = {"insights_settled", "insights_chart", "coached"}
    assert {"event", "digest", "insights"} <= expiring <= {"event", "digest", "insights", *shown}

    # The owners do delete: past both windows the timers have removed everything they own …
    worker_at(app_server, now + 91 * DAY)
    worker_at(app_server, now + 54 * 7 * DAY)
    worker_at(app_server, now + 54 * 7 * DAY + 3600)  # the index's last look, after the leases would lapse
    left = [key for key in redis_sync.keys("*") if redis_sync.ttl(key) < 0]
    assert [key for key in left if any(fnmatch.fnmatchcase(key, p) for p in RETENTION_OWNED)] == []
    assert redis_sync.hget(balance_key(TEAM, HAL), "helped") == "1"  # … keeping the small aggregates

    # … and uninstalling removes the rest, expiring keys included.
    slack.send_event({"type": "app_uninstalled"})
    fake_slack.wait_for(lambda: not redis_sync.keys("*T0TEAM*"), what="workspace forgotten")
    assert all(not redis_sync.hexists(key, TEAM) for key in redis_sync.keys("{slack-ask:*}:changes"))
    assert all(redis_sync.zscore(key, TEAM) is None for key in redis_sync.keys("{slack-ask:*}:next"))


# --- Redis out of memory --------------------------------------------------------------------------


@pytest.fixture
def full_redis(redis_sync):
    """The shared server, made to refuse writes as a full Redis under noeviction does."""

    def fill():
        # The fixture's FLUSHALL may still be freeing the last test's data in the background;
        # measured before that ends, "full" would soon have room again.
        while int(redis_sync.info("memory").get("lazyfree_pending_objects", 0)):
            time.sleep(0.01)
        used = int(redis_sync.info("memory")["used_memory"])
        redis_sync.config_set("maxmemory-policy", "noeviction")
        redis_sync.config_set("maxmemory", used + 1024)

    yield fill
    redis_sync.config_set("maxmemory", 0)


def test_out_of_memory_answers_kindly_keeps_nothing_half_written_and_healthz_says_why(
    slack, fake_slack, redis_sync, app_server, full_redis
):
    import json
    import urllib.error
    import urllib.request

    send_ask(slack, fake_slack)  # one ask went through before Redis filled up
    before = sorted(redis_sync.keys("*"))
    full_redis()
    reply = slack.submit_ask(ASKER, teammates=[HAL, HANA], text="Pair on the flaky integration test this afternoon")
    fake_slack.settle(quiet=0.3)
    try:
        urllib.request.urlopen(app_server.url + "/healthz")
        health = None
    except urllib.error.HTTPError as error:
        health = error

    assert reply.status == 200
    assert "Couldn't save your ask just now, so nothing was sent" in reply.json()["errors"]["ask"]
    assert len(fake_slack.dms(HAL)) == 1 and len(fake_slack.dms(HANA)) == 1  # no card for the refused ask
    assert sorted(key for key in redis_sync.keys("*") if redis_sync.ttl(key) != -2) == before  # nothing half-written
    assert health is not None and health.code == 503
    assert "out of memory" in json.loads(health.read())["redis"]


def test_a_full_redis_still_forgets_what_is_due(redis_url, redis_sync, run, full_redis):
    from slack_app.store.scheduler import Job, Scheduler
    from slack_app.store.store import Store

    async def scenario():
        client = Redis.from_url(redis_url, decode_responses=True)
        store, scheduler = Store(client), Scheduler(client)
        ask = new_ask()
        await store.save_ask(ask)
        await store.close(TEAM, ask.id, "cancelled", ASKER)
        await scheduler.schedule(Job(id=f"timer:{ask.id}", team_id=TEAM, kind="timer", due=1.0))
        full_redis()
        try:
            await store.save_ask(new_ask(text="x" * 4000))
            refused = False
        except redis.exceptions.OutOfMemoryError:
            refused = True
        forgotten = await store.forget_ask(TEAM, ask.id)
        await client.aclose()
        return refused, forgotten, ask

    refused, forgotten, ask = run(scenario())

    assert refused and forgotten  # deleting is what a full Redis still allows
    assert ask_keys_of(redis_sync, ask.id) == []


def test_asks_that_ended_under_an_older_version_are_forgotten_after_the_upgrade(settings, fake_slack, redis_sync, run):
    from slack_app.store.scheduler import LEGACY_TEAMS_KEY

    services = create_app(settings).services
    with freeze_time(START, real_asyncio=True) as clock:
        # As an older version left them: asks saved and ended, no timer to forget them, the workspace in its list.
        ended, live = new_ask(), new_ask(teammates=[HUGO])
        for ask in (ended, live):
            run(services.store.save_ask(ask))
        run(services.store.close(TEAM, ended.id, "cancelled", ASKER))
        redis_sync.sadd(LEGACY_TEAMS_KEY, TEAM)

        adopted = run(services.scheduler.adopt_legacy_workspaces(services.lifecycle.retire_ended_asks))
        clock.move_to(START + timedelta(days=90, seconds=1))
        run(services.scheduler.run_due(services.lifecycle.handlers()))

    assert adopted == 1 and not redis_sync.exists(LEGACY_TEAMS_KEY)
    assert ask_keys_of(redis_sync, ended.id) == []
    assert ask_keys_of(redis_sync, live.id) != []  # a live ask is the lifecycle's, not retention's


def test_one_workspaces_retention_and_uninstall_leave_anothers_data_alone(settings, fake_slack, redis_sync, run):
    from slack_app.store.due_index import next_key

    services = create_app(settings).services
    other = "T0OTHER"
    with freeze_time(START, real_asyncio=True) as clock:
        mine = new_ask()
        assert run(services.send_ask(mine))
        run(services.lifecycle.ended(run(services.store.close(TEAM, mine.id, "cancelled", ASKER))))
        clock.move_to(START + timedelta(days=30))
        theirs = Ask(
            team_id=other,
            asker=ASKER,
            text="Same people, another workspace",
            scope="s",
            estimate_minutes=30,
            decline_line="no_reason",
            teammates=[HAL],
        )
        assert run(services.send_ask(theirs))
        run(services.lifecycle.ended(run(services.store.close(other, theirs.id, "cancelled", ASKER))))
        their_keys = sorted(key for key in redis_sync.keys(f"*{other}*"))

        clock.move_to(START + timedelta(days=90, seconds=1))
        run(services.scheduler.run_due(services.lifecycle.handlers()))
        mine_after, theirs_after = ask_keys_of(redis_sync, mine.id), redis_sync.keys(f"{{{other}:ask:{theirs.id}}}*")
        run(services.scheduler.forget_workspace(TEAM))
        run(services.digests.forget_workspace(TEAM))
        run(services.store.forget_workspace(TEAM))

    # Its ask, and its sending still owed (no instance here carries out effects; answers and cards never written).
    assert mine_after == [] and sorted(theirs_after) == [
        f"{{{other}:ask:{theirs.id}}}",
        f"{{{other}:ask:{theirs.id}}}:owed",
    ]
    assert sorted(key for key in redis_sync.keys(f"*{other}*")) == their_keys  # untouched throughout
    assert redis_sync.zscore(next_key("jobs"), other) is not None and redis_sync.zscore(next_key("jobs"), TEAM) is None
    assert redis_sync.hget(balance_key(other, ASKER), "asked") == "1" and not redis_sync.exists(
        balance_key(TEAM, ASKER)
    )
