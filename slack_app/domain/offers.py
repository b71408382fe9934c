"""Answers between yes and no: "later", "a smaller yes" and "suggest someone", and what each may be.

Pure domain logic: no Slack, no Redis. An offer is between the helper who makes it and the asker
who answers it; nobody else ever sees one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, time
from enum import Enum

from ..ids import BlockId
from ..text.i18n import Language
from .asks import ESTIMATES, MAX_TEAMMATES, Ask, Person, estimate_label

NOTE_MAX_LENGTH = 150


class Kind(str, Enum):
    LATER = "later"  # yes, by a later day (and time)
    SMALLER = "smaller"  # yes, for less time than the ask's estimate
    SUGGEST = "suggest"  # not me, but try this teammate; counts as a pass


class State(str, Enum):
    WAITING = "waiting"  # for the asker's answer
    ACCEPTED = "accepted"
    DECLINED = "declined"  # the asker said no thanks (or not now)
    WITHDRAWN = "withdrawn"  # the helper took it outright or passed instead
    LAPSED = "lapsed"  # the ask was covered or ended first
    REFUSED = "refused"  # a suggestion the asker tried, who can't be asked (see `refusal`)


# Which offer the asker's chosen way of saying no invites, shown first on the card.
INVITED_BY_DECLINE_LINE = {"later": Kind.LATER, "redirect": Kind.SUGGEST}


@dataclass(frozen=True)
class Offer:
    helper: str
    kind: Kind
    state: State = State.WAITING
    by: date | None = None  # later: the day they could do it by
    at: str = ""  # later, optionally: the time that day, "HH:MM"
    minutes: int = 0  # smaller: the time they have
    note: str = ""  # smaller or suggest: one line of what they'd cover, or why that person
    suggested: str = ""  # suggest: the teammate's user id
    suggested_name: str = ""
    after_needed_by: bool = False  # later: a day after the ask's needed-by date
    refusal: str = ""  # refused: why that person can't be asked now, worded for the asker
    made_at: float = 0.0
    notice_channel: str = ""  # the asker's DM about this offer, once sent
    notice_ts: str = ""

    @property
    def waiting(self) -> bool:
        return self.state is State.WAITING

    def when_label(self, lang: Language) -> str:
        """ "Thu 4 Dec", or "Thu 4 Dec, 15:00" with a time, as the reader's language writes a date."""
        if self.by is None:
            return ""
        return lang.date(self.by) + (f", {self.at}" if self.at else "")

    def minutes_label(self, lang: Language) -> str:
        return estimate_label(self.minutes, lang)

    def to_json(self) -> str:
        """The offer as kept in Redis: what was offered and its state, not where its DM is."""
        fields = asdict(self)
        for name in ("helper", "notice_channel", "notice_ts"):
            fields.pop(name)
        fields["by"] = self.by.isoformat() if self.by else ""
        return json.dumps(fields)

    @classmethod
    def from_json(cls, helper: str, raw: str, notice: str = "") -> Offer:
        data = json.loads(raw)
        channel, _, ts = notice.partition(" ")
        return cls(
            helper=helper,
            kind=Kind(data["kind"]),
            state=State(data.get("state", "waiting")),
            by=date.fromisoformat(data["by"]) if data.get("by") else None,
            at=data.get("at") or "",
            minutes=int(data.get("minutes") or 0),
            note=data.get("note") or "",
            suggested=data.get("suggested") or "",
            suggested_name=data.get("suggested_name") or "",
            after_needed_by=bool(data.get("after_needed_by")),
            refusal=data.get("refusal") or "",
            made_at=float(data.get("made_at") or 0),
            notice_channel=channel,
            notice_ts=ts,
        )


def offer_kinds(ask: Ask) -> list[Kind]:
    """The offers a card shows, the one the asker's decline line invited first. A smaller yes needs
    a smaller estimate to exist."""
    kinds = [kind for kind in Kind if kind is not Kind.SMALLER or smaller_estimates(ask)]
    invited = INVITED_BY_DECLINE_LINE.get(ask.decline_line)
    return sorted(kinds, key=lambda kind: kind is not invited)


def invited(ask: Ask) -> Kind | None:
    return INVITED_BY_DECLINE_LINE.get(ask.decline_line)


def smaller_estimates(ask: Ask) -> list[int]:
    """The estimates (minutes) strictly below the ask's."""
    return [minutes for minutes in ESTIMATES if minutes < ask.estimate_minutes]


# --- what an offer may be: errors keyed by the offer modal's block ids ---


def later_errors(day: date | None, at: time | None, today: date, now: time, lang: Language) -> dict[str, str]:
    """`today` and `now` are the helper's own, in their time zone."""
    if day is None:
        return {BlockId.DAY: lang.gettext("Pick the day you could do it by.")}
    if day < today:
        return {BlockId.DAY: lang.gettext("That day has passed — pick today or later.")}
    if at is not None and day == today and at < now.replace(second=0, microsecond=0):
        return {BlockId.TIME: lang.gettext("That time has passed today — pick a later time, another day, or no time.")}
    return {}


def is_after_needed_by(ask: Ask, day: date) -> bool:
    """A later day the asker said is too late: still fine to offer, and the helper is told so kindly."""
    return ask.needed_by is not None and day > ask.needed_by


def smaller_errors(ask: Ask, minutes: int | None, note: str, lang: Language) -> dict[str, str]:
    errors = note_errors(note, lang)
    if minutes not in smaller_estimates(ask):
        errors[BlockId.MINUTES] = lang.gettext(
            "Pick how much time you have — less than the ask's {estimate}.", estimate=ask.estimate_label(lang)
        )
    return errors


def note_errors(note: str, lang: Language) -> dict[str, str]:
    if len(note) > NOTE_MAX_LENGTH:
        return {BlockId.NOTE: lang.gettext("Keep it to one line ({limit} characters).", limit=NOTE_MAX_LENGTH)}
    return {}


def suggestion_error(ask: Ask, suggested: str | None, person: Person | None, lang: Language) -> str | None:
    """Whether this teammate can be sent this ask: the ask modal's rules, worded for one person.
    Availability is checked separately, when the asker asks them (it is theirs to tell nobody else)."""
    if not suggested:
        return lang.gettext("Pick a teammate to suggest.")
    name = person.name if person and person.name else suggested
    if suggested == ask.asker:
        return lang.gettext("{name} is the one asking — suggest someone else.", name=name)
    if person is None or person.deleted:
        return lang.gettext("{name} is no longer in the workspace.", name=name)
    if person.is_bot:
        return lang.gettext("Apps and bots can't help with this one: {names}.", names=name)
    if suggested in ask.teammates:
        return already_asked(name, lang)
    if len(ask.teammates) >= MAX_TEAMMATES:
        return ask_full(lang)
    return None


def ask_full(lang: Language) -> str:
    return lang.gettext("This ask already went to {most} people, the most one ask can.", most=MAX_TEAMMATES)


def already_asked(name: str, lang: Language) -> str:
    return lang.gettext("{name} already has this ask.", name=name)


# --- how an offer reads ---


def accepted_scope(offer: Offer | None, lang: Language) -> str:
    """The time an accepted smaller yes gave ("15 minutes"), for the thank-you prompt; "" for any other offer.
    Said as what the helper gave, never against what was asked: a smaller yes is no shortfall."""
    if offer is None or offer.kind is not Kind.SMALLER or offer.state is not State.ACCEPTED:
        return ""
    return offer.minutes_label(lang)
