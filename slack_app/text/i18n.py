"""Every person in their own language: the catalogs, and Babel's plurals, dates and durations per language.

The wording lives in gettext catalogs, `slack_app/text/locales/<code>/LC_MESSAGES/messages.po`, one per
language; English is the source language, so its text is the message ids themselves. A catalog is
compiled from its `.po` the first time a process needs that language and kept for the process's
lifetime, so a fresh checkout (or a just-edited translation) needs no separate compile step.

Which language someone reads is their Slack locale (`users.info` with `include_locale`): Slack's
`es-LA`, `pt-BR`, `ja-JP` … become one of LANGUAGES, and anything else becomes English.
"""

from __future__ import annotations

import datetime
import gettext
import io
import string
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import format_interval, format_skeleton, format_timedelta
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations
from babel.units import format_unit

# Each language named in itself, as a person looking for theirs would.
LANGUAGES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt_BR": "Português (Brasil)",
    "ja": "日本語",
}
DEFAULT_LANGUAGE = "en"
CATALOGS = Path(__file__).parent / "locales"
DOMAIN = "messages"
# The product's English is British in its formats: "Thu 4 Dec", "3 hrs 20 mins".
_FORMAT_LOCALES = {"en": "en_GB"}


def N_(message: str) -> str:
    """Marks wording for the catalogs where it is defined; it is translated where it is shown."""
    return message


def language_code(slack_locale: str | None) -> str:
    """Slack's locale ('es-LA', 'pt-BR', 'ja-JP') as one of LANGUAGES; unknown or unsupported → English."""
    tag = (slack_locale or "").replace("-", "_")
    if tag in LANGUAGES:
        return tag
    base = tag.split("_")[0].lower()
    return next((code for code in LANGUAGES if code.split("_")[0] == base), DEFAULT_LANGUAGE)


def placeholders(text: str) -> set[str]:
    """The `{name}` holes in a message: a translation must keep exactly the English one's."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@dataclass(frozen=True, eq=False)
class Language:
    """One language's wording and formats. Message ids are English; `{name}` holes are filled by the caller."""

    code: str
    translations: gettext.NullTranslations
    locale: Locale

    @property
    def name(self) -> str:
        return LANGUAGES[self.code]

    def gettext(self, message: str, **values: object) -> str:
        """The translation of `message`, its `{name}` holes filled with `values` (trusted text only)."""
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        """The form for `count` under this language's plural rules, `{count}` written as this language
        writes numbers; other holes not in `values` are left for the caller (a template's fmt) to fill."""
        text = self.translations.ngettext(singular, plural, count)
        return text.format_map(_LeaveOtherHoles(count=self.number(count), **values))

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float) -> str:
        """0.83 → '83%', '83 %', '83%'."""
        return format_percent(share, locale=self.locale)

    def hours(self, value: float) -> str:
        """12.5 → '12.5 hrs', '12,5 h', '12.5 時間'."""
        return format_unit(value, "duration-hour", length="short", locale=self.locale)

    def date(self, day: datetime.date, *, with_year: bool = False) -> str:
        """'Thu 4 Dec', 'jue, 4 dic', '12月4日(木)'."""
        return format_skeleton("yMMMEd" if with_year else "MMMEd", day, locale=self.locale)

    def dates(self, first: datetime.date, last: datetime.date) -> str:
        """'Mon 16 Nov – Sun 22 Nov', with years when the range crosses one."""
        skeleton = "yMMMEd" if first.year != last.year else "MMMEd"
        return format_interval(first, last, skeleton, locale=self.locale)

    def weekday(self, number: int) -> str:
        """0 → 'Monday', 'Lunes', '月曜日': capitalised, as a choice in a list is."""
        name: str = self.locale.days["stand-alone"]["wide"][number]
        return name[:1].upper() + name[1:]

    @lru_cache(maxsize=1024)  # noqa: B019 (one Language per code, kept for the process's life anyway)
    def duration(self, minutes: int, *, short: bool = False) -> str:
        """90 → '1 hour and 30 minutes'; short: '1 hr 30 mins'."""
        hours, rest = divmod(max(0, int(minutes)), 60)
        length: Literal["short", "long"] = "short" if short else "long"
        parts = [format_unit(hours, "duration-hour", length=length, locale=self.locale)] if hours else []
        if rest or not hours:
            parts.append(format_unit(rest, "duration-minute", length=length, locale=self.locale))
        return " ".join(parts) if short else self.join(parts)

    def relative_day(self, day: datetime.date, today: datetime.date) -> str:
        """'today', 'in 2 days', 'dentro de 2 días', '2 日後'; a day gone by reads '2 days ago'."""
        if day == today:
            return self.gettext("today")
        return format_timedelta(day - today, granularity="day", add_direction=True, locale=self.locale)

    def join(self, items: list[str]) -> str:
        """'A, B and C', 'A, B y C', 'A、B、C'."""
        return format_list(items, locale=self.locale) if items else ""

    def list_separators(self) -> tuple[str, str]:
        """What goes between names in a list: (between the others, before the last)."""
        patterns = self.locale.list_patterns["standard"]
        return _between(patterns["middle"]), _between(patterns["end"])


class _LeaveOtherHoles(dict[str, object]):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def _between(pattern: str) -> str:
    return pattern.replace("{0}", "", 1).replace("{1}", "", 1)


@cache
def language(code: str) -> Language:
    """The Language for one of LANGUAGES' codes; any other code gets English."""
    code = code if code in LANGUAGES else DEFAULT_LANGUAGE
    locale = Locale.parse(_FORMAT_LOCALES.get(code, code))
    return Language(code=code, translations=_translations(code), locale=locale)


def language_of(slack_locale: str | None) -> Language:
    return language(language_code(slack_locale))


def catalog_path(code: str) -> Path:
    return CATALOGS / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def _translations(code: str) -> gettext.NullTranslations:
    if code == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # a fuzzy entry is a guess: English until someone checks it
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


ENGLISH = language(DEFAULT_LANGUAGE)
