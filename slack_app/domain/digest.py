"""The weekly kudos digest: a week's thank-yous summarised, and rendered as one channel message.

Pure: no Bolt, no Redis. `summarise` turns the week's kudos records (as `Store.kudos` returns them)
into a `Digest`; `render_digest` turns that into a chat.postMessage payload from
`blocks/digest.json.j2`, in the workspace's language.

What it shows is deliberately narrow: totals for the week, the notes their askers chose to share,
and one thank-you line naming every helper in user-id order. Never a ranking, never a count per
person, never an unshared note, never a decline (declines are not an input at all).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ..text.i18n import N_, Language
from ..text.render import SECTION_TEXT_LIMIT, Mrkdwn, mention, render

TEMPLATE = "digest.json.j2"

MESSAGE_BLOCK_LIMIT = 50
CONTEXT_ELEMENT_LIMIT = 10  # elements in one context block

# Blocks the message always has around the notes when the week wasn't quiet: header, week line,
# headline, divider before the notes, divider before the thanks, footer.
FIXED_BLOCKS = 6
MAX_THANKS_SECTIONS = 10  # past this, the helpers' names are packed ten texts to a context block
MIN_NOTE_BLOCKS = 10  # the thank-you line never squeezes the notes below this many blocks
MAX_THANKS_BLOCKS = MESSAGE_BLOCK_LIMIT - FIXED_BLOCKS - MIN_NOTE_BLOCKS

# A note's section is "*<ask>*\n<quoted note>\n<@asker> → <@helper>": the ask clipped to ASK_LIMIT,
# each id at most USER_ID_MAX_LENGTH (+3 for "<@" ">"), so the quoted note gets what is left.
ASK_LIMIT = 300
USER_ID_MAX_LENGTH = 32
NOTE_BUDGET = 2600
assert ASK_LIMIT + NOTE_BUDGET + 2 * (USER_ID_MAX_LENGTH + 3) + 10 <= SECTION_TEXT_LIMIT

MAX_ESTIMATE_MINUTES = 7 * 24 * 60  # more than a week for one ask is a corrupted record, not help

# The thank-you line is "<opening><names><closing>", split across blocks when the names are many.
THANKS_OPENING = N_("Thank you, ")
THANKS_CLOSING = N_(" — every one of these started with someone being asked, and saying yes.")

_USER_ID = re.compile(r"[UW][A-Z0-9]+")  # fullmatch: "U1\n" is not an id
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


@dataclass
class Digest:
    week: str  # ISO week, e.g. "2026-W47"
    asks_helped: int = 0  # distinct asks someone was thanked for
    helpers: list[str] = field(default_factory=list)  # distinct helper ids, sorted by id: never a ranking
    minutes_given: int = 0  # estimate_minutes summed over distinct (ask, helper) pairs
    shared_notes: list[dict[str, Any]] = field(default_factory=list)  # kudos with shared=True, oldest first
    total_thanks: int = 0  # distinct (ask, helper) thank-yous, shared or not

    @property
    def quiet(self) -> bool:
        return self.total_thanks == 0


# --- summarising ------------------------------------------------------------------------------


def _is_user_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= USER_ID_MAX_LENGTH and bool(_USER_ID.fullmatch(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _valid(record: Any) -> dict[str, Any] | None:
    """The record's known fields, or None when anything is missing or of the wrong type."""
    if not isinstance(record, dict):
        return None
    ask_id, minutes = record.get("ask_id"), record.get("estimate_minutes")
    if not (
        isinstance(ask_id, str)
        and ask_id
        and isinstance(record.get("ask"), str)
        and _is_user_id(record.get("asker"))
        and _is_user_id(record.get("helper"))
        and isinstance(record.get("note"), str)
        and isinstance(record.get("shared"), bool)
        and isinstance(minutes, int)
        and not isinstance(minutes, bool)
        and 0 <= minutes <= MAX_ESTIMATE_MINUTES
        and _is_number(record.get("at"))
    ):
        return None
    return {
        key: record[key] for key in ("ask_id", "ask", "asker", "helper", "note", "shared", "estimate_minutes", "at")
    }


def summarise(kudos: list[dict[str, Any]], week: str) -> Digest:
    """A week's kudos records as a Digest. Records missing a field or holding a wrong type are
    skipped; a repeated (ask, helper) pair counts once, as its earliest record."""
    records = [valid for valid in map(_valid, kudos or []) if valid is not None]
    records.sort(key=lambda record: record["at"])  # stable: equal times keep their stored order
    seen: set[tuple[str, str]] = set()
    unique = []
    for record in records:
        pair = (record["ask_id"], record["helper"])
        if pair not in seen:
            seen.add(pair)
            unique.append(record)
    return Digest(
        week=week,
        asks_helped=len({record["ask_id"] for record in unique}),
        helpers=sorted({record["helper"] for record in unique}),
        minutes_given=sum(record["estimate_minutes"] for record in unique),
        shared_notes=[record for record in unique if record["shared"]],
        total_thanks=len(unique),
    )


# --- wording ----------------------------------------------------------------------------------


def format_minutes(minutes: int, lang: Language) -> str:
    """45 → '45 mins', 195 → '3 hrs 15 mins', 120 → '2 hrs' (in English)."""
    return lang.duration(minutes, short=True)


def _monday(week: str) -> date | None:
    match = _WEEK.fullmatch(week) if isinstance(week, str) else None
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:  # e.g. a week 53 in a year that has 52
        return None


