"""The insights' trend chart as a PNG: asks sent per week (bars) and the share that found help (line).

Drawn with matplotlib's Agg backend (no display needed), for the weeks that have settled. A week whose
figure is "fewer than 5" gets no bar, only a faint "<5" mark, and a share hidden either way ("fewer than
5", "all but fewer than 5") no point: the chart can never show what the figures hide.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .insights import FEWER, Overview  # noqa: E402

BAR_COLOUR = "#4A7BD0"
LINE_COLOUR = "#E0803A"
MIN_AXIS = 5  # a quiet span still gets a readable scale


def chart_png(view: Overview) -> bytes:
    labels = [week.week.split("-")[1] for week in view.weeks]  # "W47"
    positions = range(len(labels))
    figure = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
    asks_axis = figure.add_subplot()
    share_axis = asks_axis.twinx()

    asks = [week.asks_sent if isinstance(week.asks_sent, int) else 0 for week in view.weeks]
    asks_axis.bar(positions, asks, color=BAR_COLOUR, label="asks sent")
    for x, week in zip(positions, view.weeks, strict=False):
        if week.asks_sent == FEWER:
            asks_axis.annotate("<5", (x, 0), ha="center", va="bottom", fontsize=8, color="grey")
    asks_axis.set_ylabel("asks sent")
    asks_axis.set_ylim(bottom=0, top=max([*asks, MIN_AXIS]) * 1.2)

    shares = [
        (x, week.found_help * 100)
        for x, week in zip(positions, view.weeks, strict=False)
        if isinstance(week.found_help, float)
    ]
    if shares:
        share_axis.plot(
            [x for x, _ in shares], [y for _, y in shares], color=LINE_COLOUR, marker="o", label="% found help"
        )
    share_axis.set_ylim(0, 105)
    share_axis.set_ylabel("% found help")

    asks_axis.set_xticks(list(positions), labels, fontsize=8)
    asks_axis.set_title("Asks sent per week, and the share that found help", fontsize=10)
    asks_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
