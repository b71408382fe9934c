"""Gentle coaching for an ask and a thank-you: one kind suggestion, never a refusal.

Pure domain logic: no Slack, no Redis. The phrases each rule looks for live in coaching.yaml, per
language; a person's text is read with their own language's phrases and English's (workspaces often
write English whatever their Slack speaks), and the suggestion is worded in their language, from the
catalogs like every other message.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import yaml

from ..ids import BlockId
from ..text.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, Language
from .asks import ESTIMATES, Draft, estimate_in_sentence

# Text a person quotes rather than says: code spans and blocks, "quoted" or “quoted” strings, > quoted lines,
# and links (a message shortcut starts the scope with one).
_QUOTED = re.compile(
    r"```.*?```|`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|«[^»\n]*»|„[^“\n]*“|「[^」\n]*」|^\s*>.*$|<?https?://\S+",
    re.DOTALL | re.MULTILINE,
)
_WORD = re.compile(r"[\w']+")
# Scripts written without spaces between words: a phrase in one is looked for anywhere, not as whole words.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_HIRAGANA = re.compile(r"[\u3040-\u309f]+")  # in Japanese, the grammar between the words that name something
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# What ends a clause before an opener: punctuation, a line break, the > of a mention, the : of an emoji.
_CLAUSE_END = set(".,;:!?¡¿…—–-()[]<>*_~\n")

APOLOGY_SUGGESTION = N_("You don't need to apologise — asking is normal. Want to drop “{phrase}”?")
DEBT_SUGGESTION = N_("Helping here isn't a trade — no need to promise anything back. Want to drop “{phrase}”?")
VAGUE_ASK = N_(
    "Say what done looks like, e.g. “Review the retry logic in PR 412 — done when you've approved or commented.”"
)
VAGUE_SCOPE = N_(
    "Say what done looks like and what's out, beyond the ask itself, e.g. “Done: approved or commented. Out: naming, tests.”"
)
TOO_LONG = N_(
    "You call it “{phrase}” but picked {estimate}. Is that right? Your best guess is fine, and a smaller ask is easier to say yes to."
)
TOO_SHORT = N_("“{phrase}” sounds bigger than {estimate}. Check the estimate, so a yes means what they think it does.")
THANKS_SUGGESTION = N_("Say what their help changed instead of apologising, e.g. “The release went out on time.”")
THANKS_DEBT_SUGGESTION = N_(
    "Nothing to pay back here — help is given freely. Say what it changed instead, e.g. “The release went out on time.”"
)


@dataclass(frozen=True)
class Phrases:
    """One rule's phrases in one language's text (that language's, then English's), and how they are read.

    `anywhere` count wherever they stand; `openers` only where a clause starts ("Sorry, …", "…, sorry!",
    "Hi, sorry…"), so "draft an apology" or "the sorry-we're-down page", the task itself, is not the asker
    apologising. A phrase right after one of `object_markers` ("the", "my", "die") is the thing the task is
    about, and a phrase inside one of `exceptions` ("a second pair of eyes") means something else."""

    anywhere: tuple[str, ...] = ()
    openers: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    object_markers: frozenset[str] = frozenset()
    lead_ins: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rules:
    """What the rules look for in one language's text (that language's phrases, then English's)."""

    apologies: Phrases
    debts: Phrases
    empty_words: frozenset[str]
    small: Phrases
    small_at_least: int
    large: Phrases
    large_at_most: int
    thanks_apologies: Phrases
    thanks_debts: Phrases


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        files("slack_app.domain").joinpath("coaching.yaml").read_text(encoding="utf-8")
    )
    return data


@cache
def rules(code: str = DEFAULT_LANGUAGE) -> Rules:
    data = _data()
    codes = list(dict.fromkeys([code if code in LANGUAGES else DEFAULT_LANGUAGE, DEFAULT_LANGUAGE]))

    def listed(lists: dict[str, Any] | None) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(phrase) for c in codes for phrase in (lists or {}).get(c) or []))

    def read(section: dict[str, Any]) -> Phrases:
        return Phrases(
            anywhere=listed(section.get("phrases")),
            openers=listed(section.get("openers")),
            exceptions=listed(section.get("exceptions")),
            object_markers=frozenset(listed(data["object_markers"].get(section.get("objects", ""), {}))),
            lead_ins=frozenset(listed(data["lead_ins"])),
        )

    estimate = data["estimate"]
    return Rules(
        apologies=read(data["apology"]),
        debts=read(data["debt"]),
        empty_words=frozenset(listed(data["vague"]["empty_words"])),
        small=read(estimate["small"]),
        small_at_least=int(estimate["small_at_least_minutes"]),
        large=read(estimate["large"]),
        large_at_most=int(estimate["large_at_most_minutes"]),
        thanks_apologies=read(data["thanks"]["apology"]),
        thanks_debts=read(data["thanks"]["debt"]),
    )


