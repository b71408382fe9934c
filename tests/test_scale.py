"""Running at scale: a real three-node Redis Cluster, several instances on one Redis, graceful shutdown."""

from __future__ import annotations

import asyncio

from redis.asyncio import RedisCluster
from slack_requests import SlackRequests
from test_ask_flow import ASKER, HAL, HANA, send_ask

from slack_app.domain.asks import Ask
from slack_app.settings import Settings
from slack_app.store.scheduler import Job, Scheduler
from slack_app.store.store import Store
from slack_app.wiring.app import create_app
from slack_app.wiring.server import ThreadedServer


def test_every_store_and_scheduler_operation_runs_on_a_cluster(cluster_url, run):
    async def exercise():
        client = RedisCluster.from_url(cluster_url, decode_responses=True)
        store, scheduler = Store(client), Scheduler(client)
        ask = Ask(
            team_id="T0TEAM",
            asker=ASKER,
            text="Review the retry logic in PR 412",
            scope="retry.py",
            estimate_minutes=30,
            decline_line="no_reason",
            teammates=[HAL, HANA],
            week="2026-W47",
        )
        await store.save_ask(ask)
        await store.record_card("T0TEAM", ask.id, HAL, "D0HELP1", "1.1")
        first, card = await store.first_sighting_and_card("T0TEAM", "Ev1", "D0HELP1", "1.1")
        took = await store.answer("T0TEAM", ask.id, HAL, "accept")
        done = await store.close("T0TEAM", ask.id, "done", ASKER)
        await store.count_done(done.ask, "2026-W47")
        thanked = await store.record_thanks(
            "T0TEAM", "2026-W47", {"ask_id": ask.id, "asker": ASKER, "helper": HAL, "note": "n"}, done.ask
        )
        counted = (await store.insight_counts("T0TEAM", ["2026-W47"]))[0]
        claimed = await store.claim_digest("T0TEAM", "2026-W47", 1.0, 60)
        await scheduler.schedule(Job(id="j1", team_id="T0TEAM", kind="k", due=1.0))
        jobs = await scheduler.claim_due("T0TEAM", now=2.0, lease_seconds=60, limit=10)
        completed = await scheduler.complete("T0TEAM", "j1", jobs[0].token)
        viewers = (await store.note_home_viewer("T0TEAM", HAL), await store.home_viewers("T0TEAM"))[1]
        recent = await store.home_basics("T0TEAM", ASKER, 10, 5)
        loaded = [ask for ask, _ in (await store.home_asks("T0TEAM", ASKER, recent.by_ids, [], (0, 1))).by]
        balance = await store.balance("T0TEAM", HAL)
        # The due index lives in its own slot, beside every workspace's: polls, retention, forgetting.
        ran = []
        await scheduler.schedule(Job(id="j2", team_id="T0OTHER", kind="k", due=3.0))
        polled = await scheduler.run_due({"k": lambda job: asyncio.sleep(0, ran.append(job.id))}, now=4.0)
        forgot = await store.forget_ask("T0TEAM", ask.id)
        dropped = await store.forget_kudos("T0TEAM", "2026-W47")
        await scheduler.forget_workspace("T0OTHER")
        await client.aclose()
        return (
            first,
            card,
            took,
            done,
            thanked,
            claimed,
            jobs,
            completed,
            viewers,
            loaded,
            balance,
            counted,
            (polled, ran, forgot, dropped),
        )

    first, card, took, done, thanked, claimed, jobs, completed, viewers, loaded, balance, counted, later = run(
        exercise()
    )
    assert first and card.teammate == HAL
    assert took.outcome == "took_last" and done.outcome == "done"
    assert thanked and claimed and [job.id for job in jobs] == ["j1"] and completed
    assert viewers == {HAL} and loaded[0].status.value == "done" and balance == {"asked": 0, "helped": 1}
    assert {
        key: counted[key]
        for key in ("asks", "found_help", "done", "help_minutes", "thanked", "people_only_asked", "people_only_helped")
    } == {
        "asks": "1",
        "found_help": "1",
        "done": "1",
        "help_minutes": "30",
        "thanked": "1",
        "people_only_asked": "1",
        "people_only_helped": "1",
    }
    assert later == (1, ["j2"], True, 1)


