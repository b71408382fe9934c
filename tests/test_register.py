"""Each catalog speaks in one register and reads as its language is written: what a native reviewer of
issue 25 found, kept from coming back (README: Languages names the register per language)."""

from __future__ import annotations

import re
import string
from datetime import date

import pytest
from babel.messages.pofile import read_po

from slack_app.text.i18n import catalog_path, language

# Words of the register a catalog does not use, as whole words; the product says es tú, fr vous, de du,
# pt_BR você, ja です/ます.
OTHER_REGISTER = {
    "fr": re.compile(r"\b(tu|te|toi|ton|ta|tes|t')(?=\W)", re.IGNORECASE),
    "es": re.compile(r"\b(usted|ustedes|vosotros|vosotras)\b", re.IGNORECASE),
    # formal Sie/Ihnen/Ihr mid-sentence (a capital after a lower-case word), where "sie" would be "they"
    "de": re.compile(r"(?<=[a-zäöüß,] )(Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer)\b"),
    "pt_BR": re.compile(r"\b(tu|teu|tua|teus|tuas|contigo|vós)\b", re.IGNORECASE),
    # a full sentence ending in a plain form (…る。…た。…だ。ありがとう。) rather than です/ます
    "ja": re.compile(r"(?<!まし)(?<!でし)(?<!しょ)[るただう]。"),
}
# Forms a person reads as a form to fill in, not as speech: say it without the reader's gender instead.
GENDER_MARKS = re.compile(r"·e|\(e\)|\(a\)|o\(a\)|a\(o\)")


def entries(code: str):
    """(message id, each translated form) for every entry of a catalog."""
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=code)
    for message in catalog:
        if message.id:
            forms = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
            yield message.id, [form for form in forms if form]


@pytest.mark.parametrize("code", list(OTHER_REGISTER))
def test_every_message_keeps_the_languages_one_register(code):
    off = [
        f"{form!r} ({found.group()!r})"
        for _, forms in entries(code)
        for form in forms
        for found in [OTHER_REGISTER[code].search(form)]
        if found
    ]

    assert not off, f"{code} strays from its register in:\n  " + "\n  ".join(off)


@pytest.mark.parametrize("code", ["fr", "es", "de", "pt_BR"])
def test_no_message_speaks_of_its_reader_with_a_gender_mark(code):
    marked = [form for _, forms in entries(code) for form in forms if GENDER_MARKS.search(form)]

    assert not marked, f"{code}: " + "\n  ".join(marked)


@pytest.mark.parametrize("code", ["fr", "es", "de", "pt_BR", "ja"])
def test_a_date_never_leaves_a_double_full_stop(code):
    """A date can end in an abbreviation's period ("jeu. 10 déc.", "Mi., 9. Dez."): a sentence that ends
    on one would print "déc..". Every message with a date is filled with real dates and read."""
    lang = language(code)
    days = [lang.date(date(2026, 12, 9)), lang.date(date(2026, 12, 9)) + ", 15:00"]
    doubled = []
    for _, forms in entries(code):
        for form in forms:
            holes = {name for _, name, _, _ in string.Formatter().parse(form) if name}
            if not holes & {"day", "date", "needed_by"}:
                continue
            for day in days:
                filled = form.format(**{name: day if name in {"day", "date", "needed_by"} else "X" for name in holes})
                if re.search(r"(?<!\.)\.\.(?!\.)", filled):
                    doubled.append(filled)

    assert not doubled, "\n  ".join(doubled)
