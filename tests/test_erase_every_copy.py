"""An erasure reaches every copy of what a person wrote, in Redis and in Slack, found through their own
indexes (never a walk over the keyspace): after day 90, when the ask is forgotten but its thank-you is
kept 52 weeks; in the helper's Home copy, which the note's own week later drops by ask and helper; in
the thank-you DM and the digest post already in Slack; and in a thank-you still on its way.

A real Redis-protocol server and the fake Slack over HTTP; days pass under freezegun."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from test_ask_flow import ASKER, HAL, HANA
from test_retention import START, TEAM, new_ask

from slack_app.domain.offers import Kind, Offer
from slack_app.features.lifecycle import iso_week
from slack_app.features.personal_data import ERASED
from slack_app.store.store import (
    digest_posts_key,
    kudos_key,
    notes_of_key,
    owed_key,
    suggested_in_key,
    thanks_dms_key,
    thanks_for_key,
)
from slack_app.wiring.app import create_app

NOTE = "The release went out on time and nobody got paged."
ASK_LINE = "Review the retry logic in PR 412"
KUDOS_CHANNEL = "C0KUDOS"


def scans(redis_sync) -> int:
    """How many SCAN calls the server has answered so far."""
    return int(redis_sync.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


async def helped_and_thanked(services, note: str = NOTE):
    """Ada's ask, taken by Hal, done, and thanked (as the thank-you modal does: owed, then filed)."""
    ask = new_ask(teammates=[HAL, HANA], text=ASK_LINE)
    assert await services.send_ask(ask)
    await services.router.carry_out(TEAM, ask.id)
    await services.store.answer(TEAM, ask.id, HAL, "accept")
    await services.lifecycle.ended(await services.store.close(TEAM, ask.id, "done", ASKER))
    await services.router.carry_out(TEAM, ask.id)
    delivery = {"kind": "thanks", "helper": HAL, "note": note, "channel": "", "ts": ""}
    await services.store.owe(TEAM, ask.id, posts={f"thanks:{HAL}": delivery})
    kudos = {
        "ask_id": ask.id,
        "ask": ask.text,
        "asker": ASKER,
        "helper": HAL,
        "note": note,
        "shared": True,
        "estimate_minutes": 30,
        "at": datetime.now(UTC).timestamp(),
    }
    assert await services.lifecycle.thanked(TEAM, kudos, await services.store.load_ask(TEAM, ask.id))
    return ask


def thanks_dm(fake_slack):
    return next(m for m in fake_slack.dms(HAL) if "says thanks for" in m.all_text)


def test_an_erasure_after_day_90_reaches_the_note_its_home_copy_its_dm_and_the_digest(
    settings, fake_slack, redis_sync, run
):
    services = create_app(settings).services

    async def poll():
        await services.scheduler.run_due(services.job_handlers())

    with freeze_time(START, real_asyncio=True) as clock:
        run(services.store.save_workspace_setting(TEAM, "digest_channel", KUDOS_CHANNEL))
        ask = run(helped_and_thanked(services))
        run(services.router.carry_out(TEAM, ask.id))  # the thank-you DM goes out
        week = iso_week(START, "UTC")
        assert run(services.digests.post(TEAM, week))
        delivered_before = NOTE in thanks_dm(fake_slack).all_text
        digest_before = NOTE in fake_slack.conversation(KUDOS_CHANNEL)[-1].all_text

        clock.move_to(START + timedelta(days=91))
        run(poll())  # the ask is forgotten; its note is kept for the digest and Hal's Home
        forgotten = run(services.store.load_ask(TEAM, ask.id)) is None
        still_showing_the_ask = [
            (user, m.all_text)
            for user in (ASKER, HAL, HANA)
            for m in fake_slack.dms(user)
            if ASK_LINE in m.all_text and "says thanks for" not in m.all_text
        ]
        scans_before = scans(redis_sync)
        run(services.personal.erase_soon(TEAM, ASKER))
        run(services.run_jobs_of(TEAM))
        scans_during_erase = scans(redis_sync) - scans_before
        fake_slack.settle(quiet=0.2)

        erased = {
            "week": [json.loads(raw)["note"] for raw in redis_sync.lrange(kudos_key(TEAM, week), 0, -1)],
            "hal_home": [json.loads(raw)["note"] for raw in redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1)],
        }
        clock.move_to(START + timedelta(weeks=54))
        run(poll())  # the week's notes are dropped, the rewritten Home copy with them

    assert delivered_before and digest_before and forgotten
    # Forgetting the ask redrew every message about it (cards, summary, notices) without its words;
    # the thank-you DM is Hal's, and keeps its note until its week is dropped or Ada erases it.
    assert still_showing_the_ask == []
    assert "details are no longer kept" in fake_slack.dms(HANA)[0].all_text
    assert erased == {"week": [ERASED], "hal_home": [ERASED]}
    assert scans_during_erase == 0  # found through Ada's index of weeks
    dm = thanks_dm(fake_slack)
    assert NOTE not in dm.all_text and ASK_LINE not in dm.all_text and ERASED in dm.all_text
    digest = fake_slack.conversation(KUDOS_CHANNEL)[-1].all_text
    assert NOTE not in digest and ASK_LINE not in digest
    assert any(
        "Erased what you wrote" in m.all_text and "1 thank-you note" in m.all_text for m in fake_slack.dms(ASKER)
    )
    # 52 weeks after its week, nothing of the note is left, however the erasure rewrote its copies.
    assert redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1) == []
    for key in (
        kudos_key(TEAM, week),
        notes_of_key(TEAM, ASKER),
        notes_of_key(TEAM, HAL),
        thanks_dms_key(TEAM, ASKER),
        digest_posts_key(TEAM),
    ):
        assert not redis_sync.exists(key), key


