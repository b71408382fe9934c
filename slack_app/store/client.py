"""The Redis client the store classes take, and the text of its replies.

wiring/app.py's connect_redis builds one client for the app: a plain `Redis`, or a `RedisCluster`
when REDIS_CLUSTER is set. Every store class takes either, since each multi-key operation keeps to
one hash slot. The client decodes replies (decode_responses=True), but redis-py types each reply as
`bytes | str` whatever it was built with; `text` turns such a reply into the str it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeAlias, cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline
from redis.asyncio.connection import AbstractConnection
from redis.typing import EncodableT, FieldT

RedisClient: TypeAlias = Redis | RedisCluster
RedisPipeline: TypeAlias = Pipeline | ClusterPipeline  # what `RedisClient.pipeline()` gives
# A hash's fields or a stream entry, as redis-py takes them (a dict[str, str] is one, but the typing of a
# dict's keys doesn't let it pass for this wider one).
Fields: TypeAlias = dict[FieldT, EncodableT]


def text(reply: bytes | str) -> str:
    """A reply as str: as it comes from a decoding client, and decoded (UTF-8, as the client would) if
    a client built without decode_responses passed it raw."""
    return reply.decode() if isinstance(reply, bytes) else reply


def optional_text(reply: bytes | str | None) -> str | None:
    """`text` of a reply that is None where the key or field is missing."""
    return None if reply is None else text(reply)


def texts(replies: Iterable[bytes | str]) -> list[str]:
    """`text` of each of a reply's members (a set's, a list's)."""
    return [text(reply) for reply in replies]


def text_map(reply: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash as HGETALL gives it, as str to str."""
    return {text(key): text(value) for key, value in reply.items()}


def members(reply: Iterable[object]) -> list[str]:
    """A sorted set's members, as ZRANGE and ZRANGEBYSCORE answer them without WITHSCORES."""
    # redis-py types the reply for WITHSCORES too, (member, score) pairs; without it each is a member.
    return [text(cast("bytes | str", member)) for member in reply]


async def open_every_connection(redis: RedisClient) -> None:
    """Opens all the connections a plain client's pool may hold: a pool of fixed size, as HikariCP advises for
    spiky loads, so the first burst of requests after a start finds them ready (two hundred /ask at once
    opening their own put the last modal ~25 % later: BENCHMARKS.md). Those Redis could not open now (it is
    down, or allows fewer clients) open when needed, as before; a Cluster client's per-node pools always do."""
    if isinstance(redis, RedisCluster):
        return
    pool = redis.connection_pool
    connect: Callable[[], Awaitable[AbstractConnection]] = pool.get_connection  # (redis-py leaves it untyped)
    opened = await asyncio.gather(*(connect() for _ in range(pool.max_connections)), return_exceptions=True)
    for connection in opened:
        if isinstance(connection, AbstractConnection):
            await pool.release(connection)
