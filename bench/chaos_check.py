"""The fault-injection run's verdict: invariants checked against the fake Slack's record and Redis.

- every ask acknowledged exists once (none for an ask the asker was told was not sent);
- every card, summary and offer DM shows its ask's final state, and every teammate of a live ask has
  exactly one card; the asker exactly one summary;
- every post (notices, check-ins, thank-yous, offer DMs) recorded in Redis is in Slack exactly once, and
  nothing is in Slack that Redis does not know; every acked thank-you reached its helper exactly once;
  every check-in counted was posted;
- no message posted twice; every digest exactly once per workspace-week;
- nothing left owed: no owed effects, no queue entries, none pending, no post claimed and not sent;
- dead letters 0.

Messages about asks that Redis lost when it was emptied are counted as explained, not checked.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace

from redis.exceptions import RedisError

from slack_app.domain.asks import Status
from slack_app.features.routing import (
    CARD_EVENT,
    POST_EVENT,
    SUMMARY_EVENT,
    card_state,
    render_card,
    render_offer_notice,
)
from slack_app.store.store import (
    EFFECT_SHARDS,
    PENDING,
    cards_key,
    effect_intent_key,
    effect_stream_key,
    owed_key,
    posts_key,
)
from slack_app.text.render import render
from slack_app.wiring.app import create_app

QUIET_SECONDS = 8.0  # nothing owed and no Slack call for this long: the app has finished
GROUP = "slack-ask"
LOST_MARGIN_SECONDS = 30.0  # a message about a lost ask may still be on its way this long after the empty


@dataclass
class Drained:
    drained: bool
    seconds: float


class Quiet:
    """Waits until the app owes nothing and has stopped calling Slack (and the digests are due and out)."""

    def __init__(self, redises, fake, settings, ceiling: float):
        self.redises, self.fake, self.settings, self.ceiling = redises, fake, settings, ceiling

    async def wait(self, digests_due: float, digest_channels: list[str]) -> Drained:
        started = time.monotonic()
        client = self.redises.client()
        try:
            while time.monotonic() - started < self.ceiling:
                await asyncio.sleep(2.0)
                try:
                    owed = await asyncio.to_thread(_anything_owed, client)
                except RedisError:
                    continue
                with self.fake._lock:
                    last_call = self.fake.calls[-1].at if self.fake.calls else 0.0
                digests_out = time.time() > digests_due and all(self.fake.conversation(c) for c in digest_channels)
                if not owed and digests_out and time.monotonic() - last_call > QUIET_SECONDS:
                    return Drained(True, time.monotonic() - started)
            return Drained(False, time.monotonic() - started)
        finally:
            client.close()


def _anything_owed(client) -> bool:
    if any(True for _ in client.scan_iter(match="{T0CHAOS*:ask:*}:owed", count=1000)):
        return True
    return any(client.xlen(effect_stream_key(shard)) for shard in range(EFFECT_SHARDS))


@dataclass
class Report:
    checked: int = 0
    by_invariant: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    explained: Counter = field(default_factory=Counter)

    def expect(self, invariant: str, holds: bool, detail: str = "") -> None:
        self.checked += 1
        self.by_invariant[invariant] += 1
        if not holds:
            self.violations.append(f"{invariant}: {detail}")


async def check(*, redises, fake, settings, people, teams, emptied, digest_channels) -> Report:
    report = Report()
    services = create_app(settings).services
    client = redises.client()
    try:
        strays: list[str] = []
        asks = await _asks_in_redis(services, client, list(teams), strays)
        for stray in strays:
            report.expect("no ask hash without its ask", False, stray)
        messages = _app_messages(fake)
        lost_before = emptied[1] if emptied else 0.0
        _check_asks_acked(report, people, asks, lost_before)
        _check_messages_once(report, messages, asks, people, lost_before)
        posts_in_slack = defaultdict(list)  # ask → (user, post id) of each post about it in Slack
        for event, ask_id, user, post in messages:
            if event == POST_EVENT:
                posts_in_slack[ask_id].append((user, post))
        for (team, ask_id), snapshot in asks.items():
            posts = client.hgetall(posts_key(team, ask_id))
            _check_ask(
                report,
                snapshot,
                messages,
                posts_in_slack,
                fake.messages,
                posts,
                client.hlen(owed_key(team, ask_id)),
                client.hgetall(cards_key(team, ask_id)),
            )
        _check_thanks(report, people, messages, asks)
        _check_digests(report, fake, digest_channels)
        _check_queue(report, client)
    finally:
        client.close()
        await services.store.redis.aclose()
    return report


async def _asks_in_redis(services, client, teams: list[str], strays: list[str]) -> dict:
    """Every ask in Redis; `strays` gets the ask hashes without an ask (written after it was gone)."""
    found = {}
    for team in teams:
        for key in client.scan_iter(match=f"{{{team}:ask:*}}", count=1000):
            if key.endswith("}"):
                ask_id = key[len(team) + 6 : -1]
                if not client.hexists(key, "id"):
                    strays.append(f"{key}: {sorted(client.hkeys(key))}")
                    continue
                found[(team, ask_id)] = await services.store.snapshot(team, ask_id)
    return found


def _app_messages(fake) -> dict[tuple, list]:
    """The app's messages in Slack by what they are: (event type, ask, user, post id) → messages."""
    by_key: dict[tuple, list] = defaultdict(list)
    with fake._lock:
        everything = list(fake.messages.values())
    for message in everything:
        metadata = message.metadata or {}
        about = metadata.get("event_payload") or {}
        if metadata.get("event_type") in (CARD_EVENT, SUMMARY_EVENT, POST_EVENT):
            key = (metadata["event_type"], about.get("ask_id", ""), about.get("user", ""), about.get("post", ""))
            by_key[key].append(message)
    return by_key


