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
from .asks import ESTIMATES, Draft, estimate_label

# Text a person quotes rather than says: code spans and blocks, "quoted" or “quoted” strings, > quoted lines,
# and links (a message shortcut starts the scope with one).
_QUOTED = re.compile(
    r"```.*?```|`[^`\n]*`|\"[^\"\n]*\"|“[^”\n]*”|«[^»\n]*»|„[^“\n]*“|「[^」\n]*」|^\s*>.*$|<?https?://\S+",
    re.DOTALL | re.MULTILINE,
)
_WORD = re.compile(r"[\w']+")
# Scripts written without spaces between words: a phrase in one is looked for anywhere, not as whole words.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

APOLOGY_SUGGESTION = N_("You don't need to apologise — asking is normal. Want to drop “{phrase}”?")
VAGUE_ASK = N_(
    "Say what done looks like, e.g. “Review the retry logic in PR 412 — done when you've approved or commented.”"
)
VAGUE_SCOPE = N_(
    "Say what done looks like and what's out, beyond the ask itself, e.g. “Done: approved or commented. Out: naming, tests.”"
)
TOO_LONG = N_(
    "You call it “{phrase}” but picked {estimate}. Is that right? An honest, smaller estimate is easier to say yes to."
)
TOO_SHORT = N_("“{phrase}” sounds bigger than {estimate}. Check the estimate, so a yes means what they think it does.")
THANKS_SUGGESTION = N_("Say what their help changed instead of apologising, e.g. “The release went out on time.”")


@dataclass(frozen=True)
class Rules:
    """What the rules look for in one language's text (that language's phrases, then English's)."""

    apologies: tuple[str, ...]
    empty_words: frozenset[str]
    small_phrases: tuple[str, ...]
    small_at_least: int
    large_phrases: tuple[str, ...]
    large_at_most: int
    thanks_apologies: tuple[str, ...]


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        files("slack_app.domain").joinpath("coaching.yaml").read_text(encoding="utf-8")
    )
    return data


@cache
def rules(code: str = DEFAULT_LANGUAGE) -> Rules:
    data = _data()
    apology, vague, estimate, thanks = data["apology"], data["vague"], data["estimate"], data["thanks"]
    codes = list(dict.fromkeys([code if code in LANGUAGES else DEFAULT_LANGUAGE, DEFAULT_LANGUAGE]))

    def phrases(lists: dict[str, Any]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(str(phrase) for c in codes for phrase in lists.get(c) or []))

    return Rules(
        apologies=phrases(apology["phrases"]),
        empty_words=frozenset(phrases(vague["empty_words"])),
        small_phrases=phrases(estimate["small_phrases"]),
        small_at_least=int(estimate["small_at_least_minutes"]),
        large_phrases=phrases(estimate["large_phrases"]),
        large_at_most=int(estimate["large_at_most_minutes"]),
        thanks_apologies=phrases(thanks["phrases"]),
    )


def said(text: str) -> str:
    """What the person says in their own words: lower case, straight apostrophes, quotes and code left out."""
    return _QUOTED.sub(" ", text.replace("’", "'")).lower()


def find_phrase(text: str, phrases: tuple[str, ...]) -> str | None:
    """The first of `phrases` (in their order) that `text` says as whole words, outside quotes and code."""
    own = said(text)
    for phrase in phrases:
        if _UNSPACED.search(phrase):
            if phrase in own:
                return phrase
        elif re.search(r"(?<![\w'])" + re.escape(phrase) + r"(?![\w'])", own):
            return phrase
    return None


def concrete_words(text: str, r: Rules) -> set[str]:
    """The words that name something: everything but the vague filler of 'can you look at this'."""
    return {word.strip("'") for word in _WORD.findall(said(text))} - r.empty_words - {""}


def coach_ask(draft: Draft, lang: Language) -> dict[str, str]:
    """At most one suggestion in `lang` (the asker's), keyed by the field it is about; empty when the ask reads well."""
    r = rules(lang.code)
    for block_id, text in ((BlockId.ASK, draft.text), (BlockId.SCOPE, draft.scope)):
        phrase = find_phrase(text, r.apologies)
        if phrase:
            return {block_id: lang.gettext(APOLOGY_SUGGESTION, phrase=phrase)}
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
    label = estimate_label(minutes, lang)
    label = label[:1].lower() + label[1:]  # mid-sentence: "half a day", "ein halber Tag"
    small = find_phrase(words, r.small_phrases)
    if small and minutes >= r.small_at_least:
        return {BlockId.ESTIMATE: lang.gettext(TOO_LONG, phrase=small, estimate=label)}
    large = find_phrase(words, r.large_phrases)
    if large and minutes <= r.large_at_most:
        return {BlockId.ESTIMATE: lang.gettext(TOO_SHORT, phrase=large, estimate=label)}
    return {}


def coach_thanks(note: str, lang: Language) -> str | None:
    return lang.gettext(THANKS_SUGGESTION) if find_phrase(note, rules(lang.code).thanks_apologies) else None


def fingerprint(*fields: object) -> str:
    """Identifies what was coached, so the same submission sent again unchanged can go through."""
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, default=str).encode()).hexdigest()[:32]
