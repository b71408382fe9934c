"""The Redis client the store classes take, and the text of its replies.

wiring/app.py's connect_redis builds one client for the app: a plain `Redis`, or a `RedisCluster`
when REDIS_CLUSTER is set. Every store class takes either, since each multi-key operation keeps to
one hash slot. The client decodes replies (decode_responses=True), but redis-py types each reply as
`bytes | str` whatever it was built with; `text` turns such a reply into the str it is.
"""

from __future__ import annotations

from typing import TypeAlias

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline

RedisClient: TypeAlias = Redis | RedisCluster
RedisPipeline: TypeAlias = Pipeline | ClusterPipeline  # what `RedisClient.pipeline()` gives


def text(reply: bytes | str) -> str:
    """A reply as str: as it comes from a decoding client, and decoded (UTF-8, as the client would) if
    a client built without decode_responses passed it raw."""
    return reply.decode() if isinstance(reply, bytes) else reply


def optional_text(reply: bytes | str | None) -> str | None:
    """`text` of a reply that is None where the key or field is missing."""
    return None if reply is None else text(reply)
