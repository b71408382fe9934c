"""The weekly kudos digest: right numbers, private by design, inert with hostile notes, and inside
Slack's limits however busy the week."""

from __future__ import annotations

import json
import re

import pytest
from fake_slack import MESSAGE_BLOCK_LIMIT, _check_blocks

from slack_app.domain.digest import (
    Digest,
    digest_context,
    format_minutes,
    more_label,
    render_digest,
    summarise,
    week_label,
)
from slack_app.text.i18n import ENGLISH, language
from slack_app.text.render import SECTION_TEXT_LIMIT, escape_mrkdwn

WEEK = "2026-W47"
HOSTILE_UNITS = [
    "<!channel>",
    "<!here>",
    "<@U0VICTIM>",
    "<https://evil.example|x>",
    "&",
    '"',
    "\\",
    "{{ 7*7 }}",
    "{% if 1 %}",
    "</script>",
    "\u202e",
    "😀",
    "\n",
    "*_~`",
]


def hostile(length: int) -> str:
    text = " ".join(HOSTILE_UNITS)
    return (text * (length // len(text) + 1))[:length]


def kudos(
    ask_id="A1",
    helper="U0HELPER",
    *,
    asker="U0ASKER",
    note="It shipped on time.",
    shared=True,
    minutes=30,
    at=1_790_000_000.0,
    ask="Review the retry logic in PR 412",
) -> dict:
    return {
        "ask_id": ask_id,
        "ask": ask,
        "asker": asker,
        "helper": helper,
        "note": note,
        "shared": shared,
        "estimate_minutes": minutes,
        "at": at,
    }


def texts(message: dict) -> list[str]:
    """Every mrkdwn/plain text in the blocks, in order."""
    found = []
    for block in message["blocks"]:
        if isinstance(block.get("text"), dict):
            found.append(block["text"]["text"])
        found += [element["text"] for element in block.get("elements", []) if "text" in element]
    return found


def note_sections(message: dict) -> list[str]:
    return [
        block["text"]["text"]
        for block in message["blocks"]
        if block["type"] == "section" and " → " in block["text"]["text"]
    ]


def thanks_text(message: dict) -> str:
    """The thank-you line, however many blocks it was split across."""
    parts = [text for text in texts(message) if "<@" in text and " → " not in text]
    joined = " ".join(parts)
    assert joined.startswith("Thank you, ") and joined.endswith("started with someone being asked, and saying yes.")
    return joined


def quoted(note: str) -> str:
    return "\n".join("> " + line for line in escape_mrkdwn(note).split("\n"))


def assert_within_limits(message: dict) -> None:
    assert message["text"]
    assert _check_blocks(message["blocks"], MESSAGE_BLOCK_LIMIT, "digest") == []
    assert len(message["blocks"]) <= MESSAGE_BLOCK_LIMIT
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT
        for element in block.get("elements", []):
            assert len(element["text"]) <= SECTION_TEXT_LIMIT


# --- the numbers ----------------------------------------------------------------------------------


def small_week() -> list[dict]:
    return [
        kudos("A1", "U0BEA", asker="U0ANN", minutes=30, at=3.0, note="Unblocked the release."),
        kudos("A1", "U0CAL", asker="U0ANN", minutes=30, at=4.0, note="Paired on the flaky test.", shared=False),
        kudos("A2", "U0BEA", asker="U0DEV", minutes=120, at=1.0, note="Saved me a day of digging."),
        kudos("A3", "U0BEA", asker="U0EVE", minutes=15, at=2.0, note="Quick and kind review."),
        kudos("A4", "U0ZED", asker="U0ANN", minutes=5, at=5.0, note="Found the typo.", shared=False),
    ]


def test_the_headline_counts_distinct_asks_distinct_helpers_and_minutes_per_ask_and_helper():
    digest = summarise(small_week(), WEEK)

    assert digest.week == WEEK
    assert digest.asks_helped == 4
    assert digest.helpers == ["U0BEA", "U0CAL", "U0ZED"]
    assert digest.minutes_given == 30 + 30 + 120 + 15 + 5
    assert digest.total_thanks == 5
    assert [note["ask_id"] for note in digest.shared_notes] == ["A2", "A3", "A1"]  # by time, not by list order

    message = render_digest(digest, skip_empty=False, lang=ENGLISH)
    headline = message["blocks"][2]["text"]["text"]
    assert "*4 asks helped* by *3 people* — about *3 hrs 20 mins* of time given." in headline
    assert "4 asks" in message["text"] and "3 people" in message["text"] and "3 hrs 20 mins" in message["text"]
    assert message["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Kudos this week"}}
    assert (
        message["blocks"][1]["elements"][0]["text"] == "Week 47, 2026 · Mon 16 Nov\u2009–\u2009Sun 22 Nov"
    )  # Babel's thin spaces
    assert_within_limits(message)


def test_a_repeated_thank_you_for_the_same_ask_and_helper_counts_once():
    digest = summarise([kudos("A1", "U0BEA", at=2.0, note="second"), kudos("A1", "U0BEA", at=1.0, note="first")], WEEK)

    assert (digest.total_thanks, digest.minutes_given, digest.asks_helped) == (1, 30, 1)
    assert [note["note"] for note in digest.shared_notes] == ["first"]


@pytest.mark.parametrize(
    "minutes, label",
    [
        (0, "0 mins"),
        (45, "45 mins"),
        (60, "1 hr"),
        (195, "3 hrs 15 mins"),
        (2 * 24 * 60 + 60, "49 hrs"),
        (600_000, "10,000 hrs"),
    ],
)
def test_time_is_shown_in_hours_and_minutes(minutes, label):
    assert format_minutes(minutes, ENGLISH) == label


@pytest.mark.parametrize("code, label", [("es", "3 h 15 min"), ("de", "3 Std. 15 Min."), ("ja", "3 時間 15 分")])
def test_time_is_written_as_the_workspace_language_writes_it(code, label):
    assert format_minutes(195, language(code)) == label


def test_a_week_across_new_year_shows_both_years_and_a_malformed_week_is_shown_as_given():
    assert week_label("2026-W01", ENGLISH) == "Week 1, 2026 · Mon, 29 Dec 2025\u2009–\u2009Sun, 4 Jan 2026"
    assert week_label("2026-W47", language("ja")) == "2026年 第47週 · 11月16日(月)～22日(日)"
    assert week_label("2025-W53", ENGLISH) == "2025-W53"  # 2025 has 52 weeks
    message = render_digest(summarise([kudos()], "<!channel>"), skip_empty=False, lang=ENGLISH)
    assert "<!channel>" not in json.dumps(message) and "&lt;!channel&gt;" in message["blocks"][1]["elements"][0]["text"]


# --- privacy --------------------------------------------------------------------------------------


def test_unshared_notes_never_appear_and_nobody_is_counted_or_ranked():
    week = [kudos(f"A{n}", "U0BUSY", asker="U0ASKONE", at=float(n), note=f"Shared note {n}.") for n in range(3)]
    week += [kudos("A9", "U0AAQUIET", asker="U0ASKTWO", at=9.0, note="PRIVATE: only for you, thanks.", shared=False)]
    message = render_digest(summarise(week, WEEK), skip_empty=False, lang=ENGLISH)
    everything = json.dumps(message, ensure_ascii=False)

    assert "PRIVATE" not in everything
    line = thanks_text(message)
    assert line.count("<@U0BUSY>") == 1  # thanked three times, named once, like everyone else
    assert line.count("<@U0AAQUIET>") == 1  # thanked privately: still thanked, note unseen
    assert line.index("<@U0AAQUIET>") < line.index("<@U0BUSY>")  # by id, not by how often
    assert "U0ASKONE" not in line and "U0ASKTWO" not in line  # askers are not helpers
    assert "U0ASKTWO" not in everything  # their only note was private, so they are nowhere
    headline = message["blocks"][2]["text"]["text"]
    assert "<@" not in headline and re.findall(r"\d+", headline) == ["4", "2", "2"]  # 4 asks, 2 people, 2 h
    assert "×" not in everything and "times" not in everything


def test_helpers_are_in_id_order_whatever_their_counts():
    week = [kudos(f"A{n}", "U0ZZZ", at=float(n)) for n in range(5)] + [kudos("B1", "U0AAA", at=10.0)]
    digest = summarise(week, WEEK)

    assert digest.helpers == ["U0AAA", "U0ZZZ"]
    assert "Thank you, <@U0AAA> and <@U0ZZZ> — " in thanks_text(render_digest(digest, skip_empty=False, lang=ENGLISH))


def test_declines_are_no_input_and_the_digest_has_no_place_for_them():
    assert set(Digest.__dataclass_fields__) == {
        "week",
        "asks_helped",
        "helpers",
        "minutes_given",
        "shared_notes",
        "total_thanks",
    }
    record = kudos()
    assert set(summarise([{**record, "declined_by": ["U0NOPE"]}], WEEK).shared_notes[0]) == set(record)


# --- hostile text ---------------------------------------------------------------------------------


def test_hostile_notes_and_asks_are_inert_and_shown_as_typed():
    note = "Thanks! <!channel> <@U0VICTIM> & {{ 7*7 }} {% if 1 %}x{% endif %} <https://evil.example|x>"
    message = render_digest(
        summarise([kudos(note=note, ask="Fix <!here> & {{ 7*7 }}")], WEEK), skip_empty=False, lang=ENGLISH
    )
    everything = json.dumps(message, ensure_ascii=False)

    for ping in ("<!channel>", "<!here>", "<@U0VICTIM>", "<https://evil"):
        assert ping not in everything
    [section] = note_sections(message)
    assert quoted(note) in section
    assert "&lt;!channel&gt; &lt;@U0VICTIM&gt; &amp; {{ 7*7 }} {% if 1 %}x{% endif %}" in section
    assert section.startswith("*Fix &lt;!here&gt; &amp; {{ 7*7 }}*\n")
    assert section.endswith("\n<@U0ASKER> → <@U0HELPER>")
    assert "49" not in everything


@pytest.mark.parametrize("note", ["&" * 1000, "\n" * 1000, "&\n" * 500, "<" * 5000, hostile(1000)])
def test_a_pathological_note_stays_inside_its_section(note):
    message = render_digest(summarise([kudos(note=note, ask="&" * 150)], WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    [section] = note_sections(message)
    assert section.endswith("\n<@U0ASKER> → <@U0HELPER>")  # clipped inside the quote, never across the attribution


# --- a busy week ----------------------------------------------------------------------------------


def busy_week(count: int, helpers: int) -> list[dict]:
    return [
        kudos(
            f"A{n:04d}",
            f"U0HELP{n % helpers:04d}",
            asker=f"U0ASK{n % 50:02d}",
            note=hostile(1000),
            ask=hostile(150),
            minutes=240,
            at=1_790_000_000.0 + n,
        )
        for n in range(count)
    ]


def test_a_busy_week_fits_slacks_limits_with_whole_notes_and_a_true_count_of_the_rest():
    week = busy_week(500, 200)
    message = render_digest(summarise(week, WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    shown = note_sections(message)
    assert 10 <= len(shown) < 500
    for section, record in zip(shown, week, strict=False):  # oldest first
        assert quoted(record["note"]) in section  # every shown note whole
    more = [text for text in texts(message) if text.startswith("…and ")]
    assert more == [f"…and {500 - len(shown)} more thank-yous"]
    line = thanks_text(message)
    assert all(line.count(f"<@U0HELP{n:04d}>") == 1 for n in range(200))
    everything = json.dumps(message, ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<@U0VICTIM>", "<https://evil"):
        assert ping not in everything


def test_a_long_list_of_helpers_is_split_across_sections_and_everyone_is_named_once():
    message = render_digest(summarise(busy_week(600, 600), WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    thanks_blocks = [text for text in texts(message) if "<@" in text and " → " not in text]
    assert len(thanks_blocks) > 1
    line = thanks_text(message)
    assert all(line.count(f"<@U0HELP{n:04d}>") == 1 for n in range(600))
    assert line.endswith(" and <@U0HELP0599> — every one of these started with someone being asked, and saying yes.")


def test_an_enormous_week_still_names_every_helper_inside_the_limits():
    week = [kudos(f"A{n}", f"U{n:010d}", asker="U0ASKER", note="Thanks!", at=float(n)) for n in range(10_000)]
    message = render_digest(summarise(week, WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    line = thanks_text(message)
    assert len(re.findall(r"<@U\d{10}>", line)) == 10_000
    shown = len(note_sections(message))
    assert shown >= 10 and f"…and {10_000 - shown:,} more thank-yous" in texts(message)


def test_more_helpers_than_any_message_can_name_are_summed_up_at_the_end():
    ids = [f"U{n:031d}" for n in range(30_000)]  # the longest ids summarise accepts
    week = [kudos(f"A{n}", helper, note="Thanks!", at=float(n)) for n, helper in enumerate(ids)]
    message = render_digest(summarise(week, WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    line = thanks_text(message)
    named = re.findall(r"<@(U\d{31})>", line)
    assert named == ids[: len(named)] and len(set(named)) == len(named)
    assert line.endswith(
        f" and {30_000 - len(named):,} more — every one of these started with someone being asked, and saying yes."
    )
    assert len(note_sections(message)) >= 10


def test_one_left_over_note_is_a_singular_thank_you():
    assert more_label(1, ENGLISH) == "…and 1 more thank-you"
    assert more_label(37, ENGLISH) == "…and 37 more thank-yous"
    assert more_label(0, ENGLISH) == ""
    room = len(note_sections(render_digest(summarise(busy_week(500, 1), WEEK), skip_empty=False, lang=ENGLISH)))
    message = render_digest(summarise(busy_week(room + 1, 1), WEEK), skip_empty=False, lang=ENGLISH)
    assert "…and 1 more thank-you" in texts(message)
    assert_within_limits(message)


def test_every_shared_note_is_shown_when_they_fit():
    week = busy_week(40, 7)
    context = digest_context(summarise(week, WEEK), ENGLISH)
    message = render_digest(summarise(week, WEEK), skip_empty=False, lang=ENGLISH)

    assert len(context["notes"]) == 40 and context["more_label"] == ""
    assert len(note_sections(message)) == 40
    assert not any(text.startswith("…and") for text in texts(message))
    assert_within_limits(message)


# --- quiet weeks and broken records ---------------------------------------------------------------


def test_a_quiet_week_gets_a_warm_line_or_nothing_when_skipped():
    digest = summarise([], WEEK)
    message = render_digest(digest, skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    assert "quiet week" in message["text"]
    assert any("A quiet week for asks." in text and "/ask" in text for text in texts(message))
    assert not any("<@" in text for text in texts(message))
    assert render_digest(digest, skip_empty=True, lang=ENGLISH) is None
    assert render_digest(summarise(small_week(), WEEK), skip_empty=True, lang=ENGLISH) is not None


def test_a_week_with_only_private_notes_still_thanks_everyone():
    message = render_digest(summarise([kudos(shared=False, note="just for you")], WEEK), skip_empty=False, lang=ENGLISH)

    assert_within_limits(message)
    assert note_sections(message) == []
    assert "just for you" not in json.dumps(message)
    assert thanks_text(message).startswith("Thank you, <@U0HELPER> — ")


@pytest.mark.parametrize(
    "broken",
    [
        None,
        "not a dict",
        42,
        [],
        {},
        {k: v for k, v in kudos().items() if k != "helper"},
        {k: v for k, v in kudos().items() if k != "at"},
        {**kudos(), "ask_id": ""},
        {**kudos(), "ask_id": 7},
        {**kudos(), "ask": None},
        {**kudos(), "helper": "<!channel>"},
        {**kudos(), "helper": "U" + "X" * 200},
        {**kudos(), "helper": "U0HELPER\n"},
        {**kudos(), "asker": 12},
        {**kudos(), "note": ["x"]},
        {**kudos(), "shared": "yes"},
        {**kudos(), "estimate_minutes": "30"},
        {**kudos(), "estimate_minutes": True},
        {**kudos(), "estimate_minutes": -5},
        {**kudos(), "estimate_minutes": 10**12},
        {**kudos(), "at": "yesterday"},
        {**kudos(), "at": float("nan")},
    ],
    ids=repr,
)
def test_a_corrupted_record_is_skipped_and_the_rest_still_counts(broken):
    good = kudos("A2", "U0GOOD", note="The good note.", minutes=60)
    digest = summarise([broken, good], WEEK)

    assert (digest.asks_helped, digest.helpers, digest.minutes_given, digest.total_thanks) == (1, ["U0GOOD"], 60, 1)
    assert [note["note"] for note in digest.shared_notes] == ["The good note."]
    assert_within_limits(render_digest(digest, skip_empty=False, lang=ENGLISH))


def test_only_corrupted_records_make_a_quiet_week():
    digest = summarise([{"nonsense": True}, None], WEEK)

    assert digest.total_thanks == 0
    assert render_digest(digest, skip_empty=True, lang=ENGLISH) is None
