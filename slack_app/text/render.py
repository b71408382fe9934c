"""Renders the Jinja2 Block Kit templates in `blocks/` to Python data.

Templates are JSON with holes. Every hole must be filled through one of the helpers below, which
JSON-encode their result, and user text is escaped for Slack mrkdwn on the way in; anything
else printed into a template is refused, so a template cannot quietly inject raw user input.

Templates are rendered in the reader's language: each language has its own environment, with
Jinja's i18n extension given that language's catalog. `_("…")` and `ngettext("…", "…", n)` are
the product's own wording (trusted, like the template's text), to be printed through `fmt` or
`plain`; people's words only ever fill a `{name}` hole, escaped.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..ids import JINJA_GLOBALS
from .i18n import Language

SECTION_TEXT_LIMIT = 3000
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")


class JsonFragment(str):
    """Already JSON-encoded text, safe to print into a template."""


class Mrkdwn(str):
    """Text already escaped for Slack mrkdwn (or built from trusted parts)."""


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters so user text can never form a mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _as_mrkdwn(value: Any) -> str:
    return value if isinstance(value, Mrkdwn) else escape_mrkdwn(str(value))


def clip(value: Any, limit: int) -> Mrkdwn:
    """Escaped user text cut to at most `limit` characters, never in the middle of an entity."""
    text = _as_mrkdwn(value)
    if len(text) <= limit:
        return Mrkdwn(text)
    cut = _ENTITY_TAIL.sub("", text[: limit - 1])
    return Mrkdwn(cut + "…")


def quote(value: Any, limit: int) -> Mrkdwn:
    """Escaped user text as a mrkdwn block quote, every line of it."""
    return Mrkdwn("\n".join("> " + line for line in clip(value, limit).split("\n")))


def mention(user_id: Any) -> Mrkdwn:
    """`<@U123>` for a real user id; anything else is shown as escaped text."""
    text = str(user_id)
    return Mrkdwn(f"<@{text}>") if _USER_ID.fullmatch(text) else Mrkdwn(escape_mrkdwn(text))


def mentions(user_ids: list[str], lang: Language) -> Mrkdwn:
    """`<@U1>, <@U2> and <@U3>`, joined as the reader's language joins a list."""
    return Mrkdwn(lang.join([mention(uid) for uid in user_ids]))


def fmt(template: str, *args: Any, limit: int = SECTION_TEXT_LIMIT, **named: Any) -> JsonFragment:
    """A mrkdwn JSON string: trusted wording (the template's, or a translation of it) with escaped
    arguments in its `{}` or `{name}` holes."""
    text = template.format(*(_as_mrkdwn(arg) for arg in args), **{name: _as_mrkdwn(arg) for name, arg in named.items()})
    return JsonFragment(json.dumps(str(clip(Mrkdwn(text), limit)), ensure_ascii=False))


def plain(value: Any, limit: int | None = None) -> JsonFragment:
    """A JSON string for plain_text fields and input values, which Slack never parses for mentions."""
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return JsonFragment(json.dumps(text, ensure_ascii=False))


def to_json(value: Any) -> JsonFragment:
    """Trusted structured data (ids, numbers, booleans, lists of ids) as JSON."""
    return JsonFragment(json.dumps(value, ensure_ascii=False))


def _only_fragments(value: Any) -> Any:
    if isinstance(value, JsonFragment):
        return value
    raise TypeError(f"template printed {value!r} without plain/fmt/json: every value must be JSON-encoded")


@cache
def _environment(lang: Language) -> Environment:
    # Not autoescaped: the templates write JSON for Slack, not HTML, and `finalize` refuses any value that
    # fmt/plain/json did not encode (escaping mrkdwn's & < >): HTML autoescaping would corrupt it.
    env = Environment(  # nosec B701
        loader=FileSystemLoader(str(files("slack_app.blocks"))),
        auto_reload=False,  # they ship with the code: no need to look at the files again on every render
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_only_fragments,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # ngettext fills in `{count}` itself, as this language writes numbers; anything else goes through fmt.
    i18n: Any = env  # jinja2.ext.i18n adds install_gettext_callables when the environment is made
    i18n.install_gettext_callables(
        gettext=lang.translations.gettext,
        ngettext=lambda singular, plural, count: lang.ngettext(singular, plural, count),
    )
    env.globals.update(
        fmt=fmt,
        plain=plain,
        json=to_json,
        mention=mention,
        clip=clip,
        quote=quote,
        lang=lang,
        mentions=lambda user_ids: mentions(user_ids, lang),
        **JINJA_GLOBALS,
    )
    env.filters.update(plain=plain, json=to_json, mention=mention, clip=clip)
    return env


def render(template_name: str, *, lang: Language, **context: Any) -> Any:  # JSON: a message, a view, a block
    """Render `blocks/<template_name>` in `lang` and parse it, so a broken template fails here, loudly."""
    return json.loads(_environment(lang).get_template(template_name).render(**context))
