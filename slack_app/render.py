"""Renders the Jinja2 Block Kit templates in `blocks/` to Python data.

Templates are JSON with holes. Every hole must be filled through one of the helpers below, which
JSON-encode their result, and user text is escaped for Slack mrkdwn on the way in; anything
else printed into a template is refused, so a template cannot quietly inject raw user input.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

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


def mentions(user_ids: list[str]) -> Mrkdwn:
    """`<@U1>, <@U2> and <@U3>`."""
    names = [mention(uid) for uid in user_ids]
    if len(names) <= 1:
        return Mrkdwn("".join(names))
    return Mrkdwn(", ".join(names[:-1]) + " and " + names[-1])


def fmt(template: str, *args: Any, limit: int = SECTION_TEXT_LIMIT) -> JsonFragment:
    """A mrkdwn JSON string: the template's own wording with escaped arguments in its `{}` holes."""
    text = template.format(*(_as_mrkdwn(arg) for arg in args))
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


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Not autoescaped: the templates write JSON for Slack, not HTML, and `finalize` refuses any value that
    # fmt/plain/json did not encode (escaping mrkdwn's & < >): HTML autoescaping would corrupt it.
    env = Environment(  # nosec B701
        loader=FileSystemLoader(str(files("slack_app.blocks"))),
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_only_fragments,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(fmt=fmt, plain=plain, json=to_json, mention=mention, mentions=mentions, clip=clip, quote=quote)
    env.filters.update(plain=plain, json=to_json, mention=mention, clip=clip)
    return env


def render(template_name: str, **context: Any) -> Any:
    """Render `blocks/<template_name>` and parse it, so a broken template fails here, loudly."""
    return json.loads(_environment().get_template(template_name).render(**context))
