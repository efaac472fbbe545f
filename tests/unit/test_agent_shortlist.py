"""The agent proposes a hub shortlist when the user names no models for their own images: the staging step shows
it for approval, and the shortlist_models tool explains why each model was kept."""
from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import build_graph
from tools.settings import workspace_for
from tools.shortlist import ShortlistArgs, shortlist_models, shortlist_when_unnamed

WEIGHTS = {"accuracy": 0.63, "size": 0.25, "complexity": 0.21}


@pytest.fixture(scope="module")
def context() -> Context:
    return Context(llm="offline")


def test_staging_shows_the_hub_shortlist_when_no_models_are_named(context: Context, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")          # nothing is downloaded if the run starts
    # staging checks the data and the weights before offering Run: images whose classes ImageNet models cover, and
    # weights that would download (online); the run itself stops before loading any model
    from PIL import Image

    from greenrunner_core import candidate_plan
    from greenrunner_core.errors import GreenRunnerError
    from greenrunner_core.workspace import Workspace
    for k, cls in enumerate(("tabby", "goldfish")):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (8, 8), (80 * k, 0, 0)).save(tmp_path / cls / "0.png")
    monkeypatch.setattr(candidate_plan, "weights_online", lambda **_: True)

    def stop(*args, **kwargs):
        raise GreenRunnerError("stopped by the test before loading any model")
    monkeypatch.setattr(Workspace, "select", stop)
    graph = build_graph(InMemorySaver())
    config = {"configurable": {"thread_id": "shortlist"}}
    staged = AIMessage(content="", id="a1", tool_calls=[{"id": "c1", "name": "run_bandit", "args": {
        "weights": WEIGHTS, "dataset": str(tmp_path), "constraints": {"max_macs": 1e9}}}])
    graph.update_state(config, {"messages": [HumanMessage("pick a model for my drone photos"), staged]},
                       as_node="call_model")
    out = graph.invoke(None, config, context=context)
    payload = out["__interrupt__"][0].value
    models = payload["run"]["models"]
    assert isinstance(models, list) and len(models) == 30
    cards = {c.name: c for c in workspace_for(context).registry.cards()}
    assert all(cards[m].macs <= 1e9 and cards[m].benchmark_accuracy is not None for m in models)
    assert any(m.startswith("timm:") for m in models)
    # approved: the call that runs names them (here it stops before loading any model)
    from langgraph.types import Command
    graph.invoke(Command(resume={"approved": True}), config, context=context)
    ran = next(m for m in graph.get_state(config).values["messages"] if getattr(m, "id", None) == "a1")
    assert ran.tool_calls[0]["args"]["models"] == models


def test_named_models_and_the_demo_data_are_left_alone(context: Context):
    named = {"id": "c", "name": "run_bandit", "args": {"weights": WEIGHTS, "dataset": "/x", "models": ["a", "b"]}}
    demo = {"id": "d", "name": "run_bandit", "args": {"weights": WEIGHTS}}
    assert shortlist_when_unnamed(named, context, None) == named
    assert shortlist_when_unnamed(demo, context, None) == demo


def test_shortlist_tool_says_why_each_model_was_kept(context: Context):
    result = shortlist_models(workspace_for(context), ShortlistArgs(weights=WEIGHTS, k=12,
                                                                    constraints={"max_size_mb": 50}))
    assert len(result.artifact["shortlist"]) == 12 and result.artifact["removed"] > 0
    assert "Pareto front" in result.text and "why kept" in result.text
    assert all(e["reasons"] for e in result.artifact["entries"])