def _check_asks_acked(report: Report, people, asks: dict, lost_before: float) -> None:
    by_token: dict[int, list] = defaultdict(list)
    for key, snapshot in asks.items():
        found = snapshot.ask and _token_of(snapshot.ask.text)
        if found:
            by_token[found].append(key)
    for token, sent in people.asks.items():
        if sent.at < lost_before:
            report.explained["asks sent before Redis was emptied"] += 1
            continue
        made = by_token.get(token, [])
        if sent.outcome == "acked":
            report.expect("an acked ask exists exactly once", len(made) == 1, f"ask #{token}: {len(made)} in Redis")
        elif sent.outcome == "refused":
            report.expect(
                "an ask refused (nothing sent) does not exist", not made, f"ask #{token} was refused but is in Redis"
            )
        else:
            report.expect("an unanswered ask exists at most once", len(made) <= 1, f"ask #{token}: {len(made)}")


def _token_of(text: str) -> int | None:
    from chaos_people import TOKEN_PATTERN

    found = TOKEN_PATTERN.search(text)
    return int(found.group(1)) if found else None


def _check_messages_once(report: Report, messages: dict, asks: dict, people, lost_before: float) -> None:
    known = {ask_id for _, ask_id in asks}
    for (event, ask_id, user, post), found in messages.items():
        if ask_id not in known:
            sent = people.by_ask_id.get(ask_id)
            first = min(getattr(m, "posted_at", 0.0) for m in found)
            # An ask sent before Redis was emptied, or one whose effects were under way as it was.
            if (sent is not None and sent.at < lost_before) or first <= lost_before + LOST_MARGIN_SECONDS:
                report.explained["messages about asks lost when Redis was emptied"] += len(found)
                continue
            report.expect("every message is about an ask Redis knows", False, f"{event} {ask_id} to {user}")
            continue
        what = {CARD_EVENT: "card", SUMMARY_EVENT: "summary"}.get(event, f"post {post}")
        report.expect("no message posted twice", len(found) == 1, f"{what} of ask {ask_id} to {user}: {len(found)}×")


