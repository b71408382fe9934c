"""All Redis access: named key builders, and Lua scripts where two people can race.

Every key of one ask shares the hash tag `{team:ask:id}`, so each script touches one slot and the
store runs unchanged on Redis Cluster. That includes the effects a change owes (`owed_key`), which
the script committing the change records in the same step. The effect queue's streams are a fixed
number of shards, each in a slot of its own (`effect_stream_key`), and the script adds the shard's
stream entry when the ask's owed hash was empty.

On a Cluster one script cannot reach two slots, so the store adds that entry right after the script:
a process that died between the two would leave an owed hash nobody reads. So on a Cluster the store
first adds an *intent* for the ask (`effect_intent_key`, a stream beside the shard's, in its slot),
then runs the script, then adds the entry when the script says so (as before, so effects start at
once). The effect queue looks at an intent only once it has been pending for EFFECT_RETRY_SECONDS,
when its script has run (a script follows its intent within milliseconds; only a process frozen that
long between the two would escape) or never will: it carries out whatever the ask then owes, usually
nothing. Every change's effects are thus recorded before the ack on a Cluster too, at the cost there
of one more round trip per change (the single server's changes stay one round trip, as before).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from redis.typing import EncodableT

from ..domain.asks import MAX_TEAMMATES, Answer, Ask, Person, Status
from ..domain.availability import Availability
from ..domain.insights import keep_until, yes_bucket
from ..domain.offers import Offer
from . import lua
from .client import Fields, RedisClient, members, optional_text, text, text_map, texts

log = logging.getLogger(__name__)

OFFER_ACCEPTED = {"offer_took", "offer_took_last", "suggestion_sent"}  # settle_offer outcomes of a yes to an offer
PENDING = "pending"  # a card claimed by a sender, not yet known to have reached Slack
EVENT_SEEN_SECONDS = 24 * 3600  # Slack retries an event for at most a few minutes
COACHED_SECONDS = 3600  # a suggestion is shown once per modal and submission; a modal open longer is coached afresh
# A week's digest marker only has to outlive its week, so that nobody posts that week twice.
DIGEST_MARKER_SECONDS = 14 * 24 * 3600


# --- key builders -----------------------------------------------------------------------------


def ask_key(team_id: str, ask_id: str) -> str:
    return f"{{{team_id}:ask:{ask_id}}}"


def answers_key(team_id: str, ask_id: str) -> str:
    return f"{{{team_id}:ask:{ask_id}}}:answers"


def cards_key(team_id: str, ask_id: str) -> str:
    return f"{{{team_id}:ask:{ask_id}}}:cards"


def offers_key(team_id: str, ask_id: str) -> str:
    """Hash: each teammate's offer (JSON), and beside it `<teammate> notice`, where its DM to the asker is."""
    return f"{{{team_id}:ask:{ask_id}}}:offers"


def owed_key(team_id: str, ask_id: str) -> str:
    """Hash: effects an ask's changes owe and that are not yet carried out (field → what, see _owe.lua)."""
    return f"{{{team_id}:ask:{ask_id}}}:owed"


def owed_keys_pattern() -> str:
    """Matches every ask's owed hash (for the effect queue's sweep)."""
    return "{*:ask:*}:owed"


def ask_of_owed_key(key: str) -> tuple[str, str]:
    """(team, ask) of an owed hash's key."""
    team_id, _, ask_id = key[1 : key.index("}")].partition(":ask:")
    return team_id, ask_id


def posts_key(team_id: str, ask_id: str) -> str:
    """Hash: post id → "channel ts" once a post about the ask reached Slack, PENDING while it may be on its way."""
    return f"{{{team_id}:ask:{ask_id}}}:posts"


def holder_key(team_id: str, ask_id: str) -> str:
    """Hash: the lease of whoever is carrying out the ask's owed effects (leases.py)."""
    return f"{{{team_id}:ask:{ask_id}}}:holder"


def step_key(team_id: str, ask_id: str) -> str:
    """Hash: the Workflow Builder step run that sent the ask — `execution` (its function_execution_id),
    `token` (the one it completes with, sealed where installations are), `named` (the teammates its inputs
    named, JSON), `completed` (PENDING while its completion may be on its way to Slack, then "done"), and the
    moments its timers saw come: `limit_reached` (Slack's limit on a running step), `thanks_waited`."""
    return f"{{{team_id}:ask:{ask_id}}}:step"


def step_run_key(team_id: str, execution_id: str) -> str:
    """The ask a step run sent: Slack may deliver its function_executed event more than once."""
    return f"{{{team_id}}}:step_run:{execution_id}"


STEP_EFFECT = "step"  # an owed effect: look whether the ask's step can complete (routing.py)
COMPLETED = "done"

EFFECT_SHARDS = 8  # streams every instance consumes: enough to spread a Cluster's load, few to poll


def effect_stream_key(shard: int) -> str:
    """Stream: one entry per ask with effects owed. Each shard has a hash tag, so a slot, of its own."""
    return f"{{slack-ask:effects:{shard}}}"


def effect_workers_key() -> str:
    """Sorted set: each `slack-ask worker` consuming effects → when it last said so (epoch seconds)."""
    return "{slack-ask:effects}:workers"


def effect_intent_key(shard: int) -> str:
    """Stream, in the shard's slot: on a Cluster, one entry per change about to run (module docstring)."""
    return f"{{slack-ask:effects:{shard}}}:intents"


def effect_later_key(shard: int) -> str:
    """Sorted set, in the shard's slot: entries put back until their due time (a retry's backoff, a rate-budget
    turn, an ask another process holds), each as JSON, scored by when it is due (epoch seconds)."""
    return f"{{slack-ask:effects:{shard}}}:later"


def effect_dead_key(shard: int) -> str:
    """Stream, in the shard's slot: entries whose tries or age ran out (`slack-ask effects list`)."""
    return f"{{slack-ask:effects:{shard}}}:dead"


def effect_sweep_key() -> str:
    """A lease (leases.py): which process looks for owed effects without a queue entry, once in a while."""
    return "{slack-ask:effects}:sweep"


def effect_shard(team_id: str, ask_id: str) -> int:
    return zlib.crc32(f"{team_id}:{ask_id}".encode()) % EFFECT_SHARDS


def card_index_key(team_id: str, channel: str, ts: str) -> str:
    return f"{{{team_id}}}:card:{channel}:{ts}"


def event_seen_key(team_id: str, event_id: str) -> str:
    return f"{{{team_id}}}:event:{event_id}"


def people_key(team_id: str) -> str:
    """Hash: the workspace's people directory, user id → what Slack shows every member about them (JSON)."""
    return f"{{{team_id}}}:people"


def people_building_key(team_id: str) -> str:
    """Hash: the directory a full refresh from users.list is building, which then replaces it."""
    return f"{{{team_id}}}:people:building"


def people_state_key(team_id: str) -> str:
    """Hash: when the directory was last filled in full (filled_at), and who is filling it now (holder, lease_until)."""
    return f"{{{team_id}}}:people:state"


def coached_key(team_id: str, view_id: str, fingerprint: str) -> str:
    """A modal's submission that was shown a coaching suggestion: sent again unchanged, it goes through."""
    return f"{{{team_id}}}:coached:{view_id}:{fingerprint}"


def thanked_key(team_id: str, ask_id: str, helper: str) -> str:
    return f"{{{team_id}}}:thanked:{ask_id}:{helper}"


def asked_by_key(team_id: str, user_id: str) -> str:
    """Sorted set: the asks a person made, by when."""
    return f"{{{team_id}}}:asked_by:{user_id}"


def asks_sent_key(team_id: str) -> str:
    """Sorted set: every ask a workspace keeps → when it was sent. How the backstop pass finds an ask
    no timer owns, without a walk over the keyspace."""
    return f"{{{team_id}}}:asks_sent"


def asked_of_key(team_id: str, user_id: str) -> str:
    """Sorted set: the asks sent to a person, by when."""
    return f"{{{team_id}}}:asked_of:{user_id}"


