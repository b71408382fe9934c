"""The coaching rules, table-driven: each rule firing where it should, and staying quiet where it shouldn't."""

from __future__ import annotations

import pytest

from slack_app.domain.asks import Draft
from slack_app.domain.coaching import coach_ask, coach_thanks, rules
from slack_app.text.i18n import ENGLISH, LANGUAGES, language

GOOD_SCOPE = "In: error handling in retry.py. Out: naming and tests."


def draft(text: str, scope: str = GOOD_SCOPE, estimate: int = 30) -> Draft:
    return Draft(
        text=text,
        scope=scope,
        estimate_minutes=estimate,
        decline_line="no_reason",
        teammates=["U0HELP1"],
        needed_by=None,
        helpers_needed=1,
    )


@pytest.mark.parametrize(
    "text, scope, estimate, field, wording",
    [
        # apology and self-deprecation, on the field that says it
        ("Sorry to bother, can you review PR 412", GOOD_SCOPE, 30, "ask", "“sorry to bother”"),
        ("Review PR 412, sorry!", GOOD_SCOPE, 30, "ask", "“sorry”"),
        ("I hate to ask but could you review PR 412", GOOD_SCOPE, 30, "ask", "“i hate to ask”"),
        ("Review PR 412 if it’s not too much trouble", GOOD_SCOPE, 30, "ask", "“if it's not too much trouble”"),
        ("I know you're busy: review PR 412's retry logic", GOOD_SCOPE, 30, "ask", "“i know you're busy”"),
        ("Quick favour: rotate the staging TLS cert", GOOD_SCOPE, 30, "ask", "“quick favour”"),
        ("Stupid question about the billing export job", GOOD_SCOPE, 30, "ask", "“stupid question”"),
        ("No pressure but the billing export fails", GOOD_SCOPE, 30, "ask", "“no pressure but”"),
        ("Review the retry logic in PR 412", "Sorry, it's long. In: retry.py. Out: tests.", 30, "scope", "“sorry”"),
        # vagueness: nothing concrete, or a scope that only says the ask again
        ("Can you look at this for me?", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Could someone help with stuff", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Any thoughts? Ideas? Anyone?", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Review the retry logic in PR 412", "The retry logic in PR 412.", 30, "scope", "beyond the ask itself"),
        ("Review the retry logic in PR 412", "this and that", 30, "scope", "beyond the ask itself"),
        (
            "Review the retry logic in PR 412",
            "https://acme.slack.com/archives/C1/p1\n",
            30,
            "scope",
            "what done looks like",
        ),
        # estimates that don't fit the words
        ("Quick look at the retry logic in PR 412", GOOD_SCOPE, 240, "estimate", "“quick look” but picked half a day"),
        ("Sanity check the billing export totals", GOOD_SCOPE, 120, "estimate", "2 hours"),
        (
            "Deep dive into the billing export failures",
            GOOD_SCOPE,
            5,
            "estimate",
            "“deep dive” sounds bigger than 5 minutes",
        ),
        ("Rewrite the retry logic in PR 412", GOOD_SCOPE, 15, "estimate", "15 minutes"),
    ],
)
def test_each_rule_fires_with_one_suggestion_on_its_field(text, scope, estimate, field, wording):
    suggestion = coach_ask(draft(text, scope, estimate), ENGLISH)

    assert list(suggestion) == [field]
    assert wording.lower() in suggestion[field].lower()


@pytest.mark.parametrize(
    "text, scope, estimate",
    [
        ("Review the retry logic in PR 412", GOOD_SCOPE, 30),
        # "sorry" someone else wrote, quoted or in code, is not an apology
        ('Find why the export says "Sorry, something went wrong"', GOOD_SCOPE, 30),
        ("Find why the export says “Sorry, something went wrong”", GOOD_SCOPE, 30),
        ("Find why `sorry_handler()` swallows the billing errors", GOOD_SCOPE, 30),
        (
            "Find why the billing export fails",
            "The log says:\n> Sorry, we could not export\nIn: export.py. Out: UI.",
            30,
        ),
        (
            "Find why the billing export fails",
            "Error:\n```\nsorry: no pressure but quota exceeded\n```\nIn: export.py.",
            30,
        ),
        # whole words only
        ("Review the sorrynotsorry emoji pack for the offsite", GOOD_SCOPE, 30),
        ("Review the quick-lookup table in the billing cache", GOOD_SCOPE, 240),
        # concrete asks that happen to use filler words
        ("Can you look at the flaky login test?", GOOD_SCOPE, 30),
        ("Help me with the deploy of billing to staging", GOOD_SCOPE, 60),
        # fitting estimates
        ("Quick look at the retry logic in PR 412", GOOD_SCOPE, 15),
        ("Deep dive into the billing export failures", GOOD_SCOPE, 240),
        ("Review the retry logic in PR 412", "Done when approved. Out: naming.", 240),
        ("Review the retry logic in PR 412", "https://acme.slack.com/archives/C1/p1\nDone when approved.", 30),
        ("Why does the export say `sorry`?", "See https://acme.slack.com/archives/C1/p1?sorry=1 Done: a cause.", 30),
    ],
)
def test_nothing_to_say_about_a_good_ask(text, scope, estimate):
    assert coach_ask(draft(text, scope, estimate), ENGLISH) == {}


def test_an_apology_is_pointed_out_before_anything_else():
    suggestion = coach_ask(draft("Sorry, can you look at this", "this", 240), ENGLISH)

    assert list(suggestion) == ["ask"] and "apologise" in suggestion["ask"]


@pytest.mark.parametrize(
    "note, coached",
    [
        ("Sorry it took so long — the release went out on time.", True),
        ("Thanks, and sorry for the trouble!", True),
        ("Apologies for the late thanks: the build is green again.", True),
        ("The release went out on time and nobody got paged.", False),
        ('Fixed the "sorry, try again" banner for every customer.', False),
        ("Thanks!", False),  # too short is the thanks minimum's job, not coaching's
    ],
)
def test_thanks_that_apologise_are_asked_what_changed(note, coached):
    suggestion = coach_thanks(note, ENGLISH)

    assert (suggestion is not None) == coached
    if coached:
        assert "what their help changed" in suggestion


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_phrase_lists_are_data_and_all_lower_case_in_every_language(code):
    r = rules(code)
    for phrase in (*r.apologies, *r.small_phrases, *r.large_phrases, *r.thanks_apologies):
        assert phrase == phrase.lower().strip() and phrase
    assert "sorry" in r.apologies and "quick look" in r.small_phrases  # English is always looked for too


@pytest.mark.parametrize(
    "code, text, scope, estimate, field, wording",
    [
        ("es", "Perdón por molestar, ¿puedes revisar el PR 412?", GOOD_SCOPE, 30, "ask", "No hace falta pedir perdón"),
        ("es", "¿Me puedes ayudar con esto?", GOOD_SCOPE, 30, "ask", "cuándo estará terminada"),
        ("es", "Vistazo rápido a la lógica de reintentos del PR 412", GOOD_SCOPE, 240, "estimate", "media jornada"),
        ("fr", "Désolé de vous déranger : relire la PR 412", GOOD_SCOPE, 30, "ask", "« désolé de vous déranger »"),
        ("de", "Kurzer Blick auf die Retry-Logik in PR 412", GOOD_SCOPE, 240, "estimate", "4 Stunden (halber Tag)"),
        ("de", "Kannst du mir bitte mal helfen?", GOOD_SCOPE, 30, "ask", "woran man erkennt"),
        ("pt_BR", "Desculpa incomodar, pode revisar o PR 412?", GOOD_SCOPE, 30, "ask", "“desculpa incomodar”"),
        (
            "ja",
            "お忙しいところすみませんが、PR 412 のリトライ処理を見てください",
            GOOD_SCOPE,
            30,
            "ask",
            "「お忙しいところすみません」",
        ),
        ("ja", "Sorry, review PR 412", GOOD_SCOPE, 30, "ask", "「sorry」"),  # English read too, answered in Japanese
    ],
)
def test_each_language_is_read_with_its_own_phrases_and_answered_in_it(code, text, scope, estimate, field, wording):
    suggestion = coach_ask(draft(text, scope, estimate), language(code))

    assert list(suggestion) == [field] and wording in suggestion[field]


@pytest.mark.parametrize(
    "code, text",
    [
        ("de", "Kein Stress, aber schau bitte auf die Retry-Logik in PR 412"),  # a phrase with a comma in it
        ("pt_BR", "Revisar o PR 412, mas só a lógica de retry"),  # "mas" alone is no apology
        ("es", "Revisar la lógica de reintentos del PR 412"),
        ("ja", "PR 412 のリトライ処理をレビューしてください"),
    ],
)
def test_plain_asks_in_each_language_need_no_coaching(code, text):
    suggestion = coach_ask(draft(text), language(code))
    assert suggestion == ({"ask": suggestion["ask"]} if code == "de" else {})
    if code == "de":
        assert "kein stress, aber" in suggestion["ask"]


def test_thanks_are_coached_in_the_askers_language():
    assert "Cuenta qué cambió" in coach_thanks("Perdón por tardar: la versión salió a tiempo.", language("es"))
