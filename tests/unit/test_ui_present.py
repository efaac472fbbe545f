"""What a finished turn shows (web and Slack): structured results and charts for a run, a re-rank chart, the staging
question, and clear words for stops, failures, empty and overlong messages."""
from __future__ import annotations

import dataclasses

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from greenrunner_core.experiment import run_experiment
from greenrunner_core.notes import Interrupted
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import Rerank
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.result import RerankArtifact, RunRecord
from ui.present.turn import EMPTY_MESSAGE, TOO_LONG, check_text, merge_decision, present, staging_reply_help
from ui.turns import TurnResult

NEXT = 'Next you can ask: "what if size matters more?"'


@pytest.fixture(scope="module")
def result():
    env = ReplayEnvironment(synthetic_matrix())
    return run_experiment(env, Weights({"accuracy": 0.6, "size": 0.25, "complexity": 0.15}),
                          make_strategy("paired_race", seed=0, batch_size=8), budget=600, dataset="synthetic")


def _run_turn(result, answer: str | None = None, **kwargs) -> TurnResult:
    tool_text = "**Top 3** (tool table)\n| # | model |\n|---|---|\n| 1 | x |"
    return TurnResult(messages=[
        ToolMessage(content=tool_text, name="run_bandit", tool_call_id="call_1",
                    artifact=RunRecord(result, excluded_weights={"latency": "not measured yet"})),
        AIMessage(content=answer if answer is not None else f"{tool_text}\n\n{NEXT}", id="ai-final"),
    ], **kwargs)


def test_a_run_shows_top3_savings_notes_and_two_charts(result):
    out = present(_run_turn(result))
    text = out.text
    assert "selection count" in text and "Savings against brute force" in text
    assert "latency is left out of the reward: not measured yet" in text
    assert "(tool table)" not in text                  # the offline reasoner's quote of the tool is not repeated
    assert text.rstrip().endswith(NEXT) and text.count(NEXT) == 1
    assert [name for name, _ in out.charts] == ["selection_counts", "reward_vs_macs"]
    assert out.results[0].top3[0].name == result.top3[0].name and out.staging is None


def test_a_language_models_own_summary_comes_first(result):
    out = present(_run_turn(result, answer="The best trade-off is the first model."))
    assert out.text.startswith("The best trade-off is the first model.") and "Savings against brute force" in out.text


def test_a_rerank_adds_the_new_ranking_chart(result):
    after = Rerank(weights={"accuracy": 0.3, "size": 0.7}, settled=True, calls_to_settle=0, contenders=[], ranking=[
        dataclasses.replace(r, rank=i + 1) for i, r in enumerate(reversed(result.ranking))])
    turn = TurnResult(messages=[
        AIMessage(content="I raised size.", tool_calls=[{"name": "rerank", "args": {}, "id": "c2", "type": "tool_call"}],
                  id="ai-1"),
        ToolMessage(content="Re-ranked: **0 new evaluations**", name="rerank", tool_call_id="c2",
                    artifact=RerankArtifact(before=after, after=after)),
        AIMessage(content="Re-ranked: **0 new evaluations**", id="ai-2")])
    out = present(turn, last_run=RunRecord(result), shown={"ai-1"})
    assert out.text == "Re-ranked: **0 new evaluations**"
    assert [name for name, _ in out.charts] == ["reward_vs_macs_reranked"]
    assert out.results[0].weights == {"accuracy": 0.3, "size": 0.7}
    slack = present(turn, last_run=RunRecord(result), live=False)
    assert slack.text.startswith("I raised size.")    # Slack has no live view: intermediate texts are included


def test_staging_question_and_its_lead():
    payload = {"type": "staging", "tool_call_id": "c9", "weights": {"accuracy": 0.7}, "message": "Approve this run?"}
    turn = TurnResult(messages=[AIMessage(content="Please approve.", id="ai-9", tool_calls=[
        {"name": "run_bandit", "args": {}, "id": "c9", "type": "tool_call"}])], interrupt=payload)
    out = present(turn)
    assert out.staging == payload and out.staging_lead == "Please approve." and out.text == ""
    assert "approve" in staging_reply_help(payload, buttons=False) and "**Run**" in staging_reply_help(payload, True)


