"""Plurals and agreement, in every language, against a table a person has read line by line.

Every message that counts something (ngettext) or names a list of people ({helpers}, {teammates}, {names},
{groups}) or counted things ({asks}, {people}) is rendered with one and with two of each, in every language,
exactly as the templates fill it: mentions joined as the reader's language joins a list, counts written as it
writes numbers. The result must match tests/plural_agreement.yaml, where each line was read by a person for
grammar: a verb that agrees with the list, not with a count beside it ("<@A> y <@B> ya se encarga" is the bug
this catches), the right plural form, nothing that reads as a fragment.

A new or changed message fails here until its lines are written and reviewed. To see what they render as:
    python tests/test_plural_agreement.py > /tmp/rendered.yaml
then read every line, fix the catalog where a line is wrong, and copy the reviewed lines into the table.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_i18n import source_messages  # noqa: E402

from slack_app.text.i18n import LANGUAGES, Language, language  # noqa: E402
from slack_app.text.render import mentions  # noqa: E402

TABLE = Path(__file__).resolve().parent / "plural_agreement.yaml"
USERS = ["U0HELP1", "U0HELP2"]


def _listed(lang: Language, n: int, items: list[str]) -> str:
    return lang.join(items[:n])


# How the code fills each placeholder that varies with one or two, as the templates and domain fill it.
VARYING = {
    "count": lambda lang, n: n,
    "helpers": lambda lang, n: mentions(USERS[:n], lang),
    "teammates": lambda lang, n: mentions(USERS[:n], lang),
    "names": lambda lang, n: _listed(lang, n, ["Hal", "Hana"]),
    "groups": lambda lang, n: _listed(lang, n, ["@design", "@infra"]),
    "asks": lambda lang, n: lang.ngettext("{count} ask", "{count} asks", n),
    "people": lambda lang, n: lang.ngettext("{count} person", "{count} people", n),
    "notes": lambda lang, n: lang.ngettext("{count} thank-you note", "{count} thank-you notes", n),
}
# Messages where one of those names means something else: here {asks} is an admin's weekly figure, never
# below 5 (fewer shows as "fewer than 5"), so it never reads "1".
NOT_COUNTED = {"{week}: {asks} asks, {found} found help, {thanked} thanked."}


class _OtherHolesStay(dict):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def varying(message: str | tuple[str, str]) -> list[str]:
    """The placeholders of `message` that change with one or two, in a fixed order."""
    english = " ".join(message) if isinstance(message, tuple) else message
    return [name for name in VARYING if "{" + name + "}" in english]


def counted_messages() -> list[str | tuple[str, str]]:
    """Every message whose wording depends on one or two: plurals, and lists or counts of people and asks."""
    found = [
        message
        for message in source_messages()
        if (isinstance(message, tuple) or varying(message)) and key(message) not in NOT_COUNTED
    ]
    return sorted(found, key=lambda message: message if isinstance(message, str) else message[0])


def key(message: str | tuple[str, str]) -> str:
    return message if isinstance(message, str) else message[0]


def render(message: str | tuple[str, str], lang: Language, ones_and_twos: dict[str, int]) -> str:
    values = _OtherHolesStay({name: VARYING[name](lang, n) for name, n in ones_and_twos.items()})
    if isinstance(message, tuple):
        count = ones_and_twos.get("count", 1)
        return lang.ngettext(*message, count, **{k: v for k, v in values.items() if k != "count"})
    return lang.translations.gettext(message).format_map(values)


def cases(message: str | tuple[str, str]) -> list[dict[str, int]]:
    names = varying(message) or ["count"]
    return [dict(zip(names, ns, strict=True)) for ns in itertools.product((1, 2), repeat=len(names))]


def case_name(ones_and_twos: dict[str, int]) -> str:
    return " ".join(f"{name}={n}" for name, n in ones_and_twos.items())


def rendered_table() -> dict:
    return {
        key(message): {
            code: {case_name(case): render(message, language(code), case) for case in cases(message)}
            for code in LANGUAGES
        }
        for message in counted_messages()
    }


@pytest.fixture(scope="module")
def reviewed() -> dict:
    return yaml.safe_load(TABLE.read_text(encoding="utf-8")) if TABLE.exists() else {}


def test_every_counted_message_has_reviewed_lines_and_none_is_left_over(reviewed):
    expected = {key(message) for message in counted_messages()}
    assert len(expected) > 15  # found the plurals and the lists, not nothing
    assert sorted(expected - set(reviewed)) == [], "no reviewed lines yet (see this module's docstring)"
    assert sorted(set(reviewed) - expected) == [], "lines for a message that no longer exists"


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_one_and_two_read_right_in_every_language(reviewed, code):
    wrong = []
    for message in counted_messages():
        lines = reviewed.get(key(message), {}).get(code, {})
        for case in cases(message):
            got, want = render(message, language(code), case), lines.get(case_name(case))
            if got != want:
                wrong.append(f"{key(message)!r} [{case_name(case)}]\n    reviewed: {want!r}\n    renders:  {got!r}")
    assert not wrong, f"{len(wrong)} lines differ from the reviewed table:\n" + "\n".join(wrong)


def test_a_verb_after_a_list_of_helpers_agrees_with_two_of_them():
    """The bug the table was started for, checked on its own so it can never be reviewed back in."""
    singular_verbs = {"es": " se encarga", "de": " ist dabei", "fr": " s'en occupe ", "pt_BR": " já está"}
    helping = ("Helping: {helpers}. Still looking for {count} more.",) * 2
    for code, singular_verb in singular_verbs.items():
        two = render(helping, language(code), {"helpers": 2, "count": 1})
        assert singular_verb not in two and "<@U0HELP1>" in two and "<@U0HELP2>" in two


if __name__ == "__main__":
    yaml.safe_dump(rendered_table(), sys.stdout, allow_unicode=True, sort_keys=False, width=1000)