def _own_words(text: str) -> str:
    """`text` with what the person quotes blanked out, character for character, so that a match in it is
    a match at the same place in what they typed: straight apostrophes, ASCII digits, quotes and code as spaces."""
    text = text.replace("’", "'").translate(_FULL_WIDTH_DIGITS)
    return _QUOTED.sub(lambda quoted: " " * len(quoted.group()), text)


def said(text: str) -> str:
    """What the person says in their own words, lower case, quotes and code left out."""
    return _own_words(text).lower()


@cache
def _pattern(phrase: str) -> re.Pattern[str]:
    if _UNSPACED.search(phrase):  # no spaces to find words by; a number still stands alone: 5分 is not in 45分
        return re.compile(("(?<![0-9])" if phrase[:1].isdigit() else "") + re.escape(phrase), re.IGNORECASE)
    # whole words, and not half of a hyphenated one: "sorry" is not in "sorry-we're-down" or "sorrynotsorry"
    return re.compile(r"(?<![\w'-])" + re.escape(phrase) + r"(?![\w'-])", re.IGNORECASE)


def _word_before(own: str, start: int) -> str:
    words = _WORD.findall(own[:start].rstrip()[-40:])
    return words[-1].lower() if words and own[:start].rstrip()[-1:].isalnum() else ""


def _starts_clause(own: str, start: int, phrases: Phrases) -> bool:
    before = own[:start].rstrip()
    return not before or before[-1] in _CLAUSE_END or _word_before(own, start) in phrases.lead_ins


def find_phrase(text: str, phrases: Phrases) -> str | None:
    """The first of `phrases` (anywhere ones, then openers, each in their order) that `text` says, outside
    quotes and code, as the person typed it: their own casing, for the suggestion to quote back."""
    own = _own_words(text)
    excepted = [match.span() for phrase in phrases.exceptions for match in _pattern(phrase).finditer(own)]
    for phrase, opener in [(p, False) for p in phrases.anywhere] + [(p, True) for p in phrases.openers]:
        for match in _pattern(phrase).finditer(own):
            start, end = match.span()
            if any(a <= start and end <= b for a, b in excepted):
                continue
            if opener and not _starts_clause(own, start, phrases):
                continue
            if not opener and _word_before(own, start) in phrases.object_markers:
                continue
            return text[start:end]
    return None


def concrete_words(text: str, r: Rules) -> set[str]:
    """The words that name something: everything but the vague filler of 'can you look at this'. Japanese,
    without spaces, has its filler phrases taken out and is cut into words at its grammar (hiragana)."""
    own = said(text)
    for filler in sorted((w for w in r.empty_words if _UNSPACED.search(w)), key=len, reverse=True):
        own = own.replace(filler, " ")
    words: set[str] = set()
    for word in _WORD.findall(own):
        words.update(_HIRAGANA.split(word) if _UNSPACED.search(word) else [word.strip("'")])
    return words - r.empty_words - {""}


def coach_ask(draft: Draft, lang: Language) -> dict[str, str]:
    """At most one suggestion in `lang` (the asker's), keyed by the field it is about; empty when the ask reads well."""
    r = rules(lang.code)
    for block_id, text in ((BlockId.ASK, draft.text), (BlockId.SCOPE, draft.scope)):
        for phrases, suggestion in ((r.apologies, APOLOGY_SUGGESTION), (r.debts, DEBT_SUGGESTION)):
            phrase = find_phrase(text, phrases)
            if phrase:
                return {block_id: lang.gettext(suggestion, phrase=phrase)}
    asked = concrete_words(draft.text, r)
    if not asked:
        return {BlockId.ASK: lang.gettext(VAGUE_ASK)}
    if concrete_words(draft.scope, r) <= asked:
        return {BlockId.SCOPE: lang.gettext(VAGUE_SCOPE)}
    return _estimate_suggestion(draft, r, lang)


def _estimate_suggestion(draft: Draft, r: Rules, lang: Language) -> dict[str, str]:
    minutes = draft.estimate_minutes
    if minutes not in ESTIMATES:
        return {}
    words = f"{draft.text}\n{draft.scope}"
    label = estimate_in_sentence(minutes, lang)
    small = find_phrase(words, r.small)
    if small and minutes >= r.small_at_least:
        return {BlockId.ESTIMATE: lang.gettext(TOO_LONG, phrase=small, estimate=label)}
    large = find_phrase(words, r.large)
    if large and minutes <= r.large_at_most:
        return {BlockId.ESTIMATE: lang.gettext(TOO_SHORT, phrase=large, estimate=label)}
    return {}


def coach_thanks(note: str, lang: Language) -> str | None:
    """A suggestion for a thank-you that apologises or speaks of a debt, in `lang`; None when it reads well."""
    r = rules(lang.code)
    if find_phrase(note, r.thanks_debts):
        return lang.gettext(THANKS_DEBT_SUGGESTION)
    return lang.gettext(THANKS_SUGGESTION) if find_phrase(note, r.thanks_apologies) else None


def fingerprint(*fields: object) -> str:
    """Identifies what was coached, so the same submission sent again unchanged can go through."""
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, default=str).encode()).hexdigest()[:32]