def _check_ask(
    report: Report,
    snapshot,
    messages: dict,
    posts_in_slack: dict,
    fake_messages: dict,
    posts: dict,
    owed: int,
    cards_kept: dict,
) -> None:
    ask = snapshot.ask
    report.expect("nothing left owed", owed == 0, f"ask {ask.id}: {owed} effects owed")
    # The summary: exactly one, showing the ask as it stands.
    summaries = messages.get((SUMMARY_EVENT, ask.id, ask.asker, ""), [])
    report.expect(
        "the asker has exactly one summary", len(summaries) == 1, f"ask {ask.id} ({ask.status.value}): {len(summaries)}"
    )
    if summaries:
        expected = render("asker_summary.json.j2", lang=ask.language_of(ask.asker), ask=ask, offers=snapshot.offers)
        report.expect(
            "every summary shows its ask's final state",
            _same(summaries[-1], expected),
            f"ask {ask.id} ({ask.status.value}): {_difference(summaries[-1], expected)}",
        )
    # Cards: one per teammate while the ask is live; each shows the ask's final state.
    for teammate in ask.teammates:
        cards = messages.get((CARD_EVENT, ask.id, teammate, ""), [])
        if ask.status.is_live:
            report.expect(
                "every teammate of a live ask has exactly one card",
                len(cards) == 1,
                f"ask {ask.id} to {teammate}: {len(cards)} (Redis keeps {cards_kept.get(teammate)!r}; "
                f"created {ask.created_at:.1f}, summary {ask.summary_ts or 'none'})",
            )
        for card in cards[:1]:
            offer = snapshot.offers.get(teammate)
            answer = snapshot.answers.get(teammate)
            # A done ask redraws its helpers' cards (_tell.lua); another teammate's card shows the ask as it
            # was when taken, or as it is now if an update owed earlier was carried out after the done.
            looks = [(ask, card_state(ask, answer, offer, offered_late=late)) for late in (False, True)]
            if ask.status is Status.DONE and teammate not in ask.helpers:
                taken = replace(ask, status=Status.TAKEN)
                looks += [(taken, card_state(taken, answer, offer, offered_late=late)) for late in (False, True)]
            lang = ask.language_of(teammate)
            report.expect(
                "every card shows its ask's final state",
                any(_same(card, render_card(drawn, state, lang, offer)) for drawn, state in looks),
                f"ask {ask.id} ({ask.status.value}) card of {teammate}: expected {sorted({s for _, s in looks})}, "
                f"shows {_card_look(card, ask, lang, offer)}",
            )
    # Offers: the asker was told of each, and the DM shows the offer as it stands.
    for helper, offer in snapshot.offers.items():
        report.expect("the asker is told of every offer", bool(offer.notice_ts), f"ask {ask.id} offer of {helper}")
        if offer.notice_ts:
            found = fake_messages.get((offer.notice_channel, offer.notice_ts))
            report.expect(
                "every offer DM shows its offer's final state",
                found is not None and _same(found, render_offer_notice(ask, offer)),
                f"ask {ask.id} offer of {helper} ({offer.state.value})"
                + (f": {_difference(found, render_offer_notice(ask, offer))}" if found else ": not in Slack"),
            )
    # Posts: every one Redis recorded is in Slack, once; none claimed and never sent.
    for post_id, where in posts.items():
        report.expect("no post claimed and never sent", where != PENDING, f"ask {ask.id} {post_id}")
        if where == PENDING:
            continue
        channel, ts = where.split(" ", 1)
        user = _dm_user(channel)
        in_slack = [m for m in messages.get((POST_EVENT, ask.id, user, post_id), []) if m.ts == ts]
        if post_id == "summary":
            in_slack = [m for m in messages.get((SUMMARY_EVENT, ask.id, ask.asker, ""), []) if m.ts == ts]
        report.expect("every post recorded is in Slack", bool(in_slack), f"ask {ask.id} {post_id}")
    # Check-ins are counted within a taking: one reopened and taken again numbers its own (lifecycle.py).
    taking = f"{ask.taken_at:.0f}:" if ask.reopened_at else ""
    for n in range(1, ask.check_ins_sent + 1):
        report.expect(
            "every check-in counted was posted", f"post:check_in:{taking}{n}" in posts, f"ask {ask.id} check-in {n}"
        )
    for user, post in posts_in_slack.get(ask.id, []):
        report.expect("every post in Slack is recorded in Redis", post in posts, f"ask {ask.id} {post} to {user}")