def test_the_whole_ask_flow_on_a_cluster(cluster_url, fake_slack, tmp_path):
    settings = Settings(
        bot_token="xoxb-test-token",
        signing_secret="cluster-secret",
        redis_url=cluster_url,
        redis_cluster=True,
        slack_api_url=fake_slack.api_url,
        data_dir=tmp_path,
        run_scheduler=False,
    )
    server = ThreadedServer(create_app(settings)).start()
    try:
        slack = SlackRequests(server.url, "cluster-secret", fake_slack)
        cards = send_ask(slack, fake_slack, teammates=[HAL, HANA])
        slack.react(HAL, cards[HAL], "white_check_mark")
        fake_slack.wait_for(lambda: "Covered by <@U0HELP1>" in fake_slack.dms(HANA)[0].all_text, what="covered")
        fake_slack.wait_for(
            lambda: "ask_done" in fake_slack.dms(ASKER)[0].action_ids(), what="Mark done on the summary"
        )
        slack.click(ASKER, fake_slack.dms(ASKER)[0], "ask_done")
        fake_slack.wait_for(lambda: any("thanks_open" in m.action_ids() for m in fake_slack.dms(ASKER)), what="prompt")
    finally:
        server.stop()


def test_settings_read_redis_cluster_from_the_environment():
    settings = Settings.from_env(
        {"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y", "REDIS_URL": "redis://n1:6379", "REDIS_CLUSTER": "1"},
        dotenv_path="/nonexistent/.env",
    )
    assert settings.redis_cluster is True and settings.redis_url == "redis://n1:6379"


def test_any_instance_can_serve_any_request(settings, fake_slack, redis_sync):
    first, second = (ThreadedServer(create_app(settings)).start() for _ in range(2))
    try:
        to_first = SlackRequests(first.url, settings.signing_secret, fake_slack)
        to_second = SlackRequests(second.url, settings.signing_secret, fake_slack)
        cards = send_ask(to_first, fake_slack, teammates=[HAL, HANA])

        to_second.react(HAL, cards[HAL], "white_check_mark")
        to_first.react(HANA, cards[HANA], "+1")
        covered = (  # Hana's card: covered, or covered with thanks for her yes that came second
            "Covered by <@U0HELP1> — nothing needed from you.",
            "Thanks for offering. It's covered by <@U0HELP1>, so nothing is needed from you.",
        )
        fake_slack.wait_for(
            lambda: any(line in fake_slack.dms(HANA)[0].all_text for line in covered), what="Hana's card covered"
        )
        fake_slack.wait_for(lambda: "ask_done" in fake_slack.dms(HAL)[0].action_ids(), what="Mark done on Hal's card")
        to_second.click(HAL, fake_slack.dms(HAL)[0], "ask_done")
        fake_slack.wait_for(lambda: any("thanks_open" in m.action_ids() for m in fake_slack.dms(ASKER)), what="prompt")
        fake_slack.settle()
    finally:
        first.stop()
        second.stop()

    assert sum("is on your ask" in m.all_text for m in fake_slack.dms(ASKER)) == 1  # one winner, told once


def test_sigterm_finishes_in_flight_work_and_exits_0(tmp_path, redis_url):
    import signal
    import time

    from fake_slack import FakeSlack
    from test_cli import start_serve

    slow_slack = FakeSlack(token="xoxb-test-token", latency=1.0).start()
    process, url, output_file = start_serve(
        tmp_path,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="s",
        REDIS_URL=redis_url,
        SLACK_API_URL=slow_slack.api_url,
    )
    try:
        slack = SlackRequests(url, "s", slow_slack)
        assert slack.submit_ask(ASKER, teammates=[HAL, HANA]).status == 200  # acked; the fan-out is still running
        slow_slack.wait_for(lambda: slow_slack.calls_to("chat.postMessage"), what="fan-out under way")
        stopping = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)
        took = time.monotonic() - stopping
    finally:
        process.kill()
        slow_slack.stop()

    assert process.returncode == 0, output_file.read_text()
    assert took >= 0.5  # it waited for the Slack calls in flight …
    assert len(slow_slack.dms(HAL)) == 1 and len(slow_slack.dms(HANA)) == 1  # … so every card went out
