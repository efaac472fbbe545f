"""The scripted conversation of issue 3 through the real graph and the offline reasoner, on the demo zoo:
use case -> proposal with justification -> staging interrupt -> approve -> run -> top 3 with savings ->
"what if size matters more?" -> new top 3 with 0 new evaluations -> "ignore complexity" -> rerank."""
from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.session import ChatSession
from greenrunner_core.workspace import Workspace
from tools.progress import ToolProgress
from tools.settings import workspace_for

USE_CASE = ("I need to recognise digits painted on crates, seen from a drone's camera; the model runs on a small "
            "battery-powered onboard computer.")


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    return Context(llm="offline", include_torchvision=False, default_sample=60,
                   metrics_dir=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def workspace(context: Context) -> Workspace:
    return workspace_for(context)


def _rows(ws: Workspace) -> int:
    return ws.outcome_cache.stats().rows


def _tool_message(reply, name: str) -> ToolMessage:
    found = [m for m in reply.messages if isinstance(m, ToolMessage) and m.name == name]
    assert found, f"no {name} tool message in {[type(m).__name__ for m in reply.messages]}"
    return found[-1]


@pytest.fixture(scope="module")
def conversation(context: Context, workspace: Workspace) -> dict:
    """Run the whole script once; the tests below check each step."""
    session = ChatSession("scripted", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    steps: dict = {"session": session}
    steps["use_case"] = session.send(USE_CASE)
    rows_before_run = _rows(workspace)
    steps["run"] = session.resume({"approved": True})
    steps["rows_after_run"] = _rows(workspace)
    steps["rows_before_run"] = rows_before_run
    steps["evaluations_after_run"] = session.values()["evaluations"]
    steps["size_more"] = session.send("What if size matters more?")
    steps["rows_after_size"] = _rows(workspace)
    steps["evaluations_after_size"] = session.values()["evaluations"]
    steps["weights_after_size"] = dict(session.values()["weights"])
    steps["ignore_cx"] = session.send("Ignore complexity")
    steps["rows_after_ignore"] = _rows(workspace)
    steps["evaluations_after_ignore"] = session.values()["evaluations"]
    steps["weights_after_ignore"] = dict(session.values()["weights"])
    return steps


def test_use_case_gets_a_justified_proposal_then_stages_the_run(conversation):
    reply = conversation["use_case"]
    assert [tc["name"] for tc in reply.tool_calls()] == ["propose_weights", "run_bandit"]
    proposal_call = reply.tool_calls()[0]["args"]
    assert set(proposal_call["cues"]) >= {"drone", "battery"}
    assert set(proposal_call["weights"]) == {"accuracy", "size", "complexity"}
    assert all(proposal_call["justification"][m].strip() for m in proposal_call["weights"])
    shown = _tool_message(reply, "propose_weights").content
    assert "| size |" in shown and "onboard" in shown          # each weight with its reason
    # the graph paused before run_bandit executed: no run_bandit result yet
    assert not [m for m in reply.messages if isinstance(m, ToolMessage) and m.name == "run_bandit"]
    payload = reply.interrupt
    assert payload["type"] == "staging" and payload["tool"] == "run_bandit"
    assert payload["weights"] == proposal_call["weights"]
    assert payload["justification"] == proposal_call["justification"]
    assert "latency" in payload["missing_metrics"]
    assert "Approve" in payload["message"]


def test_approved_run_reports_top3_with_savings_and_streams_progress(conversation):
    reply = conversation["run"]
    assert reply.interrupt is None
    run_msg = _tool_message(reply, "run_bandit")
    result = run_msg.artifact.result
    assert len(result.top3) == 3
    assert result.n_images == 60 and result.n_models >= 12
    assert result.spent.calls <= result.budget < result.brute_force.calls
    assert result.savings.calls_saved > 0
    final = reply.messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    for name in [r.name for r in result.top3]:
        assert name in final.content
    assert "brute force" in final.content and "%" in final.content
    # live progress through LangGraph's custom stream
    assert reply.progress and all(isinstance(p, ToolProgress) and p.tool == "run_bandit" for p in reply.progress)
    assert reply.progress[-1].event.spent == result.spent.calls
    assert conversation["evaluations_after_run"] == result.spent.new_evaluations
    assert conversation["rows_after_run"] - conversation["rows_before_run"] == result.spent.new_evaluations


def test_size_matters_more_reranks_from_cache_with_zero_new_evaluations(conversation):
    reply = conversation["size_more"]
    assert reply.interrupt is None
    calls = reply.tool_calls()
    assert [c["name"] for c in calls] == ["rerank"]
    run_weights = _tool_message(conversation["run"], "run_bandit").artifact.args.weights
    step = 0.15
    assert calls[0]["args"]["weights"] == {"size": pytest.approx(min(1.0, run_weights["size"] + step))}
    assert "raised the size weight" in reply.messages[0].content and f"{step:g}" in reply.messages[0].content
    artifact = _tool_message(reply, "rerank").artifact
    assert artifact.new_evaluations == 0
    assert artifact.after.weights["size"] > artifact.before.weights["size"]
    assert len(artifact.after.top3) == 3
    # nothing was evaluated: neither the cache nor the conversation's counter moved
    assert conversation["rows_after_size"] == conversation["rows_after_run"]
    assert conversation["evaluations_after_size"] == conversation["evaluations_after_run"]
    final = reply.messages[-1].content
    assert "0 new evaluations" in final and "before (reward)" in final and "after (reward)" in final
    for model in artifact.after.top3:
        assert model.name in final


def test_ignore_complexity_reranks_again_on_top_of_the_previous_change(conversation):
    reply = conversation["ignore_cx"]
    calls = reply.tool_calls()
    assert [c["name"] for c in calls] == ["rerank"]
    assert calls[0]["args"]["weights"] == {"complexity": 0.0}
    artifact = _tool_message(reply, "rerank").artifact
    assert artifact.after.weights.get("complexity", 0.0) == 0.0   # complexity no longer counts
    assert artifact.after.weights["size"] == pytest.approx(conversation["weights_after_size"]["size"])
    assert conversation["weights_after_ignore"]["complexity"] == 0.0
    assert artifact.new_evaluations == 0
    assert conversation["rows_after_ignore"] == conversation["rows_after_run"]
    assert conversation["evaluations_after_ignore"] == conversation["evaluations_after_run"]
    # the re-rank reproduces the reward formula: with complexity ignored, rewards = w_acc*acc - w_size*lognorm(size)
    ranking = artifact.after.ranking
    import numpy as np

    from greenrunner_core.reward import lognorm
    w = artifact.after.weights
    norm = lognorm([r.size_mb for r in ranking])
    for r, s in zip(ranking, norm):
        if r.est_reward is not None:
            assert r.est_reward == pytest.approx(w["accuracy"] * r.est_accuracy - w["size"] * s)
    rewards = [r.est_reward for r in artifact.after.top3]
    assert rewards == sorted(rewards, reverse=True) and np.isfinite(rewards).all()


def test_whole_history_is_kept_in_order(conversation):
    history = conversation["session"].history()
    names = [tc["name"] for m in history if isinstance(m, AIMessage) for tc in m.tool_calls]
    assert names == ["propose_weights", "run_bandit", "rerank", "rerank"]
    # every tool call was answered by exactly one tool message (valid for any chat API)
    ids = [tc["id"] for m in history if isinstance(m, AIMessage) for tc in m.tool_calls]
    answered = [m.tool_call_id for m in history if isinstance(m, ToolMessage)]
    assert sorted(ids) == sorted(answered)
