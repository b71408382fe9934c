"""Reading what an ask starts from: /ask's escaped text, and the message a shortcut points at."""

from __future__ import annotations

import pytest

from slack_app.domain.prefill import fallback_permalink, first_sentence, parse_command, wants_help


@pytest.mark.parametrize(
    "text, ask, users, groups",
    [
        (
            "<@U0HAL|hal> <@U0HANA|hana> review the retry logic in PR 412",
            "Review the retry logic in PR 412",
            ["U0HAL", "U0HANA"],
            {},
        ),
        ("review PR 412 with <@U0HAL> and <@U0HAL|hal>", "Review PR 412 with and", ["U0HAL"], {}),
        (
            "<!subteam^S0DESIGN|@design> check the new onboarding copy",
            "Check the new onboarding copy",
            [],
            {"S0DESIGN": "@design"},
        ),
        ("post the summary in <#C0GENERAL|general> for <!here>", "Post the summary in #general for @here", [], {}),
        (
            "compare with <https://example.com/a?b=1&amp;c=2|the spec> &lt;soon&gt;",
            "Compare with https://example.com/a?b=1&c=2 <soon>",
            [],
            {},
        ),
        ("plain text &amp; nothing else", "Plain text & nothing else", [], {}),
        ("", "", [], {}),
    ],
)
def test_mentions_become_teammates_and_the_rest_stays_readable(text, ask, users, groups):
    parsed = parse_command(text)

    assert parsed.text == ask
    assert parsed.users == users
    assert parsed.groups == groups


@pytest.mark.parametrize("text", ["help", " HELP ", "?", "--help"])
def test_help_words(text):
    assert wants_help(text)


@pytest.mark.parametrize("text", ["help with PR 412", "", "helpful review"])
def test_not_help(text):
    assert not wants_help(text)


@pytest.mark.parametrize(
    "message, limit, expected",
    [
        (
            "The retry logic in PR 412 times out on CI. Could someone look at the backoff?",
            150,
            "The retry logic in PR 412 times out on CI.",
        ),
        ("<@U0HAL> can you check the deploy? It failed twice", 150, "Can you check the deploy?"),
        ("first line without a stop\nsecond line", 150, "First line without a stop"),
        (
            "PR 412 のリトライ処理が CI でタイムアウトします。誰か見てもらえますか？",
            150,
            "PR 412 のリトライ処理が CI でタイムアウトします。",
        ),
        ("word " * 60, 40, "Word word word word word word word word…"),
        ("", 150, ""),
    ],
)
def test_first_sentence_of_a_message(message, limit, expected):
    sentence = first_sentence(message, limit)

    assert sentence == expected
    assert len(sentence) <= limit


def test_fallback_permalink_is_slacks_shape_in_a_channel_and_a_thread():
    assert (
        fallback_permalink("acme", "C0GENERAL", "1700000000.000100")
        == "https://acme.slack.com/archives/C0GENERAL/p1700000000000100"
    )
    assert fallback_permalink("acme", "C0GENERAL", "1700000001.000200", "1700000000.000100") == (
        "https://acme.slack.com/archives/C0GENERAL/p1700000001000200?thread_ts=1700000000.000100&cid=C0GENERAL"
    )
    assert fallback_permalink("", "C0GENERAL", "1.2") == ""
