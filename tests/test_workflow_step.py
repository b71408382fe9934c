"""The Workflow Builder step "Send a low-pressure ask": Slack's recorded function_executed payload, signed and sent
to the real app, sends the ask the form would; the step completes — once — when the ask has ended, also across
a SIGKILL; inputs the form would refuse fail it at once with nothing sent."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fake_slack import FakeSlack
from test_ask_flow import ASKER, HAL, HANA
from test_cli import instance, kill, start_instance
from test_lifecycle_flow import last_view, submit_thanks

from slack_app.domain.availability import Availability, Mode
from slack_app.domain.workflow_step import RUNNING_STEP_LIMIT
from slack_app.playground import payloads
from slack_app.store.store import availability_key, balance_key, step_key

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "slack-reference"
RECORDED = REFERENCE / "bolt-python-test-payloads" / "test_function__function_body.json"
TOKEN = "xwfp-T0TEAM-new-starter-run-token"
EXECUTION = "Fx0NEWSTARTER"

INPUTS = {
    "asker": ASKER,
    "teammates": [HAL, HANA],
    "ask": "Walk the new starter through our deploy pipeline",
    "scope": "In: how a change reaches production. Out: on-call, incident process.",
    "estimate": 30,
    "decline": "later",
    "workflow_name": "New starter",
}


def recorded_event(inputs: dict, execution: str = EXECUTION) -> str:
    """Bolt's recorded function_executed body, as our step's run: our callback_id, team and inputs, plus the
    run's token and workflow execution id Slack's docs add to the event."""
    body = json.loads(RECORDED.read_text())
    body["team_id"] = "T0TEAM"
    body["event"]["function"]["callback_id"] = "send_ask"
    body["event"].update(
        inputs=inputs, function_execution_id=execution, workflow_execution_id="Wx0RUN", bot_access_token=TOKEN
    )
    return json.dumps(body)


def run_step(slack, fake: FakeSlack, inputs: dict = INPUTS, execution: str = EXECUTION):
    """A workflow reaches the step: Slack starts the run and sends the app its event."""
    fake.start_execution(execution, "send_ask", TOKEN)
    return slack.send(recorded_event(inputs, execution), payloads.JSON)


def completed(fake: FakeSlack, execution: str = EXECUTION):
    return fake.executions[execution].state != "running"


def take_do_and_thank(slack, fake: FakeSlack) -> None:
    """Hal takes the ask, marks it done, and the asker thanks him."""
    card = fake.wait_for(lambda: fake.dms(ASKER) and fake.dms(HAL), what="Hal's card and the summary")[0]
    fake.settle(quiet=0.5)  # the app has recorded where the card is, so a reaction to it finds its ask
    slack.react(HAL, card, "white_check_mark")
    fake.wait_for(lambda: "ask_done" in fake.dms(HAL)[0].action_ids(), what="Mark done on Hal's card")
    assert slack.click(HAL, fake.dms(HAL)[0], "ask_done").status == 200
    prompt = fake.wait_for(
        lambda: [m for m in fake.dms(ASKER) if "thanks_open" in m.action_ids()], what="thanks prompt"
    )[0]
    views_before = len(fake.calls_to("views.open"))
    slack.click(ASKER, prompt, "thanks_open")
    fake.wait_for(lambda: len(fake.calls_to("views.open")) > views_before, what="thanks modal")
    assert submit_thanks(slack, last_view(fake), "The new starter shipped a fix on day two.").status == 200


def test_the_recorded_event_sends_the_ask_its_inputs_describe_in_the_askers_name(slack, fake_slack, redis_sync):
    reply = run_step(slack, fake_slack)

    assert reply.status == 200
    cards = fake_slack.wait_for(lambda: fake_slack.dms(HAL) and fake_slack.dms(HANA), what="both cards")
    fake_slack.wait_for(lambda: fake_slack.dms(ASKER), what="the asker's summary")
    card = fake_slack.dms(HAL)[0].all_text
    assert "<@U0ASKER> is asking for a hand" in card
    assert "Walk the new starter through our deploy pipeline" in card
    assert "Out: on-call, incident process." in card and "30 minutes" in card
    assert "Later works too" in card
    assert "Sent by the 'New starter' workflow on behalf of <@U0ASKER>" in card
    assert "ask_accept" in fake_slack.dms(HANA)[0].action_ids() and cards
    assert fake_slack.executions[EXECUTION].state == "running"  # it completes when the ask ends, not now
    assert not fake_slack.calls_to("functions.completeSuccess")
    # Counted like any other ask: the asker's own count, and the workspace's figures for this week.
    assert redis_sync.hget(balance_key("T0TEAM", ASKER), "asked") == "1"
    weeks = [key for key in redis_sync.keys("{T0TEAM}:insights:*") if redis_sync.hget(key, "asks") == "1"]
    assert weeks


def test_taken_done_and_thanked_completes_the_step_once_with_its_outcome(slack, fake_slack, redis_sync):
    run_step(slack, fake_slack)
    take_do_and_thank(slack, fake_slack)

    fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
    fake_slack.wait_for(lambda: not redis_sync.keys("{T0TEAM:ask:*}:owed"), what="nothing owed")
    fake_slack.settle(quiet=0.3)
    run = fake_slack.executions[EXECUTION]
    assert run.state == "completed" and run.completions == 1
    assert run.outputs == {"outcome": "done", "helpers": [HAL], "helped_minutes": 30, "thanked": True}
    calls = fake_slack.calls_to("functions.completeSuccess")
    assert len(calls) == 1 and calls[0].token == TOKEN  # completed with the run's own token
    assert not fake_slack.calls_to("functions.completeError")


def step_ask_taken_by_hal(slack, fake_slack) -> None:
    """The step sends its ask, and Hal takes it from his card."""
    run_step(slack, fake_slack)
    card = fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="Hal's card")[0]
    fake_slack.settle(quiet=0.5)  # the app has recorded where the card is, so a reaction to it finds its ask
    slack.react(HAL, card, "white_check_mark")
    fake_slack.wait_for(lambda: "ask_done" in fake_slack.dms(HAL)[0].action_ids(), what="taken by Hal")


def test_done_but_not_yet_thanked_keeps_the_step_running_for_the_thank_you(slack, fake_slack, redis_sync):
    step_ask_taken_by_hal(slack, fake_slack)
    assert slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done").status == 200
    fake_slack.wait_for(lambda: any("thanks_open" in m.action_ids() for m in fake_slack.dms(ASKER)), what="prompt")
    fake_slack.wait_for(lambda: not redis_sync.keys("{T0TEAM:ask:*}:owed"), what="the step looked at")

    assert fake_slack.executions[EXECUTION].state == "running"
    assert not fake_slack.calls_to("functions.completeSuccess")


def test_a_cancelled_ask_completes_the_step_as_cancelled_with_nobody_helping(slack, fake_slack):
    run_step(slack, fake_slack)
    summary = fake_slack.wait_for(lambda: fake_slack.dms(ASKER), what="summary")[0]
    fake_slack.wait_for(lambda: fake_slack.dms(HAL) and fake_slack.dms(HANA), what="cards")

    assert slack.click(ASKER, summary, "ask_cancel").status == 200

    fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
    assert fake_slack.executions[EXECUTION].outputs == {
        "outcome": "cancelled",
        "helpers": [],
        "helped_minutes": 0,
        "thanked": False,
    }


def test_everyone_passing_completes_the_step_at_once(slack, fake_slack):
    run_step(slack, fake_slack)
    cards = fake_slack.wait_for(
        lambda: fake_slack.dms(HAL) and fake_slack.dms(HANA) and fake_slack.dms(ASKER), what="cards"
    )
    fake_slack.settle(quiet=0.5)
    assert cards
    slack.react(HAL, fake_slack.dms(HAL)[0], "x")
    slack.react(HANA, fake_slack.dms(HANA)[0], "x")

    fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
    assert fake_slack.executions[EXECUTION].outputs["outcome"] == "everyone_passed"


def test_an_ask_outliving_slacks_limit_completes_the_step_with_what_is_known(settings, slack, fake_slack, run):
    from slack_app.wiring.app import create_app

    step_ask_taken_by_hal(slack, fake_slack)

    # The limit's timer comes due (the tests run due jobs themselves, at the time they choose).
    app = create_app(settings)
    later = datetime.now(UTC) + RUNNING_STEP_LIMIT + timedelta(minutes=1)
    ran = run(app.services.scheduler.run_due(app.services.lifecycle.handlers(), now=later.timestamp()))
    assert ran

    fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
    assert fake_slack.executions[EXECUTION].outputs == {
        "outcome": "unfinished",
        "helpers": [HAL],
        "helped_minutes": 0,
        "thanked": False,
    }


def test_the_same_event_delivered_again_sends_one_ask(slack, fake_slack, redis_sync):
    body = recorded_event(INPUTS)
    fake_slack.start_execution(EXECUTION, "send_ask", TOKEN)
    assert slack.send(body, payloads.JSON).status == 200
    assert slack.send(body, payloads.JSON, headers={"X-Slack-Retry-Num": "1"}).status == 200

    fake_slack.wait_for(lambda: fake_slack.dms(HAL) and fake_slack.dms(HANA), what="cards")
    fake_slack.settle(quiet=0.3)
    assert len(fake_slack.dms(HAL)) == len(fake_slack.dms(HANA)) == 1
    assert len([key for key in redis_sync.keys("{T0TEAM:ask:*}") if key.endswith("}")]) == 1


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"scope": ""}, "scope: Say what is in and what is out"),
        ({"estimate": 45}, "estimate: Pick how long you think it takes."),
        ({"teammates": [HAL, "U0BOT"]}, "teammates: Apps and bots can't help with this one: Build Bot."),
        ({"teammates": ["U0GONE"]}, "teammates: No longer in the workspace: Gone Person."),
        ({"decline": "never"}, "decline: Pick how they can say no."),
        ({"asker": "U0BOT"}, "asker: The ask goes out in someone's name"),
        ({"needed_by": "next friday"}, "needed_by: Give the date as YYYY-MM-DD"),
        ({"needed_by": "2020-01-31"}, "needed_by: That date has passed"),
    ],
)
def test_inputs_the_form_would_refuse_fail_the_step_at_once_and_send_nothing(
    slack, fake_slack, redis_sync, change, problem
):
    reply = run_step(slack, fake_slack, {**INPUTS, **change})

    assert reply.status == 200
    run = fake_slack.executions[EXECUTION]
    assert run.state == "failed" and problem in run.error, run.error
    assert run.error.startswith("Nothing was sent.")
    assert fake_slack.calls_to("functions.completeError")[0].token == TOKEN
    assert not fake_slack.calls_to("chat.postMessage")
    assert not redis_sync.keys("{T0TEAM:ask:*")


def test_someone_on_a_break_fails_the_step_saying_until_when(slack, fake_slack, redis_sync):
    until = date.today() + timedelta(days=5)
    redis_sync.hset(availability_key("T0TEAM"), HANA, Availability(Mode.BREAK, until=until).to_json())

    run_step(slack, fake_slack)

    run = fake_slack.executions[EXECUTION]
    assert run.state == "failed" and "teammates: " in run.error and "Hana Helper" in run.error, run.error
    assert not fake_slack.calls_to("chat.postMessage")


def test_the_failure_is_worded_in_the_askers_language(slack, fake_slack):
    fake_slack.users[ASKER] = {**fake_slack.users[ASKER], "locale": "es-ES"}

    run_step(slack, fake_slack, {**INPUTS, "scope": ""})

    error = fake_slack.executions[EXECUTION].error
    assert error.startswith("No se envió nada.") and error.count("scope: ") == 1


# --- exactly once, across a SIGKILL between the ask's end and the completion ------------------------------


@pytest.mark.reliability
@pytest.mark.parametrize("kill_when", ["right after the thank-you", "while the completion is on its way"])
def test_a_kill_between_the_asks_end_and_the_completion_still_completes_the_step_once(
    tmp_path, redis_url, redis_sync, kill_when
):
    fake = FakeSlack(token="xoxb-test-token", latency=0.3).start()  # the completion takes a while to reach Slack
    first, slack = start_instance(tmp_path, redis_url, fake, SLACK_RATE_WINDOW="1")
    try:
        run_step(slack, fake)
        if kill_when == "while the completion is on its way":
            fake.fail("functions.completeSuccess", status=0, retry_after=5)  # carried out, answered after the kill
        take_do_and_thank(slack, fake)
        if kill_when == "while the completion is on its way":
            fake.wait_for(lambda: fake.calls_to("functions.completeSuccess"), what="the completion sent")
        kill(first)
        step = next(iter(redis_sync.keys("{T0TEAM:ask:*}:step")))
        assert redis_sync.hget(step, "completed") != "done"  # the kill came before the completion was recorded

        with instance(tmp_path, redis_url, fake, SLACK_RATE_WINDOW="1"):
            fake.wait_for(lambda: redis_sync.hget(step, "completed") == "done", what="the step completed")
            fake.wait_for(lambda: not redis_sync.keys("{T0TEAM:ask:*}:owed"), what="nothing owed")
            fake.settle(quiet=1.0)
    finally:
        first.kill()
        fake.stop()

    run = fake.executions[EXECUTION]
    assert run.completions == 1
    assert run.outputs == {"outcome": "done", "helpers": [HAL], "helped_minutes": 30, "thanked": True}
    assert not fake.violations


def test_the_run_token_is_kept_beside_the_ask_and_forgotten_with_it(slack, fake_slack, redis_sync):
    run_step(slack, fake_slack)
    fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="Hal's card")

    (ask_key,) = [key for key in redis_sync.keys("{T0TEAM:ask:*}") if key.endswith("}")]
    ask_id = ask_key.split(":ask:")[1].rstrip("}")
    run = redis_sync.hgetall(step_key("T0TEAM", ask_id))
    assert run["execution"] == EXECUTION and json.loads(run["named"]) == [HAL, HANA]
    assert redis_sync.hget(ask_key, "step") == EXECUTION and redis_sync.hget(ask_key, "workflow") == "New starter"


def test_a_done_ask_nobody_thanked_completes_the_step_once_the_asker_was_reminded(settings, slack, fake_slack, run):
    from slack_app.wiring.app import create_app

    step_ask_taken_by_hal(slack, fake_slack)
    assert slack.click(HAL, fake_slack.dms(HAL)[0], "ask_done").status == 200
    fake_slack.wait_for(lambda: any("thanks_open" in m.action_ids() for m in fake_slack.dms(ASKER)), what="prompt")

    app = create_app(settings)  # the thank-you reminder comes due, the next working day or later
    later = datetime.now(UTC) + timedelta(days=4)
    assert run(app.services.scheduler.run_due(app.services.lifecycle.handlers(), now=later.timestamp()))

    fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
    assert fake_slack.executions[EXECUTION].outputs == {
        "outcome": "done",
        "helpers": [HAL],
        "helped_minutes": 30,
        "thanked": False,
    }


# --- the outcome, as the domain words it ---------------------------------------------------------------------


def _ask(status, helpers=(), teammates=(HAL, HANA)):
    from slack_app.domain.asks import Ask

    return Ask(
        "T0TEAM",
        ASKER,
        "Walk them through it",
        "In and out",
        30,
        "later",
        list(teammates),
        status=status,
        helpers=list(helpers),
        created_at=1.0,
    )


def test_a_helper_the_step_did_not_name_makes_it_covered_by_others():
    from slack_app.domain.asks import Status
    from slack_app.domain.workflow_step import Outcome, outcome, outputs

    ask = _ask(Status.DONE, helpers=["U0PRIYA"], teammates=[HAL, "U0PRIYA"])  # Hal suggested Priya
    ended = outcome(ask, {}, [HAL], thanks_settled=True, past_limit=False)
    assert ended is Outcome.COVERED_BY_OTHERS
    assert outputs(ask, ended, {"U0PRIYA"}) == {
        "outcome": "covered_by_others",
        "helpers": ["U0PRIYA"],
        "helped_minutes": 30,
        "thanked": True,
    }


def test_an_ask_that_expired_after_everyone_passed_says_so_and_a_live_one_waits():
    from slack_app.domain.asks import Answer, Status
    from slack_app.domain.workflow_step import Outcome, outcome

    passed = {HAL: Answer.DECLINE, HANA: Answer.DECLINE}
    assert outcome(_ask(Status.EXPIRED), passed, [HAL, HANA], thanks_settled=False, past_limit=False) is (
        Outcome.EVERYONE_PASSED
    )
    assert outcome(_ask(Status.EXPIRED), {HAL: Answer.DECLINE}, [HAL], thanks_settled=False, past_limit=False) is (
        Outcome.EXPIRED
    )
    assert outcome(_ask(Status.TAKEN, [HAL]), {}, [HAL], thanks_settled=False, past_limit=False) is None
    assert outcome(_ask(Status.DONE, [HAL]), {}, [HAL], thanks_settled=False, past_limit=False) is None


def test_on_a_redis_cluster_the_step_still_completes_once(settings, cluster_url, fake_slack):
    from dataclasses import replace

    from slack_requests import SlackRequests

    from slack_app.wiring.app import create_app
    from slack_app.wiring.server import ThreadedServer

    server = ThreadedServer(create_app(replace(settings, redis_url=cluster_url, redis_cluster=True))).start()
    try:
        slack = SlackRequests(server.url, settings.signing_secret, fake_slack)
        run_step(slack, fake_slack)
        take_do_and_thank(slack, fake_slack)
        fake_slack.wait_for(lambda: completed(fake_slack), what="the step completed")
        fake_slack.settle(quiet=0.5)
    finally:
        server.stop()

    run = fake_slack.executions[EXECUTION]
    assert run.completions == 1 and len(fake_slack.calls_to("functions.completeSuccess")) == 1
    assert run.outputs == {"outcome": "done", "helpers": [HAL], "helped_minutes": 30, "thanked": True}