def test_a_rewritten_home_copy_is_still_dropped_with_its_week(settings, fake_slack, redis_sync, run):
    """forget_kudos matched by exact string: once either copy was rewritten, the Home copy stayed for ever."""
    services = create_app(settings).services
    with freeze_time(START, real_asyncio=True) as clock:
        run(helped_and_thanked(services))
        week = iso_week(START, "UTC")
        # An erasure run by Lua re-encodes the record: the weekly copy and the Home copy no longer match.
        run(services.store.redact_notes(TEAM, ASKER, ERASED))
        weekly, home = (
            redis_sync.lrange(kudos_key(TEAM, week), 0, -1),
            redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1),
        )
        redis_sync.lset(thanks_for_key(TEAM, HAL), 0, json.dumps(json.loads(home[0]), sort_keys=True, indent=1))
        clock.move_to(START + timedelta(weeks=53, days=1))
        run(services.scheduler.run_due(services.job_handlers()))

    assert len(weekly) == len(home) == 1
    assert redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1) == []


def test_a_thank_you_still_on_its_way_carries_the_erased_text(settings, fake_slack, redis_sync, run):
    services = create_app(settings).services
    ask = run(helped_and_thanked(services))  # owed, not yet delivered
    owed_before = [
        json.loads(v)["note"] for f, v in redis_sync.hgetall(owed_key(TEAM, ask.id)).items() if "thanks" in f
    ]

    run(services.personal.erase(TEAM, ASKER))
    run(services.router.carry_out(TEAM, ask.id))

    assert owed_before == [NOTE]
    dm = thanks_dm(fake_slack)
    assert NOTE not in dm.all_text and ASK_LINE not in dm.all_text and ERASED in dm.all_text
    assert all(NOTE not in json.dumps(call.args) for call in fake_slack.calls_to("chat.postMessage"))


def test_a_thank_you_sent_while_the_erasure_ran_is_redrawn(settings, fake_slack, redis_sync, run):
    """The sender read the note just before the erasure rewrote it: the DM goes out with it, and the
    erasure's redraw (or the sender's next pass, finding it sent) brings it to the placeholder."""
    services = create_app(settings).services
    ask = run(helped_and_thanked(services))
    run(services.router.carry_out(TEAM, ask.id))
    sent_with_note = NOTE in thanks_dm(fake_slack).all_text

    erasure = run(services.personal.erase(TEAM, ASKER))
    run(services.personal.show_erased(TEAM, ASKER, erasure))

    assert sent_with_note
    assert NOTE not in thanks_dm(fake_slack).all_text and ERASED in thanks_dm(fake_slack).all_text


def test_export_includes_offers_that_suggest_the_person_without_the_suggesters_line(
    settings, fake_slack, redis_sync, run
):
    services = create_app(settings).services
    ask = new_ask(teammates=[HAL])
    assert run(services.send_ask(ask))
    run(services.router.carry_out(TEAM, ask.id))
    suggestion = Offer(helper=HAL, kind=Kind.SUGGEST, suggested=HANA, note="Hana wrote the retry code")
    assert run(services.store.offer(TEAM, ask.id, suggestion)).outcome == "offered"
    scans_before = scans(redis_sync)

    hana = run(services.personal.export(TEAM, HANA))

    assert scans(redis_sync) == scans_before
    assert hana["offers_suggesting_you"] == [
        {
            "ask_id": ask.id,
            "asker": ASKER,
            "suggested_by": HAL,
            "state": "waiting",
            "made_at": hana["offers_suggesting_you"][0]["made_at"],
        }
    ]
    assert "Hana wrote the retry code" not in json.dumps(hana)  # Hal's line is Hal's
    run(services.store.forget_ask(TEAM, ask.id))
    assert not redis_sync.exists(suggested_in_key(TEAM, HANA))  # the index goes with the ask


def test_an_erasure_handed_over_survives_the_instance_that_took_it(settings, fake_slack, redis_sync, run):
    """The modal's instance only stores the job before its ack; if it dies there, any other instance
    (here a second app, as a `slack-ask worker` would be) carries the erasure out and tells the person."""
    first, second = create_app(settings).services, create_app(settings).services
    ask = run(helped_and_thanked(first))
    run(first.router.carry_out(TEAM, ask.id))

    run(first.personal.erase_soon(TEAM, ASKER))  # … and the first instance is gone before running it
    handed_over = redis_sync.hexists(f"{{{TEAM}:jobs}}:data", f"erase:{ASKER}")
    ran = run(second.scheduler.run_due(second.job_handlers()))
    fake_slack.settle(quiet=0.2)

    assert handed_over and ran >= 1
    assert not redis_sync.hexists(f"{{{TEAM}:jobs}}:data", f"erase:{ASKER}")  # done, once
    assert [json.loads(raw)["note"] for raw in redis_sync.lrange(thanks_for_key(TEAM, HAL), 0, -1)] == [ERASED]
    assert NOTE not in thanks_dm(fake_slack).all_text
    assert sum("Erased what you wrote" in m.all_text for m in fake_slack.dms(ASKER)) == 1