def week_name(week: str, lang: Language) -> str:
    """'2026-W47' → 'Week 47, 2026'; anything unparseable as given."""
    monday = _monday(week)
    return lang.gettext("Week {number}, {year}", number=int(week[-2:]), year=week[:4]) if monday else str(week)


def week_label(week: str, lang: Language) -> str:
    """'2026-W47' → 'Week 47, 2026 · Mon 16 Nov – Sun 22 Nov'; anything unparseable as given."""
    monday = _monday(week)
    if monday is None:
        return str(week)
    return f"{week_name(week, lang)} · {lang.dates(monday, monday + timedelta(days=6))}"


def more_label(count: int, lang: Language) -> str:
    """'…and 37 more thank-yous', '…and 1 more thank-you', or '' for none."""
    return lang.ngettext("…and {count} more thank-you", "…and {count} more thank-yous", count) if count > 0 else ""


# --- layout -----------------------------------------------------------------------------------


def note_limit(note: str) -> int:
    """How many escaped characters of `note` to keep so that, quoted ("> " on every line), it is
    at most NOTE_BUDGET long. A normal note is kept whole."""
    lines = note.count("\n") + 1
    # Quoting adds two characters a line: clipped to L, a note has at most min(lines, L + 1) lines.
    return max(NOTE_BUDGET - 2 * lines, (NOTE_BUDGET - 2) // 3)


def _and_more(count: int, lang: Language) -> str:
    return lang.ngettext(" and {count} more", " and {count} more", count)


def _thanks_texts(helpers: list[str], max_texts: int, lang: Language) -> list[Mrkdwn]:
    """'Thank you, <@A>, <@B> and <@C> — …' split into texts of at most SECTION_TEXT_LIMIT, at most
    `max_texts` of them (past that, the last names become '… and N more')."""
    names: list[str] = [mention(helper) for helper in helpers]
    opening, closing = lang.gettext(THANKS_OPENING), lang.gettext(THANKS_CLOSING)
    between, before_last = lang.list_separators()
    tail_room = len(_and_more(1_000_000, lang))
    budget = SECTION_TEXT_LIMIT - len(opening) - len(closing) - tail_room
    chunks: list[list[str]] = [[]]
    size = 0
    for name in names:
        cost = len(name) + max(len(between), len(before_last))
        if chunks[-1] and size + cost > budget:
            chunks.append([])
            size = 0
        chunks[-1].append(name)
        size += cost
    left_out = 0
    if len(chunks) > max_texts:
        chunks = chunks[:max_texts]
        left_out = len(names) - sum(len(chunk) for chunk in chunks)

    shown = [name for chunk in chunks for name in chunk]
    texts = []
    position = 0
    for index, chunk in enumerate(chunks):
        parts = []
        for name in chunk:
            position += 1
            if position == len(shown):
                separator = ""
            elif position == len(shown) - 1 and not left_out:
                separator = before_last
            else:
                separator = between
            parts.append(name + separator)
        text = "".join(parts).rstrip()
        if index == 0:
            text = opening + text
        if index == len(chunks) - 1:
            text += (_and_more(left_out, lang) if left_out else "") + closing
        texts.append(Mrkdwn(text))
    return texts


def _thanks_blocks(helpers: list[str], lang: Language) -> list[dict[str, Any]]:
    """The thank-you line as blocks: one section per text, or, for a huge week, context blocks of ten."""
    if not helpers:
        return []
    texts = _thanks_texts(helpers, MAX_THANKS_BLOCKS * CONTEXT_ELEMENT_LIMIT, lang)
    if len(texts) <= MAX_THANKS_SECTIONS:
        return [{"type": "section", "texts": [text]} for text in texts]
    return [
        {"type": "context", "texts": texts[start : start + CONTEXT_ELEMENT_LIMIT]}
        for start in range(0, len(texts), CONTEXT_ELEMENT_LIMIT)
    ]


def digest_context(digest: Digest, lang: Language) -> dict[str, Any]:
    """Everything `blocks/digest.json.j2` needs: which notes fit, and the thank-you line in pieces."""
    labels = {
        "week_name": week_name(digest.week, lang),
        "week_label": week_label(digest.week, lang),
        "asks_label": lang.ngettext("{count} ask", "{count} asks", digest.asks_helped),
        "people_label": lang.ngettext("{count} person", "{count} people", len(digest.helpers)),
        "time_given": format_minutes(digest.minutes_given, lang),
    }
    if digest.quiet:
        return {"digest": digest, **labels, "notes": [], "more_label": "", "thanks": []}
    thanks = _thanks_blocks(digest.helpers, lang)
    # Whole notes, oldest first, as many as fit; when some don't, "…and N more thank-yous" takes
    # the place of the divider before the thank-you line.
    notes = digest.shared_notes[: MESSAGE_BLOCK_LIMIT - FIXED_BLOCKS - len(thanks)]
    return {
        "digest": digest,
        **labels,
        "notes": [{**note, "limit": note_limit(note["note"])} for note in notes],
        "more_label": more_label(len(digest.shared_notes) - len(notes), lang),
        "thanks": thanks,
    }


def render_digest(digest: Digest, *, skip_empty: bool, lang: Language) -> dict[str, Any] | None:
    """The chat.postMessage payload ({"text", "blocks"}) in `lang`, or None for a quiet week when skip_empty."""
    if digest.quiet and skip_empty:
        return None
    payload: dict[str, Any] = render(TEMPLATE, lang=lang, **digest_context(digest, lang))
    return payload
