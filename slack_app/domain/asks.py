"""What an ask is, what makes one specific enough to send, and how reactions answer it.

Pure domain logic: no Slack, no Redis.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from ..ids import BlockId
from ..text.i18n import DEFAULT_LANGUAGE, N_, Language, language

MIN_ASK_LENGTH = 15
MIN_ASK_WORDS = 3
ASK_MAX_LENGTH = 150
SCOPE_MAX_LENGTH = 1500
MAX_TEAMMATES = 10
MAX_HELPERS_NEEDED = 5
THANKS_MIN_WORDS = 3
THANKS_MAX_LENGTH = 1000

ESTIMATES = (5, 15, 30, 60, 120, 240)  # minutes; shown as estimate_label words them
HALF_A_DAY = 240

DECLINE_LINES = {  # key → wording, translated where it is shown
    "no_reason": N_("No reason needed — just react ❌"),
    "later": N_("Later works too — tell me when"),
    "redirect": N_("Point me to someone else if that's easier"),
}

ACCEPT_REACTIONS = frozenset({"white_check_mark", "heavy_check_mark", "+1", "raised_hands"})
DECLINE_REACTIONS = frozenset({"x", "no_entry_sign", "-1"})


class Status(str, Enum):
    OPEN = "open"  # still needs helpers
    TAKEN = "taken"  # enough helpers accepted
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # nobody took it in time
    CLOSED_QUIETLY = "closed_quietly"  # taken, never marked done, quiet long after its check-ins: no thank-you needed

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
    closed_at: float = 0.0  # when it ended: done, cancelled, expired or closed quietly
    asker_tz: str = "UTC"
    check_in_snoozed: bool = False
    check_ins_sent: int = 0
    checked_in_at: float = 0.0  # when its last check-in was owed (since it was last taken)
    reopened_at: float = 0.0  # when a helper last stepped back
    summary_channel: str = ""  # the asker's DM summary, once sent
    summary_ts: str = ""
    week: str = ""  # ISO week it was sent in (workspace time zone): where its workspace figures count
    languages: dict[str, str] = field(default_factory=dict)  # person → language code, for everyone it concerns
    step: str = ""  # the Workflow Builder step run that sent it (function_execution_id); "" when a person did
    workflow: str = ""  # that workflow's name, as its step gave it ("" if it gave none)

    def estimate_label(self, lang: Language) -> str:
        return estimate_label(self.estimate_minutes, lang)

    def estimate_in_sentence(self, lang: Language) -> str:
        return estimate_in_sentence(self.estimate_minutes, lang)

    def decline_text(self, lang: Language) -> str:
        return lang.gettext(DECLINE_LINES[self.decline_line])

    def language_of(self, user: str) -> Language:
        """The language `user` reads messages about this ask in: theirs when it was sent."""
        return language(self.languages.get(user, DEFAULT_LANGUAGE))


def estimate_label(minutes: int, lang: Language) -> str:
    """'30 minutes', '1 hour', 'Half a day', in the reader's language."""
    return lang.gettext("Half a day") if minutes == HALF_A_DAY else lang.duration(minutes)


def estimate_in_sentence(minutes: int, lang: Language) -> str:
    """The estimate as it reads mid-sentence: "half a day", "media jornada", "ein halber Tag"."""
    label = estimate_label(minutes, lang)
    return label[:1].lower() + label[1:]


@dataclass(frozen=True)
class Person:
    """What users.info tells us about someone that matters for asking them."""

    id: str
    name: str = ""
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"
    is_admin: bool = False  # a workspace admin or owner
    locale: str = ""  # Slack's, e.g. "es-LA"; i18n.language_code turns it into a language


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


# Scripts written without spaces between words (Japanese kana and kanji), where a sentence is one \w+ run.
_UNSPACED_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]+")
CHARACTERS_PER_UNSPACED_WORD = 2