ALL_CARD_STATES = ("open", "mine", "passed", "covered", "offered_late", "offered", "offer_declined", "closed", "done")


def _card_look(card, ask, lang, offer) -> str:
    """Which state a card shows, as the ask stands (else as it stood when taken): for a violation's report."""
    for drawn in (ask, replace(ask, status=Status.TAKEN), replace(ask, status=Status.OPEN)):
        for state in ALL_CARD_STATES:
            try:
                drawn_card = render_card(drawn, state, lang, offer)
            except Exception:  # noqa: BLE001 — a state this card cannot be drawn in (an offer's, without one)
                continue
            if _same(card, drawn_card):
                return f"{state} (as if {drawn.status.value})"
    return "none of them"


def _dm_user(channel: str) -> str:
    return "U" + channel[1:]


def _same(message, expected: dict) -> bool:
    return message.blocks == expected.get("blocks", []) and message.text == expected.get("text", message.text)


def _difference(message, expected: dict) -> str:
    """The first text where a message and what it should show part, so a violation says what is stale."""
    shown, wanted = _texts(message.blocks) + [message.text], _texts(expected.get("blocks", [])) + [expected.get("text")]
    for index, (has, should) in enumerate(zip(shown, wanted, strict=False)):
        if has != should:
            return f"text {index} shows {str(has)[:160]!r}, should be {str(should)[:160]!r}"
    return f"{len(shown)} texts shown, {len(wanted)} expected" if len(shown) != len(wanted) else "same texts"


def _texts(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [text for key, value in node.items() if key != "text" or not own for text in _texts(value)]
    if isinstance(node, list):
        return [text for item in node for text in _texts(item)]
    return []


def _check_thanks(report: Report, people, messages: dict, asks: dict) -> None:
    known = {ask_id for _, ask_id in asks}
    for ask_id, helper in people.thanked:
        if ask_id not in known:
            continue
        delivered = messages.get((POST_EVENT, ask_id, helper, f"post:thanks:{helper}"), [])
        report.expect(
            "every acked thank-you reached its helper once",
            len(delivered) == 1,
            f"ask {ask_id} to {helper}: {len(delivered)}",
        )


def _check_digests(report: Report, fake, channels: dict[str, str]) -> None:
    for team, channel in channels.items():
        posted = [m for m in fake.conversation(channel)]
        report.expect(
            "every digest exactly once per workspace-week", len(posted) == 1, f"{team}: {len(posted)} digests"
        )


def _held(client, stream: str) -> str:
    """Who holds a stream's pending entries, and for how long untouched: for a violation's report."""
    try:
        held = client.xpending_range(stream, GROUP, min="-", max="+", count=3)
    except RedisError:
        return ""
    return "; ".join(
        f"{e['message_id']} by {e['consumer']}, idle {e['time_since_delivered'] / 1000:.0f} s" for e in held
    )


def _check_queue(report: Report, client) -> None:
    for shard in range(EFFECT_SHARDS):
        stream = effect_stream_key(shard)
        report.expect("the effect queue is empty", client.xlen(stream) == 0, f"{stream}: {client.xlen(stream)} entries")
        for key in (stream, effect_intent_key(shard)):
            try:
                pending = client.xpending(key, GROUP)["pending"]
            except RedisError:
                pending = 0  # no group (yet): nothing pending in it
            report.expect(
                "nothing pending in the effect queue", pending == 0, f"{key}: {pending} pending {_held(client, key)}"
            )
    dead = [key for key in client.scan_iter(match="*dead*", count=1000)]
    letters = sum(client.xlen(key) for key in dead if client.type(key) == "stream")
    report.expect("dead letters 0", letters == 0, f"{letters} in {dead}")
