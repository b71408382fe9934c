"""The Workflow Builder step "Send a low-pressure ask": its inputs read as the ask form's draft (and checked by
the form's own rules, asks.validate), and what the step tells the workflow once the ask has ended.

Pure domain logic: no Slack, no Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..ids import StepInput, StepOutput
from ..text.i18n import Language
from .asks import Answer, Ask, Draft, Person, Status

# How long a step may stay running before it completes with what is known. Slack documents no timeout for a
# remote (Bolt) step that has not completed — its maintainers say in-progress runs do not time out
# (slackapi/deno-slack-sdk#276) — and says nothing of how long the `bot_access_token` it completes with stays
# good; the longest wait its own steps allow is 7 days (slack#/functions/delay: at most 10080 minutes). An ask
# still going after that completes the step as `unfinished`, rather than leave a run in progress for ever.
RUNNING_STEP_LIMIT = timedelta(days=7)


class Outcome(StrEnum):
    """The step's `outcome` output: how the ask ended, which a workflow can branch on."""

    DONE = "done"  # taken by teammates the step named, and marked done
    COVERED_BY_OTHERS = "covered_by_others"  # done, with help from someone suggested along the way
    EVERYONE_PASSED = "everyone_passed"
    EXPIRED = "expired"  # nobody took it in time
    CANCELLED = "cancelled"
    UNFINISHED = "unfinished"  # still going at RUNNING_STEP_LIMIT (or closed quietly, never marked done)


@dataclass(frozen=True)
class StepRequest:
    """A run of the step, read from its inputs: who asks, the ask as the form would have it, and the
    workflow's name for the helpers' cards ("" when the workflow gave none)."""

    asker: str
    draft: Draft
    workflow_name: str
    unreadable: tuple[str, ...] = ()  # inputs given in a form the step can't read (a date that is no date)


def read_inputs(inputs: dict[str, Any]) -> StepRequest:
    """The step's inputs as the form's draft. Anything missing stays missing, for asks.validate to word."""
    unreadable = []
    needed_by = None
    raw_day = inputs.get(StepInput.NEEDED_BY)
    if raw_day not in (None, ""):
        try:
            needed_by = date.fromisoformat(str(raw_day))
        except ValueError:
            unreadable.append(StepInput.NEEDED_BY)
    teammates = inputs.get(StepInput.TEAMMATES) or []
    draft = Draft(
        text=_text(inputs.get(StepInput.ASK)),
        scope=_text(inputs.get(StepInput.SCOPE)),
        estimate_minutes=_number(inputs.get(StepInput.ESTIMATE)),
        decline_line=_text(inputs.get(StepInput.DECLINE)) or None,
        teammates=[str(uid) for uid in teammates] if isinstance(teammates, list) else [str(teammates)],
        needed_by=needed_by,
        helpers_needed=_number(inputs.get(StepInput.HELPERS_NEEDED)) or 1,
    )
    return StepRequest(
        asker=_text(inputs.get(StepInput.ASKER)),
        draft=draft,
        workflow_name=_text(inputs.get(StepInput.WORKFLOW_NAME)).strip(),
        unreadable=tuple(unreadable),
    )


def asker_error(asker: str, people: dict[str, Person], lang: Language) -> str | None:
    """The ask goes out in the asker's name: they must be a person who is still in the workspace."""
    person = people.get(asker)
    if not asker or person is None or person.is_bot or person.deleted:
        return lang.gettext("The ask goes out in someone's name: pick a person in the workspace, not an app.")
    return None


def unreadable_error(lang: Language) -> str:
    return lang.gettext("Give the date as YYYY-MM-DD, or leave it empty.")


def failure_message(errors: dict[str, str], lang: Language) -> str:
    """What the workflow's activity shows for inputs the ask form would not take: each input by its name."""
    problems = " ".join(f"{name}: {message}" for name, message in errors.items())
    return lang.gettext("Nothing was sent. {problems}", problems=problems)


def everyone_passed(ask: Ask, answers: dict[str, Answer]) -> bool:
    return bool(ask.teammates) and all(answers.get(uid) is Answer.DECLINE for uid in ask.teammates)


def outcome(
    ask: Ask, answers: dict[str, Answer], named: list[str], *, thanks_settled: bool, past_limit: bool
) -> Outcome | None:
    """How the step ends now, or None while it is still waiting for the ask. A done ask waits for its
    thank-yous (`thanks_settled`: every helper thanked, or the moment the asker is reminded has passed);
    `named`: the teammates the step's inputs named; `past_limit`: RUNNING_STEP_LIMIT has passed."""
    if ask.status is Status.CANCELLED:
        return Outcome.CANCELLED
    if ask.status is Status.CLOSED_QUIETLY:
        return Outcome.UNFINISHED
    if ask.status is Status.EXPIRED:
        return Outcome.EVERYONE_PASSED if everyone_passed(ask, answers) else Outcome.EXPIRED
    if ask.status is Status.DONE:
        if not (thanks_settled or past_limit):
            return None
        return Outcome.COVERED_BY_OTHERS if set(ask.helpers) - set(named) else Outcome.DONE
    if everyone_passed(ask, answers):
        return Outcome.EVERYONE_PASSED
    return Outcome.UNFINISHED if past_limit else None


def outputs(ask: Ask, ended: Outcome, thanked: set[str]) -> dict[str, Any]:
    """The step's outputs, as manifest.yml declares them."""
    done = ended in (Outcome.DONE, Outcome.COVERED_BY_OTHERS)
    return {
        StepOutput.OUTCOME.value: ended.value,
        StepOutput.HELPERS.value: list(ask.helpers),
        StepOutput.HELPED_MINUTES.value: ask.estimate_minutes * len(ask.helpers) if done else 0,
        StepOutput.THANKED.value: bool(ask.helpers) and set(ask.helpers) <= thanked,
    }


def limit_at(ask: Ask) -> datetime:
    """When a step sending this ask completes at the latest."""
    return datetime.fromtimestamp(ask.created_at, UTC) + RUNNING_STEP_LIMIT


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
