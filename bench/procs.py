"""The apps under test, each in its own process: started, waited for, measured and always stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from slack_app.wiring.server import raise_open_files_limit as app_raise_open_files_limit

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
STOP_GRACE_SECONDS = 10.0
START_TIMEOUT_SECONDS = 30.0
BENCH_OPEN_FILES = 65536

# Set in the child before it execs the real command, so a child dies with the benchmark even if
# the benchmark itself is SIGKILLed and no `finally` runs. The pid stays the same across exec.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL); "  # 1 = PR_SET_PDEATHSIG
    "os.getppid() == int(sys.argv[1]) or sys.exit('benchmark gone'); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
)


@dataclass
class Target:
    """One app under test, listening on 127.0.0.1:port."""

    name: str
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float:
        return _proc_status_kb(self.pid, "VmHWM") / 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def raise_open_files_limit() -> None:
    """200 simultaneous requests, each fanning out to Slack calls, need more than the usual 1024 fds."""
    app_raise_open_files_limit(BENCH_OPEN_FILES)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Starts targets and stops every one of them on exit, whatever happened in between."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir = log_dir
        self.env = env
        self._running: list[Target] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        for target in list(self._running):
            self.stop(target)

    def start_slack_ask(self, extra_env: dict[str, str], port: int = 0, name: str = "slack-ask") -> Target:
        """slack-ask exactly as `slack-ask serve` runs it (on `port`, or a free one); restarted under the
        same name, its log goes on in the same file."""
        port = port or free_port()
        argv = ["-m", "slack_app.cli", "serve", "--port", str(port), "--host", "127.0.0.1"]
        return self._start(name, argv, port, extra_env)

    def start_worker(self, extra_env: dict[str, str], name: str = "") -> Target:
        """`slack-ask worker`: no port; it carries out the effect queue and timed jobs."""
        log = self.log_dir / f"{name or f'worker-{len(self._running)}'}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), "-m", "slack_app.cli", "worker"],
                cwd=self.log_dir,
                env={**self.env, **extra_env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        target = Target("slack-ask worker", process, 0, log)
        self._running.append(target)
        time.sleep(2.0)  # imports and the consumer group; it has no port to wait for
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}:\n{_tail(log)}")
        return target

    def start_baseline(self, name: str, script: str, api_url: str, calls: str) -> Target:
        port = free_port()
        argv = [str(BENCH / script), "--port", str(port), "--api-url", api_url, "--calls", calls]
        return self._start(name, argv, port, {})

    def stop(self, target: Target) -> None:
        if target.process.poll() is None:
            target.process.terminate()
            try:
                target.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                target.process.kill()
                target.process.wait(STOP_GRACE_SECONDS)
        if target in self._running:
            self._running.remove(target)

    def _start(self, name: str, argv: list[str], port: int, extra_env: dict[str, str]) -> Target:
        log = self.log_dir / f"{name.replace(' ', '-')}.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *argv],
                cwd=self.log_dir,  # not the repo: a developer's .env there must not leak in
                env={**self.env, **extra_env},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        target = Target(name, process, port, log)
        self._running.append(target)
        _wait_until_listening(target)
        return target


def _wait_until_listening(target: Target) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"{target.name} exited with {target.process.returncode}:\n{_tail(target.log)}")
        try:
            with socket.create_connection(("127.0.0.1", target.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(
        f"{target.name} did not listen on {target.port} within {START_TIMEOUT_SECONDS:.0f}s:\n{_tail(target.log)}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# A developer's own app settings (Socket Mode, OAuth, a Redis Cluster...) would change what is
# measured; Bolt itself switches to OAuth when it sees SLACK_CLIENT_ID.
_APP_SETTINGS = ("SLACK_", "REDIS_", "DIGEST_", "PORT", "METRICS_")


def child_env(**settings: str) -> dict[str, str]:
    """The environment every target runs with: ours less any app settings, the repo importable, and `settings`.
    Each process serves /metrics on a port of its own, as each pod does (on one host they cannot share 9090)."""
    inherited = {name: value for name, value in os.environ.items() if not name.startswith(_APP_SETTINGS)}
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**inherited, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", "METRICS_PORT": "0", **settings}


def listen_overflows() -> int:
    """Connections the kernel dropped because a listen queue was full, system-wide, since boot.

    Each drop costs the client a SYN retransmit: 1 s, then 3 s, 7 s... of added latency.
    """
    lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")]
    names, values = lines[0], lines[1]
    return int(values[names.index("ListenOverflows")])
