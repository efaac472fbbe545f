"""The ChatOpenAI path with a proposal that weighs latency and states a size limit: accepted as proposed (no repair),
staged with the limit and the latency timing cost, and run end to end with the limit honoured (loopback stub)."""
from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.graph import checkpoint_serde
from agent.proposal import ProposeWeightsArgs
from agent.session import ChatSession
from tests.integration.app_server import fresh_cache
from tests.integration.test_agent_openai import _context, completion, server  # noqa: F401 (fixture)
from tools.settings import workspace_for

pytestmark = pytest.mark.integration


def test_every_product_metric_is_accepted_in_a_proposal():
    args = ProposeWeightsArgs(use_case="x", weights={"accuracy": 0.5, "size": 0.1, "complexity": 0.1, "latency": 0.2,
                                                     "energy": 0.1},
                              justification={m: "why" for m in ("accuracy", "size", "complexity", "latency", "energy")},
                              constraints={"max_latency_ms": 20, "latency_hardware": "the car's computer"})
    assert args.weights["latency"] == 0.2 and args.constraints["max_latency_ms"] == 20.0


def test_latency_weight_and_a_size_limit_run_end_to_end(server, tmp_path, _isolated_cache):  # noqa: F811
    ctx = _context(server.base_url, tmp_path)
    ctx.cache_dir = str(fresh_cache(_isolated_cache, tmp_path / "cache"))   # timed cards stay out of other tests
    sizes = sorted(c.size_mb for c in workspace_for(ctx).demo_cards())
    limit = sizes[len(sizes) // 2]
    proposal = {"use_case": f"read parcel digits on a conveyor, fast, model under {limit} MB",
                "weights": {"accuracy": 0.6, "size": 0.1, "complexity": 0.1, "latency": 0.3},
                "justification": {"accuracy": "Digits must be read right.", "size": "Small is nicer.",
                                  "complexity": "MACs cost power.", "latency": "The conveyor does not wait."},
                "constraints": {"max_size_mb": limit},
                "constraint_justification": {"max_size_mb": f"from “model under {limit} MB”"}}
    run_args = {"weights": proposal["weights"], "use_case": proposal["use_case"], "budget": 200, "seed": 2,
                "constraints": {"max_size_mb": limit}}
    server.script = [completion(None, [("propose_weights", proposal)]),
                     completion("Please approve the run.", [("run_bandit", run_args)]),
                     completion("Done.")]
    session = ChatSession("openai-limits", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=ctx)
    reply = session.send(proposal["use_case"])
    assert [c["name"] for c in reply.tool_calls()] == ["propose_weights", "run_bandit"]   # no repair round
    assert reply.interrupt["constraints"] == {"max_size_mb": limit}
    assert "Hard constraints" in reply.interrupt["message"] and f"model under {limit} MB" in reply.interrupt["message"]
    assert any("Measures latency" in line for line in reply.interrupt["cost"])
    done = session.resume(True)
    run = next(m for m in done.messages if isinstance(m, ToolMessage) and m.name == "run_bandit")
    assert run.status != "error", run.content
    result = run.artifact.result
    assert result.weights["latency"] == 0.3 and result.removed_by_constraints
    assert all(r.size_mb <= limit and r.latency_ms is not None for r in result.ranking)
    assert not server.unexpected and not server.script


def test_a_run_call_that_leaves_out_the_proposed_limits_keeps_them(server, tmp_path):  # noqa: F811
    proposal = {"use_case": "digits on a phone under 0.06 MB", "weights": {"accuracy": 0.7, "size": 0.3},
                "justification": {"accuracy": "Right answers.", "size": "Phones."},
                "constraints": {"max_size_mb": 0.06}}
    server.script = [completion(None, [("propose_weights", proposal)]),
                     completion("Approve?", [("run_bandit", {"weights": proposal["weights"], "budget": 120})])]
    session = ChatSession("openai-keeps-limits", checkpointer=InMemorySaver(serde=checkpoint_serde()),
                          context=_context(server.base_url, tmp_path))
    reply = session.send(proposal["use_case"])
    assert reply.interrupt["constraints"] == {"max_size_mb": 0.06} and "Hard constraints" in reply.interrupt["message"]
    session.resume(False)


def test_a_proposal_without_limits_gets_the_numbers_of_the_use_case(server, tmp_path):  # noqa: F811
    text = "read digits on parcels in a phone app; the model must be no larger than 0.06 MB"
    proposal = {"use_case": text, "weights": {"accuracy": 0.6, "size": 0.3, "complexity": 0.2},
                "justification": {"accuracy": "Right answers.", "size": "Phones.", "complexity": "Battery."}}
    server.script = [completion(None, [("propose_weights", proposal)]),
                     completion("Approve?", [("run_bandit", {"weights": proposal["weights"], "budget": 120})])]
    session = ChatSession("openai-text-limits", checkpointer=InMemorySaver(serde=checkpoint_serde()),
                          context=_context(server.base_url, tmp_path))
    reply = session.send(text)
    assert session.values()["proposal"]["constraints"] == {"max_size_mb": 0.06}
    assert reply.interrupt["constraints"] == {"max_size_mb": 0.06}
    assert "stated no limits" in reply.interrupt["message"]
    session.resume(False)