def word_count(text: str) -> int:
    """About how many words `text` has: its spaced words, and in Japanese a word for every two characters,
    so "請求エクスポートが失敗する原因を調べて" counts as the sentence it is, not as one word."""
    unspaced = _UNSPACED_RUN.findall(text)
    spaced = re.findall(r"\w+", _UNSPACED_RUN.sub(" ", text))
    return len(spaced) + sum(max(1, len(run) // CHARACTERS_PER_UNSPACED_WORD) for run in unspaced)


def _is_specific(text: str) -> bool:
    return len(text.strip()) >= MIN_ASK_LENGTH and word_count(text) >= MIN_ASK_WORDS


def validate(draft: Draft, asker: str, people: dict[str, Person], today: date, lang: Language) -> dict[str, str]:
    """Field errors keyed by block id, worded for the person filling the modal, in their language."""
    errors: dict[str, str] = {}
    if not _is_specific(draft.text):
        errors[BlockId.ASK] = lang.gettext(
            "Say a bit more: what exactly, and what done looks like (at least a few words)."
        )
    elif len(draft.text) > ASK_MAX_LENGTH:
        errors[BlockId.ASK] = lang.gettext(
            "Keep the ask to one line ({limit} characters); put details in the scope.", limit=ASK_MAX_LENGTH
        )
    if not draft.scope.strip():
        errors[BlockId.SCOPE] = lang.gettext("Say what is in and what is out, so they know where it ends.")
    elif len(draft.scope) > SCOPE_MAX_LENGTH:
        errors[BlockId.SCOPE] = lang.gettext("Keep the scope under {limit} characters.", limit=SCOPE_MAX_LENGTH)
    if draft.estimate_minutes not in ESTIMATES:
        errors[BlockId.ESTIMATE] = lang.gettext("Pick how long you think it takes.")
    if draft.decline_line not in DECLINE_LINES:
        errors[BlockId.DECLINE] = lang.gettext("Pick how they can say no.")
    teammate_error = _teammate_error(draft.teammates, asker, people, lang)
    if teammate_error:
        errors[BlockId.TEAMMATES] = teammate_error
    if draft.needed_by is not None and draft.needed_by < today:
        errors[BlockId.NEEDED_BY] = lang.gettext("That date has passed; pick today or later, or leave it empty.")
    if not 1 <= draft.helpers_needed <= MAX_HELPERS_NEEDED:
        errors[BlockId.HELPERS_NEEDED] = lang.gettext("Ask for between 1 and {most} helpers.", most=MAX_HELPERS_NEEDED)
    elif draft.teammates and draft.helpers_needed > len(draft.teammates):
        errors[BlockId.HELPERS_NEEDED] = lang.gettext(
            "You need more helpers than the people you're asking. Add teammates, or ask for fewer helpers."
        )
    return errors


def _teammate_error(teammates: list[str], asker: str, people: dict[str, Person], lang: Language) -> str | None:
    if not teammates:
        return lang.gettext("Pick at least one teammate to ask.")
    if len(teammates) > MAX_TEAMMATES:
        return lang.gettext("Ask at most {most} people; a smaller, chosen group answers better.", most=MAX_TEAMMATES)
    if asker in teammates:
        return lang.gettext("You're in the list: pick teammates other than yourself.")
    bots = [uid for uid in teammates if people.get(uid, Person(uid)).is_bot]
    if bots:
        return lang.gettext("Apps and bots can't help with this one: {names}.", names=_names(bots, people, lang))
    gone = [uid for uid in teammates if people.get(uid, Person(uid)).deleted]
    if gone:
        return lang.gettext("No longer in the workspace: {names}.", names=_names(gone, people, lang))
    return None


def _names(user_ids: list[str], people: dict[str, Person], lang: Language) -> str:
    # Modal errors are plain text, where a <@U…> mention would not render.
    return lang.join([people[uid].name if uid in people and people[uid].name else uid for uid in user_ids])


def thanks_error(note: str, lang: Language) -> str | None:
    """A thank-you should say what changed; a word or two rarely does."""
    if word_count(note) < THANKS_MIN_WORDS:
        return lang.gettext("Say what it changed for you — a few words are plenty.")
    if len(note) > THANKS_MAX_LENGTH:
        return lang.gettext("Keep it under {limit} characters.", limit=THANKS_MAX_LENGTH)
    return None
