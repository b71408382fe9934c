"""Settings, read once from the environment (and a `.env` file) by whoever starts the app."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from .domain.insights import SETTLE_DAYS_AT_MOST

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_METRICS_PORT = 9090  # Prometheus's usual exporter port; never the public PORT
DEFAULT_DATA_DIR = "./.slack-ask"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # Slack's largest payloads (a big modal's state) are far below this
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]  # DIGEST_DAY's names

WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) under OAuth & Permissions",
    "SLACK_SIGNING_SECRET": "the Signing Secret under Basic Information",
}
NOT_FROM_SLACK = {
    "SLACK_ASK_ENCRYPTION_KEY": (
        "SLACK_ASK_ENCRYPTION_KEY is not set: installations' tokens are encrypted with it. "
        "Run `slack-ask keygen` and keep the key it prints in your secrets."
    ),
}


class MissingSetting(Exception):
    """A required variable is unset; the message says where to find its value."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None  # None with OAuth: each workspace's token comes from its installation
    signing_secret: str  # unused in Socket Mode, where nothing arrives over HTTP
    app_token: str | None = None  # SLACK_APP_TOKEN (xapp-…): Socket Mode instead of HTTP
    client_id: str | None = None  # with client_secret and no bot token: OAuth, many workspaces
    client_secret: str | None = None
    redis_url: str | None = None
    redis_cluster: bool = False  # REDIS_CLUSTER=1: REDIS_URL names any node of a Redis Cluster
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_timeout: float = 10.0  # SLACK_API_TIMEOUT: seconds before a Web API call counts as failed
    port: int = DEFAULT_PORT
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    workspace_tz: str = "UTC"  # DIGEST_TZ: the week kudos are filed under, and the digest's clock
    digest_channel: str = ""
    digest_day: int = 4  # Friday
    digest_time: str = "16:00"
    digest_skip_empty: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # MAX_BODY_BYTES: larger requests are refused unread
    # METRICS_PORT: /metrics on its own port, never the public one (None: not served; 0: any free port)
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"  # METRICS_HOST: where the metrics port is bound (0.0.0.0 in a container)
    metrics_insights: bool = False  # METRICS_INSIGHTS: each workspace's insights as /metrics series too
    encryption_keys: tuple[str, ...] = ()  # SLACK_ASK_ENCRYPTION_KEY: the first seals, all open
    retention_days: int = 90  # SLACK_ASK_RETENTION_DAYS: an ended ask is forgotten this long after it ended
    kudos_weeks: int = 52  # SLACK_ASK_KUDOS_WEEKS: thank-you notes are dropped this long after their week
    quiet_close_days: int = (
        14  # SLACK_ASK_QUIET_CLOSE_DAYS: a taken ask never marked done closes this long after its check-ins
    )
    directory_days: int = (
        7  # SLACK_ASK_DIRECTORY_DAYS: a workspace's people directory is refilled from users.list this often
    )
    insights_settle_days: int = 7  # INSIGHTS_SETTLE_DAYS: a week's figures show this long after it ends, frozen
    run_scheduler: bool = True  # `serve` runs the timed-job worker too; tests drive it themselves
    effect_retry_seconds: float = 10.0  # EFFECT_RETRY_SECONDS: an effect's consumer silent this long is presumed dead
    slack_rate_window: float = 60.0  # SLACK_RATE_WINDOW: the minute of Slack's rate tiers; tests shorten it
    effect_max_attempts: int = 25  # EFFECT_MAX_ATTEMPTS: tries before an ask's effects become a dead letter
    effect_max_age_seconds: float = 86400.0  # EFFECT_MAX_AGE_SECONDS: ... or after this long owed
    effects_per_workspace: int = 16  # EFFECTS_PER_WORKSPACE: one workspace's asks carried out at once per process
    effect_sweep_seconds: float = 300.0  # EFFECT_SWEEP_SECONDS: how often owed effects without an entry are looked for

    @property
    def oauth(self) -> bool:
        """Distributed to many workspaces: tokens come from installations, not SLACK_BOT_TOKEN."""
        return bool(self.client_id and self.client_secret and not self.bot_token)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv_path: str | os.PathLike[str] = ".env"
    ) -> Settings:
        """Environment variables win over `.env`; a missing token or secret raises MissingSetting."""
        found = {**dotenv_values(dotenv_path), **(os.environ if environ is None else environ)}
        env = {key: value for key, value in found.items() if value}
        oauth = "SLACK_CLIENT_ID" in env and "SLACK_CLIENT_SECRET" in env and "SLACK_BOT_TOKEN" not in env
        required = ["SLACK_SIGNING_SECRET"] if oauth else ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
        if env.get("SLACK_APP_TOKEN"):
            required.remove("SLACK_SIGNING_SECRET")
        if oauth:
            required.append("SLACK_ASK_ENCRYPTION_KEY")
        for name in required:
            if name in NOT_FROM_SLACK and name not in env:
                raise MissingSetting(NOT_FROM_SLACK[name])
            if name not in env:
                where = WHERE_TO_FIND[name]
                raise MissingSetting(
                    f"{name} is not set: copy {where} from your app's Slack settings "
                    f"(create the app from manifest.yml at https://api.slack.com/apps)."
                )
        return cls(
            bot_token=env.get("SLACK_BOT_TOKEN"),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            app_token=env.get("SLACK_APP_TOKEN"),
            client_id=env.get("SLACK_CLIENT_ID") if oauth else None,
            client_secret=env.get("SLACK_CLIENT_SECRET") if oauth else None,
            redis_url=env.get("REDIS_URL"),
            redis_cluster=_flag(env.get("REDIS_CLUSTER", "")),
            slack_api_url=_with_trailing_slash(env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL)),
            slack_timeout=float(env.get("SLACK_API_TIMEOUT", 10)),
            port=int(env.get("PORT", DEFAULT_PORT)),
            data_dir=Path(env.get("SLACK_ASK_DATA_DIR", DEFAULT_DATA_DIR)),
            workspace_tz=env.get("DIGEST_TZ", "UTC"),
            digest_channel=env.get("DIGEST_CHANNEL", ""),
            digest_day=_weekday(env.get("DIGEST_DAY", "friday")),
            digest_time=env.get("DIGEST_TIME", "16:00"),
            digest_skip_empty=_flag(env.get("DIGEST_SKIP_EMPTY", "")),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            metrics_port=_metrics_port(env.get("METRICS_PORT", str(DEFAULT_METRICS_PORT))),
            metrics_host=env.get("METRICS_HOST", "127.0.0.1"),
            metrics_insights=_flag(env.get("METRICS_INSIGHTS", "")),
            encryption_keys=_encryption_keys(env.get("SLACK_ASK_ENCRYPTION_KEY", "")),
            retention_days=_positive(env, "SLACK_ASK_RETENTION_DAYS", 90),
            kudos_weeks=_positive(env, "SLACK_ASK_KUDOS_WEEKS", 52),
            quiet_close_days=_positive(env, "SLACK_ASK_QUIET_CLOSE_DAYS", 14),
            directory_days=_positive(env, "SLACK_ASK_DIRECTORY_DAYS", 7),
            insights_settle_days=_settle_days(env.get("INSIGHTS_SETTLE_DAYS", "7")),
            effect_retry_seconds=float(env.get("EFFECT_RETRY_SECONDS", 10)),
            slack_rate_window=float(env.get("SLACK_RATE_WINDOW", 60)),
            effect_max_attempts=_positive(env, "EFFECT_MAX_ATTEMPTS", 25),
            effect_max_age_seconds=float(env.get("EFFECT_MAX_AGE_SECONDS", 86400)),
            effects_per_workspace=_positive(env, "EFFECTS_PER_WORKSPACE", 16),
            effect_sweep_seconds=float(env.get("EFFECT_SWEEP_SECONDS", 300)),
        )


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _metrics_port(value: str) -> int | None:
    if value.strip().lower() == "off":
        return None
    if not value.strip().isdigit() or int(value) > 65535:
        raise MissingSetting(f"METRICS_PORT={value!r} is not a port number (0–65535), nor off.")
    return int(value)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, str(default))
    if not value.strip().isdigit() or int(value) < 1:
        raise MissingSetting(f"{name}={value!r} is not a whole number of at least 1.")
    return int(value)


