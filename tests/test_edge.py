"""The edge, tried as an attacker with no credentials would: a real `serve` process, huge bodies."""

from __future__ import annotations

import json
import select
import signal
import socket
import time
import urllib.parse
from pathlib import Path

import pytest
from slack_requests import SlackRequests
from test_cli import start_serve

from slack_app.playground import payloads

SECRET = "edge-secret"
HUGE = 200 * 1024 * 1024
CHUNK = b"x" * (256 * 1024)
RSS_GROWTH_LIMIT = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One `serve` (embedded Valkey and all) for every test here; its log file is read back."""
    from fake_slack import FakeSlack

    tmp_path = tmp_path_factory.mktemp("edge")
    fake = FakeSlack(token="xoxb-edge-token").start()
    process, url, log = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-edge-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake.api_url,
        SLACK_ASK_DATA_DIR=str(tmp_path / "data"),
    )
    yield process, url, log, fake
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    fake.stop()
    assert process.returncode == 0
    assert "Traceback" not in log.read_text()
    assert not fake.violations, fake.violations


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def send_huge(
    url: str,
    headers: dict[str, str],
    *,
    declared: bool,
    size: int = HUGE,
    path: str = "/slack/events",
    method: str = "POST",
) -> tuple[int, int]:
    """Streams `size` bytes (with a Content-Length, or chunked) until the server answers; returns its
    status and how many bytes of the body had been sent by then."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    framing = {"Content-Length": str(size)} if declared else {"Transfer-Encoding": "chunked"}
    head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": host, **headers, **framing}.items())
    sent, pending = 0, b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\n{head}\r\n".encode())
        sock.setblocking(False)  # never stuck in a send while the answer waits to be read
        while sent < size:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break  # the answer is in: stop sending, as a client reading its socket would
            if not pending:
                pending = CHUNK if declared else b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
            try:
                written = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                break
            pending, sent = pending[written:], sent + written
        sock.settimeout(30)
        answer = sock.recv(4096).decode("latin-1")
    return int(answer.split(" ", 2)[1]), sent


def signed(body: str, timestamp: int | None = None) -> dict[str, str]:
    return payloads.signed_headers(SlackRequests("http://x", SECRET).signer, body, payloads.JSON, timestamp=timestamp)


@pytest.mark.parametrize(
    "headers, declared, status",
    [
        pytest.param({"Content-Type": "application/json"}, True, 401, id="unsigned, declared"),
        pytest.param({"Content-Type": "application/json"}, False, 401, id="unsigned, chunked"),
        pytest.param(signed("{}"), True, 413, id="valid-looking headers, declared"),
        pytest.param(signed("{}"), False, 413, id="valid-looking headers, chunked"),
    ],
)
def test_a_200_mb_body_is_refused_fast_with_memory_flat(served, headers, declared, status):
    process, url, log, _ = served
    before, log_before = rss(process.pid), log.stat().st_size
    started = time.monotonic()

    answer, sent = send_huge(url, headers, declared=declared)

    elapsed = time.monotonic() - started
    assert answer == status
    assert elapsed < 2.0, elapsed
    assert sent < 16 * 1024 * 1024  # the answer came long before the body was through
    assert rss(process.pid) - before < RSS_GROWTH_LIMIT
    assert log.stat().st_size - log_before < 2048


@pytest.mark.parametrize(
    "path, method",
    [
        ("/slack/install", "GET"),
        ("/healthz", "GET"),
        ("/metrics", "GET"),
        ("/slack/oauth_redirect", "GET"),
        ("/nowhere", "POST"),
    ],
)
def test_every_route_refuses_an_oversized_body_the_same_way(served, path, method):
    process, url, _, _ = served
    before = rss(process.pid)

    assert send_huge(url, {}, declared=True, path=path, method=method)[0] == 413
    assert send_huge(url, {}, declared=False, path=path, method=method)[0] == 413
    assert rss(process.pid) - before < RSS_GROWTH_LIMIT


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POSTs to /slack/events, sending the body only while the server has not answered yet."""
    host, port = urllib.parse.urlsplit(url).netloc.split(":")
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {"Host": host, "Content-Length": str(len(body)), "Connection": "close", **headers}.items()
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode())
        for start in range(0, len(body), len(CHUNK)):
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(body[start : start + len(CHUNK)])
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_bad_signatures_are_refused_with_a_short_escaped_log_line(served):
    process, url, log, _ = served
    body = json.dumps({"type": "event_callback", "event": {"text": "<!channel>\n" + "y" * 900_000}})
    now = int(time.time())
    log_before = log.stat().st_size
    forged = {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64}

    assert post(url, body.encode(), forged) == 401  # signature doesn't match
    assert post(url, body.encode(), signed(body, timestamp=now - 301)) == 401  # replayed
    assert post(url, body.encode(), {**signed(body), "X-Slack-Signature": "sha1=abc"}) == 401  # malformed
    assert post(url, body.encode(), {**signed(body), "X-Slack-Request-Timestamp": "1e9"}) == 401
    assert post(url, b"{}", {"Content-Type": "application/json"}) == 401  # unsigned
    assert post(url, body.encode(), {**forged, "Content-Type": "text/plain;" + "z" * 5000}) == 401

    time.sleep(0.2)
    written = log.read_bytes()[log_before:]
    assert len(written) < 4096, len(written)
    lines = [json.loads(line) for line in written.decode().splitlines()]
    assert [line["reason"] for line in lines] == [
        "signature does not match",
        "timestamp more than 5 minutes off",
        "malformed signature headers",
        "malformed signature headers",
        "unsigned",
        "signature does not match",
    ]
    assert all(line["status"] == 401 and line["route"] == "'/slack/events'" for line in lines)
    assert "<!channel>" not in written.decode()


def test_a_real_request_within_the_limit_still_gets_through(served):
    _, url, _, fake = served
    slack = SlackRequests(url, SECRET, fake)

    assert slack.slash_ask("U0ASKER", "Review PR 412").status == 200
    fake.wait_for(lambda: fake.calls_to("views.open"), what="the modal")
    challenge = slack.send(
        json.dumps({"type": "url_verification", "challenge": "c" * 100, "token": "t"}), payloads.JSON
    )
    assert (challenge.status, challenge.json()) == (200, {"challenge": "c" * 100})
