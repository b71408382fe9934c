"""Domain rules for asks, without Slack or Redis."""

from datetime import date

import pytest

from slack_app.domain.asks import Answer, Draft, Person, answer_for_reaction, thanks_error, validate
from slack_app.text.i18n import ENGLISH, language

TODAY = date(2026, 11, 20)
PEOPLE = {
    "U0ASKER": Person("U0ASKER", "Ada"),
    "U0HAL": Person("U0HAL", "Hal"),
    "U0BOT": Person("U0BOT", "Build Bot", is_bot=True),
    "U0GONE": Person("U0GONE", "Gone", deleted=True),
}


def draft(**changes) -> Draft:
    fields = dict(
        text="Review the retry logic in PR 412",
        scope="In: retry.py. Out: tests.",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=["U0HAL"],
        needed_by=None,
        helpers_needed=1,
    )
    return Draft(**{**fields, **changes})


@pytest.mark.parametrize(
    "reaction, answer",
    [
        ("white_check_mark", Answer.ACCEPT),
        ("heavy_check_mark", Answer.ACCEPT),
        ("+1", Answer.ACCEPT),
        ("raised_hands", Answer.ACCEPT),
        ("+1::skin-tone-3", Answer.ACCEPT),
        ("raised_hands::skin-tone-6", Answer.ACCEPT),
        ("x", Answer.DECLINE),
        ("no_entry_sign", Answer.DECLINE),
        ("-1", Answer.DECLINE),
        ("-1::skin-tone-2", Answer.DECLINE),
        ("tada", None),
        ("", None),
        ("x_x", None),
        ("white_check_mark_extra", None),
    ],
)
def test_reaction_vocabulary(reaction, answer):
    assert answer_for_reaction(reaction) is answer


def test_a_specific_ask_passes():
    assert validate(draft(), "U0ASKER", PEOPLE, TODAY, ENGLISH) == {}


def test_needed_by_today_is_fine_and_yesterday_is_not():
    assert validate(draft(needed_by=TODAY), "U0ASKER", PEOPLE, TODAY, ENGLISH) == {}
    assert "needed_by" in validate(draft(needed_by=date(2026, 11, 19)), "U0ASKER", PEOPLE, TODAY, ENGLISH)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"text": "pls help"}, "ask"),
        ({"text": "x" * 40}, "ask"),  # long but not words
        ({"text": "Review the retry logic " + "x" * 200}, "ask"),
        ({"scope": ""}, "scope"),
        ({"estimate_minutes": 7}, "estimate"),
        ({"decline_line": None}, "decline"),
        ({"teammates": ["U0ASKER"]}, "teammates"),
        ({"teammates": ["U0BOT"]}, "teammates"),
        ({"teammates": ["U0GONE"]}, "teammates"),
        ({"teammates": [f"U{n}" for n in range(11)]}, "teammates"),
        ({"helpers_needed": 2}, "helpers_needed"),
        ({"helpers_needed": 0}, "helpers_needed"),
    ],
)
def test_vague_or_impossible_asks_name_the_field(changes, field):
    assert field in validate(draft(**changes), "U0ASKER", PEOPLE, TODAY, ENGLISH)


def test_bot_error_names_the_bot_in_plain_text():
    errors = validate(draft(teammates=["U0HAL", "U0BOT"]), "U0ASKER", PEOPLE, TODAY, ENGLISH)
    assert errors["teammates"] == "Apps and bots can't help with this one: Build Bot."


@pytest.mark.parametrize(
    "text, specific",
    [
        ("請求エクスポートが失敗する原因を調べてほしいです", True),  # one sentence, no spaces: still many words
        ("PR 412 のリトライ処理をレビューしてください", True),
        ("これ見てください", False),  # too short to say what and where it ends
        ("Review the retry logic in PR 412", True),
        ("pls help", False),
    ],
)
def test_an_ask_in_a_language_without_spaces_is_counted_by_its_words(text, specific):
    errors = validate(draft(text=text), "U0ASKER", PEOPLE, TODAY, language("ja"))
    assert ("ask" not in errors) == specific


def test_a_japanese_thank_you_of_one_sentence_is_enough():
    assert thanks_error("リリースが予定どおりに出せました。", language("ja")) is None
    assert thanks_error("ありがとう", language("ja")) is not None  # says nothing of what changed