def thanks_for_key(team_id: str, user_id: str) -> str:
    """List: the latest thank-you notes a person received, newest first."""
    return f"{{{team_id}}}:thanks_for:{user_id}"


def balance_key(team_id: str, user_id: str) -> str:
    """Hash: how many asks a person made and helped finish. Never shown as a tally (no ledger): it only decides
    who sees a first-ask hint, and is in the person's own data download."""
    return f"{{{team_id}}}:balance:{user_id}"


def availability_key(team_id: str) -> str:
    """Hash: each person's availability for asks (JSON), set by them alone; absent means open."""
    return f"{{{team_id}}}:availability"


def workspace_settings_key(team_id: str) -> str:
    return f"{{{team_id}}}:settings"


def digest_sent_key(team_id: str, iso_week: str) -> str:
    return f"{{{team_id}}}:digest:{iso_week}"


def home_viewers_key(team_id: str) -> str:
    """Set: people who have opened the Home tab, whose Home is kept current as their asks change."""
    return f"{{{team_id}}}:home_viewers"


# Every workspace that has used the app; lives in no workspace's slot. Owned by forget_workspace.
TEAMS_KEY = "slack-ask:teams"

THANKS_KEPT_PER_PERSON = 20
SCAN_BATCH = 500  # keys a walk over a workspace's keys asks for, and deletes or reads, at a time
CALLS_AT_ONCE = 16  # script calls in flight for one person's many asks on a Cluster (an erasure)


def insights_key(team_id: str, iso_week: str) -> str:
    """Hash: the week's workspace-wide counters (numbers only; see insights.py). Expires KEEP_WEEKS on."""
    return f"{{{team_id}}}:insights:{iso_week}"


def settled_insights_key(team_id: str, iso_week: str) -> str:
    """Hash: the week's counters as they stood when it was first shown, after it settled, and `settled_at`
    (epoch seconds): all admins ever see of that week (see insights.py). Expires with the counters."""
    return f"{{{team_id}}}:insights_settled:{iso_week}"


def insights_chart_key(team_id: str) -> str:
    """The chart last uploaded to Slack for the insights: its figures' fingerprint and file id."""
    return f"{{{team_id}}}:insights_chart"


INSIGHTS_CHART_SECONDS = 8 * 24 * 3600  # unused for a week, it is drawn afresh
SETTLED_AT = "settled_at"  # the field of a week's insights snapshot saying when it was made (settle_week.lua)


def kudos_key(team_id: str, iso_week: str) -> str:
    """A list of the week's thank-you notes (JSON), the week in the workspace's time zone."""
    return f"{{{team_id}}}:kudos:{iso_week}"


def notes_of_key(team_id: str, user_id: str) -> str:
    """Set: the weeks under which a person wrote or received thank-you notes. How their export and
    erasure find those notes, after the asks they thank for are forgotten too; each week leaves it
    when its notes are dropped."""
    return f"{{{team_id}}}:notes_of:{user_id}"


def thanks_dms_key(team_id: str, author: str) -> str:
    """Hash: `<ask id> <helper>` → "channel ts", where the thank-you DM a person wrote reached the
    helper: kept as long as the note (its week's notes dropped, it goes), so an erasure can redraw it."""
    return f"{{{team_id}}}:thanks_dms:{author}"


def digest_posts_key(team_id: str) -> str:
    """Hash: week → "channel ts" of that week's digest post, kept as long as the week's notes, so an
    erasure can redraw it without the erased notes."""
    return f"{{{team_id}}}:digest_posts"


def suggested_in_key(team_id: str, user_id: str) -> str:
    """Sorted set: asks where a teammate suggested this person (Try someone else) → when; each goes with its ask."""
    return f"{{{team_id}}}:suggested_in:{user_id}"


def bot_identity_key(team_id: str) -> str:
    """Who the workspace's bot is (auth.test's answer and the token's digest), so a restart never needs Slack for it."""
    return f"{{{team_id}}}:bot"


@dataclass(frozen=True)
class Snapshot:
    """What a script did (`outcome`) and the ask, its answers, cards and offers as they now stand."""

    outcome: str
    ask: Ask | None = None
    answers: dict[str, Answer] = field(default_factory=dict)
    cards: dict[str, tuple[str, str]] = field(default_factory=dict)
    first_yes: bool = False  # this step gave the ask its first yes ever
    offers: dict[str, Offer] = field(default_factory=dict)


def _snapshot(
    outcome: str,
    ask: dict[str, str],
    answers: dict[str, str],
    cards: dict[str, str],
    offers: dict[str, str],
    first_yes: bool = False,
) -> Snapshot:
    """A snapshot from the ask's four hashes as Redis holds them; "missing" without the ask."""
    if not ask:
        return Snapshot("missing")
    return Snapshot(
        outcome,
        _ask_from_fields(ask),
        _answers_from_fields(answers),
        _cards_from_fields(cards),
        first_yes,
        _offers_from_fields(offers),
    )


@dataclass(frozen=True)
class HomeBasics:
    """A person's newest asks by and for them (ids) with how many there are in all, the thanks they
    received, their balance and availability, and the workspace's settings (as kept)."""

    by_ids: list[str]
    for_ids: list[str]
    total_by: int
    total_for: int
    thanks: list[dict[str, Any]]
    balance: dict[str, int]
    availability: Availability
    workspace_settings: dict[str, str]


@dataclass(frozen=True)
class HomeAsks:
    by: list[tuple[Ask, dict[str, Offer]]]  # the person's asks, with every offer on each
    sent_to: list[tuple[Ask, Answer | None, Offer | None]]  # asks sent to them, with their answer and offer
    received_this_week: int


@dataclass(frozen=True)
class CardRef:
    ask_id: str
    teammate: str


