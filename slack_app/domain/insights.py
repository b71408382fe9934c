"""How asking is going for a whole workspace, week by week — without watching anyone.

Pure: no Slack, no Redis. insights_service.py reads the counters and puts the chart on Slack.

Every figure is about the workspace, never about a person: no names, no per-person counts, no
declines. A figure drawn from fewer than MIN_GROUP people or asks shows as "fewer than 5" (zero
stays zero: it is about nobody). No figure can be combined with others into one about fewer than 5:
- a share hides its part when either side of it is small: "fewer than 5" found help, or "all but
  fewer than 5" did (so 20 % thanked of 5 asks, exactly one, never shows);
- a week is shown only once it has ended and settled (a settling period, INSIGHTS_SETTLE_DAYS, after its
  end), and then always as it stood at that moment: its counters are copied once into a snapshot, and
  the figures are drawn from the snapshot ever after. A yes or a thank-you counts towards the week its
  ask was sent, so it can arrive after that week has ended; had the figures followed the counters, two
  views of the same week at two moments, differenced, would show one person's act;
- a span's total is exact only where none of its weeks is hidden. Otherwise it adds up the weeks that
  show — "at least N" for a count (each hidden week counts as the least it can be), a share or median
  "in the weeks shown" — which anyone could add up from the weeks themselves. Hiding the exact total is
  the complementary suppression: week 10's "fewer than 5" cannot be had back as total minus the other
  weeks, nor as the difference of two spans (`stats --weeks 2` minus `--weeks 1`), because every span
  ends with the same last settled week and no exact total includes a hidden week.

The figures come from counters kept per ISO week (in the workspace's time zone), bumped as asks
change (store.py, in the same step as the change where one Redis slot allows it); reading twelve
weeks is twelve hash reads, whatever the number of asks. The counters hold numbers only, so they
outlive the asks themselves, and expire (with their snapshot) KEEP_WEEKS and the longest settling
period after their week.

What counts where:
- An ask counts towards the week it was sent in (`Ask.week`): sent, found help (its first yes
  ever), how long until that yes, done and the hours of help it took (estimate × helpers), and
  whether it ended with a thank-you. So every share is a share of that week's asks. A yes or a
  thank-you that comes after the week settled still counts in the counters, never in what is shown.
- People count towards the week they acted in: asking (sending an ask) and helping (an ask they
  took marked done), as three numbers — both, only asked, only helped (see lua/count_person.lua).
- The time to a first yes is kept as a histogram in fixed buckets (YES_WITHIN_MINUTES), so a median
  is computable from a dozen numbers per week, with no per-ask durations stored.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ..text.i18n import ENGLISH, N_, Language
from .working_hours import zone

MIN_GROUP = 5
FEWER = N_("fewer than 5")  # also the figure itself, where one would say too much
ALL_BUT_FEWER = N_("all but fewer than 5")  # a part whose other side is what would say too much
WEEKS_SHOWN = 12
KEEP_WEEKS = WEEKS_SHOWN + 2  # the most weeks `stats --weeks` shows
SETTLE_DAYS_AT_MOST = 14  # INSIGHTS_SETTLE_DAYS' ceiling: the counters are kept this much longer
# Upper bounds of the time-to-yes buckets, in minutes; past the last, "more than a week".
YES_WITHIN_MINUTES = (5, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080)
LONGER = "more"


@dataclass(frozen=True)
class AtLeast:
    """A span's count or hours with some weeks hidden: what the weeks that show add up to, plus the least
    each hidden week can be."""

    value: int | float


@dataclass(frozen=True)
class InWeeksShown:
    """A span's share or median over the weeks where it shows, the hidden weeks left out."""

    value: int | float | str


Figure = int | float | str | AtLeast | InWeeksShown | None  # a number, FEWER/ALL_BUT_FEWER, a partial
# total, or None where there is nothing to measure


# --- weeks and buckets ------------------------------------------------------------------------