def test_stops_and_failures_are_explained(result):
    stopped = present(TurnResult(error=KeyboardInterrupt()))
    assert stopped.text.startswith("**Stopped.**") and "outcome cache" in stopped.text
    partial = dataclasses.replace(result, interrupted=True, stop_reason=Interrupted("stopped by the user"))
    turn = _run_turn(partial, cancelled=True)
    turn.messages[0].artifact.result = partial
    out = present(turn)
    assert out.text.startswith("**Stopped at your request.**") and "Stopped early" in out.text
    assert ("Stopped early (interrupted, stopped by the user: results so far are kept; re-running resumes from the "
            "cache): the ranking uses the evaluations made so far.") in out.text
    legacy = dataclasses.replace(result, interrupted=True, stop_reason="interrupted")   # a run saved as text
    turn.messages[0].artifact.result = legacy
    assert "Stopped early (interrupted): the ranking" in present(turn).text
    failed = present(TurnResult(messages=[HumanMessage(content="x")], error=RuntimeError("database is locked")))
    assert "Something went wrong: RuntimeError: database is locked" in failed.text and "saved" in failed.text


def test_text_checks_and_decision_merge():
    assert check_text("   ") == EMPTY_MESSAGE and check_text("x" * 5000) == TOO_LONG and check_text("drone") is None
    payload = {"weights": {"accuracy": 0.6, "size": 0.2, "complexity": 0.2, "latency": 0.1}}
    merged = merge_decision(payload, {"approved": True, "weights": {"size": 0.5}}, {"dataset": "/d.zip"})
    assert merged == {"approved": True, "weights": {"accuracy": 0.6, "size": 0.5, "complexity": 0.2, "latency": 0.1},
                      "dataset": "/d.zip"}
    assert merge_decision(payload, {"approved": False, "reason": "no"}) == {"approved": False, "reason": "no"}


def test_a_tool_step_shows_an_upload_by_its_name_not_the_servers_folder(monkeypatch):
    import asyncio
    import types

    from ui import web_view

    class Step:
        def __init__(self, **kwargs):
            self.input, self.output = None, ""

        async def send(self):
            return self

    monkeypatch.setattr(web_view, "cl", types.SimpleNamespace(Step=Step, context=types.SimpleNamespace(
        current_step=None)))
    folder = "/srv/cache/uploads/8efcc300-9821-440b-bcd5-4857545e5a8e/datasets/68577774f286145f-cifar60.zip"
    call = {"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 1.0}, "dataset": folder, "sample": None}}
    step = asyncio.run(web_view.WebTurnView()._open(call))
    assert step.input == {"weights": {"accuracy": 1.0}, "dataset": "cifar60.zip"}
    assert call["args"]["dataset"] == folder                      # the call itself is not changed


def test_a_stopped_runs_step_says_stopped_not_finished(monkeypatch, result):
    import asyncio
    import types

    from greenrunner_core.strategies.progress import ProgressEvent
    from tools.progress import ToolProgress
    from ui import web_view

    class Step:
        def __init__(self, **kwargs):
            self.input, self.output, self.is_error, self.end = None, "", False, None

        async def send(self):
            return self

        async def update(self):
            return self

    monkeypatch.setattr(web_view, "cl", types.SimpleNamespace(Step=Step, context=types.SimpleNamespace(
        current_step=None)))
    event = ProgressEvent(spent=40, budget=400, leader="m03", model="m03", batch_calls=8, counts={"m03": 40})

    async def play(interrupted: bool) -> str:
        view = web_view.WebTurnView()
        step = await view._open({"id": "c1", "name": "run_bandit", "args": {}})
        await view._progress(ToolProgress(tool="run_bandit", event=event))
        record = RunRecord(result=dataclasses.replace(result, interrupted=interrupted))
        await view._tool_result(ToolMessage(content="ran", tool_call_id="c1", name="run_bandit", artifact=record))
        return step.output

    assert "Stopped:" in asyncio.run(play(True)) and "Finished" not in asyncio.run(play(True))
    assert "Finished." in asyncio.run(play(False))


def test_a_stop_is_said_once(result):
    stop = Interrupted("stopped by the user")
    partial = dataclasses.replace(result, interrupted=True, stop_reason=stop, notes=[*result.notes, stop])
    turn = _run_turn(partial, cancelled=True)
    text = present(turn).text
    assert text.startswith("**Stopped at your request.**")
    assert text.count("stopped by the user") == 1 and text.count("evaluations made so far") == 1
    assert text.lower().count("resumes from the cache") + text.count("continues from there") == 1
