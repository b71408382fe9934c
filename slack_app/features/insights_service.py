"""The workspace's weekly figures as a service: which week it is, reading them, the chart on Slack."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain.insights import (
    LONGER,
    WEEKS_SHOWN,
    Overview,
    WeekFigures,
    alt_text,
    last_settled,
    overview,
    weeks_up_to,
)
from ..observability import INSIGHTS, REDIS_ERRORS
from ..slack.slack_api import Clients, NotInstalled
from ..store.store import Store
from .digests import Digests, DigestSettings
from .lifecycle import iso_week

log = logging.getLogger(__name__)

CHART_FILENAME = "slack-ask-insights.png"
GAUGE_BATCH = 200  # workspaces read per round trip when refreshing /metrics' insights: 2,400 weekly hashes
GAUGE_REFRESH_SECONDS = 300.0  # /metrics' insights are at most this old; a scrape never waits for them
GAUGE_RETRY_SECONDS = 30.0  # after a refresh Redis refused


class Insights:
    """The workspace's weekly figures: which week it is, reading them, and the chart on Slack."""

    def __init__(self, store: Store, digests: Digests, clients: Clients, settle_days: int):
        self.store = store
        self.digests = digests
        self.clients = clients
        self.settle_days = settle_days  # INSIGHTS_SETTLE_DAYS
        self._gauges_due = 0.0  # monotonic time of the next refresh of /metrics' insights
        self._refreshing: asyncio.Task | None = None

    async def this_week(self, team_id: str) -> str:
        """This ISO week in the workspace's time zone (the one its digest runs on)."""
        return _this_week(await self.digests.settings_for(team_id))

    async def overview(
        self, team_id: str, weeks: int = WEEKS_SHOWN, settings: DigestSettings | None = None
    ) -> Overview:
        """The last `weeks` ISO weeks that have settled, oldest first, each as it stood when first shown, in
        one round trip (and one more to read the workspace's settings, unless given; one more the first time
        a week shows). A week shows once it has ended and settled, and never changes after: a yes or a
        thank-you still counts towards the week its ask was sent, and would move its figures."""
        now = datetime.now(UTC)
        names = weeks_up_to(self._last_settled(now, settings or await self.digests.settings_for(team_id)), weeks)
        return overview(names, await self.store.settled_insight_counts(team_id, names, now.timestamp()))

    async def current_chart(self, team_id: str, view: Overview) -> str | None:
        """The Slack file id of the chart drawn for exactly these figures, if there is one."""
        current = await self.store.insights_chart(team_id)
        return current[1] if current and current[0] == view.fingerprint() else None

    async def draw_chart(self, team_id: str, view: Overview) -> str | None:
        """Draws these figures' chart and uploads it as a Slack file, deleting the one it replaces;
        returns its id, or None when Slack won't take it (the figures show without it)."""
        from ..domain.insights_chart import chart_png  # matplotlib loads only where a chart is drawn

        fingerprint = view.fingerprint()
        png = await asyncio.to_thread(chart_png, view)
        try:
            client = await self.clients.for_team(team_id)
            uploaded = await client.files_upload_v2(
                content=png, filename=CHART_FILENAME, title="How asking is going", alt_txt=alt_text(view, 1000)
            )
            file_id = uploaded["file"]["id"]
        except (SlackApiError, NotInstalled) as error:
            log.warning("insights chart not uploaded", extra={"team": team_id, "error": repr(error)})
            return None
        replaced = await self.store.swap_insights_chart(team_id, fingerprint, file_id)
        if replaced and replaced != file_id:
            try:  # an old chart left behind is clutter, not harm
                await client.files_delete(file=replaced)
            except SlackApiError as error:
                log.info("old insights chart not deleted", extra={"team": team_id, "error": repr(error)})
        return file_id

    def refresh_gauges_soon(self) -> None:
        """For a /metrics scrape (METRICS_INSIGHTS): starts refreshing the insights' gauges in the background
        when they are GAUGE_REFRESH_SECONDS old, and returns at once. So a scrape costs no Redis call of
        its own however many workspaces there are, and a burst of scrapes reads them once."""
        if (self._refreshing and not self._refreshing.done()) or time.monotonic() < self._gauges_due:
            return
        self._gauges_due = time.monotonic() + GAUGE_REFRESH_SECONDS
        self._refreshing = asyncio.get_running_loop().create_task(self._refresh_gauges(), name="insights gauges")

    async def _refresh_gauges(self) -> None:
        try:
            await self.export_gauges()
        except (RedisError, OSError):
            REDIS_ERRORS.labels("metrics").inc()
            log.warning("insights gauges not refreshed", exc_info=True)
            self._gauges_due = time.monotonic() + GAUGE_RETRY_SECONDS

    async def export_gauges(self) -> None:
        """Sets /metrics' insights gauges for every workspace: the last settled week's figures and the last
        twelve weeks', exactly as Home shows them. Two round trips per GAUGE_BATCH workspaces (their
        settings, then their weeks; one more for weeks shown for the first time); the gauges change all at
        once, when everything is read."""
        samples: list[tuple[str, str, str, float]] = []
        now = datetime.now(UTC)
        teams = await self.store.teams()
        for start in range(0, len(teams), GAUGE_BATCH):
            batch = teams[start : start + GAUGE_BATCH]
            saved = await self.store.every_workspace_settings(batch)
            weeks = {
                team_id: weeks_up_to(self._last_settled(now, self.digests.settings_from(settings)), WEEKS_SHOWN)
                for team_id, settings in zip(batch, saved, strict=False)
            }
            for team_id, counts in (await self.store.every_settled_insight_count(weeks, now.timestamp())).items():
                samples += _samples(team_id, overview(weeks[team_id], counts))
        for gauge in INSIGHTS.values():
            gauge.clear()
        for figure, team_id, span, value in samples:
            INSIGHTS[figure].labels(team_id, span).set(value)

    def _last_settled(self, now: datetime, settings: DigestSettings) -> str:
        return last_settled(now, settings.tz, self.settle_days)


def _samples(team_id: str, view: Overview) -> list[tuple[str, str, str, float]]:
    """Only exact figures: "fewer than 5", a partial total and "nothing to measure" get no sample."""
    return [
        (figure, team_id, span, value)
        for span, figures in (("1", view.weeks[-1]), (str(len(view.weeks)), view.total))
        for figure, value in _gauge_values(figures).items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]


def _this_week(settings: DigestSettings) -> str:
    return iso_week(datetime.now(UTC), settings.tz)


def _gauge_values(figures: WeekFigures) -> dict:
    wait = figures.median_minutes_to_yes
    return {
        "asks_sent": figures.asks_sent,
        "found_help_ratio": figures.found_help,
        "median_minutes_to_first_yes": float("inf") if wait == LONGER else wait,
        "help_hours": figures.hours_of_help,
        "thanked_ratio": figures.thanked,
        "offers_made": figures.offers_made,
        "offers_accepted": figures.offers_accepted,
    }
