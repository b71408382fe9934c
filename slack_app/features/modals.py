"""The /ask modal: building it, and reading what was submitted."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from ..domain import asks, offers
from ..domain.asks import Ask, Draft, estimate_label
from ..domain.offers import Kind
from ..ids import ActionId, BlockId
from ..text.i18n import N_, Language
from ..text.render import render

# A modal in the making: what it needs is looked up first (the same in any language), then it is drawn in
# the language of whoever opens it, which is looked up meanwhile.
Draw = Callable[[Language], dict]
Prepare = Callable[[], Awaitable[Draw]]


def drawn(draw: Draw) -> Prepare:
    """A modal with nothing to look up first."""

    async def prepare() -> Draw:
        return draw

    return prepare


def ask_modal(
    lang: Language,
    ask_text: str = "",
    channel: str = "",
    *,
    again: Ask | None = None,
    scope: str = "",
    teammates: list[str] | None = None,
    first_ask: bool = False,
    groups_cut: dict[str, int] | None = None,
    groups_unlisted: list[str] | None = None,
) -> dict:
    """The ask modal in `lang`, prefilled from where it was opened, or from an earlier ask to send again.

    `groups_cut`: user group handle → how many of its members didn't fit; `groups_unlisted`: handles whose
    members couldn't be listed."""
    return render(
        "ask_modal.json.j2",
        lang=lang,
        ask_text=again.text if again else ask_text.strip(),
        scope=again.scope if again else scope,
        estimate=again.estimate_minutes if again else None,
        decline=again.decline_line if again else None,
        teammates=(teammates or [])[: asks.MAX_TEAMMATES],
        first_ask=first_ask,
        groups_cut=groups_cut or {},
        groups_unlisted=groups_unlisted or [],
        metadata=json.dumps({"channel": channel}),
        estimates={minutes: estimate_label(minutes, lang) for minutes in asks.ESTIMATES},
        decline_lines={key: lang.gettext(line) for key, line in asks.DECLINE_LINES.items()},
        max_teammates=asks.MAX_TEAMMATES,
        max_helpers=asks.MAX_HELPERS_NEEDED,
        ask_max_length=asks.ASK_MAX_LENGTH,
        scope_max_length=asks.SCOPE_MAX_LENGTH,
    )


def thanks_modal(lang: Language, ask: Ask, helper: str, prompt_channel: str, prompt_ts: str) -> dict:
    """The thank-you modal, in the asker's language."""
    metadata = {"ask": ask.id, "helper": helper, "channel": prompt_channel, "ts": prompt_ts}
    return render(
        "thanks_modal.json.j2",
        lang=lang,
        ask=ask,
        helper=helper,
        metadata=json.dumps(metadata),
        note_max_length=asks.THANKS_MAX_LENGTH,
    )


def erase_modal(lang: Language) -> dict:
    return render("erase_modal.json.j2", lang=lang)


OFFER_TITLES = {Kind.LATER: N_("Later"), Kind.SMALLER: N_("A smaller yes"), Kind.SUGGEST: N_("Suggest someone")}


def offer_modal(lang: Language, ask: Ask, kind: Kind) -> dict:
    """A small form for one offer, in the helper's language: a day (and time), less time, or a teammate."""
    return render(
        "offer_modal.json.j2",
        lang=lang,
        ask=ask,
        kind=kind.value,
        title=lang.gettext(OFFER_TITLES[kind]),
        metadata=json.dumps({"ask": ask.id, "kind": kind.value}),
        smaller={minutes: estimate_label(minutes, lang) for minutes in offers.smaller_estimates(ask)},
        note_max_length=offers.NOTE_MAX_LENGTH,
    )


@dataclass(frozen=True)
class OfferDraft:
    """The offer modal's values, parsed but not yet checked."""

    day: date | None
    at: time | None
    minutes: int | None
    suggested: str | None
    note: str


def parse_offer(values: dict[str, Any]) -> OfferDraft:
    selected = _element(values, BlockId.MINUTES).get("selected_option")
    suggested = _element(values, BlockId.PERSON).get("selected_user")
    return OfferDraft(
        day=_date(_element(values, BlockId.DAY).get("selected_date")),
        at=_time(_element(values, BlockId.TIME).get("selected_time")),
        minutes=_int(selected.get("value")) if isinstance(selected, dict) else None,
        suggested=suggested if isinstance(suggested, str) else None,
        note=" ".join(_text(_element(values, BlockId.NOTE).get("value")).split()),  # one line
    )


def parse_thanks(values: dict[str, Any]) -> tuple[str, bool]:
    """The note and whether the asker chose to share it in the digest."""
    note = _element(values, BlockId.NOTE).get("value")
    chosen = _element(values, BlockId.SHARE).get("selected_options") or []
    shared = any(isinstance(option, dict) and option.get("value") == "share" for option in chosen)
    return _text(note), shared


def metadata(view: dict) -> dict:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _element(values: dict[str, Any], block_id: str) -> dict:
    block = values.get(block_id)
    value = block.get(ActionId.INPUT) if isinstance(block, dict) else None
    return value if isinstance(value, dict) else {}


def parse_submission(values: dict[str, Any]) -> Draft:
    """Reads view.state.values defensively: a field may be missing or of the wrong shape."""

    def element(block_id: str) -> dict:
        return _element(values, block_id)

    def selected(block_id: str) -> str | None:
        option = element(block_id).get("selected_option")
        return option.get("value") if isinstance(option, dict) else None

    return Draft(
        text=_text(element(BlockId.ASK).get("value")),
        scope=_text(element(BlockId.SCOPE).get("value")),
        estimate_minutes=_int(selected(BlockId.ESTIMATE)),
        decline_line=selected(BlockId.DECLINE),
        teammates=[uid for uid in element(BlockId.TEAMMATES).get("selected_users") or [] if isinstance(uid, str)],
        needed_by=_date(element(BlockId.NEEDED_BY).get("selected_date")),
        helpers_needed=_int(selected(BlockId.HELPERS_NEEDED)) or 1,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> time | None:
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
