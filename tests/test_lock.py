"""The deploy lock: the image installs deploy/requirements.lock, CI installs deploy/requirements-test.lock
(README's test command passes it to pip as constraints), both compiled from pyproject.toml's ranges.

pip itself refuses CI's install when pyproject.toml and the lock no longer agree; these tests say which
package it is, and that what ships is exactly what was tested."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REFRESH = "refresh the lock as README's Deploying section says"


def pins(lock: str) -> dict[str, tuple[str, Requirement]]:
    """name → (version, the pin's requirement with its environment marker)."""
    found = {}
    for line in (ROOT / "deploy" / lock).read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            requirement = Requirement(line.rstrip(" \\"))
            (pinned,) = requirement.specifier
            found[canonicalize_name(requirement.name)] = (pinned.version, requirement)
    return found


def applies_here(requirement: Requirement, extra: str = "") -> bool:
    return requirement.marker is None or requirement.marker.evaluate({"extra": extra})


def test_every_dependency_is_locked_within_its_range():
    for lock, wanted in (
        ("requirements.lock", PYPROJECT["dependencies"]),
        ("requirements-test.lock", PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["test"]),
    ):
        locked = pins(lock)
        for line in wanted:
            requirement = Requirement(line)
            if not applies_here(requirement):
                continue
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{requirement.name} is not in deploy/{lock}: {REFRESH}"
            assert requirement.specifier.contains(locked[name][0], prereleases=True), (
                f"deploy/{lock} pins {name}=={locked[name][0]}, outside pyproject.toml's {requirement}: {REFRESH}"
            )


def test_the_image_ships_the_versions_the_tests_ran_with():
    tested = pins("requirements-test.lock")
    for name, (pinned, requirement) in pins("requirements.lock").items():
        assert tested.get(name, ("absent",))[0] == pinned, f"{name}: the image and CI lock differ: {REFRESH}"
        if not applies_here(requirement):
            continue
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        assert installed == pinned, (
            f"{name} {installed} is installed but the lock says {pinned}: install with README's test command"
        )


def test_every_locked_package_is_hashed_for_the_image():
    text = (ROOT / "deploy" / "requirements.lock").read_text()
    entries = re.split(r"\n(?=\S)", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