def week_start(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def keep_until(week: str) -> int:
    """When a week's counters (and their snapshot) expire: KEEP_WEEKS and the longest settling period after
    the week ended (a day's slack for time zones), so the oldest week `stats` shows is still there."""
    after = timedelta(weeks=KEEP_WEEKS + 1, days=SETTLE_DAYS_AT_MOST + 1)
    return int(datetime.combine(week_start(week) + after, time(0), tzinfo=UTC).timestamp())


def weeks_up_to(week: str, count: int) -> list[str]:
    """`count` ISO weeks ending with `week`, oldest first."""
    monday = week_start(week)
    return [_week_name(monday - timedelta(weeks=back)) for back in range(count - 1, -1, -1)]


def last_ended(week: str) -> str:
    """The week before `week`."""
    return _week_name(week_start(week) - timedelta(weeks=1))


def last_settled(now: datetime, tz: str, settle_days: int) -> str:
    """The newest week whose figures are shown: the last that ended, in time zone `tz`, at least
    `settle_days` days before `now` (see the module's docstring)."""
    return last_ended(_week_name((now - timedelta(days=settle_days)).astimezone(zone(tz)).date()))


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


def _small(value: int) -> bool:
    return 0 < value < MIN_GROUP


def _part(part: int, whole: int) -> int | str:
    """A count that is part of another shown one: hidden when either it or the rest is small."""
    if _small(part):
        return FEWER
    return ALL_BUT_FEWER if _small(whole - part) else part


def _share(part: int, whole: int) -> Figure:
    if whole == 0:
        return None
    if whole < MIN_GROUP:
        return FEWER
    shown = _part(part, whole)
    return round(part / whole, 3) if isinstance(shown, int) else shown


def _guarded(value: Figure, population: int) -> Figure:
    if population == 0:
        return None
    return value if population >= MIN_GROUP else FEWER


def _exact(value: Figure) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)) or value == LONGER


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
    asks, found, done, made = counts["asks"], counts["found_help"], counts["done"], counts["offers_made"]
    return WeekFigures(
        week=week,
        asks_sent=_count(asks),
        found_help=_share(found, asks),
        median_minutes_to_yes=_guarded(_median_bound(counts), found),
        hours_of_help=_guarded(round(counts["help_minutes"] / 60, 1), done) if done else 0,
        thanked=_share(counts["thanked"], asks),
        offers_made=_count(made),
        offers_accepted=_part(counts["offers_accepted"], made)
        if made >= MIN_GROUP
        else _count(counts["offers_accepted"]),
        asked_and_helped=_count(counts["people_both"]) if people else None,
        only_asked=_count(counts["people_only_asked"]) if people else None,
        only_helped=_count(counts["people_only_helped"]) if people else None,
    )


def total(span: str, weeks: list[WeekFigures], counts: list[Counter[str]]) -> WeekFigures:
    """A span's totals that give away no hidden week: exact where every week shows, else from the weeks
    that show only (see the module's docstring). A single week's total is that week, as it shows."""
    if len(weeks) == 1:
        return replace(weeks[0], week=span, asked_and_helped=None, only_asked=None, only_helped=None)
    return WeekFigures(
        week=span,
        asks_sent=_total_count(weeks, counts, "asks_sent"),
        found_help=_total_share(weeks, counts, "found_help", "found_help"),
        median_minutes_to_yes=_total_median(weeks, counts),
        hours_of_help=_total_hours(weeks),
        thanked=_total_share(weeks, counts, "thanked", "thanked"),
        offers_made=_total_count(weeks, counts, "offers_made"),
        offers_accepted=_total_count(weeks, counts, "offers_accepted"),
    )


def _least(shown: Figure, count: Counter[str], whole: str) -> int:
    """The least a hidden week's count can be, as its figure tells anyone: 1 for "fewer than 5", and all
    but 4 of what the week shows for "all but fewer than 5"."""
    return count[whole] - (MIN_GROUP - 1) if shown == ALL_BUT_FEWER else 1


def _total_count(weeks: list[WeekFigures], counts: list[Counter[str]], figure: str) -> Figure:
    shown: list[Figure] = [getattr(week, figure) for week in weeks]
    exact = sum(value for value in shown if isinstance(value, int))  # a count shows as a whole number
    if all(_exact(value) for value in shown):
        return exact
    whole = "offers_made" if figure == "offers_accepted" else "asks"
    return AtLeast(exact + sum(_least(v, c, whole) for v, c in zip(shown, counts, strict=True) if not _exact(v)))


