"""The edge: what cannot be Slack's is refused before its body is read.

A pure ASGI wrapper around the whole web app. Every request's declared Content-Length is checked
against a limit before anything is read, and a body streamed without a length is cut off at that
limit, so no request can make the process hold more than `max_body` bytes of it. On the signed
routes (Slack's POSTs) a missing or malformed signature header, or a timestamp more than five
minutes off, is refused from the headers alone; the signature itself is checked once the bounded
body is in. Refusals close the connection, so the rest of a large body is never waited for, and are
logged as one bounded line (route, size, reason), never with the body.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable

from slack_sdk.signature import SignatureVerifier
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..observability import HTTP_RESPONSES

MAX_CLOCK_SKEW_SECONDS = 300  # Slack's own rule: a request older (or newer) than five minutes is a replay
SIGNATURE = re.compile(rb"v0=[0-9a-f]{64}")
TIMESTAMP = re.compile(rb"[0-9]{1,12}")
LOGGED_PATH_CHARS = 64

log = logging.getLogger(__name__)


class Refused(Exception):
    def __init__(self, status: int, reason: str, size: int):
        super().__init__(reason)
        self.status, self.reason, self.size = status, reason, size


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        signing_secret: str,
        max_body: int,
        signed_paths: Iterable[str],
        clock: Callable[[], float] = time.time,
    ):
        self.app = app
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.max_body = max_body
        self.signed_paths = frozenset(signed_paths)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            headers = _headers(scope)
            verifier = self.verifier if scope["path"] in self.signed_paths and scope["method"] == "POST" else None
            if verifier is not None:
                self._check_signature_headers(headers)
            declared = self._declared_length(headers)
            body = await self._read_body(receive, declared)
            if verifier is not None:
                self._check_signature(verifier, headers, body)
        except Refused as refused:
            await self._refuse(scope, headers, refused, send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _declared_length(self, headers: dict[bytes, bytes]) -> int:
        raw = headers.get(b"content-length")
        if raw is None:
            return -1
        if not raw.isdigit():
            raise Refused(400, "malformed content-length", 0)
        declared = int(raw)
        if declared > self.max_body:
            raise Refused(413, "declared body over the limit", declared)
        return declared

    def _check_signature_headers(self, headers: dict[bytes, bytes]) -> None:
        timestamp, signature = headers.get(b"x-slack-request-timestamp"), headers.get(b"x-slack-signature")
        declared = headers.get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else 0
        if timestamp is None or signature is None:
            raise Refused(401, "unsigned", size)
        if not TIMESTAMP.fullmatch(timestamp) or not SIGNATURE.fullmatch(signature):
            raise Refused(401, "malformed signature headers", size)
        if abs(self.clock() - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
            raise Refused(401, "timestamp more than 5 minutes off", size)

    def _check_signature(self, verifier: SignatureVerifier, headers: dict[bytes, bytes], body: bytes) -> None:
        timestamp = headers[b"x-slack-request-timestamp"].decode()
        expected = verifier.generate_signature(timestamp=timestamp, body=body)
        if not _same(expected, headers[b"x-slack-signature"].decode()):
            raise Refused(401, "signature does not match", len(body))

    async def _read_body(self, receive: Receive, declared: int) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "client went away", size)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise Refused(413, "body streamed past the limit", size)
            if declared >= 0 and size > declared:
                raise Refused(400, "body longer than declared", size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, headers: dict[bytes, bytes], refused: Refused, send: Send) -> None:
        path = scope["path"]
        log.warning(
            "request refused",
            extra={
                "route": ascii(path[:LOGGED_PATH_CHARS]),
                "status": refused.status,
                "reason": refused.reason,
                "size": refused.size,
                "content_type": ascii(headers.get(b"content-type", b"")[:LOGGED_PATH_CHARS]),
            },
        )
        HTTP_RESPONSES.labels(path if path in self.signed_paths else "other", str(refused.status)).inc()
        await send(
            {
                "type": "http.response.start",
                "status": refused.status,
                "headers": [(b"content-length", b"0"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def _same(expected: str | None, given: str) -> bool:
    return expected is not None and hmac.compare_digest(expected.encode(), given.encode())


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, handed over once; after it, whatever the server says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
