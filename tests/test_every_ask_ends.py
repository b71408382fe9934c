"""Every live ask always has a timer that will end it, then forget it: after a helper steps back past
its check-in, after a "later" offer is accepted on such an ask, after a helper's account is
deactivated, when it is taken and never marked done, and when its timer was lost (the backstop).

Signed HTTP in, a real Redis-protocol server, the fake Slack out; days pass by running the worker's
jobs at later moments (`worker_at`), as a worker polling at that time would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from test_ask_flow import ASKER, HAL, HANA, HUGO, card_text
from test_home_and_digest import home_opened, published_home, view_text
from test_lifecycle_flow import check_ins, effects_done, load, taken_by_hal, worker_at
from test_offer_flow import days_ahead, offer, offer_to_answer
from test_retention import START, new_ask

from slack_app.features.lifecycle import check_in_due, quiet_close_due
from slack_app.store.store import ask_key, asks_sent_key
from slack_app.wiring.app import create_app

TEAM = "T0TEAM"
DAY = 86400.0
QUIET_CLOSE = timedelta(days=14)  # SLACK_ASK_QUIET_CLOSE_DAYS, as the app's settings have it by default


def has_timer(redis_sync, ask_id: str) -> bool:
    return redis_sync.hexists(f"{{{TEAM}:jobs}}:data", f"timer:{ask_id}")


def status(redis_sync, ask_id: str) -> str | None:
    """The ask's status; None once it is forgotten."""
    return redis_sync.hget(ask_key(TEAM, ask_id), "status")


def checked_in(app_server, fake_slack, redis_sync) -> float:
    """Runs the worker at the ask's check-in; returns that moment."""
    due = check_in_due(load(redis_sync)).timestamp()
    worker_at(app_server, due)
    fake_slack.wait_for(lambda: check_ins(fake_slack), what="the check-in")
    return due


def test_an_ask_reopened_after_its_check_in_still_ends_and_is_forgotten(slack, fake_slack, redis_sync, app_server):
    cards = taken_by_hal(slack, fake_slack, app_server, redis_sync)
    ask = load(redis_sync)
    checked_in(app_server, fake_slack, redis_sync)

    slack.react(HAL, cards[HAL], "white_check_mark", removed=True)  # Hal steps back after the check-in
    fake_slack.wait_for(lambda: status(redis_sync, ask.id) == "open", what="open again")
    effects_done(app_server)
    seen, told = {}, {}
    for days in (1, 10, 100, 400):
        worker_at(app_server, ask.created_at + days * DAY)
        effects_done(app_server)
        seen[days] = (status(redis_sync, ask.id), has_timer(redis_sync, ask.id))
        told[days] = fake_slack.dms(ASKER)[-1].all_text, card_text(fake_slack, HANA)

    assert seen[1] == ("open", True)  # the day after: still open, and a timer will come back to it
    assert seen[10] == ("expired", True)  # nobody took it again: it ended, and its timer will forget it
    assert seen[100] == (None, False)  # 90 days after it ended, forgotten
    assert seen[400] == (None, False)
    assert "No one took on" in told[10][0] and "No longer needed" in told[10][1]
    assert all("details are no longer kept" in text for text in told[100])  # forgotten in Slack too
    assert redis_sync.zcard(asks_sent_key(TEAM)) == 0


def test_a_taken_ask_never_marked_done_closes_quietly_after_the_setting_then_is_forgotten(
    slack, fake_slack, redis_sync, app_server
):
    taken_by_hal(slack, fake_slack, app_server, redis_sync)
    ask = load(redis_sync)
    asker_dms = len(fake_slack.dms(ASKER))
    check_in = checked_in(app_server, fake_slack, redis_sync)
    closes = quiet_close_due(load(redis_sync), QUIET_CLOSE)

    worker_at(app_server, closes.timestamp() - 3600)
    still = (status(redis_sync, ask.id), has_timer(redis_sync, ask.id))
    worker_at(app_server, closes.timestamp() + 60)
    fake_slack.wait_for(lambda: "Closed — no thank-you needed" in card_text(fake_slack, HAL), what="Hal's card")
    fake_slack.settle(quiet=0.2)

    assert closes.timestamp() == check_in + QUIET_CLOSE.total_seconds()
    assert still == ("taken", True)
    assert load(redis_sync).status.value == "closed_quietly"
    assert "Thanks for taking it on" in card_text(fake_slack, HAL)
    assert "Closed — no thank-you needed" in fake_slack.dms(ASKER)[0].all_text  # the summary
    assert "ask_done" not in fake_slack.dms(ASKER)[0].action_ids()
    for teammate in (HANA, HUGO):
        assert "No longer needed" in card_text(fake_slack, teammate)
    assert len(fake_slack.dms(ASKER)) == asker_dms + 1  # the check-in, and no note after it
    for person in (HAL, ASKER):  # their Home tabs say so too
        publishes = len([c for c in fake_slack.calls_to("views.publish") if c.args["user_id"] == person])
        assert home_opened(slack, person).status == 200
        assert "Closed — no thank-you needed" in view_text(published_home(fake_slack, person, count=publishes + 1))
    assert has_timer(redis_sync, ask.id)  # now set for forgetting it

    worker_at(app_server, closes.timestamp() + 91 * DAY)
    assert status(redis_sync, ask.id) is None
    assert redis_sync.keys(f"{{{TEAM}:ask:{ask.id}}}*") == []