def _settle_days(value: str) -> int:
    if not value.strip().isdigit() or int(value) > SETTLE_DAYS_AT_MOST:
        raise MissingSetting(
            f"INSIGHTS_SETTLE_DAYS={value!r} is not a whole number of days from 0 to {SETTLE_DAYS_AT_MOST}."
        )
    return int(value)


def _weekday(value: str) -> int:
    try:
        return parse_weekday(value)
    except ValueError:
        raise MissingSetting(f"DIGEST_DAY={value!r} is not a day of the week: use monday … sunday.") from None


def parse_weekday(value: str) -> int:
    """'friday', 'Fri' or '4' → 4."""
    text = value.strip().lower()
    if text.isdigit() and 0 <= int(text) < 7:
        return int(text)
    for number, name in enumerate(WEEKDAYS):
        if name.lower().startswith(text[:3]) and len(text) >= 3:
            return number
    raise ValueError(f"not a day of the week: {value!r}")


def _with_trailing_slash(url: str) -> str:
    # slack_sdk joins base_url and method name by plain concatenation.
    return url if url.endswith("/") else url + "/"


def _encryption_keys(value: str) -> tuple[str, ...]:
    from .store.sealing import valid_key

    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    for position, key in enumerate(keys, 1):
        if not valid_key(key):
            raise MissingSetting(
                f"SLACK_ASK_ENCRYPTION_KEY: key {position} is not a Fernet key "
                "(32 url-safe base64 bytes); `slack-ask keygen` prints one."
            )
    return keys
