"""What an ask starts from: the text after /ask (with its mentions), or a message someone pointed at.

Pure domain logic: no Slack calls, no Redis.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text.i18n import N_

UNNAMED_GROUP = N_("a user group")  # a group Slack sent without its handle; worded in the reader's language
HELP_WORDS = frozenset({"help", "?", "-h", "--help"})

# Slack's escaped forms (should_escape: true): <@U123|hal>, <!subteam^S123|@design>, <#C123|general>,
# <!here>, <https://x|label>.
_ANGLE = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"^@([UW][A-Z0-9]+)(?:\|.*)?$")
_GROUP = re.compile(r"^!subteam\^([A-Z0-9]+)(?:\|(.*))?$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|(?<=[。！？])|\n")  # Japanese ends a sentence with no space after


@dataclass
class CommandText:
    """/ask's text, split into the ask line and the people it names."""

    text: str
    users: list[str] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)  # user group id → its handle, e.g. "@design"


def wants_help(text: str) -> bool:
    return text.strip().lower() in HELP_WORDS


def parse_command(text: str) -> CommandText:
    """People and user groups out of the text; channels, @here and links stay in it, readable."""
    parsed = CommandText(text="")

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        user = _USER.match(inner)
        if user:
            if user.group(1) not in parsed.users:
                parsed.users.append(user.group(1))
            return " "
        group = _GROUP.match(inner)
        if group:
            parsed.groups.setdefault(group.group(1), group.group(2) or UNNAMED_GROUP)
            return " "
        return readable(inner)

    rest = _ANGLE.sub(replace, text)
    parsed.text = _tidy(_unescape(rest))
    return parsed


def readable(inner: str) -> str:
    """How a person would write one of Slack's <…> forms: #general, @here, a bare link."""
    target, _, label = inner.partition("|")
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    return target


def first_sentence(message_text: str, limit: int) -> str:
    """The first sentence of a message, its mentions left out, at most `limit` characters (cut at a word, with …)."""
    text = parse_command(message_text).text
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0].strip() if text else ""
    if len(sentence) <= limit:
        return sentence
    head = sentence[: limit - 1]
    ends_at_word = sentence[limit - 1] == " " or " " not in head
    cut = head if ends_at_word else head.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def fallback_permalink(team_domain: str, channel: str, ts: str, thread_ts: str = "") -> str:
    """A message's link built the way Slack builds permalinks, for when chat.getPermalink can't answer."""
    if not (team_domain and channel and ts):
        return ""
    link = f"https://{team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return f"{link}?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else link


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    tidy = "\n".join(line for line in lines if line).strip(" ,;:")
    return tidy[:1].upper() + tidy[1:]
