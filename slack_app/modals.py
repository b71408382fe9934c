"""The /ask modal: building it, and reading what was submitted."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from . import asks
from .asks import Draft
from .render import render


def ask_modal(ask_text: str = "", channel: str = "") -> dict:
    return render(
        "ask_modal.json.j2",
        ask_text=ask_text.strip(),
        metadata=json.dumps({"channel": channel}),
        estimates=asks.ESTIMATES,
        decline_lines=asks.DECLINE_LINES,
        max_teammates=asks.MAX_TEAMMATES,
        max_helpers=asks.MAX_HELPERS_NEEDED,
        ask_max_length=asks.ASK_MAX_LENGTH,
        scope_max_length=asks.SCOPE_MAX_LENGTH,
    )


def parse_submission(values: dict[str, Any]) -> Draft:
    """Reads view.state.values defensively: a field may be missing or of the wrong shape."""

    def element(block_id: str) -> dict:
        block = values.get(block_id)
        value = block.get("value") if isinstance(block, dict) else None
        return value if isinstance(value, dict) else {}

    def selected(block_id: str) -> str | None:
        option = element(block_id).get("selected_option")
        return option.get("value") if isinstance(option, dict) else None

    return Draft(
        text=_text(element("ask").get("value")),
        scope=_text(element("scope").get("value")),
        estimate_minutes=_int(selected("estimate")),
        decline_line=selected("decline"),
        teammates=[uid for uid in element("teammates").get("selected_users") or [] if isinstance(uid, str)],
        needed_by=_date(element("needed_by").get("selected_date")),
        helpers_needed=_int(selected("helpers_needed")) or 1,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None
