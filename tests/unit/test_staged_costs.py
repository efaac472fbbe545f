"""What staging says a call will spend, and which calls need approval at all (no graph, no models)."""
from __future__ import annotations

import json

from agent.staging import staging_payload
from greenrunner_core.metrics_protocol import ENABLED_FILE
from tools.agent_tools import requires_approval
from tools.settings import ToolSettings


def call(tool: str, **args) -> dict:
    return {"name": tool, "args": args, "id": "call_1", "type": "tool_call"}


def test_only_calls_that_can_spend_need_approval():
    assert requires_approval(call("run_bandit", weights={"accuracy": 1}))
    assert requires_approval(call("enable_metric", name="x"))
    assert requires_approval(call("compare_baselines"))                      # default: may spend up to the limit
    assert requires_approval(call("compare_baselines", max_new_calls=10 ** 9))
    assert not requires_approval(call("compare_baselines", max_new_calls=0))  # cache only
    assert not requires_approval(call("rerank", weights={"size": 0.3}))


def test_run_staging_names_latency_timing_and_enabled_user_metrics(tmp_path):
    (tmp_path / ENABLED_FILE).write_text(json.dumps({"enabled": ["blur_robustness"]}))
    settings = ToolSettings(metrics_dir=str(tmp_path))
    payload = staging_payload(call("run_bandit", weights={"accuracy": 0.6, "latency": 0.3}, budget=500,
                                   models=["a", "b", "c"], constraints={"max_size_mb": 20}), None, None, settings)
    cost = "\n".join(payload["cost"])
    assert "500 evaluation calls" in cost and "Measures latency of 3 candidate models" in cost
    assert "blur_robustness" in cost and "size ≤ 20 MB" in payload["message"]


def test_baselines_staging_states_the_calls_it_may_spend():
    payload = staging_payload(call("compare_baselines", max_new_calls=1200), None, None, ToolSettings())
    assert payload["type"] == "staging_baselines" and "1,200 new evaluation calls" in payload["message"]
