"""Floor: a bare Bolt `AsyncApp`, all defaults, served by its built-in `app.start()` (aiohttp)."""

from __future__ import annotations

import asyncio
import sys

import common
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build(config: common.BaselineConfig) -> AsyncApp:
    client = AsyncWebClient(token=config.token, base_url=config.api_url)
    app = AsyncApp(client=client, signing_secret=config.signing_secret)

    @app.command("/ask")
    async def open_ask_modal(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=common.modal_for(body))

    # All calls at once, as slack-ask's Router.tell makes them.
    async def on_reaction(event: dict, client: AsyncWebClient) -> None:
        calls = common.reaction_calls(event, config.calls_per_reaction)
        await asyncio.gather(*(getattr(client, method)(**kwargs) for method, kwargs in calls))

    app.event("reaction_added")(on_reaction)
    app.event("reaction_removed")(on_reaction)
    return app


def main() -> None:
    config = common.parse_args(sys.argv[1:])
    build(config).start(port=config.port, host="127.0.0.1")


if __name__ == "__main__":
    main()
