"""The store's scripts against a real Redis-protocol server, without Bolt."""

import asyncio

from redis.exceptions import ResponseError

from slack_app.domain.asks import Answer, Ask, Status
from slack_app.store.store import ask_key, asked_of_key, offers_key, owed_key

TEAM = "T0TEAM"


def new_ask(teammates, helpers_needed=1) -> Ask:
    return Ask(
        team_id=TEAM,
        asker="U0ASKER",
        text="Review the retry logic in PR 412",
        scope="retry.py only",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=teammates,
        helpers_needed=helpers_needed,
    )


def test_an_ask_round_trips_through_redis(with_store):
    ask = new_ask(["U1", "U2"])

    async def work(store):
        await store.save_ask(ask)
        return await store.load_ask(TEAM, ask.id)

    loaded = with_store(work)
    assert loaded.text == ask.text and loaded.teammates == ["U1", "U2"] and loaded.status is Status.OPEN
    assert loaded.helpers == [] and loaded.created_at > 0


def test_one_winner_when_ten_accept_at_once_in_a_hundred_trials(with_store):
    teammates = [f"U{n}" for n in range(10)]

    async def work(store):
        winners = []
        for _ in range(100):
            ask = new_ask(teammates)
            await store.save_ask(ask)
            results = await asyncio.gather(*(store.answer(TEAM, ask.id, uid, "accept") for uid in teammates))
            winners.append([r.outcome for r in results].count("took_last"))
            assert [r.outcome for r in results].count("already_covered") == 9
            assert (await store.load_ask(TEAM, ask.id)).helpers == [r for r in results if r.outcome == "took_last"][
                0
            ].ask.helpers
        return winners

    assert with_store(work) == [1] * 100


def test_answers_are_idempotent_and_reversible(with_store):
    async def work(store):
        ask = new_ask(["U1", "U2"], helpers_needed=1)
        await store.save_ask(ask)
        outcomes = [
            (await store.answer(TEAM, ask.id, "U1", "accept")).outcome,
            (await store.answer(TEAM, ask.id, "U1", "accept")).outcome,
            (await store.answer(TEAM, ask.id, "U1", "decline")).outcome,  # taken: back out with undo instead
            (await store.answer(TEAM, ask.id, "U1", "withdraw_accept")).outcome,
            (await store.answer(TEAM, ask.id, "U1", "withdraw_accept")).outcome,
            (await store.answer(TEAM, ask.id, "U2", "decline")).outcome,
            (await store.answer(TEAM, ask.id, "U2", "withdraw_decline")).outcome,
            (await store.answer(TEAM, ask.id, "U9", "accept")).outcome,
            (await store.answer(TEAM, "nope", "U1", "accept")).outcome,
        ]
        return outcomes, await store.load_ask(TEAM, ask.id)

    outcomes, ask = with_store(work)
    assert outcomes == [
        "took_last",
        "unchanged",
        "unchanged",
        "reopened",
        "unchanged",
        "declined",
        "undeclined",
        "not_teammate",
        "missing",
    ]
    assert ask.status is Status.OPEN and ask.helpers == []


def test_everyone_declining_is_reported_once(with_store):
    async def work(store):
        ask = new_ask(["U1", "U2"])
        await store.save_ask(ask)
        first = await store.answer(TEAM, ask.id, "U1", "decline")
        last = await store.answer(TEAM, ask.id, "U2", "decline")
        await store.answer(TEAM, ask.id, "U2", "withdraw_decline")
        again = await store.answer(TEAM, ask.id, "U2", "decline")
        return first, last, again

    first, last, again = with_store(work)
    assert (first.outcome, last.outcome, again.outcome) == ("declined", "all_declined", "declined")
    assert last.answers == {"U1": Answer.DECLINE, "U2": Answer.DECLINE}


def test_cancel_is_for_the_asker_and_closes_answers(with_store):
    async def work(store):
        ask = new_ask(["U1"])
        await store.save_ask(ask)
        await store.record_card(TEAM, ask.id, "U1", "D1", "1.0")
        refused = await store.close(TEAM, ask.id, "cancelled", "U1")
        done = await store.close(TEAM, ask.id, "cancelled", "U0ASKER")
        late = await store.answer(TEAM, ask.id, "U1", "accept")
        return refused, done, late

    refused, done, late = with_store(work)
    assert refused.outcome == "not_asker" and refused.ask.status is Status.OPEN
    assert done.outcome == "cancelled" and done.cards == {"U1": ("D1", "1.0")}
    assert late.outcome == "closed" and late.ask.status is Status.CANCELLED


