"""Simulated people for the fault-injection run: they ask, answer, offer, cancel, mark done and thank,
as signed Slack requests to the real HTTP app, reading only what the fake Slack shows them.

Each person acts on the messages in their DMs as they look now (a button missing is a button they
cannot press), through whichever `serve` a load balancer would give them (another when one refuses the
connection). Events are retried the way Slack retries them (same event_id, X-Slack-Retry-Num); a modal
submission that got no answer is not sent again, and is checked as "may or may not exist".
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

import aiohttp
from load import Prepared, Sender, Timed
from slack_requests import SlackRequests

from slack_app.domain.asks import DECLINE_LINES
from slack_app.features.routing import CARD_EVENT, POST_EVENT, SUMMARY_EVENT
from slack_app.playground import payloads

REQUEST_TIMEOUT_SECONDS = 10.0
EVENT_RETRIES = 3  # Slack retries an event three times when the app does not answer it
MODAL_WAIT_SECONDS = 8.0  # how long a person waits for a modal to open after pressing its button
ASK_TEXT = "Review the retry logic in PR {token} before Friday's release"
TOKEN_PATTERN = re.compile(r"PR (\d+) before Friday")
SCOPE = "In: error handling in retry.py. Out: naming and tests."
ACCEPT, DECLINE = "white_check_mark", "x"
NOTES = [
    "Your review caught the retry storm before it reached customers, thank you.",
    "The release went out on time and nobody got paged over the weekend.",
    "Pairing on the flaky test saved me a whole afternoon of guessing.",
]


class Payloads(SlackRequests):
    """The tests' payloads, built but not sent; each person's workspace is given with every one."""

    def send(self, body: str, content_type: str, *, headers: dict[str, str] | None = None, **_) -> Prepared:
        return Prepared(body, content_type, headers or {})


@dataclass
class AskSent:
    """One ask modal submitted: what the app answered, and the ask it became once its summary appears."""

    token: int
    team: str
    asker: str
    teammates: list[str]
    at: float
    outcome: str = "sending"  # acked, refused (the app said nothing was sent), unknown (no answer)
    ask_id: str = ""


@dataclass
class Seen:
    """A message the app posted, as a person found it in their DM."""

    channel: str
    ts: str
    user: str  # whose DM
    team: str
    ask_id: str
    kind: str  # card, summary, post


@dataclass
class Tally:
    sent: Counter = field(default_factory=Counter)  # action → requests sent
    acked: Counter = field(default_factory=Counter)  # action → plain acks
    other: Counter = field(default_factory=Counter)  # "action: status/answer" → count, for the report


class People:
    def __init__(self, fake, serve_urls: list[str], signing_secret: str, workspaces: dict[str, list[str]], rng):
        self.fake = fake
        self.rng: random.Random = rng
        self.workspaces = workspaces  # team → its people
        self.team_of = {user: team for team, users in workspaces.items() for user in users}
        self.senders = [Sender(url, signing_secret) for url in serve_urls]
        self.requests = Payloads(serve_urls[0], signing_secret, fake)
        self.asks: dict[int, AskSent] = {}
        self.by_ask_id: dict[str, AskSent] = {}
        self.cards: list[Seen] = []
        self.summaries: list[Seen] = []
        self.posts: list[Seen] = []  # the asker's notices and offer DMs, thank-you prompts, check-ins
        self.reactions: list[tuple[Seen, str, str]] = []  # (card, user, reaction) added and not removed
        self.thanked: set[tuple[str, str]] = set()  # (ask, helper) whose thank-you was acked
        self.tally = Tally()
        self._tokens = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        self.lost_before = 0.0  # time.monotonic(): what was learnt before Redis was emptied is forgotten

    # --- running ---

    async def run(self, stop_at: float, asks_per_second: float, actions_per_second: float, at_once: int) -> None:
        """Asks and acts at these rates until `stop_at` (time.monotonic()), at most `at_once` in flight."""
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        room = asyncio.Semaphore(at_once)
        async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=at_once)) as session:
            self._session = session
            rate = asks_per_second + actions_per_second
            while time.monotonic() < stop_at:
                await asyncio.sleep(self.rng.expovariate(rate))
                self.learn()
                work = self.new_ask() if self.rng.random() < asks_per_second / rate else self._something_to_do()
                if work is None:
                    continue
                await room.acquire()
                task = asyncio.create_task(work)
                task.add_done_callback(lambda _: room.release())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=REQUEST_TIMEOUT_SECONDS * (EVENT_RETRIES + 2))
        self.learn()

    def forget_everything_before(self, moment: float) -> None:
        """Redis was emptied: the asks and messages people knew of are gone from the app (the messages stay
        in Slack, where people may still press them; they stop doing so, to keep the run about what the app
        can still know)."""
        self.lost_before = moment
        self.cards = [seen for seen in self.cards if self._posted_at(seen) > moment]
        self.summaries = [seen for seen in self.summaries if self._posted_at(seen) > moment]
        self.posts = [seen for seen in self.posts if self._posted_at(seen) > moment]
        self.reactions = [r for r in self.reactions if self._posted_at(r[0]) > moment]

    def _posted_at(self, seen: Seen) -> float:
        message = self.fake.messages.get((seen.channel, seen.ts))
        return getattr(message, "posted_at", 0.0)

    def learn(self) -> None:
        """Reads every message posted since last time: cards, summaries and the asker's other DMs."""
        while self.fake.posted:
            channel, ts, _ = self.fake.posted.popleft()
            message = self.fake.messages.get((channel, ts))
            metadata = (message.metadata or {}) if message else {}
            about = metadata.get("event_payload") or {}
            user, ask_id = about.get("user", ""), about.get("ask_id", "")
            if not user or user not in self.team_of:
                continue
            kind = {CARD_EVENT: "card", SUMMARY_EVENT: "summary", POST_EVENT: "post"}.get(metadata.get("event_type"))
            seen = Seen(channel, ts, user, self.team_of[user], ask_id, kind or "")
            if kind == "card":
                self.cards.append(seen)
            elif kind == "summary":
                self.summaries.append(seen)
                found = TOKEN_PATTERN.search(message.all_text)
                sent = self.asks.get(int(found.group(1))) if found else None
                if sent is not None:
                    sent.ask_id = ask_id
                    self.by_ask_id[ask_id] = sent
            elif kind == "post":
                self.posts.append(seen)

    # --- asking ---

    def new_ask(self):
        team = self.rng.choice(list(self.workspaces))
        asker, *teammates = self.rng.sample(self.workspaces[team], 1 + self.rng.choice([1, 2, 3, 3, 4]))
        sent = AskSent(next(self._tokens), team, asker, teammates, time.monotonic())
        self.asks[sent.token] = sent
        needed_by = (date.today() + timedelta(days=self.rng.choice([1, 2, 5]))).isoformat()
        fields = {
            "text": ASK_TEXT.format(token=sent.token),
            "scope": SCOPE,
            "estimate": self.rng.choice(["15", "30", "60", "120"]),
            "decline": self.rng.choice(list(DECLINE_LINES)),
            "teammates": teammates,
            "needed_by": needed_by if self.rng.random() < 0.3 else None,
            "helpers_needed": "2" if len(teammates) >= 3 and self.rng.random() < 0.2 else "1",
        }
        return self._ask(sent, self.requests.submit_ask(asker, team=team, **fields))

    async def _ask(self, sent: AskSent, request: Prepared) -> None:
        self.tally.sent["ask"] += 1
        reply = await self._send(request)
        if reply.ok:
            sent.outcome = "acked"
            self.tally.acked["ask"] += 1
        elif reply.status == 200 and '"errors"' in reply.body:
            sent.outcome = "refused"  # "couldn't save your ask, nothing was sent" or teammates not checked
            self.tally.other[f"ask: {_error_of(reply.body)}"] += 1
        else:
            sent.outcome = "unknown"
            self.tally.other[f"ask: {_status(reply)} {reply.body[:60]!r}"] += 1

    # --- acting on what people see ---

    def _something_to_do(self, tries: int = 6):
        """An action someone can take now (a button they see, a reaction to take back), if any."""
        for _ in range(tries):
            work = self.act()
            if work is not None:
                return work
        return None

    def act(self):
        choice = self.rng.random()
        if choice < 0.45:
            return self._answer_card()
        if choice < 0.50:
            return self._take_back()
        if choice < 0.58:
            return self._offer()
        if choice < 0.66:
            return self._press_on_post("offer", ["offer_accept", "offer_accept", "offer_decline"])
        if choice < 0.70:
            return self._press_on_summary("cancel", "ask_cancel")
        if choice < 0.84:
            return self._mark_done()
        if choice < 0.97:
            return self._thank()
        return self._press_on_post("check-in", ["check_in_snooze"])

    def _message(self, seen: Seen):
        return self.fake.messages.get((seen.channel, seen.ts))

    def _pick(self, seen_list: list[Seen], wanted_action: str | None = None, tries: int = 8):
        """A random one of these messages that has the button `wanted_action` now (any, without one)."""
        for _ in range(tries if seen_list else 0):
            seen = self.rng.choice(seen_list)
            message = self._message(seen)
            if message is not None and (wanted_action is None or wanted_action in message.action_ids()):
                return seen, message
        return None, None

    def _answer_card(self):
        seen, message = self._pick(self.cards, "ask_accept")
        if seen is None:
            return None
        accept = self.rng.random() < 0.6
        if self.rng.random() < 0.5:
            reaction = self.rng.choice([ACCEPT, "+1"]) if accept else self.rng.choice([DECLINE, "-1"])
            self.reactions.append((seen, seen.user, reaction))
            event = payloads.reaction_event(seen.user, seen.channel, seen.ts, reaction)
            return self._event("answer", seen.team, event)
        return self._click("answer", seen, message, "ask_accept" if accept else "ask_decline")

    def _take_back(self):
        if not self.reactions:
            return None
        seen, user, reaction = self.reactions.pop(self.rng.randrange(len(self.reactions)))
        event = payloads.reaction_event(user, seen.channel, seen.ts, reaction, removed=True)
        return self._event("take back", seen.team, event)

    def _offer(self):
        kind = self.rng.choice(["later", "smaller", "suggest"])
        seen, message = self._pick(self.cards, f"offer_{kind}")
        if seen is None:
            return None
        return self._modal(f"offer {kind}", seen, message, f"offer_{kind}", self._offer_inputs(kind, seen))

    def _offer_inputs(self, kind: str, seen: Seen):
        def inputs(view: dict) -> dict:
            if kind == "later":
                return {"day": (date.today() + timedelta(days=3)).isoformat(), "time": "15:00"}
            if kind == "smaller":
                minutes = _options(view, "minutes")
                return {"minutes": minutes[0] if minutes else None, "note": "The error handling part, not the rest"}
            others = [user for user in self.workspaces[seen.team] if user != seen.user]
            return {"person": self.rng.choice(others), "note": "They wrote most of the retry code"}

        return inputs

    def _press_on_post(self, action: str, action_ids: list[str]):
        wanted = self.rng.choice(action_ids)
        seen, message = self._pick(self.posts, wanted, tries=16)
        return self._click(action, seen, message, wanted) if seen else None

    def _press_on_summary(self, action: str, action_id: str):
        seen, message = self._pick(self.summaries, action_id)
        return self._click(action, seen, message, action_id) if seen else None

    def _mark_done(self):
        if self.rng.random() < 0.5:
            return self._press_on_summary("done", "ask_done")
        seen, message = self._pick(self.cards, "ask_done")
        return self._click("done", seen, message, "ask_done") if seen else None

    def _thank(self):
        seen, message = self._pick(self.posts, "thanks_open", tries=16)
        if seen is None:
            return None

        def inputs(view: dict) -> dict:
            return {"note": self.rng.choice(NOTES), "share": ["share"] if self.rng.random() < 0.8 else []}

        return self._modal("thanks", seen, message, "thanks_open", inputs)

    # --- requests ---

    def _click(self, action: str, seen: Seen, message, action_id: str):
        return self._interaction(action, self.requests.click(seen.user, message, action_id, team=seen.team))

    async def _interaction(self, action: str, request: Prepared) -> Timed:
        self.tally.sent[action] += 1
        reply = await self._send(request)
        if reply.ok:
            self.tally.acked[action] += 1
        else:
            said = f" saying {_error_of(reply.body)}" if reply.body.startswith("{") else f" saying {reply.body[:60]!r}"
            self.tally.other[f"{action}: {_status(reply)}{said}"] += 1
        return reply

    async def _modal(self, action: str, seen: Seen, message, action_id: str, inputs) -> None:
        """Presses the button, waits for the modal it opens (none, during an incident at Slack), fills it in."""
        try:
            request = self.requests.click(seen.user, message, action_id, team=seen.team)
        except LookupError:  # the message changed since they looked: the button is gone
            return
        trigger_id = json.loads(_payload_of(request))["trigger_id"]
        self.tally.sent[f"{action} (button)"] += 1
        reply = await self._send(request)
        if not reply.ok:
            return
        deadline = time.monotonic() + MODAL_WAIT_SECONDS
        while trigger_id not in self.fake.views:
            if time.monotonic() > deadline:
                self.tally.other[f"{action}: no modal opened"] += 1
                return
            await asyncio.sleep(0.1)
        view = self.fake.views.pop(trigger_id)
        submission = payloads.view_submission(
            seen.user, view, payloads.state_values(view, inputs(view)), team=seen.team
        )
        reply = await self._interaction(action, Prepared(payloads.interaction_body(submission), payloads.FORM))
        if action == "thanks" and reply.ok:
            self.thanked.add((seen.ask_id, json.loads(view["private_metadata"]).get("helper", "")))

    async def _event(self, action: str, team: str, event: dict) -> None:
        """An event, retried as Slack retries it when the app does not answer."""
        envelope = payloads.event_envelope(event, team=team, event_id=f"EvChaos{next(self._event_ids):08d}")
        body = json.dumps(envelope)
        self.tally.sent[action] += 1
        for attempt in range(EVENT_RETRIES + 1):
            headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_error"} if attempt else {}
            reply = await self._send(Prepared(body, payloads.JSON, headers))
            if reply.status == 200:
                self.tally.acked[action] += 1
                return
            await asyncio.sleep(min(60.0, 2.0**attempt))  # Slack: at once, after 1 minute, after 5; shortened
        self.tally.other[f"{action}: never answered"] += 1

    async def _send(self, request: Prepared) -> Timed:
        """Through a random `serve`, and the others in turn while one refuses the connection (it is down), as
        a load balancer would; a request that reached a process is never sent again (it may have been done)."""
        reply = Timed(time.monotonic(), 0.0, 0, "")
        for sender in self.rng.sample(self.senders, len(self.senders)):
            try:
                return await self._send_one(sender, request)
            except aiohttp.ClientConnectorError:
                continue  # refused: nothing reached the app
        return reply

    async def _send_one(self, sender: Sender, request: Prepared) -> Timed:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": request.content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sender.signer.generate_signature(timestamp=timestamp, body=request.body),
            **request.headers,
        }
        started = time.monotonic()
        try:
            async with self._session.post(sender.url, data=request.body.encode(), headers=headers) as response:
                status, body = response.status, await response.text()
        except aiohttp.ClientConnectorError:
            raise
        except (TimeoutError, aiohttp.ClientError):
            status, body = 0, ""
        return Timed(started, time.monotonic() - started, status, body)


def _status(reply: Timed) -> str:
    if reply.status:
        return f"HTTP {reply.status}"
    if reply.seconds >= REQUEST_TIMEOUT_SECONDS - 0.5:
        return "no answer in 10 s"
    return "connection lost" if reply.seconds else "every serve refused"


def _payload_of(request: Prepared) -> str:
    from urllib.parse import parse_qs

    return parse_qs(request.body)["payload"][0]


def _error_of(body: str) -> str:
    try:
        errors = json.loads(body).get("errors", {})
    except ValueError:
        return "unreadable answer"
    return "; ".join(f"{field}: {text[:50]}" for field, text in errors.items())


def _options(view: dict, block_id: str) -> list[str]:
    for block in view.get("blocks", []):
        if block.get("block_id") == block_id:
            return [option["value"] for option in block.get("element", {}).get("options", [])]
    return []
