"""The suite's seeded minute of faults (bench/chaos.py), started as soon as the suite is collected so that it
runs beside the other tests (it spends most of its time waiting: on Slack's stand-in, on backoffs, on the
drain), and checked by tests/test_chaos.py, which the suite runs last. At a lower CPU priority: the other
tests' timing comes first, and exactly once must hold however the scheduler starves the run's processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
SEED = 7
SECONDS = 60
NICENESS = 10


@dataclass(frozen=True)
class Run:
    process: subprocess.Popen
    report: Path  # what chaos.py prints: a pipe left unread while the suite goes on could fill and stall it

    def finish(self, timeout: float) -> str:
        self.process.wait(timeout)
        return self.report.read_text()

    def stop(self) -> None:
        """A run the suite ended without checking (stopped early, or a test failed with -x)."""
        if self.process.poll() is None:
            self.process.terminate()  # chaos.py stops its processes on SIGTERM
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


STARTED = pytest.StashKey[Run]()


def start() -> Run:
    where = Path(tempfile.mkdtemp(prefix="slack-ask-chaos-suite-"))
    command = [sys.executable, str(BENCH / "chaos.py"), "--seconds", str(SECONDS), "--seed", str(SEED)]
    with open(where / "report.txt", "w") as report:
        process = subprocess.Popen(
            ["nice", "-n", str(NICENESS), *command], stdout=report, stderr=subprocess.STDOUT, cwd=where
        )
    return Run(process, where / "report.txt")