def test_an_event_is_seen_once_and_finds_its_card(with_store):
    async def work(store):
        ask = new_ask(["U1"])
        await store.save_ask(ask)
        await store.record_card(TEAM, ask.id, "U1", "D1", "1.0")
        first = await store.first_sighting_and_card(TEAM, "Ev1", "D1", "1.0")
        again = await store.first_sighting_and_card(TEAM, "Ev1", "D1", "1.0")
        await store.forget_event(TEAM, "Ev1")
        after_forget = await store.first_sighting_and_card(TEAM, "Ev1", "D1", "1.0")
        stranger = await store.first_sighting_and_card(TEAM, "Ev2", "D1", "2.0")
        return ask, first, again, after_forget, stranger

    ask, first, again, after_forget, stranger = with_store(work)
    assert first[0] is True and first[1].ask_id == ask.id and first[1].teammate == "U1"
    assert again[0] is False
    assert after_forget[0] is True
    assert stranger == (True, None)


def test_a_summary_recorded_after_its_ask_was_forgotten_brings_nothing_back(with_store):
    """A summary on its way while its ask is forgotten (or lost with Redis's data) must not leave a hash
    holding only where the summary is: nothing could read it as an ask (found by bench/chaos.py)."""
    ask = new_ask(["U1"])

    async def work(store):
        await store.save_ask(ask)
        assert await store.claim_post(TEAM, ask.id, "summary") is None
        await store.record_summary(TEAM, ask.id, "D1", "1.000100", "summary")
        kept = (await store.load_ask(TEAM, ask.id)).summary_ts, await store.posts_of(TEAM, ask.id)
        await store.forget_ask(TEAM, ask.id)
        await store.record_summary(TEAM, ask.id, "D1", "1.000200", "summary")
        gone = await store.redis.exists(ask_key(TEAM, ask.id)), await store.posts_of(TEAM, ask.id)
        return kept, gone, await store.load_ask(TEAM, ask.id)

    # Recorded on the ask and its post claim settled in one step (a kill between the two left the claim
    # pending for good: the ten-minute chaos run's 6 "claimed and never sent").
    assert with_store(work) == (("1.000100", {"summary": "D1 1.000100"}), (0, {}), None)


def test_an_ask_redis_refuses_part_way_is_never_there_to_be_sent(with_store):
    """Redis refuses a write that saving needs after the ask's place in people's lists (here a teammate's list is
    not a list; on a Cluster, that list's server is down): the ask itself, which owes its sending, was never
    written, so nothing goes out to someone told it couldn't be saved. (Before: the ask and its sending were
    written first; on a Cluster the take-back could not reach the other server, and the cards went out.)"""
    ask = new_ask(["U1", "U2"])

    async def work(store):
        await store.redis.set(asked_of_key(TEAM, "U2"), "not a sorted set")
        try:
            await store.save_ask(ask)
        except ResponseError:
            pass
        else:
            raise AssertionError("saving succeeded where Redis refused a part of it")
        return await store.load_ask(TEAM, ask.id), await store.redis.hgetall(owed_key(TEAM, ask.id))

    assert with_store(work) == (None, {})


def test_offers_are_listed_in_the_order_they_were_made_whatever_order_redis_keeps(with_store):
    """An offers hash holds long values, so Redis keeps it as a hash table, whose order a rehash or a restart
    changes: every message listing the offers lists them in the order they were made. (Before: in the hash's
    order, so a summary redrawn after a restart could shuffle them; found by the ten-minute chaos run.)"""
    from slack_app.domain.offers import Kind, Offer

    ask = new_ask(["U1", "U2", "U3"])

    async def work(store):
        await store.save_ask(ask)
        for helper in ("U2", "U1", "U3"):
            await store.offer(TEAM, ask.id, Offer(helper, Kind.SMALLER, minutes=5))
        key = offers_key(TEAM, ask.id)
        made = await store.redis.hgetall(key)
        await store.redis.delete(key)
        await store.redis.hset(key, mapping=dict(reversed(list(made.items()))))  # as a reload might order it
        return list((await store.snapshot(TEAM, ask.id)).offers)

    assert with_store(work) == ["U2", "U1", "U3"]
