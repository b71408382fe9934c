"""What an ask is, what makes one specific enough to send, and how reactions answer it.

Pure domain logic: no Slack, no Redis.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

MIN_ASK_LENGTH = 15
MIN_ASK_WORDS = 3
ASK_MAX_LENGTH = 150
SCOPE_MAX_LENGTH = 1500
MAX_TEAMMATES = 10
MAX_HELPERS_NEEDED = 5
THANKS_MIN_WORDS = 3
THANKS_MAX_LENGTH = 1000

ESTIMATES = {  # minutes → label
    5: "5 minutes",
    15: "15 minutes",
    30: "30 minutes",
    60: "1 hour",
    120: "2 hours",
    240: "Half a day",
}

DECLINE_LINES = {
    "no_reason": "No reason needed — just react ❌",
    "later": "Later works too — tell me when",
    "redirect": "Point me to someone else if that's easier",
}

ACCEPT_REACTIONS = frozenset({"white_check_mark", "heavy_check_mark", "+1", "raised_hands"})
DECLINE_REACTIONS = frozenset({"x", "no_entry_sign", "-1"})


class Status(str, Enum):
    OPEN = "open"  # still needs helpers
    TAKEN = "taken"  # enough helpers accepted
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # nobody took it in time

    @property
    def is_live(self) -> bool:
        return self in (Status.OPEN, Status.TAKEN)


class Answer(str, Enum):
    ACCEPT = "accept"
    DECLINE = "decline"


def answer_for_reaction(reaction: str) -> Answer | None:
    """The answer a reaction means, skin tones included (`+1::skin-tone-3` is `+1`)."""
    name = reaction.split("::", 1)[0]
    if name in ACCEPT_REACTIONS:
        return Answer.ACCEPT
    if name in DECLINE_REACTIONS:
        return Answer.DECLINE
    return None


@dataclass
class Ask:
    team_id: str
    asker: str
    text: str
    scope: str
    estimate_minutes: int
    decline_line: str
    teammates: list[str]
    helpers_needed: int = 1
    needed_by: date | None = None
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    status: Status = Status.OPEN
    helpers: list[str] = field(default_factory=list)
    created_at: float = 0.0
    taken_at: float = 0.0
    done_at: float = 0.0
    closed_at: float = 0.0  # when it ended: done, cancelled or expired
    asker_tz: str = "UTC"
    check_in_snoozed: bool = False
    check_ins_sent: int = 0
    reopened_at: float = 0.0  # when a helper last stepped back
    summary_channel: str = ""  # the asker's DM summary, once sent
    summary_ts: str = ""
    week: str = ""  # ISO week it was sent in (workspace time zone): where its workspace figures count

    @property
    def estimate_label(self) -> str:
        return ESTIMATES.get(self.estimate_minutes, f"{self.estimate_minutes} minutes")

    @property
    def decline_text(self) -> str:
        return DECLINE_LINES[self.decline_line]


@dataclass(frozen=True)
class Person:
    """What users.info tells us about someone that matters for asking them."""

    id: str
    name: str = ""
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"
    is_admin: bool = False  # a workspace admin or owner


@dataclass
class Draft:
    """The modal's values, parsed but not yet checked."""

    text: str
    scope: str
    estimate_minutes: int | None
    decline_line: str | None
    teammates: list[str]
    needed_by: date | None
    helpers_needed: int


def _is_specific(text: str) -> bool:
    words = re.findall(r"\w+", text)
    return len(text.strip()) >= MIN_ASK_LENGTH and len(words) >= MIN_ASK_WORDS


def validate(draft: Draft, asker: str, people: dict[str, Person], today: date) -> dict[str, str]:
    """Field errors keyed by block id, worded for the person filling the modal."""
    errors: dict[str, str] = {}
    if not _is_specific(draft.text):
        errors["ask"] = "Say a bit more: what exactly, and what done looks like (at least a few words)."
    elif len(draft.text) > ASK_MAX_LENGTH:
        errors["ask"] = f"Keep the ask to one line ({ASK_MAX_LENGTH} characters); put details in the scope."
    if not draft.scope.strip():
        errors["scope"] = "Say what is in and what is out, so they know where it ends."
    elif len(draft.scope) > SCOPE_MAX_LENGTH:
        errors["scope"] = f"Keep the scope under {SCOPE_MAX_LENGTH} characters."
    if draft.estimate_minutes not in ESTIMATES:
        errors["estimate"] = "Pick how long you think it takes."
    if draft.decline_line not in DECLINE_LINES:
        errors["decline"] = "Pick how they can say no."
    teammate_error = _teammate_error(draft.teammates, asker, people)
    if teammate_error:
        errors["teammates"] = teammate_error
    if draft.needed_by is not None and draft.needed_by < today:
        errors["needed_by"] = "That date has passed; pick today or later, or leave it empty."
    if not 1 <= draft.helpers_needed <= MAX_HELPERS_NEEDED:
        errors["helpers_needed"] = f"Ask for between 1 and {MAX_HELPERS_NEEDED} helpers."
    elif draft.teammates and draft.helpers_needed > len(draft.teammates):
        errors["helpers_needed"] = "You need more helpers than people you're asking; add teammates or need fewer."
    return errors


def _teammate_error(teammates: list[str], asker: str, people: dict[str, Person]) -> str | None:
    if not teammates:
        return "Pick at least one teammate to ask."
    if len(teammates) > MAX_TEAMMATES:
        return f"Ask at most {MAX_TEAMMATES} people; a smaller, chosen group answers better."
    if asker in teammates:
        return "You're in the list: pick teammates other than yourself."
    bots = [uid for uid in teammates if people.get(uid, Person(uid)).is_bot]
    if bots:
        return f"Apps and bots can't help with this one: {_names(bots, people)}."
    gone = [uid for uid in teammates if people.get(uid, Person(uid)).deleted]
    if gone:
        return f"No longer in the workspace: {_names(gone, people)}."
    return None


def _names(user_ids: list[str], people: dict[str, Person]) -> str:
    # Modal errors are plain text, where a <@U…> mention would not render.
    return ", ".join(people[uid].name if uid in people and people[uid].name else uid for uid in user_ids)


def thanks_error(note: str) -> str | None:
    """A thank-you should say what changed; a word or two rarely does."""
    if len(re.findall(r"\w+", note)) < THANKS_MIN_WORDS:
        return "Say what it changed for you — a few words are plenty."
    if len(note) > THANKS_MAX_LENGTH:
        return f"Keep it under {THANKS_MAX_LENGTH} characters."
    return None
