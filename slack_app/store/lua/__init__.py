"""The Lua scripts Redis runs for the store and the scheduler, one `.lua` file each.

A line `--! include NAME` pulls in `NAME.lua`, so scripts can share helpers; each script is read
once per process and handed to redis-py's `register_script`, which caches it on the server.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

_INCLUDE = "--! include "


@cache
def source(name: str) -> str:
    text = files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    return "".join(
        source(line[len(_INCLUDE) :].strip()) + "\n" if line.startswith(_INCLUDE) else line
        for line in text.splitlines(keepends=True)
    )
