"""`slack-ask serve` as a person runs it: a real process, configured from the environment."""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from slack_requests import SlackRequests

from slack_app.settings import MissingSetting, Settings
from slack_app.slack.slack_api import SLACK_CONNECTIONS
from slack_app.store.sealing import Seal, new_key
from slack_app.wiring.app import REDIS_CONNECTIONS
from slack_app.wiring.server import REQUEST_SOCKETS

SERVE = [sys.executable, "-m", "slack_app.cli", "serve"]


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REDIS_")) and k != "PORT"}
    return {**env, **values}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "present, missing",
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
    ],
)
def test_missing_credentials_give_one_clear_line_and_exit_2(tmp_path, present, missing):
    result = subprocess.run(SERVE, cwd=tmp_path, env=clean_env(**present), capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert missing in result.stderr and "manifest.yml" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_come_from_a_dotenv_file_with_the_environment_winning(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=file-secret\nPORT=4000\n")

    settings = Settings.from_env({"SLACK_SIGNING_SECRET": "env-secret"}, dotenv_path=tmp_path / ".env")

    assert (settings.bot_token, settings.signing_secret, settings.port) == ("xoxb-from-file", "env-secret", 4000)
    assert settings.slack_api_url == "https://slack.com/api/" and settings.redis_url is None
    with pytest.raises(MissingSetting):
        Settings.from_env({}, dotenv_path=tmp_path / "absent.env")


def test_serve_with_embedded_valkey_handles_the_whole_flow_and_stops_cleanly(tmp_path, fake_slack):
    process, url, output_file = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="cli-secret",
        SLACK_API_URL=fake_slack.api_url.rstrip("/"),
        SLACK_ASK_DATA_DIR=str(tmp_path / "data"),
    )
    try:
        health = wait_for_health(url + "/healthz")
        slack = SlackRequests(url, "cli-secret", fake_slack)
        reply = slack.slash_ask("U0ASKER", "Review PR 412")
        fake_slack.wait_for(lambda: fake_slack.calls_to("views.open"), what="views.open from the served app")
        assert slack.submit_ask("U0ASKER", teammates=["U0HELP1", "U0HELP2"]).status == 200
        card = fake_slack.wait_for(lambda: fake_slack.dms("U0HELP1"), what="a card")[0]
        fake_slack.settle()  # the app files the card in Redis once Slack has answered the post
        slack.react("U0HELP1", card, "white_check_mark")
        fake_slack.wait_for(lambda: "Covered by <@U0HELP1>" in fake_slack.dms("U0HELP2")[0].all_text, what="covered")
        fake_slack.wait_for(lambda: any("is on your ask" in m.all_text for m in fake_slack.dms("U0ASKER")), what="told")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    output = output_file.read_text()

    assert health == {
        "status": "ok",
        "redis": "ok",
        "effects": {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0},
    }
    assert reply.status == 200
    assert process.returncode == 0
    assert "Traceback" not in output
    assert (tmp_path / "data" / "valkey").is_dir()  # persisted where SLACK_ASK_DATA_DIR says
    assert private_socket_only(output)


def test_a_start_logs_one_line_with_version_mode_store_and_port_and_no_warning(tmp_path):
    process, url, output_file = start_serve(
        tmp_path, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_SIGNING_SECRET="s", SLACK_ASK_DATA_DIR=str(tmp_path / "d")
    )
    try:
        wait_for_health(url + "/healthz")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    lines = [json.loads(line) for line in output_file.read_text().splitlines()]

    assert [line["level"] for line in lines] == ["INFO"], lines
    start = lines[0]["msg"]
    assert start.startswith("slack-ask 0.1.0 serve: HTTP, one bot token; store: embedded Valkey at unix://")
    assert f"listening on 127.0.0.1:{url.rsplit(':', 1)[1]}, /metrics on 127.0.0.1:" in start  # METRICS_PORT 0
    assert f"data in {tmp_path / 'd' / 'valkey'}" in start


def private_socket_only(output: str) -> bool:
    """The embedded Valkey was reachable only through a Unix socket in a directory private to its user."""
    url = json.loads(next(line for line in output.splitlines() if "embedded Valkey at" in line))["msg"].split(
        "embedded Valkey at "
    )[1]
    path = Path(url.split(",")[0].removeprefix("unix://"))
    return url.startswith("unix://") and path.name == "valkey.sock" and not path.parent.exists()  # removed on exit


def tcp_listeners(pid: int) -> list[str]:
    """The TCP ports a process listens on: its socket inodes, matched against the kernel's table."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(fields[1])
    return listening


def test_embedded_valkey_listens_on_a_private_unix_socket_and_no_tcp_port(tmp_path, fake_slack):
    process, url, _ = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="cli-secret",
        SLACK_API_URL=fake_slack.api_url,
        SLACK_ASK_DATA_DIR=str(tmp_path / "data"),
    )
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        (valkey,) = [int(pid) for pid in children if "valkey" in Path(f"/proc/{pid}/cmdline").read_text()]
        config = next((tmp_path / "data" / "valkey").glob("*.conf")).read_text()
        socket_dir = Path(re.search(r"^unixsocket (\S+)$", config, re.MULTILINE).group(1)).parent
        mode = socket_dir.stat().st_mode & 0o777

        assert tcp_listeners(valkey) == []
        assert mode == 0o700 and socket_dir.stat().st_uid == os.getuid()
        assert tcp_listeners(process.pid) != []  # the app itself, on its HTTP port
        assert wait_for_health(url + "/healthz") == {
            "status": "ok",
            "redis": "ok",
            "effects": {"pending": 0, "oldest_seconds": 0.0, "dead_letters": 0},
        }
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0


def start_serve(tmp_path, **env: str) -> tuple[subprocess.Popen, str, Path]:
    """`slack-ask serve` as its own process on a free port, once /healthz answers.

    Returns the process, its URL and the file its output goes to (a file, not a pipe nobody reads
    while it runs, which would stall the server once full)."""
    env.setdefault("METRICS_PORT", "0")  # not the default 9090, which the machine's other tests may hold
    port, output = free_port(), tmp_path / f"serve-{len(list(tmp_path.glob('serve-*')))}.log"
    with open(output, "w") as log:
        process = subprocess.Popen(
            [*SERVE, "--port", str(port), "--host", "127.0.0.1"],
            cwd=tmp_path,
            env=clean_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url + "/healthz")
    except AssertionError:
        process.kill()
        raise AssertionError(output.read_text()) from None
    return process, url, output


def start_instance(tmp_path, redis_url: str, fake, **env: str) -> tuple[subprocess.Popen, SlackRequests]:
    """One of several `slack-ask serve` instances on one Redis and one fake Slack, which a test may kill:
    another takes over a dead one's effects after a second, or, when it died with a call on its way to Slack,
    once that call could have landed (SLACK_API_TIMEOUT later: 3 s, for a fake answering within a second)."""
    quick = {"EFFECT_RETRY_SECONDS": "1", "SLACK_API_TIMEOUT": "3"}
    process, url, _ = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL=redis_url,
        SLACK_API_URL=fake.api_url,
        **{**quick, **env},
    )
    return process, SlackRequests(url, "s", fake)


@contextlib.contextmanager
def instance(tmp_path, redis_url: str, fake, **env: str):
    """`start_instance` for the block, stopped at its end as a deploy stops it (SIGTERM)."""
    process, slack = start_instance(tmp_path, redis_url, fake, **env)
    try:
        yield slack
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL: the instance dies mid-work, nothing finished and nothing handed back."""
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def wait_for_health(url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


OPEN_FILES_HARD = resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def open_files_allowed(pid: int) -> int:
    """The soft limit the kernel shows for a process."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files limit listed")


def test_worker_runs_due_jobs_on_its_own_and_stops_cleanly(tmp_path, fake_slack, redis_url, run):
    from redis.asyncio import Redis

    from slack_app.domain.asks import Ask, Status
    from slack_app.store.scheduler import Job, Scheduler
    from slack_app.store.store import Store

    ask = Ask(
        team_id="T0TEAM",
        asker="U0ASKER",
        text="Review the retry logic in PR 412",
        scope="retry.py",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=["U0HELP1"],
        helpers=["U0HELP1"],
        status=Status.DONE,
        done_at=1.0,
    )

    async def prepare():
        redis = Redis.from_url(redis_url, decode_responses=True)
        await Store(redis).save_ask(ask)
        await Scheduler(redis).schedule(
            Job(
                id=f"thanks_reminder:{ask.id}:U0HELP1",
                team_id="T0TEAM",
                kind="thanks_reminder",
                due=0,
                payload={"ask_id": ask.id, "helper": "U0HELP1"},
            )
        )
        await redis.aclose()

    run(prepare())
    metrics_port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL=redis_url,
        SLACK_API_URL=fake_slack.api_url,
        METRICS_PORT=str(metrics_port),
    )
    # started with the open-files soft limit many systems give a process (a shell sets it: a preexec_fn is not
    # safe beside this test process's threads)
    process = subprocess.Popen(
        ["sh", "-c", f'ulimit -Sn 1024 && exec "{sys.executable}" -m slack_app.cli worker'],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        fake_slack.wait_for(
            lambda: any("If you'd like to thank them" in m.all_text for m in fake_slack.dms("U0ASKER")),
            timeout=15,
            what="the worker's reminder",
        )
        # what it carried out is counted on its own /metrics (a `serve` beside it never saw that work)
        metrics = fake_slack.wait_for(
            lambda: scraped_effects_done(metrics_port), timeout=10, what="the reminder's effect counted"
        )
        if hasattr(os, "SCHED_IDLE"):  # background work: any request to answer takes the CPU from it
            assert os.sched_getscheduler(process.pid) == os.SCHED_IDLE
        # its Slack and Redis pools need more sockets than the usual default of 1,024 open files
        wanted = SLACK_CONNECTIONS + REDIS_CONNECTIONS + REQUEST_SOCKETS
        assert open_files_allowed(process.pid) == (
            wanted if OPEN_FILES_HARD == resource.RLIM_INFINITY else min(OPEN_FILES_HARD, wanted)
        )
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)

    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert len(fake_slack.dms("U0ASKER")) == 1
    assert f"worker: HTTP, one bot token; store: Redis at {redis_url}, /metrics on 127.0.0.1:{metrics_port}" in output
    assert 'slack_ask_jobs_total{kind="thanks_reminder",outcome="done"} 1.0' in metrics


def scraped_effects_done(port: int) -> str:
    """The worker's /metrics once it counts an effect carried out ("" until then)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return ""
    return text if 'slack_ask_effects_total{outcome="done"}' in text else ""


def test_digest_in_oauth_mode_asks_which_workspace(tmp_path):
    env = clean_env(
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="c",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL="redis://127.0.0.1:1",
        SLACK_ASK_ENCRYPTION_KEY=new_key(),
    )
    result = subprocess.run(
        [sys.executable, "-m", "slack_app.cli", "digest", "--preview"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 2 and "--team" in result.stderr and "Traceback" not in result.stderr


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "slack_app.cli", *args], env=clean_env(**env), capture_output=True, text=True, timeout=60
    )


OAUTH = {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"}


@pytest.mark.parametrize("key, problem", [(None, "slack-ask keygen"), ("not-a-key", "not a Fernet key")])
def test_oauth_mode_without_a_usable_encryption_key_stops_with_one_line(tmp_path, key, problem):
    env = {**OAUTH, **({"SLACK_ASK_ENCRYPTION_KEY": key} if key else {})}
    result = subprocess.run(SERVE, cwd=tmp_path, env=clean_env(**env), capture_output=True, text=True, timeout=30)

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "SLACK_ASK_ENCRYPTION_KEY" in result.stderr and problem in result.stderr
    assert "Traceback" not in result.stderr


def test_keygen_prints_a_fresh_key_and_rotate_key_reseals_every_installation(redis_url, redis_sync, run):
    from redis.asyncio import Redis
    from slack_sdk.oauth.installation_store import Installation

    from slack_app.store.installations import RedisInstallationStore

    keygen = [cli("keygen"), cli("keygen")]
    old, new = (result.stdout.strip() for result in keygen)
    assert all(result.returncode == 0 for result in keygen) and old != new
    Seal((old,)), Seal((new,))  # both are usable keys

    async def install_with(key: str) -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        for team in ("T0ONE", "T0TWO"):
            await RedisInstallationStore(redis, Seal((key,))).async_save(
                Installation(
                    app_id="A0SLACKASK",
                    team_id=team,
                    user_id="U0ADMIN",
                    bot_token=f"xoxb-{team}-secret",
                    bot_id="B1",
                    bot_user_id="U0SLACKASK",
                    user_token=f"xoxp-{team}-secret",
                )
            )
        await redis.aclose()

    run(install_with(old))
    sealed_before = {key: redis_sync.get(key) for key in redis_sync.keys("*:install:*")}
    result = cli("rotate-key", REDIS_URL=redis_url, SLACK_ASK_ENCRYPTION_KEY=f"{new},{old}", **OAUTH)

    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 6 installation records" in result.stdout
    assert len(sealed_before) == 6  # per workspace: the bot, the installation, the installer's own
    for key, before in sealed_before.items():
        after = redis_sync.get(key)
        assert after != before and "secret" not in after
        assert Seal((new,)).open(after) == Seal((old,)).open(before)  # the old key is no longer needed


def test_rotate_key_without_oauth_says_there_is_nothing_to_rotate():
    result = cli("rotate-key", SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s", REDIS_URL="redis://127.0.0.1:1")

    assert result.returncode == 2 and "OAuth" in result.stderr and "Traceback" not in result.stderr


def _installation(team: str, token: str):
    from slack_sdk.oauth.installation_store import Installation

    return Installation(
        app_id="A0SLACKASK", team_id=team, user_id="U0ADMIN", bot_token=token, bot_id="B1", bot_user_id="U0SLACKASK"
    )


def running_instance_saves(redis_url: str, keys: tuple[str, ...], bot) -> None:
    """A running instance (its own connection and event loop) saving a workspace's bot record."""
    import asyncio
    import threading

    from redis.asyncio import Redis

    from slack_app.store.installations import RedisInstallationStore

    async def save():
        redis = Redis.from_url(redis_url, decode_responses=True)
        await RedisInstallationStore(redis, Seal(keys)).async_save_bot(bot)
        await redis.aclose()

    instance = threading.Thread(target=asyncio.run, args=(save(),))
    instance.start()
    instance.join(timeout=30)


def test_rotate_key_keeps_a_token_a_running_instance_rotated_while_it_ran(redis_url, run):
    """The race of issue 24: rotate-key reads a record, a running instance saves a freshly rotated token,
    and rotate-key's write must not put the stale token back (that workspace would be dead)."""
    from redis.asyncio import Redis

    from slack_app.store.installations import RedisInstallationStore

    old, new = new_key(), new_key()

    class RotatedMeanwhile(Seal):
        """rotate-key's seal; the first time it re-seals a record rotate-key has just read, a running
        instance (deployed with NEW,OLD) saves that workspace's freshly rotated token."""

        pending = True

        def reseal(self, raw: str) -> str:
            if self.pending:
                self.pending = False
                running_instance_saves(redis_url, (new, old), _installation("T0ONE", "xoxb-rotated-fresh").to_bot())
            return super().reseal(raw)

    async def go():
        redis = Redis.from_url(redis_url, decode_responses=True)
        bot = _installation("T0ONE", "xoxb-stale-token").to_bot()
        await RedisInstallationStore(redis, Seal((old,))).async_save_bot(bot)
        outcome = await RedisInstallationStore(redis, RotatedMeanwhile((new, old))).reseal_all()
        found = await RedisInstallationStore(redis, Seal((new,))).async_find_bot(enterprise_id=None, team_id="T0ONE")
        await redis.aclose()
        return outcome, found

    outcome, found = run(go())
    assert found.bot_token == "xoxb-rotated-fresh"  # the instance's token survived, and NEW alone opens it
    assert outcome.resealed == 1 and not outcome.unreadable and not outcome.busy


def test_rotate_key_reports_a_record_no_key_opens_and_reseals_the_rest(redis_url, redis_sync, run):
    from redis.asyncio import Redis

    from slack_app.store.installations import RedisInstallationStore

    old, new, lost = new_key(), new_key(), new_key()

    async def install():
        redis = Redis.from_url(redis_url, decode_responses=True)
        await RedisInstallationStore(redis, Seal((old,))).async_save(_installation("T0ONE", "xoxb-one-secret"))
        await RedisInstallationStore(redis, Seal((lost,))).async_save_bot(
            _installation("T0LOST", "xoxb-lost-secret").to_bot()
        )
        await redis.aclose()

    run(install())
    unopened = redis_sync.get("{T0LOST}:install:bot")
    result = cli("rotate-key", REDIS_URL=redis_url, SLACK_ASK_ENCRYPTION_KEY=f"{new},{old}", **OAUTH)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Re-encrypted 3 installation records" in result.stdout  # T0ONE's bot, installation and installer
    assert "{T0LOST}:install:bot" in result.stderr and "Keep the older keys" in result.stderr
    assert "can now be dropped" not in result.stdout
    assert redis_sync.get("{T0LOST}:install:bot") == unopened  # left exactly as it was
    for key in redis_sync.keys("{T0ONE}:install:*"):
        assert "xoxb-one-secret" in Seal((new,)).open(redis_sync.get(key))