class Store:
    def __init__(self, redis: RedisClient):
        self.redis = redis
        self._clustered = isinstance(redis, RedisCluster)
        self._answer = redis.register_script(lua.source("answer"))
        self._first_sighting = redis.register_script(lua.source("first_sighting"))
        self._close = redis.register_script(lua.source("close"))
        self._owe = redis.register_script(lua.source("owe"))
        self._record_summary = redis.register_script(lua.source("record_summary"))
        self._settle = redis.register_script(lua.source("settle"))
        self._thanks = redis.register_script(lua.source("record_thanks"))
        self._claim_digest = redis.register_script(lua.source("claim_digest"))
        self._move_digest_claim = redis.register_script(lua.source("move_digest_claim"))
        self._redact_notes = redis.register_script(lua.source("redact_notes"))
        self._forget_notes = redis.register_script(lua.source("forget_notes"))
        self._redact_owed_thanks = redis.register_script(lua.source("redact_owed_thanks"))
        self._count_insights = redis.register_script(lua.source("count_insights"))
        self._count_person = redis.register_script(lua.source("count_person"))
        self._settle_week = redis.register_script(lua.source("settle_week"))
        self._offer = redis.register_script(lua.source("offer"))
        self._settle_offer = redis.register_script(lua.source("settle_offer"))
        self._redact_offer = redis.register_script(lua.source("redact_offer"))
        self._unclaim = redis.register_script(lua.source("unclaim"))
        self._people = redis.register_script(lua.source("people"))

    async def ping(self) -> bool:
        return bool(await self.redis.ping())

    # --- asks ---

    async def save_ask(self, ask: Ask) -> None:
        """Stores the ask: first the indexes that lead people to it (nothing acts on an index alone), then, on a
        Cluster, its intent, then the ask with its sending owed, in one step: an ask Redis refused before that
        step never goes out (`discard_ask` takes back what was written). (A Cluster's slots live on different
        servers, one of which may be down: written first, the ask went out while its asker was told nothing was
        sent.) Its queue entry on a Cluster comes after and may be lost: the intent carries the ask out. Its
        count (ask.week) comes last, so an ask taken back was never counted; it goes to the workspace's slot,
        just written to, and a full Redis that refuses it refuses the sending's claims alike."""
        ask.created_at = ask.created_at or time.time()
        team = ask.team_id
        async with self.redis.pipeline(transaction=True) as pipe:  # all in the workspace's slot
            pipe.zadd(asked_by_key(team, ask.asker), {ask.id: ask.created_at})
            pipe.zadd(asks_sent_key(team), {ask.id: ask.created_at})
            for teammate in ask.teammates:
                pipe.zadd(asked_of_key(team, teammate), {ask.id: ask.created_at})
            await pipe.execute()
        await self.redis.sadd(TEAMS_KEY, team)
        await self._intend(team, [ask.id])
        async with self.redis.pipeline(transaction=not self._clustered) as pipe:
            pipe.hset(ask_key(team, ask.id), mapping=_ask_fields(ask))
            pipe.hset(owed_key(team, ask.id), "route", "1")
            if not self._clustered:
                pipe.xadd(*_wake_entry(team, ask.id))
            await pipe.execute()
        if self._clustered:
            try:
                await self.redis.xadd(*_wake_entry(team, ask.id))
            except (RedisError, OSError) as error:  # saved: its intent carries it out
                log.warning(
                    "a new ask's queue entry was not added; its intent sends it",
                    extra={"ask": ask.id, "error": repr(error)},
                )
        await self._count_someone(team, ask.asker, "asked", ask.week, {"asks": 1})

    async def forget_ask(self, team_id: str, ask_id: str) -> bool:
        """Deletes an ask and everything leading to it: its ids in people's lists, its card index
        entries, its thank-you markers. Only deletions, so it works however full Redis is, and
        again after a crash part-way (the ask itself goes last). False if it was already gone."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in _ask_keys(team_id, ask_id):
                pipe.hgetall(key)
            fields, answers, cards, offers = await pipe.execute()  # the offers go with the ask's keys
        if not fields:
            await self.redis.zrem(asks_sent_key(team_id), ask_id)  # a crash part-way may have left it
            return False
        ask = _ask_from_fields(fields)
        async with self.redis.pipeline(transaction=True) as pipe:  # all in the workspace's slot
            pipe.zrem(asked_by_key(team_id, ask.asker), ask_id)
            pipe.zrem(asks_sent_key(team_id), ask_id)
            for teammate in set(ask.teammates) | set(answers):
                pipe.zrem(asked_of_key(team_id, teammate), ask_id)
            for channel, ts in _cards_from_fields(cards).values():
                pipe.delete(card_index_key(team_id, channel, ts))
            for helper in ask.helpers:
                pipe.delete(thanked_key(team_id, ask_id, helper))
            for offer in _offers_from_fields(offers).values():
                if offer.suggested:
                    pipe.zrem(suggested_in_key(team_id, offer.suggested), ask_id)
            await pipe.execute()
        await self.redis.unlink(
            *_ask_keys(team_id, ask_id),
            posts_key(team_id, ask_id),
            owed_key(team_id, ask_id),
            holder_key(team_id, ask_id),
            step_key(team_id, ask_id),
        )
        return True

    async def discard_ask(self, ask: Ask) -> None:
        """Takes back an ask whose saving failed part-way (as when Redis is out of memory)."""
        await self.forget_ask(ask.team_id, ask.id)
        async with self.redis.pipeline(transaction=True) as pipe:  # in case the ask hash itself never made it
            pipe.zrem(asked_by_key(ask.team_id, ask.asker), ask.id)
            pipe.zrem(asks_sent_key(ask.team_id), ask.id)
            for teammate in ask.teammates:
                pipe.zrem(asked_of_key(ask.team_id, teammate), ask.id)
            await pipe.execute()

    async def every_ask(self, team_id: str) -> AsyncIterator[Ask]:
        """Every ask a workspace has, by walking its keys: for a one-off upgrade step, never a poll."""
        async for keys in self._matching(f"{{{team_id}:ask:*}}"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    if key.endswith("}"):  # the ask itself, not its answers or cards
                        pipe.hgetall(key)
                found = await pipe.execute()
            for fields in found:
                if fields:
                    yield _ask_from_fields(fields)

    async def asks_sent_before(self, team_id: str, before: float, skip: int, limit: int) -> list[str]:
        """Up to `limit` of the workspace's asks sent before `before` (epoch seconds), oldest first,
        after the first `skip`."""
        return members(
            await self.redis.zrangebyscore(asks_sent_key(team_id), "-inf", f"({before}", start=skip, num=limit)
        )

    async def keeps_asks(self, team_id: str) -> bool:
        return bool(await self.redis.exists(asks_sent_key(team_id)))

    async def index_asks_sent(self, asks: list[Ask]) -> None:
        """Puts asks sent before the workspace's index existed in it."""
        for start in range(0, len(asks), SCAN_BATCH):
            batch = asks[start : start + SCAN_BATCH]
            await self.redis.zadd(asks_sent_key(batch[0].team_id), {ask.id: ask.created_at for ask in batch})

    async def workspace_setting(self, team_id: str, name: str) -> str | None:
        return optional_text(await self.redis.hget(workspace_settings_key(team_id), name))

    async def _matching(self, pattern: str) -> AsyncIterator[list[str]]:
        """The keys matching `pattern`, SCAN_BATCH at a time: one call per batch, not one per key."""
        batch = []
        async for key in self.redis.scan_iter(match=pattern, count=SCAN_BATCH):
            batch.append(key)
            if len(batch) == SCAN_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def load_asks(self, team_id: str, ask_ids: list[str]) -> list[Ask]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in ask_ids:
                pipe.hgetall(ask_key(team_id, ask_id))
            found = await pipe.execute()
        return [_ask_from_fields(fields) for fields in found if fields]

    async def home_basics(self, team_id: str, user_id: str, asks_shown: int, thanks_shown: int) -> HomeBasics:
        """What a person's Home tab starts from, in one round trip (all in the workspace's slot)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrevrange(asked_by_key(team_id, user_id), 0, asks_shown - 1)
            pipe.zrevrange(asked_of_key(team_id, user_id), 0, asks_shown - 1)
            pipe.zcard(asked_by_key(team_id, user_id))
            pipe.zcard(asked_of_key(team_id, user_id))
            pipe.lrange(thanks_for_key(team_id, user_id), 0, thanks_shown - 1)
            pipe.hgetall(balance_key(team_id, user_id))
            pipe.hget(availability_key(team_id), user_id)
            pipe.hgetall(workspace_settings_key(team_id))
            by_ids, for_ids, total_by, total_for, thanks, balance, availability, settings = await pipe.execute()
        return HomeBasics(
            by_ids,
            for_ids,
            total_by,
            total_for,
            [json.loads(raw) for raw in thanks],
            _balance(balance),
            Availability.from_json(availability),
            settings,
        )

    async def home_asks(
        self, team_id: str, user_id: str, by_ids: list[str], for_ids: list[str], week: tuple[float, float]
    ) -> HomeAsks:
        """The asks a person made with every offer on each, the asks sent to them with their own answer
        and offer, and how many asks reached them within `week` (epoch seconds): one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in by_ids:
                pipe.hgetall(ask_key(team_id, ask_id))
                pipe.hgetall(offers_key(team_id, ask_id))
            for ask_id in for_ids:
                pipe.hgetall(ask_key(team_id, ask_id))
                pipe.hget(answers_key(team_id, ask_id), user_id)
                pipe.hmget(offers_key(team_id, ask_id), [user_id, f"{user_id} notice"])
            pipe.zcount(asked_of_key(team_id, user_id), week[0], f"({week[1]}")
            *found, received = await pipe.execute()
        by, rest = found[: 2 * len(by_ids)], found[2 * len(by_ids) :]
        return HomeAsks(
            by=[
                (_ask_from_fields(fields), _offers_from_fields(offers))
                for fields, offers in zip(by[::2], by[1::2], strict=False)
                if fields
            ],
            sent_to=[
                (_ask_from_fields(fields), _answer(answer), _offer(user_id, *offer))
                for fields, answer, offer in zip(rest[::3], rest[1::3], rest[2::3], strict=False)
                if fields
            ],
            received_this_week=received,
        )

    async def count_done(self, ask: Ask, this_week: str) -> None:
        """An ask marked done: its helpers' private balances, and the workspace's figures — the
        hours of help under the week it was sent, the helpers under this week."""
        team = ask.team_id
        counts = [self._count_someone(team, helper, "helped", this_week) for helper in ask.helpers]
        if ask.week:
            counts.append(
                self._count_week(team, ask.week, {"done": 1, "help_minutes": ask.estimate_minutes * len(ask.helpers)})
            )
        await asyncio.gather(*counts)  # each its own step; none waits on another

    # --- the workspace's weekly figures (insights.py says what each counter means) ---
    #
    # An ask's keys ({T:ask:id}) and the workspace's counters ({T}) sit in different hash slots, so on
    # a Redis Cluster no one script can hold both: a change to an ask is counted right after its own
    # script, from what only that script's first run reports (first_yes, an ending), so a repeat never
    # counts twice. Thanks and sending touch only {T} keys and count inside their own step.

    async def _count_week(self, team_id: str, week: str, amounts: dict[str, int]) -> None:
        flat = [part for field_amount in amounts.items() for part in field_amount]
        await self._count_insights(keys=[insights_key(team_id, week)], args=[keep_until(week), *flat])

    async def _count_someone(
        self, team_id: str, user_id: str, role: str, week: str, amounts: dict[str, int] | None = None
    ) -> None:
        if not week:  # an ask from before the counters: only the private balance counts it
            await self.redis.hincrby(balance_key(team_id, user_id), role, 1)
            return
        flat = [part for field_amount in (amounts or {}).items() for part in field_amount]
        await self._count_person(
            keys=[balance_key(team_id, user_id), insights_key(team_id, week)],
            args=[role, week, keep_until(week), *flat],
        )

    async def insight_counts(self, team_id: str, weeks: list[str]) -> list[dict[str, str]]:
        """Each week's counters as they are now, in one round trip: what is counted, not what is shown."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for week in weeks:
                pipe.hgetall(insights_key(team_id, week))
            return await pipe.execute()

    async def settled_insight_counts(self, team_id: str, weeks: list[str], now: float) -> list[dict[str, str]]:
        """The counters of weeks that have settled, as admins see them (every_settled_insight_count)."""
        return (await self.every_settled_insight_count({team_id: weeks}, now))[team_id]

    async def every_settled_insight_count(
        self, weeks: dict[str, list[str]], now: float
    ) -> dict[str, list[dict[str, str]]]:
        """Each workspace's settled weeks as they stood when each was first shown: its snapshot, made now
        (atomically, once) for a week shown for the first time. One round trip; one more the first time."""
        wanted = [(team_id, week) for team_id, names in weeks.items() for week in names]
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id, week in wanted:
                pipe.hgetall(settled_insights_key(team_id, week))
            found = await pipe.execute()
        unsettled = [index for index, snapshot in enumerate(found) if SETTLED_AT not in snapshot]
        calls = [
            (
                [insights_key(*wanted[index]), settled_insights_key(*wanted[index])],
                [int(now), keep_until(wanted[index][1])],
            )
            for index in unsettled
        ]
        for index, flat in zip(unsettled, await self._each_slot(self._settle_week, calls), strict=True):
            found[index] = dict(zip(flat[::2], flat[1::2], strict=True))
        counters = iter(
            [{field: value for field, value in snapshot.items() if field != SETTLED_AT} for snapshot in found]
        )
        return {team_id: [next(counters) for _ in names] for team_id, names in weeks.items()}

    async def insights_chart(self, team_id: str) -> tuple[str, str] | None:
        raw = optional_text(await self.redis.get(insights_chart_key(team_id)))
        fingerprint, _, file_id = (raw or "").partition(" ")
        return (fingerprint, file_id) if raw else None

    async def swap_insights_chart(self, team_id: str, fingerprint: str, file_id: str) -> str | None:
        """Keeps the new chart; returns the file id it replaced, whose Slack file can go."""
        old = await self.redis.set(
            insights_chart_key(team_id), f"{fingerprint} {file_id}", ex=INSIGHTS_CHART_SECONDS, get=True
        )
        # SET with GET answers the old value (None where there was none), not the True of a plain SET.
        return text(old).split(" ", 1)[1] if isinstance(old, (str, bytes)) and old else None

    async def balance(self, team_id: str, user_id: str) -> dict[str, int]:
        return _balance(text_map(await self.redis.hgetall(balance_key(team_id, user_id))))

    async def thanks_received(self, team_id: str, user_id: str, limit: int) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(thanks_for_key(team_id, user_id), 0, limit - 1)]

    async def teams(self) -> list[str]:
        return sorted(texts(await self.redis.smembers(TEAMS_KEY)))

    # --- the Home tab ---

    async def note_home_viewer(self, team_id: str, user_id: str) -> None:
        await self.redis.sadd(home_viewers_key(team_id), user_id)

    async def home_viewers(self, team_id: str) -> set[str]:
        return set(texts(await self.redis.smembers(home_viewers_key(team_id))))

    async def forget_workspace(self, team_id: str) -> int:
        """Deletes everything kept for a workspace (it uninstalled the app); returns how many keys.
        The due indexes' entries are the scheduler's and the digests' to forget."""
        deleted = 0
        for pattern in (f"{{{team_id}}}:*", f"{{{team_id}:*"):  # {T}:… and {T:ask:…}, {T:jobs}…
            async for keys in self._matching(pattern):
                deleted += await self.redis.unlink(*keys)  # on a Cluster, redis-py splits it by slot
        await self.redis.srem(TEAMS_KEY, team_id)
        return deleted

    # --- workspace settings and the weekly digest ---

    async def workspace_settings(self, team_id: str) -> dict[str, str]:
        return text_map(await self.redis.hgetall(workspace_settings_key(team_id)))

    async def every_workspace_settings(self, team_ids: list[str]) -> list[dict[str, str]]:
        """Each of these workspaces' settings, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for team_id in team_ids:
                pipe.hgetall(workspace_settings_key(team_id))
            return await pipe.execute()

    async def save_workspace_setting(self, team_id: str, name: str, value: str) -> None:
        await self.redis.hset(workspace_settings_key(team_id), name, value)

    async def claim_digest(self, team_id: str, iso_week: str, now: float, lease_seconds: float) -> float | None:
        """The claim's lease_until if this poster now holds the week's digest, else None."""
        until = repr(now + lease_seconds)
        claimed = await self._claim_digest(
            keys=[digest_sent_key(team_id, iso_week)], args=[now, until, DIGEST_MARKER_SECONDS]
        )
        return float(until) if claimed else None

    async def move_digest_claim(self, team_id: str, iso_week: str, claimed_until: float, until: float) -> bool:
        """Whether the claim that lasted until `claimed_until` was still this poster's, and now lasts until `until`."""
        moved = await self._move_digest_claim(
            keys=[digest_sent_key(team_id, iso_week)], args=[repr(claimed_until), repr(until)]
        )
        return bool(moved)

    async def digest_was_sent(self, team_id: str, iso_week: str) -> bool:
        return await self.redis.hget(digest_sent_key(team_id, iso_week), "state") == "sent"

    async def digest_sent(self, team_id: str, iso_week: str, now: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(digest_sent_key(team_id, iso_week), mapping={"state": "sent", "sent_at": now})
            pipe.expire(digest_sent_key(team_id, iso_week), DIGEST_MARKER_SECONDS)
            await pipe.execute()

    async def load_ask(self, team_id: str, ask_id: str) -> Ask | None:
        fields = text_map(await self.redis.hgetall(ask_key(team_id, ask_id)))
        return _ask_from_fields(fields) if fields else None

    async def answer(self, team_id: str, ask_id: str, user: str, verb: str) -> Snapshot:
        """verb: accept, decline, withdraw_accept or withdraw_decline.

        Outcomes: took, took_last, already_covered, closed, declined, all_declined, withdrew,
        reopened, undeclined, unchanged, missing.
        """
        now = time.time()
        raw = await self._change(self._answer, team_id, ask_id, [user, verb, now])
        snapshot = await self._committed(team_id, ask_id, raw)
        await self._count_first_yes(team_id, snapshot, now)
        return snapshot

    async def _count_first_yes(self, team_id: str, snapshot: Snapshot, now: float, **also: int) -> None:
        """An ask's first yes (and whatever else this answer counts), in one step after the answer's."""
        amounts = {name: amount for name, amount in also.items() if amount}
        if snapshot.first_yes and snapshot.ask:
            amounts.update({"found_help": 1, yes_bucket(now - snapshot.ask.created_at): 1})
        if amounts and snapshot.ask and snapshot.ask.week:
            await self._count_week(team_id, snapshot.ask.week, amounts)

    async def snapshot(self, team_id: str, ask_id: str) -> Snapshot:
        """The ask, its answers and its cards as they stand, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in _ask_keys(team_id, ask_id):
                pipe.hgetall(key)
            return _snapshot("current", *await pipe.execute())

    async def answers_of(self, team_id: str, ask_ids: list[str], user: str) -> list[Answer | None]:
        """One person's answer to each of these asks, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in ask_ids:
                pipe.hget(answers_key(team_id, ask_id), user)
            values = await pipe.execute()
        return [_answer(value) for value in values]

    async def offers_of(self, team_id: str, ask_ids: list[str], user: str) -> list[Offer | None]:
        """One person's offer on each of these asks, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in ask_ids:
                pipe.hmget(offers_key(team_id, ask_id), [user, f"{user} notice"])
            found = await pipe.execute()
        return [_offer(user, raw, notice) for raw, notice in found]

    async def offers_on(self, team_id: str, ask_ids: list[str]) -> list[dict[str, Offer]]:
        """Every offer on each of these asks (for their asker), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in ask_ids:
                pipe.hgetall(offers_key(team_id, ask_id))
            return [_offers_from_fields(fields) for fields in await pipe.execute()]

    # --- offers: answers between yes and no ---

    async def offer(self, team_id: str, ask_id: str, offer: Offer) -> Snapshot:
        """Outcomes: offered, already_covered, closed, unchanged (one already waits, or they took it),
        not_teammate, missing."""
        args = (offer.helper, offer.to_json(), time.time())
        snapshot = await self._committed(team_id, ask_id, await self._change(self._offer, team_id, ask_id, args))
        if snapshot.outcome == "offered" and offer.suggested:
            await self.note_suggested(team_id, ask_id, offer.suggested, time.time())
        if snapshot.outcome == "offered" and snapshot.ask and snapshot.ask.week:
            await self._count_week(team_id, snapshot.ask.week, {"offers_made": 1})
        return snapshot

    async def settle_offer(
        self,
        team_id: str,
        ask_id: str,
        user: str,
        verb: str,
        helper: str,
        refusal: str = "",
        if_already_asked: str = "",
        if_full: str = "",
        suggested_language: str = "",
    ) -> Snapshot:
        """The asker's answer (verb: accept or decline) to `helper`'s offer. For a suggestion: why that
        person can't be asked (""), what to say if the script finds them already asked, or the ask full, and
        the language they read, for their card.

        Outcomes: offer_took, offer_took_last, offer_declined, offer_lapsed, suggestion_sent,
        suggestion_refused, not_asker, unchanged (no waiting offer), missing."""
        now = time.time()
        args = (user, verb, helper, now, refusal, MAX_TEAMMATES, if_already_asked, if_full, suggested_language)
        snapshot = await self._committed(team_id, ask_id, await self._change(self._settle_offer, team_id, ask_id, args))
        await self._count_first_yes(team_id, snapshot, now, offers_accepted=int(snapshot.outcome in OFFER_ACCEPTED))
        return snapshot

    async def record_offer_notice(self, team_id: str, ask_id: str, helper: str, channel: str, ts: str) -> None:
        await self.redis.hset(offers_key(team_id, ask_id), f"{helper} notice", f"{channel} {ts}")

    async def note_asked(self, team_id: str, ask_id: str, teammate: str, at: float) -> None:
        """Files an ask under a teammate added after it was sent (a suggestion the asker took up)."""
        await self.redis.zadd(asked_of_key(team_id, teammate), {ask_id: at})

    # --- availability: a standing "not right now" ---

    async def availabilities(self, team_id: str, user_ids: list[str]) -> dict[str, Availability]:
        found = await self.redis.hmget(availability_key(team_id), user_ids) if user_ids else []
        return {uid: Availability.from_json(optional_text(raw)) for uid, raw in zip(user_ids, found, strict=False)}

    async def set_availability(self, team_id: str, user_id: str, availability: Availability) -> None:
        await self.redis.hset(availability_key(team_id), user_id, availability.to_json())

    async def cards_received(self, team_id: str, spans: dict[str, tuple[float, float]]) -> dict[str, int]:
        """How many asks reached each person within their span of epoch seconds, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for user_id, (start, end) in spans.items():
                pipe.zcount(asked_of_key(team_id, user_id), start, f"({end}")
            return dict(zip(spans, await pipe.execute(), strict=False))

    async def close(self, team_id: str, ask_id: str, ending: str, user: str = "") -> Snapshot:
        """ending: cancelled (asker only), done (asker or a helper), expired (only while open),
        closed_quietly (only while taken).

        Outcomes: the ending itself, unchanged, not_asker, not_allowed, missing.
        """
        raw = await self._change(self._close, team_id, ask_id, [ending, user, time.time()])
        return await self._committed(team_id, ask_id, raw)

    # --- effects a change owes ---

    async def _change(self, script: AsyncScript, team_id: str, ask_id: str, args: Sequence[EncodableT]) -> str:
        """Runs a script that commits a change to an ask and records what it owes, its intent first."""
        await self._intend(team_id, [ask_id])
        return text(await script(keys=self._change_keys(team_id, ask_id), args=args))

    async def _intend(self, team_id: str, ask_ids: list[str]) -> None:
        """On a Cluster only: the intents of changes about to run, before them (see the module docstring)."""
        if not self._clustered:
            return
        async with self.redis.pipeline(transaction=False) as pipe:  # one stream per shard, each in its slot
            for ask_id in ask_ids:
                pipe.xadd(*_intent_entry(team_id, ask_id))
            await pipe.execute()

    def _change_keys(self, team_id: str, ask_id: str) -> list[str]:
        keys = [*_ask_keys(team_id, ask_id), owed_key(team_id, ask_id)]
        return keys if self._clustered else [*keys, effect_stream_key(effect_shard(team_id, ask_id))]

    async def _committed(self, team_id: str, ask_id: str, raw: str) -> Snapshot:
        """A state change's script answered with the ask as it now stands (see _snapshot.lua)."""
        data = json.loads(raw)
        await self._wake(team_id, ask_id, data)
        if data["outcome"] == "missing":
            return Snapshot("missing")
        answers, cards, offers = (_lua_map(data[name]) for name in ("answers", "cards", "offers"))
        return _snapshot(data["outcome"], data["ask"], answers, cards, offers, first_yes=bool(data.get("first_yes")))

    async def _wake(self, team_id: str, ask_id: str, result: dict[str, Any]) -> None:
        if result.get("wake"):  # only on a Cluster: the script could not reach the stream's slot
            await self.redis.xadd(*_wake_entry(team_id, ask_id))

    async def owe(
        self,
        team_id: str,
        ask_id: str,
        *,
        posts: dict[str, dict[str, Any]],
        counting: str = "",
        stamp: dict[str, Any] | None = None,
    ) -> int:
        """Owes posts about an ask (post id → what to post; '#' in an id becomes the new value of the
        ask's `counting` field, incremented in the same step; `stamp`: fields of the ask set in that step
        too). Returns the counted value (0 without one)."""
        wanted = {"posts": posts, "count": counting, "stamp": stamp or {}}
        raw = await self._change(self._owe, team_id, ask_id, [json.dumps(wanted)])
        result = json.loads(raw)
        await self._wake(team_id, ask_id, result)
        return int(result["count"])

    async def owe_redraws(self, team_id: str, messages: dict[str, list[str]]) -> None:
        """Owes redraws of these asks' messages (ask id → its "card:<user>", "summary"…), in one round
        trip on a single server."""
        this_time = secrets.token_hex(6)  # a value of its own, so a redraw owed meanwhile is not settled by this one
        calls = [
            (self._change_keys(team_id, ask_id), [json.dumps({"owe": {message: this_time for message in owed}})])
            for ask_id, owed in messages.items()
        ]
        await self._intend(team_id, list(messages))
        for ask_id, raw in zip(messages, await self._each_slot(self._owe, calls), strict=False):
            await self._wake(team_id, ask_id, json.loads(raw))

    async def owed(self, team_id: str, ask_id: str) -> tuple[dict[str, str], Snapshot]:
        """What an ask is owed, and the ask as it stands, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(owed_key(team_id, ask_id))
            for key in _ask_keys(team_id, ask_id):
                pipe.hgetall(key)
            owed, *ask = await pipe.execute()
        return owed, _snapshot("current", *ask)

    async def settle(self, team_id: str, ask_id: str, done: dict[str, str]) -> int:
        """Forgets effects carried out (unless owed again since); returns how many are still owed."""
        args = [item for field_value in done.items() for item in field_value]
        return int(await self._settle(keys=[owed_key(team_id, ask_id)], args=args))

    async def claim_post(self, team_id: str, ask_id: str, post_id: str) -> str | None:
        """None for the one sender who may post this; else what an earlier sender left: PENDING (it may
        or may not have reached Slack) or "channel ts"."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hsetnx(posts_key(team_id, ask_id), post_id, PENDING)
            pipe.hget(posts_key(team_id, ask_id), post_id)
            claimed, value = await pipe.execute()
        return None if claimed else value

    async def posts_of(self, team_id: str, ask_id: str) -> dict[str, str]:
        """Post id → "channel ts" (or PENDING) of every post about the ask."""
        return text_map(await self.redis.hgetall(posts_key(team_id, ask_id)))

    async def unclaim_post(self, team_id: str, ask_id: str, post_id: str) -> None:
        """A pending claim taken back: nothing went out (unclaim.lua)."""
        await self._unclaim(keys=[posts_key(team_id, ask_id)], args=[post_id, PENDING])

    async def unclaim_card(self, team_id: str, ask_id: str, teammate: str) -> None:
        await self._unclaim(keys=[cards_key(team_id, ask_id)], args=[teammate, PENDING])

    async def record_post(self, team_id: str, ask_id: str, post_id: str, channel: str, ts: str) -> None:
        await self.redis.hset(posts_key(team_id, ask_id), post_id, f"{channel} {ts}")

    # --- Workflow Builder steps: the run that sent an ask, completed once the ask ends ---

    async def claim_step_run(self, team_id: str, execution_id: str, ask_id: str) -> str:
        """The ask this step run sends: `ask_id` for its first delivery, the first one's for a repeat."""
        async with self.redis.pipeline(transaction=False) as pipe:  # one slot
            pipe.set(step_run_key(team_id, execution_id), ask_id, nx=True, ex=EVENT_SEEN_SECONDS)
            pipe.get(step_run_key(team_id, execution_id))
            _, owner = await pipe.execute()
        return owner or ask_id

    async def record_step(self, team_id: str, ask_id: str, execution_id: str, token: str, named: list[str]) -> None:
        await self.redis.hset(
            step_key(team_id, ask_id), mapping={"execution": execution_id, "token": token, "named": json.dumps(named)}
        )

    async def step(self, team_id: str, ask_id: str) -> dict[str, str]:
        """The step run's record (see step_key); empty for an ask no workflow sent."""
        return text_map(await self.redis.hgetall(step_key(team_id, ask_id)))

    async def claim_step_completion(self, team_id: str, ask_id: str) -> str | None:
        """None for the one completer who may tell Slack; else what an earlier one left (PENDING: it may have)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hsetnx(step_key(team_id, ask_id), "completed", PENDING)
            pipe.hget(step_key(team_id, ask_id), "completed")
            claimed, value = await pipe.execute()
        return None if claimed else value

    async def record_step_completed(self, team_id: str, ask_id: str) -> None:
        await self.redis.hset(step_key(team_id, ask_id), "completed", COMPLETED)

    async def owe_step_completion(self, team_id: str, ask_id: str, moment: str = "") -> None:
        """Owes the ask's step a look: a change outside the ask's scripts (a thank-you, a timer) may let it
        complete. `moment`: a timer's moment that has come (`limit_reached`, `thanks_waited`), noted first."""
        if moment:
            await self.redis.hset(step_key(team_id, ask_id), moment, "1")
        await self.owe_redraws(team_id, {ask_id: [STEP_EFFECT]})

    async def snooze_check_in(self, team_id: str, ask_id: str) -> bool:
        """True the first time only: a check-in can be put off once."""
        return bool(await self.redis.hsetnx(ask_key(team_id, ask_id), "check_in_snoozed", "1"))

    # --- thanks ---

    async def record_thanks(self, team_id: str, iso_week: str, kudos: dict[str, Any], ask: Ask | None = None) -> bool:
        """Files a thank-you note; False if this helper was already thanked for this ask. The ask's
        first thank-you counts in the workspace's figures, under the week the ask was sent in."""
        week = ask.week if ask else ""
        others = (
            [thanked_key(team_id, ask.id, helper) for helper in ask.helpers if helper != kudos["helper"]] if ask else []
        )
        keys = [
            thanked_key(team_id, kudos["ask_id"], kudos["helper"]),
            kudos_key(team_id, iso_week),
            thanks_for_key(team_id, kudos["helper"]),
            insights_key(team_id, week),
            notes_of_key(team_id, kudos["asker"]),
            notes_of_key(team_id, kudos["helper"]),
            *others,
        ]
        args = (json.dumps(kudos), THANKS_KEPT_PER_PERSON, keep_until(week) if week else "", iso_week)
        return bool(await self._thanks(keys=keys, args=args))

    async def forget_kudos(self, team_id: str, iso_week: str) -> int:
        """Drops a week's thank-you notes, their copies in the helpers' Home tab lists (found by ask and
        helper, whatever an erasure rewrote), the week in each person's index, where their DMs and the
        week's digest post are: in one step, all in the workspace's slot."""
        records = [json.loads(raw) for raw in await self.redis.lrange(kudos_key(team_id, iso_week), 0, -1)]
        helpers = sorted({record.get("helper") for record in records} - {None})
        people = sorted({*helpers, *(record.get("asker") for record in records)} - {None})
        keys = [
            kudos_key(team_id, iso_week),
            digest_posts_key(team_id),
            *(thanks_for_key(team_id, helper) for helper in helpers),
            *(notes_of_key(team_id, person) for person in people),
            *(thanks_dms_key(team_id, person) for person in people),
        ]
        return int(await self._forget_notes(keys=keys, args=[iso_week, len(helpers), len(people)]))

    async def was_thanked(self, team_id: str, ask_id: str, helper: str) -> bool:
        return bool(await self.redis.exists(thanked_key(team_id, ask_id, helper)))

    async def kudos(self, team_id: str, iso_week: str) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in await self.redis.lrange(kudos_key(team_id, iso_week), 0, -1)]

    # --- cards: the DMs that carry an ask ---

    async def record_card(self, team_id: str, ask_id: str, teammate: str, channel: str, ts: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(cards_key(team_id, ask_id), teammate, f"{channel} {ts}")
            pipe.set(card_index_key(team_id, channel, ts), f"{ask_id} {teammate}")
            await pipe.execute()

    async def claim_card(self, team_id: str, ask_id: str, teammate: str) -> bool:
        """True for the one sender who may post this teammate's card; marks it pending until recorded."""
        return bool(await self.redis.hsetnx(cards_key(team_id, ask_id), teammate, PENDING))

    async def pending_cards(self, team_id: str, ask_id: str) -> set[str]:
        raw = text_map(await self.redis.hgetall(cards_key(team_id, ask_id)))
        return {teammate for teammate, value in raw.items() if value == PENDING}

    async def record_summary(self, team_id: str, ask_id: str, channel: str, ts: str, post_id: str) -> None:
        """Where the summary is, on the ask and as its post (`post_id`) settled, in one step."""
        await self._record_summary(
            keys=[ask_key(team_id, ask_id), posts_key(team_id, ask_id)], args=[channel, ts, post_id]
        )

    async def first_sighting_and_card(
        self, team_id: str, event_id: str, channel: str, ts: str
    ) -> tuple[bool, CardRef | None]:
        """Marks an event seen and finds the card it reacts to, in one round trip (on the ack path)."""
        first, ref = await self._first_sighting(
            keys=[event_seen_key(team_id, event_id), card_index_key(team_id, channel, ts)], args=[EVENT_SEEN_SECONDS]
        )
        card = CardRef(*ref.split(" ", 1)) if ref else None
        return bool(first), card

    async def forget_event(self, team_id: str, event_id: str) -> None:
        """Lets Slack's retry of an event we failed to process be processed."""
        await self.redis.delete(event_seen_key(team_id, event_id))

    # --- coaching ---

    async def first_coaching(self, team_id: str, view_id: str, fingerprint: str) -> bool:
        """True the first time this submission of this modal is coached; False once it is sent again unchanged."""
        return bool(await self.redis.set(coached_key(team_id, view_id, fingerprint), "1", nx=True, ex=COACHED_SECONDS))

    # --- a person's own data: what they can take away, or erase ---

    async def all_ask_ids(self, team_id: str, user_id: str) -> tuple[list[str], list[str]]:
        """Every ask a person made, and every ask sent to them, oldest first."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zrange(asked_by_key(team_id, user_id), 0, -1)
            pipe.zrange(asked_of_key(team_id, user_id), 0, -1)
            by, of = await pipe.execute()
        return by, of

    async def notes_of(self, team_id: str, user_id: str) -> list[dict[str, Any]]:
        """Every thank-you note a person wrote or received, from the weeks their index names: two round
        trips however large the workspace."""
        weeks = sorted(texts(await self.redis.smembers(notes_of_key(team_id, user_id))))
        async with self.redis.pipeline(transaction=False) as pipe:
            for week in weeks:
                pipe.lrange(kudos_key(team_id, week), 0, -1)
            found = await pipe.execute()
        records = [{**json.loads(raw), "week": week} for week, raws in zip(weeks, found, strict=True) for raw in raws]
        return [record for record in records if user_id in (record.get("asker"), record.get("helper"))]

    async def index_notes(self, team_id: str) -> None:
        """Puts notes filed before the per-person index existed in it: a walk over the workspace's
        weekly lists, the one time (an upgrade step)."""
        async for keys in self._matching(kudos_key(team_id, "*")):
            for key in keys:
                week = key.rsplit(":", 1)[1]
                records = [json.loads(raw) for raw in await self.redis.lrange(key, 0, -1)]
                async with self.redis.pipeline(transaction=False) as pipe:
                    for person in {record.get(role) for record in records for role in ("asker", "helper")} - {None}:
                        pipe.sadd(notes_of_key(team_id, person), week)
                    await pipe.execute()

    async def bot_identity(self, team_id: str) -> dict[str, str]:
        return text_map(await self.redis.hgetall(bot_identity_key(team_id)))

    async def remember_bot_identity(self, team_id: str, identity: dict[str, str]) -> None:
        fields: Fields = dict(identity.items())  # the same, typed as redis-py takes a mapping
        await self.redis.hset(bot_identity_key(team_id), mapping=fields)

    async def directory_record(self, team_id: str, user_id: str) -> dict[str, Any] | None:
        raw = await self.redis.hget(people_key(team_id), user_id)
        return json.loads(raw) if raw else None

    async def is_home_viewer(self, team_id: str, user_id: str) -> bool:
        return bool(await self.redis.sismember(home_viewers_key(team_id), user_id))

    async def redact_asks(self, team_id: str, ask_ids: list[str], placeholder: str) -> None:
        """The asker's own words in these asks — each one's line and scope — replaced, in one round
        trip; their facts stay."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for ask_id in ask_ids:
                pipe.hset(ask_key(team_id, ask_id), mapping={"text": placeholder, "scope": placeholder})
            await pipe.execute()

    async def redact_notes(self, team_id: str, author: str, placeholder: str) -> list[dict[str, Any]]:
        """The author's thank-you notes replaced wherever they are kept: the weeks their index names (the
        digest's lists) and the thanks lists of the helpers they thanked (their Home tabs), in one step
        (all in the workspace's slot), asks long forgotten included. Returns the notes as they were."""
        notes = [note for note in await self.notes_of(team_id, author) if note["asker"] == author]
        weeks = sorted({note["week"] for note in notes})
        helpers = sorted({note["helper"] for note in notes})
        lists = [*(kudos_key(team_id, week) for week in weeks), *(thanks_for_key(team_id, h) for h in helpers)]
        if lists:
            await self._redact_notes(keys=lists, args=[author, placeholder])
        return notes

    async def redact_owed_thanks(self, team_id: str, ask_ids: list[str], placeholder: str) -> None:
        """Thank-yous still waiting to be delivered for these asks carry the placeholder instead of the note."""
        await self._each_slot(
            self._redact_owed_thanks, [([owed_key(team_id, ask_id)], [placeholder]) for ask_id in ask_ids]
        )

    async def record_thanks_dm(
        self, team_id: str, author: str, ask_id: str, helper: str, channel: str, ts: str
    ) -> None:
        await self.redis.hset(thanks_dms_key(team_id, author), f"{ask_id} {helper}", f"{channel} {ts}")

    async def thanks_dms(self, team_id: str, author: str) -> dict[tuple[str, str], tuple[str, str]]:
        """(ask id, helper) → (channel, ts) of each thank-you DM the author's words reached."""
        found = text_map(await self.redis.hgetall(thanks_dms_key(team_id, author)))
        return {split_pair(key): split_pair(value) for key, value in found.items()}

    async def record_digest_post(self, team_id: str, week: str, channel: str, ts: str) -> None:
        """Where a week's digest went, while its notes are kept (an unshared week has none to keep)."""
        if await self.redis.exists(kudos_key(team_id, week)):
            await self.redis.hset(digest_posts_key(team_id), week, f"{channel} {ts}")

    async def digest_posts(self, team_id: str, weeks: list[str]) -> dict[str, tuple[str, str]]:
        found = await self.redis.hmget(digest_posts_key(team_id), weeks) if weeks else []
        return {week: split_pair(text(value)) for week, value in zip(weeks, found, strict=True) if value}

    async def note_suggested(self, team_id: str, ask_id: str, suggested: str, at: float) -> None:
        await self.redis.zadd(suggested_in_key(team_id, suggested), {ask_id: at})

    async def suggested_in(self, team_id: str, user_id: str) -> list[str]:
        return members(await self.redis.zrange(suggested_in_key(team_id, user_id), 0, -1))

    async def redact_offer_notes(self, team_id: str, ask_ids: list[str], helper: str, placeholder: str) -> list[str]:
        """The helper's own lines on their offers replaced; returns the asks whose offer had one."""
        had_line = await self._each_slot(
            self._redact_offer, [([offers_key(team_id, ask_id)], [helper, placeholder]) for ask_id in ask_ids]
        )
        return [ask_id for ask_id, had in zip(ask_ids, had_line, strict=False) if had]

    async def _each_slot(
        self, script: AsyncScript, calls: Sequence[tuple[list[str], Sequence[EncodableT]]]
    ) -> list[Any]:
        """One script run on many slots' keys (keys, args): in one pipeline on a single server; on a
        Cluster, whose pipelines run no scripts, CALLS_AT_ONCE at a time."""
        redis = self.redis
        if isinstance(redis, RedisCluster):  # as self._clustered
            room = asyncio.Semaphore(CALLS_AT_ONCE)  # the connection pool is everyone else's too

            async def one(keys: list[str], args: Sequence[EncodableT]) -> Any:
                async with room:
                    return await script(keys=keys, args=args)

            return await asyncio.gather(*(one(keys, args) for keys, args in calls))
        async with redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                await script(keys=keys, args=args, client=pipe)
            return await pipe.execute()

    # --- the people directory ---

    async def directory(self, team_id: str, user_ids: list[str]) -> tuple[dict[str, Person], float | None]:
        """Those of these people the directory knows with their language, and when it was last filled in
        full (None: never), in one round trip (all in the workspace's slot)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(people_key(team_id), user_ids)
            pipe.hget(people_state_key(team_id), "filled_at")
            found, filled_at = await pipe.execute()
        records = {uid: json.loads(raw) for uid, raw in zip(user_ids, found, strict=False) if raw}
        # A record without a language (a team_join event's, say) is looked up once more, for it.
        people = {uid: _person(record) for uid, record in records.items() if record.get("locale")}
        return people, float(filled_at) if filled_at else None

    async def add_people(self, team_id: str, people: list[tuple[Person, float]]) -> None:
        """People as Slack now shows them, each with when Slack last changed them; an older record never
        replaces a newer one."""
        if people:
            await self._people(
                keys=_people_keys(team_id), args=["add", _ms(time.time()), *(_record(*each) for each in people)]
            )

    async def claim_directory_refresh(self, team_id: str, holder: str, lease_seconds: float) -> bool:
        """True if `holder` now fills the directory afresh (nobody else is, or their lease lapsed)."""
        args = ("claim", _ms(time.time()), holder, _ms(lease_seconds))
        return bool(await self._people(keys=_people_keys(team_id), args=args))

    async def add_directory_page(
        self, team_id: str, holder: str, people: list[tuple[Person, float]], lease_seconds: float
    ) -> bool:
        """One page of users.list into the directory being built; False if the refresh is no longer `holder`'s."""
        records = [_record(*each) for each in people]
        args: list[EncodableT] = ["page", _ms(time.time()), holder, _ms(lease_seconds), *records]
        return bool(await self._people(keys=_people_keys(team_id), args=args))

    async def finish_directory_refresh(self, team_id: str, holder: str) -> bool:
        """The directory built becomes the directory, filled now; False if the refresh was no longer `holder`'s."""
        now = time.time()
        args = ("finish", _ms(now), holder, repr(now))
        return bool(await self._people(keys=_people_keys(team_id), args=args))

    async def forget_from_directory(self, team_id: str, user_id: str) -> None:
        """Drops someone's record (an erasure); Slack tells it again when it is next needed."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hdel(people_key(team_id), user_id)
            pipe.hdel(people_building_key(team_id), user_id)
            await pipe.execute()


def _people_keys(team_id: str) -> list[str]:
    return [people_key(team_id), people_building_key(team_id), people_state_key(team_id)]


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _record(person: Person, updated: float) -> str:
    """A directory record: the person, when Slack last changed them, and their language only where known."""
    fields = {key: value for key, value in person.__dict__.items() if key != "locale" or value}
    return json.dumps({**fields, "updated": updated})


def _person(record: dict[str, Any]) -> Person:
    return Person(**{name: record[name] for name in Person.__dataclass_fields__ if name in record})


def _wake_entry(team_id: str, ask_id: str) -> tuple[str, Fields]:
    return effect_stream_key(effect_shard(team_id, ask_id)), {"team": team_id, "ask": ask_id}


def _intent_entry(team_id: str, ask_id: str) -> tuple[str, Fields]:
    return effect_intent_key(effect_shard(team_id, ask_id)), {"team": team_id, "ask": ask_id}


def _ask_keys(team_id: str, ask_id: str) -> list[str]:
    return [
        ask_key(team_id, ask_id),
        answers_key(team_id, ask_id),
        cards_key(team_id, ask_id),
        offers_key(team_id, ask_id),
    ]


# cjson encodes an empty Lua table as {}, whether it was meant as a list or a map.
def _lua_list(value: object) -> list[str]:
    return list(value) if isinstance(value, list) else []


def _lua_map(value: object) -> dict[str, str]:
    return value if isinstance(value, dict) else {}


def _answers_from_fields(fields: dict[str, str]) -> dict[str, Answer]:
    return {user: Answer.ACCEPT if value == "accepted" else Answer.DECLINE for user, value in fields.items()}


def _answer(value: str | None) -> Answer | None:
    """One person's answer as kept in an ask's answers hash; None where they have not answered."""
    return _answers_from_fields({"": value}).get("") if value else None


def _offer(user: str, raw: str | None, notice: str | None) -> Offer | None:
    return Offer.from_json(user, raw, notice or "") if raw else None


def _balance(raw: dict[str, str]) -> dict[str, int]:
    return {"asked": int(raw.get("asked", 0)), "helped": int(raw.get("helped", 0))}


def _offers_from_fields(fields: dict[str, str]) -> dict[str, Offer]:
    """Offers by teammate, each with where its DM to the asker is (the `<teammate> notice` fields), in the order
    they were made: a hash's own order is Redis's (one whose values are this long is a hash table, which a
    rehash or a restart reorders), and every message listing the offers must list them alike, each time."""
    offers = [
        Offer.from_json(user, raw, fields.get(f"{user} notice", "")) for user, raw in fields.items() if " " not in user
    ]
    return {offer.helper: offer for offer in sorted(offers, key=lambda offer: (offer.made_at, offer.helper))}


def _cards_from_fields(fields: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Cards that reached Slack, as (channel, ts); pending ones are still on their way."""
    return {user: split_pair(value) for user, value in fields.items() if value != PENDING}


def split_pair(value: str) -> tuple[str, str]:
    """Two ids kept as one value, space-separated: a message's "channel ts", a thank-you's "ask_id helper"."""
    first, _, second = value.partition(" ")
    return first, second


def _ask_fields(ask: Ask) -> Fields:
    return {
        "id": ask.id,
        "team_id": ask.team_id,
        "asker": ask.asker,
        "text": ask.text,
        "scope": ask.scope,
        "estimate_minutes": str(ask.estimate_minutes),
        "decline_line": ask.decline_line,
        "teammates": json.dumps(ask.teammates),
        "helpers_needed": str(ask.helpers_needed),
        "needed_by": ask.needed_by.isoformat() if ask.needed_by else "",
        "status": ask.status.value,
        "helpers": json.dumps(ask.helpers),
        "created_at": repr(ask.created_at),
        "asker_tz": ask.asker_tz,
        "week": ask.week,
        "languages": json.dumps(ask.languages),
        "step": ask.step,
        "workflow": ask.workflow,
    }


def _ask_from_fields(fields: dict[str, str]) -> Ask:
    return Ask(
        id=fields["id"],
        team_id=fields["team_id"],
        asker=fields["asker"],
        text=fields["text"],
        scope=fields["scope"],
        estimate_minutes=int(fields["estimate_minutes"]),
        decline_line=fields["decline_line"],
        teammates=json.loads(fields["teammates"]),
        helpers_needed=int(fields["helpers_needed"]),
        needed_by=date.fromisoformat(fields["needed_by"]) if fields["needed_by"] else None,
        status=Status(fields["status"]),
        helpers=_lua_list(json.loads(fields["helpers"])),
        created_at=float(fields["created_at"]),
        taken_at=float(fields.get("taken_at", 0)),
        done_at=float(fields.get("done_at", 0)),
        closed_at=float(fields.get("closed_at", 0)),
        asker_tz=fields.get("asker_tz", "UTC"),
        check_in_snoozed=fields.get("check_in_snoozed") == "1",
        check_ins_sent=int(fields.get("check_ins_sent", 0)),
        checked_in_at=float(fields.get("checked_in_at", 0)),
        reopened_at=float(fields.get("reopened_at", 0)),
        summary_channel=fields.get("summary_channel", ""),
        summary_ts=fields.get("summary_ts", ""),
        week=fields.get("week", ""),
        languages=json.loads(fields.get("languages") or "{}"),
        step=fields.get("step", ""),
        workflow=fields.get("workflow", ""),
    )
