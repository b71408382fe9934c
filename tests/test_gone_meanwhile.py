"""An ask that goes (forgotten, taken back, its workspace uninstalled) while what it owes is carried out."""

from __future__ import annotations

import logging

from test_ask_flow import ASKER, HAL, HANA

from slack_app.domain.asks import Ask
from slack_app.features.routing import Router
from slack_app.store.store import Snapshot, Store, owed_key
from slack_app.wiring.app import create_app

TEAM = "T0TEAM"


class GoneBeforeTheReRead(Store):
    """The real store, with the ask forgotten by another process just as the cards it sent are read back:
    the worst moment, between sending the ask and bringing every other message up to date."""

    async def snapshot(self, team_id: str, ask_id: str) -> Snapshot:
        await self.forget_ask(team_id, ask_id)
        return await super().snapshot(team_id, ask_id)


def test_an_ask_gone_while_its_cards_go_out_owes_nothing_more_and_logs_no_failure(
    settings, fake_slack, redis_sync, run, caplog
):
    services = create_app(settings).services
    gone = GoneBeforeTheReRead(services.store.redis)
    router = Router(gone, services.clients, services.home, services.workflow_steps)
    ask = Ask(
        team_id=TEAM,
        asker=ASKER,
        text="Review the retry logic in PR 412",
        scope="retry.py",
        estimate_minutes=30,
        decline_line="no_reason",
        teammates=[HAL, HANA],
    )

    async def sent_taken_and_carried_out() -> None:
        assert await services.send_ask(ask)  # owes its sending
        # Taken (by the one helper it needs) before its cards went out: the summary, the cards and the Home
        # tabs are owed as well.
        assert (await services.store.answer(TEAM, ask.id, HAL, "accept")).outcome == "took_last"
        await router.carry_out(TEAM, ask.id)

    with caplog.at_level(logging.WARNING):
        run(sent_taken_and_carried_out())

    assert fake_slack.calls_to("chat.postMessage"), "the ask went out before it was forgotten"
    assert not redis_sync.exists(owed_key(TEAM, ask.id)), "nothing is left owed for an ask that is gone"
    failures = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("slack_app.") and record.levelno >= logging.WARNING
    ]
    assert not failures, f"an ask that is gone is owed nothing, so nothing failed: {failures}"
