"""Gentle coaching for an ask and a thank-you: one kind suggestion, never a refusal.

Pure domain logic: no Slack, no Redis. The phrases and the wording live in coaching.yaml.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import yaml

from .asks import ESTIMATES, Draft

# Text a person quotes rather than says: code spans and blocks, "quoted" or “quoted” strings, > quoted lines,
# and links (a message shortcut starts the scope with one).
_QUOTED = re.compile(r"```.*?```|`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|^\s*>.*$|<?https?://\S+", re.DOTALL | re.MULTILINE)
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Rules:
    apologies: tuple[str, ...]
    apology_suggestion: str
    empty_words: frozenset[str]
    vague_ask: str
    vague_scope: str
    small_phrases: tuple[str, ...]
    small_at_least: int
    large_phrases: tuple[str, ...]
    large_at_most: int
    too_long: str
    too_short: str
    thanks_apologies: tuple[str, ...]
    thanks_suggestion: str


@lru_cache(maxsize=1)
def rules() -> Rules:
    data = yaml.safe_load(files("slack_app").joinpath("coaching.yaml").read_text(encoding="utf-8"))
    apology, vague, estimate, thanks = data["apology"], data["vague"], data["estimate"], data["thanks"]
    return Rules(
        apologies=tuple(apology["phrases"]),
        apology_suggestion=apology["suggestion"],
        empty_words=frozenset(str(word) for word in vague["empty_words"]),
        vague_ask=vague["ask_suggestion"],
        vague_scope=vague["scope_suggestion"],
        small_phrases=tuple(estimate["small_phrases"]),
        small_at_least=int(estimate["small_at_least_minutes"]),
        large_phrases=tuple(estimate["large_phrases"]),
        large_at_most=int(estimate["large_at_most_minutes"]),
        too_long=estimate["too_long"],
        too_short=estimate["too_short"],
        thanks_apologies=tuple(thanks["phrases"]),
        thanks_suggestion=thanks["suggestion"],
    )


def said(text: str) -> str:
    """What the person says in their own words: lower case, straight apostrophes, quotes and code left out."""
    return _QUOTED.sub(" ", text.replace("’", "'")).lower()


def find_phrase(text: str, phrases: tuple[str, ...]) -> str | None:
    """The first of `phrases` (in their order) that `text` says as whole words, outside quotes and code."""
    own = said(text)
    for phrase in phrases:
        if re.search(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", own):
            return phrase
    return None


def concrete_words(text: str) -> set[str]:
    """The words that name something: everything but the vague filler of 'can you look at this'."""
    return {word.strip("'") for word in _WORD.findall(said(text))} - rules().empty_words - {""}


def coach_ask(draft: Draft) -> dict[str, str]:
    """At most one suggestion, keyed by the field it is about; empty when the ask reads well."""
    r = rules()
    for block_id, text in (("ask", draft.text), ("scope", draft.scope)):
        phrase = find_phrase(text, r.apologies)
        if phrase:
            return {block_id: r.apology_suggestion.format(phrase=phrase)}
    asked = concrete_words(draft.text)
    if not asked:
        return {"ask": r.vague_ask}
    if concrete_words(draft.scope) <= asked:
        return {"scope": r.vague_scope}
    return _estimate_suggestion(draft, r)


def _estimate_suggestion(draft: Draft, r: Rules) -> dict[str, str]:
    minutes = draft.estimate_minutes
    if minutes not in ESTIMATES:
        return {}
    words = f"{draft.text}\n{draft.scope}"
    label = ESTIMATES[minutes].lower()
    small = find_phrase(words, r.small_phrases)
    if small and minutes >= r.small_at_least:
        return {"estimate": r.too_long.format(phrase=small, estimate=label)}
    large = find_phrase(words, r.large_phrases)
    if large and minutes <= r.large_at_most:
        return {"estimate": r.too_short.format(phrase=large, estimate=label)}
    return {}


def coach_thanks(note: str) -> str | None:
    r = rules()
    return r.thanks_suggestion if find_phrase(note, r.thanks_apologies) else None


def fingerprint(*fields: object) -> str:
    """Identifies what was coached, so the same submission sent again unchanged can go through."""
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, default=str).encode()).hexdigest()[:32]
