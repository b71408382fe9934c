"""How asking is going for a whole workspace, week by week — without watching anyone.

Pure: no Slack, no Redis. insights_service.py reads the counters and puts the chart on Slack.

Every figure is about the workspace, never about a person: no names, no per-person counts, no
declines. A figure drawn from fewer than MIN_GROUP people or asks shows as "fewer than 5" (zero
stays zero: it is about nobody).

The figures come from counters kept per ISO week (in the workspace's time zone), bumped as asks
change (store.py, in the same step as the change where one Redis slot allows it); reading twelve
weeks is twelve hash reads, whatever the number of asks. The counters hold numbers only, so they
outlive the asks themselves, and expire KEEP_WEEKS after their week.

What counts where:
- An ask counts towards the week it was sent in (`Ask.week`): sent, found help (its first yes
  ever), how long until that yes, done and the hours of help it took (estimate × helpers), and
  whether it ended with a thank-you. So every share is a share of that week's asks.
- People count towards the week they acted in: asking (sending an ask) and helping (an ask they
  took marked done), as three numbers — both, only asked, only helped (see lua/count_person.lua).
- The time to a first yes is kept as a histogram in fixed buckets (YES_WITHIN_MINUTES), so a median
  is computable from a dozen numbers per week, with no per-ask durations stored.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..text.i18n import ENGLISH, N_, Language

MIN_GROUP = 5
FEWER = N_("fewer than 5")  # also the figure itself, where one would say too much
WEEKS_SHOWN = 12
KEEP_WEEKS = WEEKS_SHOWN + 2
# Upper bounds of the time-to-yes buckets, in minutes; past the last, "more than a week".
YES_WITHIN_MINUTES = (5, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080)
LONGER = "more"

Figure = int | float | str | None  # a number, FEWER, or None where there is nothing to measure


# --- weeks and buckets ------------------------------------------------------------------------


def week_start(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def keep_until(week: str) -> int:
    """When a week's counters expire: KEEP_WEEKS after the week ended (a day's slack for time zones)."""
    ends = datetime.combine(week_start(week) + timedelta(weeks=KEEP_WEEKS + 1, days=1), time(0), tzinfo=UTC)
    return int(ends.timestamp())


def weeks_up_to(week: str, count: int) -> list[str]:
    """`count` ISO weeks ending with `week`, oldest first."""
    monday = week_start(week)
    return [_week_name(monday - timedelta(weeks=back)) for back in range(count - 1, -1, -1)]


def _week_name(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def yes_bucket(seconds: float) -> str:
    """The counter field for a first yes that came `seconds` after the ask."""
    minutes = max(0.0, seconds) / 60
    for bound in YES_WITHIN_MINUTES:
        if minutes <= bound:
            return f"yes_within:{bound}"
    return f"yes_within:{LONGER}"


def _median_bound(counts: Counter[str]) -> int | str | None:
    """The bucket holding the median first yes: its upper bound in minutes, or LONGER."""
    found = sum(counts[f"yes_within:{bound}"] for bound in YES_WITHIN_MINUTES) + counts[f"yes_within:{LONGER}"]
    if found == 0:
        return None
    seen = 0
    for bound in YES_WITHIN_MINUTES:
        seen += counts[f"yes_within:{bound}"]
        if seen * 2 >= found:
            return bound
    return LONGER


# --- the privacy rule -------------------------------------------------------------------------


def _count(value: int) -> int | str:
    return value if value == 0 or value >= MIN_GROUP else FEWER


def _share(part: int, whole: int) -> Figure:
    if whole == 0:
        return None
    return round(part / whole, 3) if whole >= MIN_GROUP else FEWER


def _guarded(value: Figure, population: int) -> Figure:
    if population == 0:
        return None
    return value if population >= MIN_GROUP else FEWER


# --- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekFigures:
    """One week's figures, or (week "") a span's totals, each already through the privacy rule."""

    week: str
    asks_sent: Figure
    found_help: Figure  # share of asks sent, 0–1
    median_minutes_to_yes: Figure  # the upper bound of the median's bucket, or "more" (than a week)
    hours_of_help: Figure
    thanked: Figure  # share of asks sent that ended with a thank-you, 0–1
    offers_made: Figure
    offers_accepted: Figure
    asked_and_helped: Figure = None  # people; per week only (the same person acts in many weeks)
    only_asked: Figure = None
    only_helped: Figure = None


def figures(week: str, counts: Counter[str], people: bool = True) -> WeekFigures:
    asks, found, done = counts["asks"], counts["found_help"], counts["done"]
    return WeekFigures(
        week=week,
        asks_sent=_count(asks),
        found_help=_share(found, asks),
        median_minutes_to_yes=_guarded(_median_bound(counts), found),
        hours_of_help=_guarded(round(counts["help_minutes"] / 60, 1), done) if done else 0,
        thanked=_share(counts["thanked"], asks),
        offers_made=_count(counts["offers_made"]),
        offers_accepted=_count(counts["offers_accepted"]),
        asked_and_helped=_count(counts["people_both"]) if people else None,
        only_asked=_count(counts["people_only_asked"]) if people else None,
        only_helped=_count(counts["people_only_helped"]) if people else None,
    )


@dataclass(frozen=True)
class Overview:
    weeks: list[WeekFigures]  # oldest first, the current week last
    total: WeekFigures  # the whole span (people are counted per week only)

    def as_json(self) -> dict[str, Any]:
        return {"weeks": [asdict(week) for week in self.weeks], "total": asdict(self.total), "fewer_than": MIN_GROUP}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()[:16]


def overview(weeks: list[str], raw: list[dict[str, str]]) -> Overview:
    counts = [Counter({field: int(value) for field, value in fields.items()}) for fields in raw]
    total = sum(counts, Counter())
    return Overview(
        weeks=[figures(week, count) for week, count in zip(weeks, counts, strict=False)],
        total=figures(f"{weeks[0]}…{weeks[-1]}", total, people=False),
    )


# --- words ------------------------------------------------------------------------------------


def say(value: Figure, kind: str = "count", lang: Language | None = None) -> str:
    """A figure as a person reads it: in `lang`, or without one in the command line's compact English."""
    if lang is not None:
        return _say_in(value, kind, lang)
    if value is None:
        return "—"
    if isinstance(value, str):  # the only words a figure holds: FEWER, or a wait's LONGER
        return FEWER if value == FEWER else "over a week"
    if kind == "share":
        return f"{round(value * 100)}%"
    if kind == "wait":
        return f"within {_duration(int(value))}"  # a bucket's bound, in whole minutes
    if kind == "hours":
        return f"{value:g} h"
    return str(value)


