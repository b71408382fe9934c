"""Floor: a bare Bolt `App` (sync), all defaults, served the way Bolt's own docs start one: `app.start()`.

`app.start()` is Bolt's built-in `http.server` server: one request at a time, a listen backlog
of 5, and listeners (acks included) run on a 5-thread pool. That is what a newcomer gets.
"""

from __future__ import annotations

import sys
from http.server import HTTPServer

import common
import slack_bolt.app.app
from slack_bolt import Ack, App
from slack_sdk import WebClient


class LoopbackHTTPServer(HTTPServer):
    """Bolt's server binds 0.0.0.0; the benchmark binds 127.0.0.1 only. Nothing else differs."""

    def __init__(self, address: tuple[str, int], handler) -> None:
        super().__init__(("127.0.0.1", address[1]), handler)


def build(config: common.BaselineConfig) -> App:
    client = WebClient(token=config.token, base_url=config.api_url)
    app = App(client=client, signing_secret=config.signing_secret)

    @app.command("/ask")
    def open_ask_modal(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=common.modal_for(body))

    # One call after another: the plain way to write it against a sync client.
    def on_reaction(event: dict, client: WebClient) -> None:
        for method, kwargs in common.reaction_calls(event, config.calls_per_reaction):
            getattr(client, method)(**kwargs)

    app.event("reaction_added")(on_reaction)
    app.event("reaction_removed")(on_reaction)
    return app


def main() -> None:
    config = common.parse_args(sys.argv[1:])
    slack_bolt.app.app.HTTPServer = LoopbackHTTPServer
    build(config).start(port=config.port)


if __name__ == "__main__":
    main()