def _total_share(weeks: list[WeekFigures], counts: list[Counter[str]], figure: str, field: str) -> Figure:
    shown = [(getattr(week, figure), count) for week, count in zip(weeks, counts, strict=True)]
    visible = [count for value, count in shown if isinstance(value, float)]
    if all(_exact(value) for value, _ in shown):
        return _share(sum(c[field] for c in visible), sum(c["asks"] for c in visible))
    if not visible:
        return FEWER
    return InWeeksShown(round(sum(c[field] for c in visible) / sum(c["asks"] for c in visible), 3))


def _total_median(weeks: list[WeekFigures], counts: list[Counter[str]]) -> Figure:
    shown = [(week.median_minutes_to_yes, count) for week, count in zip(weeks, counts, strict=True)]
    visible = sum((count for value, count in shown if value is not None and _exact(value)), Counter())
    median = _median_bound(visible)
    if all(_exact(value) for value, _ in shown):
        return median
    return FEWER if median is None else InWeeksShown(median)


def _total_hours(weeks: list[WeekFigures]) -> Figure:
    shown = [week.hours_of_help for week in weeks]
    exact = round(sum(value for value in shown if isinstance(value, (int, float))), 1)
    return exact if all(_exact(value) for value in shown) else AtLeast(exact)


@dataclass(frozen=True)
class Overview:
    weeks: list[WeekFigures]  # oldest first, the last week that has settled last
    total: WeekFigures  # the whole span (people are counted per week only)

    def as_json(self) -> dict[str, Any]:
        return {"weeks": [_json(week) for week in self.weeks], "total": _json(self.total), "fewer_than": MIN_GROUP}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.as_json(), sort_keys=True).encode()).hexdigest()[:16]


def _json(week: WeekFigures) -> dict[str, Any]:
    """A partial total as {"at_least": N} or {"in_weeks_shown": X}, so a script cannot take it for exact."""
    return {field.name: _plain(getattr(week, field.name)) for field in fields(week)}


def _plain(value: Figure) -> Figure | dict[str, int | float | str]:
    if isinstance(value, AtLeast):
        return {"at_least": value.value}
    if isinstance(value, InWeeksShown):
        return {"in_weeks_shown": value.value}
    return value


def overview(weeks: list[str], raw: list[dict[str, str]]) -> Overview:
    """Figures for `weeks` (weeks that have settled, oldest first, as their snapshots hold them) and their
    span's totals."""
    counts = [Counter({field: int(value) for field, value in fields.items()}) for fields in raw]
    shown = [figures(week, count) for week, count in zip(weeks, counts, strict=True)]
    return Overview(weeks=shown, total=total(f"{weeks[0]}…{weeks[-1]}", shown, counts))


# --- words ------------------------------------------------------------------------------------


def say(value: Figure, kind: str = "count", lang: Language | None = None) -> str:
    """A figure as a person reads it: in `lang`, or without one in the command line's compact English."""
    if lang is not None:
        return _say_in(value, kind, lang)
    if isinstance(value, AtLeast):
        return f"at least {say(value.value, kind)}"
    if isinstance(value, InWeeksShown):
        return f"{say(value.value, kind)} (weeks shown)"
    if value is None:
        return "—"
    if isinstance(value, str):  # the only words a figure holds: FEWER, ALL_BUT_FEWER, or a wait's LONGER
        return "over a week" if value == LONGER else value
    if kind == "share":
        return f"{round(value * 100)}%"
    if kind == "wait":
        return f"within {_duration(int(value))}"  # a bucket's bound, in whole minutes
    if kind == "hours":
        return f"{value:g} h"
    return str(value)


def _say_in(value: Figure, kind: str, lang: Language) -> str:
    if isinstance(value, AtLeast):
        return lang.gettext("at least {figure}", figure=_say_in(value.value, kind, lang))
    if isinstance(value, InWeeksShown):
        return lang.gettext("{figure} in the weeks shown", figure=_say_in(value.value, kind, lang))
    if value is None:
        return "—"
    if isinstance(value, str):  # the only words a figure holds: FEWER, ALL_BUT_FEWER, or a wait's LONGER
        return lang.gettext("over a week") if value == LONGER else lang.gettext(value)
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