def _say_in(value: Figure, kind: str, lang: Language) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):  # the only words a figure holds: FEWER, or a wait's LONGER
        return lang.gettext(FEWER) if value == FEWER else lang.gettext("over a week")
    if kind == "share":
        return lang.percent(value)
    if kind == "wait":  # a bucket's bound, in whole minutes
        return lang.gettext("within {duration}", duration=_duration_in(int(value), lang))
    if kind == "hours":
        return lang.hours(value)
    return lang.number(int(value))  # a count


def _duration_in(minutes: int, lang: Language) -> str:
    if minutes < 1440:
        return lang.duration(minutes, short=True)
    return lang.ngettext("{count} day", "{count} days", minutes // 1440)


def _duration(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 1440:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} day" + ("s" if minutes >= 2880 else "")


def week_line(week: WeekFigures) -> str:
    """One week on one line: the chart's alt text and the CLI's table are made of these."""
    line = (
        f"{week.week}: {say(week.asks_sent)} asks, {say(week.found_help, 'share')} found help, "
        f"first yes {say(week.median_minutes_to_yes, 'wait')}, {say(week.hours_of_help, 'hours')} of help, "
        f"{say(week.thanked, 'share')} thanked, offers {say(week.offers_made)} made / {say(week.offers_accepted)} accepted"
    )
    if week.asked_and_helped is not None:
        line += (
            f"; people: {say(week.asked_and_helped)} asked and helped, {say(week.only_asked)} only asked, "
            f"{say(week.only_helped)} only helped"
        )
    return line


def alt_text(view: Overview, limit: int = 2000, lang: Language = ENGLISH) -> str:
    """The chart's figures in words, newest week first, within Slack's alt text limit."""
    text = lang.gettext(
        "Asks per week and the share that found help, {first} to {last}.",
        first=view.weeks[0].week,
        last=view.weeks[-1].week,
    )
    for week in reversed(view.weeks):
        shorter = " " + lang.gettext(
            "{week}: {asks} asks, {found} found help, {thanked} thanked.",
            week=week.week,
            asks=say(week.asks_sent, lang=lang),
            found=say(week.found_help, "share", lang),
            thanked=say(week.thanked, "share", lang),
        )
        if len(text) + len(shorter) > limit:
            break
        text += shorter
    return text
