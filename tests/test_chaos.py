"""The seeded one-minute fault-injection run (bench/chaos.py): people ask and answer while processes are
SIGKILLed and rolled, Redis restarts and is emptied once, and Slack fails in every way it does; then every
message must have gone out exactly once. A failing run prints its violations and the seed to replay.

In the whole suite the run starts when the tests are collected and goes on beside them (conftest.py,
chaos_run.py); run alone, this test starts it."""

from __future__ import annotations

import re

import chaos_run

MIN_FAULTS = 20  # the ten-minute run's 200, pro rata
CEILING_SECONDS = 900  # setup, the minute of faults, and the drain


def test_a_minute_of_faults_loses_nothing_and_sends_nothing_twice(request):
    run = request.config.stash.get(chaos_run.STARTED, None) or chaos_run.start()
    output = run.finish(CEILING_SECONDS)
    faults = int(re.search(r"^faults injected: (\d+)$", output, re.MULTILINE).group(1))
    violations = int(re.search(r"^violations: (\d+)$", output, re.MULTILINE).group(1))
    checked = int(re.search(r"^invariants checked: ([\d,]+)$", output, re.MULTILINE).group(1).replace(",", ""))
    assert violations == 0, output[-6000:]
    assert faults >= MIN_FAULTS, output[-3000:]
    assert checked > 500, output[-3000:]  # the people's asks were there to be checked
    assert run.process.returncode == 0, output[-3000:]
