"""The seeded one-minute fault-injection run (bench/chaos.py): people ask and answer while processes are
SIGKILLed and rolled, Redis restarts and is emptied once, and Slack fails in every way it does; then every
message must have gone out exactly once. A failing run prints its violations and the seed to replay."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
SEED = 7
SECONDS = 60
MIN_FAULTS = 20  # the ten-minute run's 200, pro rata
CEILING_SECONDS = 900  # setup, the minute of faults, and the drain (a digest whose post failed waits out its lease)


def test_a_minute_of_faults_loses_nothing_and_sends_nothing_twice(tmp_path):
    run = subprocess.run(
        [sys.executable, str(BENCH / "chaos.py"), "--seconds", str(SECONDS), "--seed", str(SEED)],
        capture_output=True,
        text=True,
        timeout=CEILING_SECONDS,
        cwd=tmp_path,
    )
    output = run.stdout + run.stderr
    faults = int(re.search(r"^faults injected: (\d+)$", output, re.MULTILINE).group(1))
    violations = int(re.search(r"^violations: (\d+)$", output, re.MULTILINE).group(1))
    checked = int(re.search(r"^invariants checked: ([\d,]+)$", output, re.MULTILINE).group(1).replace(",", ""))
    assert violations == 0, output[-6000:]
    assert faults >= MIN_FAULTS, output[-3000:]
    assert checked > 500, output[-3000:]  # the people's asks were there to be checked
    assert run.returncode == 0, output[-3000:]
