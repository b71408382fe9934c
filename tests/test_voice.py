"""The words we don't use (docs/voice.md): no English message id may say them, and the guide lists the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_i18n import source_messages

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "voice.md"

# Each word we don't use, with the close relatives that mean the same (docs/voice.md says why).
WORDS_WE_DONT_USE = {
    "ledger": r"ledgers?",
    "score": r"scor(?:e|es|ed|ing)",
    "owe": r"ow(?:e|es|ed|ing)",
    "your turn": r"your\s+turn",
    "honest": r"honest(?:ly|y)?",
}
_UNSAID = re.compile(r"\b(?:" + "|".join(WORDS_WE_DONT_USE.values()) + r")\b", re.IGNORECASE)


def words_we_dont_use(text: str) -> list[str]:
    return [found.group() for found in _UNSAID.finditer(text)]


def test_no_english_message_uses_a_word_we_dont_use():
    messages = source_messages()
    assert len(messages) > 100  # the extraction found the templates and the code, not nothing

    said = []
    for message, where in messages.items():
        words = words_we_dont_use(" ".join(message) if isinstance(message, tuple) else message)
        if words:
            said.append(f"{where}: {message!r} says {words}")
    assert not said, "words we don't use (docs/voice.md):\n" + "\n".join(said)


@pytest.mark.parametrize(
    "line, word",
    [  # lines slack-ask used to say, each caught
        ("Everyone you asked passed on *{ask}*. That's fine — no one owes a yes.", "owes"),
        ("Asking is your turn to receive — start with something of 5–15 minutes.", "your turn"),
        ("Your honest estimate", "honest"),
        ("An honest, smaller estimate is easier to say yes to.", "honest"),
        ("Your helping score this week", "score"),
        ("Your ledger: asked 2, helped 5", "ledger"),
        ("I OWE you one", "OWE"),
    ],
)
def test_the_check_catches_each_word(line, word):
    assert words_we_dont_use(line) == [word]


@pytest.mark.parametrize(
    "line",
    [  # the same letters inside other words, and words that only look close
        "Review the scoreboard.py retry logic",  # a file name is not a score
        "Nothing to pay back here — help is given freely.",
        "Owen can give 15 minutes to *the migration*",
        "The flowed text wraps at 80 columns",
        "Your best guess",
    ],
)
def test_the_check_leaves_other_words_alone(line):
    assert words_we_dont_use(line) == []


def test_the_guide_lists_the_same_words_and_the_readme_links_it():
    guide = GUIDE.read_text(encoding="utf-8")
    table = guide.split("## Words we don't use", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| ([a-z][a-z ]*) \|", table, re.MULTILINE)
    assert sorted(listed) == sorted(WORDS_WE_DONT_USE)
    assert "(docs/voice.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
