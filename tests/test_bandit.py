"""bandit over slack_app/: no medium or high findings, unless justified inline (`# nosec B…` with a reason)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bandit_finds_nothing_of_medium_or_high_severity():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-r", "slack_app", "-f", "json", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)

    assert report["metrics"]["_totals"]["loc"] > 1000  # it really looked at the code
    serious = [
        f"{issue['filename']}:{issue['line_number']} {issue['test_id']} {issue['issue_text']}"
        for issue in report["results"]
        if issue["issue_severity"] in ("MEDIUM", "HIGH")
    ]
    assert serious == []
