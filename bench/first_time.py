"""First-time asks: people slack-ask has never seen each type /ask and send one ask, spread over a minute,
as a team does on its first day. Each names a teammate slack-ask has never seen either.

The people are members of their workspace (Slack lists them); slack-ask has no record of any of them, and
the workspaces are new to it, so their people directories are filled on first need during the phase.
Slack's tiers are per workspace: views.open is Tier 4 (100 a minute), so the people are spread over
workspaces of PEOPLE_PER_WORKSPACE each, as a deployment welcoming that many newcomers a minute would be.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass

import aiohttp
from fake import BenchSlack
from fake_slack import person
from load import REQUEST_TIMEOUT_SECONDS, Payloads, Sender, percentile
from slack_requests import SlackRequests

from slack_app.playground import payloads as slack_payloads

PEOPLE_PER_WORKSPACE = 50
OPEN_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.02
CARDS_WAIT_SECONDS = 60.0


@dataclass
class FirstTimeResult:
    people: int
    seconds: float
    workspaces: int
    taken: int  # Sends answered with a plain ack (on the first press, or the second after a coaching suggestion)
    second_press: int  # of those, taken on the second press
    refused: list[str]  # what each Send not taken was answered
    open_delays: list[float | None]  # /ask sent → its views.open at the fake Slack; None: never
    cards: int  # teammates whose card arrived

    def open_ms(self, p: float) -> float:
        return percentile([delay for delay in self.open_delays if delay is not None], p) * 1000


def first_time_asks(app_url: str, signing_secret: str, fake: BenchSlack, count: int, seconds: float) -> FirstTimeResult:
    workspaces = math.ceil(count / PEOPLE_PER_WORKSPACE)
    people = [
        (f"U5ASK{n:04d}", f"U5MATE{n:04d}", f"T0FIRST{n % workspaces:03d}") for n in range(count)
    ]  # (asker, teammate, workspace)
    with fake._lock:
        for asker, mate, _ in people:
            fake.users[asker] = person(asker, f"New Asker {asker[-4:]}")
            fake.users[mate] = person(mate, f"New Teammate {mate[-4:]}")
    outcomes = asyncio.run(_all(app_url, signing_secret, fake, people, seconds))
    deadline = time.monotonic() + CARDS_WAIT_SECONDS
    while not all(fake.dms(mate) for _, mate, _ in people) and time.monotonic() < deadline:
        time.sleep(0.2)
    return FirstTimeResult(
        people=count,
        seconds=seconds,
        workspaces=workspaces,
        taken=sum(1 for _, _, said in outcomes if said == ""),
        second_press=sum(1 for _, presses, said in outcomes if said == "" and presses == 2),
        refused=[said for _, _, said in outcomes if said],
        open_delays=[delay for delay, _, _ in outcomes],
        cards=sum(1 for _, mate, _ in people if fake.dms(mate)),
    )


async def _all(
    app_url: str, signing_secret: str, fake: BenchSlack, people: list[tuple[str, str, str]], seconds: float
) -> list[tuple[float | None, int, str]]:
    payloads, sender = Payloads(app_url, signing_secret, fake), Sender(app_url, signing_secret)
    opened: dict[str, object] = {}  # trigger_id → its views.open call
    watching = asyncio.ensure_future(_watch_opens(fake, opened))
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:

            async def one(n: int) -> tuple[float | None, int, str]:
                await asyncio.sleep(max(0.0, started + n * seconds / len(people) - time.monotonic()))
                return await _first_ask(session, payloads, sender, fake, opened, n, *people[n])

            return list(await asyncio.gather(*(one(n) for n in range(len(people)))))
    finally:
        watching.cancel()


async def _first_ask(
    session, payloads: Payloads, sender: Sender, fake: BenchSlack, opened: dict, n: int, asker, mate, team
):
    """One person's /ask, then their Send once the modal is open: (seconds to the modal, presses, "" or the refusal)."""
    trigger = f"first.{n}.trigger"
    command = slack_payloads.command_fields(
        asker, "", team=team, response_url=fake.response_url("cmd"), trigger_id=trigger
    )
    ack = await sender.send(session, payloads.send_form(command))
    if not ack.ok:
        return None, 0, f"/ask answered HTTP {ack.status} {ack.body[:80]!r}"
    deadline = time.monotonic() + OPEN_WAIT_SECONDS
    while trigger not in opened and time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
    call = opened.get(trigger)
    if call is None:
        return None, 0, "no modal within 10 s"
    view = call.args["view"]
    view = {**(json.loads(view) if isinstance(view, str) else view), "id": f"V5FIRST{n:04d}"}
    values = SlackRequests.ask_values(teammates=[mate])
    for presses in (1, 2):  # a coaching suggestion is answered by sending again
        submission = slack_payloads.view_submission(asker, view, values, team=team)
        reply = await sender.send(session, payloads.send_interaction(submission))
        if reply.ok:
            return call.at - ack.started, presses, ""
        if "Couldn't" in reply.body or reply.status != 200:
            break
    return call.at - ack.started, presses, f"HTTP {reply.status} {reply.body[:120]!r}"


async def _watch_opens(fake: BenchSlack, opened: dict) -> None:
    """Notes each views.open as it arrives at the fake Slack."""
    seen = 0
    while True:
        calls = fake.calls_to("views.open")
        for call in calls[seen:]:
            opened[call.args.get("trigger_id", "")] = call
        seen = len(calls)
        await asyncio.sleep(POLL_SECONDS)