def test_a_later_offer_accepted_on_an_ask_reopened_after_its_check_in_gets_a_fresh_check_in_then_ends(
    slack, fake_slack, redis_sync, app_server
):
    cards = taken_by_hal(slack, fake_slack, app_server, redis_sync)
    ask = load(redis_sync)
    checked_in(app_server, fake_slack, redis_sync)
    slack.react(HAL, cards[HAL], "white_check_mark", removed=True)
    fake_slack.wait_for(lambda: status(redis_sync, ask.id) == "open", what="open again")

    fake_slack.wait_for(lambda: "offer_later" in fake_slack.dms(HANA)[0].action_ids(), what="Hana's card open again")
    by = days_ahead(20)
    offer(slack, fake_slack, HANA, fake_slack.dms(HANA)[0], "later", day=by)
    slack.click(ASKER, offer_to_answer(fake_slack), "offer_accept")
    fake_slack.wait_for(lambda: status(redis_sync, ask.id) == "taken", what="Hana took it by her offer")
    effects_done(app_server)
    retaken = load(redis_sync)
    assert retaken.needed_by.isoformat() == by and retaken.check_ins_sent == 0
    assert has_timer(redis_sync, ask.id)

    worker_at(app_server, check_in_due(retaken).timestamp() - 3600)
    assert len(check_ins(fake_slack)) == 1 and status(redis_sync, ask.id) == "taken"  # not expired meanwhile
    worker_at(app_server, check_in_due(retaken).timestamp())
    fake_slack.wait_for(lambda: len(check_ins(fake_slack)) == 2, what="a check-in about Hana's help")
    worker_at(app_server, quiet_close_due(load(redis_sync), QUIET_CLOSE).timestamp())
    assert status(redis_sync, ask.id) == "closed_quietly"
    worker_at(app_server, datetime.now(UTC).timestamp() + 400 * DAY)
    assert status(redis_sync, ask.id) is None


def test_a_helper_deactivated_while_the_ask_is_taken_steps_back_and_the_ask_still_ends(
    slack, fake_slack, redis_sync, app_server
):
    taken_by_hal(slack, fake_slack, app_server, redis_sync)
    ask = load(redis_sync)
    checked_in(app_server, fake_slack, redis_sync)
    deactivated = {"type": "user_change", "event_ts": "2.0", "user": {"id": HAL, "team_id": TEAM, "deleted": True}}

    assert slack.send_event(deactivated, event_id="Ev0HALGONE").status == 200
    fake_slack.wait_for(lambda: status(redis_sync, ask.id) == "open", what="open again")
    fake_slack.wait_for(
        lambda: "had to step back" in fake_slack.dms(ASKER)[-1].all_text, what="the asker told, without a reason"
    )
    due = float(redis_sync.zscore(f"{{{TEAM}:jobs}}:due", f"timer:{ask.id}"))
    assert due <= datetime.now(UTC).timestamp() + DAY + 5

    worker_at(app_server, ask.created_at + 10 * DAY)
    assert status(redis_sync, ask.id) == "expired"
    worker_at(app_server, ask.created_at + 110 * DAY)
    assert status(redis_sync, ask.id) is None


def test_the_backstop_gives_a_timer_to_an_ask_that_lost_its_own_even_one_from_before_the_index(
    settings, fake_slack, redis_sync, run
):
    services = create_app(settings).services

    async def poll():
        await services.scheduler.run_due(services.lifecycle.handlers())
        await services.router.carry_out(TEAM, ask.id)  # as the effect queue does, in the background

    with freeze_time(START, real_asyncio=True) as clock:
        ask = new_ask(teammates=[HAL])
        assert run(services.send_ask(ask))
        run(services.router.carry_out(TEAM, ask.id))
        run(services.store.answer(TEAM, ask.id, HAL, "accept"))
        # As an older version left it: taken, its check-in long sent, no timer, and not in the index.
        redis_sync.hset(ask_key(TEAM, ask.id), mapping={"check_ins_sent": "1"})
        run(services.scheduler.cancel(TEAM, f"timer:{ask.id}"))
        redis_sync.zrem(asks_sent_key(TEAM), ask.id)

        clock.move_to(START + timedelta(days=89))
        run(poll())
        before_the_window = (status(redis_sync, ask.id), has_timer(redis_sync, ask.id))
        clock.move_to(START + timedelta(days=90, hours=1))
        run(poll())  # the backstop's first pass: the ask gets a timer due at once, which closes it
        at_the_window = (status(redis_sync, ask.id), has_timer(redis_sync, ask.id))
        card_at_the_window = card_text(fake_slack, HAL)
        clock.move_to(START + timedelta(days=181))
        run(poll())
        clock.move_to(START + timedelta(days=183))
        run(poll())  # the backstop's pass after the ask is gone

    assert before_the_window == ("taken", False)  # the leak the backstop is for
    assert at_the_window == ("closed_quietly", True)  # and its timer now waits to forget it
    assert "Closed — no thank-you needed" in card_at_the_window
    assert status(redis_sync, ask.id) is None
    assert "details are no longer kept" in card_text(fake_slack, HAL)
    assert not redis_sync.exists(asks_sent_key(TEAM))
    assert not redis_sync.hexists(f"{{{TEAM}:jobs}}:data", "backstop")  # no asks left: it stops until the next
