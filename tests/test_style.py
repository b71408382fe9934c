"""Style is checked where tests run, so a contributor's first pytest says what CI would."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_fix():
    checked = ruff("check", "--no-cache", ".")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_code_is_formatted_as_ruff_formats_it():
    checked = ruff("format", "--check", "--no-cache", ".")
    assert checked.returncode == 0, "run `ruff format .`:\n" + checked.stdout + checked.stderr


def test_mypy_finds_no_type_errors():
    """Over slack_app/, as pyproject.toml's [tool.mypy] says: strict on domain/, store/ and text/."""
    checked = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
