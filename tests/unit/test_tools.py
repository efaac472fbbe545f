"""The agent's tools on the demo zoo: typed results, errors the LLM can act on, re-ranking from the cache with 0
new evaluations, baselines that state their cost, and user-metric stubs that never run before they are enabled."""
from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode

from agent.state import State
from greenrunner_core import metrics_protocol, user_metric_runs
from greenrunner_core.errors import GreenRunnerError, InvalidWeightsError, UnknownModelError
from greenrunner_core.strategies import DEFAULT_STRATEGY
from greenrunner_core.workspace import Workspace
from tools import catalog, schemas, selection, user_metrics
from tools.agent_tools import STAGED_TOOLS, TOOLS
from tools.progress import stream_progress
from tools.settings import ToolSettings, workspace_for

WEIGHTS = {"accuracy": 0.6, "size": 0.2, "complexity": 0.2}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> ToolSettings:
    return ToolSettings(include_torchvision=False, metrics_dir=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def ws(settings: ToolSettings) -> Workspace:
    return workspace_for(settings)


@pytest.fixture(scope="module")
def run(ws: Workspace, settings: ToolSettings):
    """One real bandit run on 40 target images, shared by the tests that need a previous run."""
    return selection.run_bandit(ws, schemas.RunBanditArgs(weights=WEIGHTS, sample=40, seed=3), settings)


def _rows(ws: Workspace) -> int:
    return ws.outcome_cache.stats().rows


# ---- schemas -----------------------------------------------------------------------------------------------------

def test_every_tool_argument_is_described_and_staging_covers_spending_tools():
    from agent.tools import TOOLS_BY_NAME
    assert {t.name for t in TOOLS} | {"propose_weights"} == set(TOOLS_BY_NAME)   # the graph binds every tool
    assert STAGED_TOOLS <= {t.name for t in TOOLS}
    for t in TOOLS:
        assert t.description.strip() and t.args_schema.__doc__, f"{t.name}: the LLM reads what it does"
        props = t.tool_call_schema.model_json_schema().get("properties", {})
        assert props, t.name
        for name, prop in props.items():
            assert prop.get("description"), f"{t.name}.{name} has no description"
        assert "runtime" not in props                       # injected by LangGraph, invisible to the LLM
    assert STAGED_TOOLS == {"run_bandit", "enable_metric"}
    assert DEFAULT_STRATEGY in schemas.RunBanditArgs.model_fields["strategy"].description


def test_weights_are_validated_before_anything_runs():
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        schemas.RunBanditArgs(weights={"accuracy": -1})
    with pytest.raises(ValueError, match="valid number"):
        schemas.RerankArgs(weights={"size": "big"})
    assert schemas.RerankArgs(weights={" Size ": 1}).weights == {"size": 1.0}


# ---- list_models / compute_complexity -------------------------------------------------------------------------------

def test_list_models_filters_and_returns_cards_as_artifact(ws):
    out = catalog.list_models(ws, schemas.ListModelsArgs(max_size_mb=0.05, source="demo"))
    cards = out.artifact["cards"]
    demo = [c for c in ws.demo_cards() if c.size_mb <= 0.05]
    assert sorted(c["name"] for c in cards) == sorted(c.name for c in demo)
    assert [c["size_mb"] for c in cards] == sorted(c["size_mb"] for c in cards)
    for c in demo:
        assert f"| {c.name} |" in out.text
    assert "size <= 0.05 MB" in out.text
    none = catalog.list_models(ws, schemas.ListModelsArgs(max_mmacs=1e-9))
    assert none.artifact["cards"] == [] and "No model matches" in none.text


def test_unknown_model_name_suggests_close_names(ws):
    with pytest.raises(UnknownModelError, match="did you mean demo_resnet_s"):
        catalog.list_models(ws, schemas.ListModelsArgs(names=["demo_resnet"]))
    with pytest.raises(GreenRunnerError, match="unknown source 'tv'"):
        catalog.list_models(ws, schemas.ListModelsArgs(source="tv"))


def test_tool_errors_become_tool_messages_the_llm_can_act_on(settings):
    builder = StateGraph(State, context_schema=ToolSettings)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "tools")
    graph = builder.compile()
    call = {"name": "list_models", "args": {"names": ["demo_lenett"]}, "id": "c1", "type": "tool_call"}
    out = graph.invoke({"messages": [AIMessage(content="", tool_calls=[call])]}, context=settings)
    message = out["messages"][-1]
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert "unknown model 'demo_lenett'" in message.content and "demo_lenet" in message.content
    bad = {"name": "rerank", "args": {"weights": {"size": 0.5}}, "id": "c2", "type": "tool_call"}
    out = graph.invoke({"messages": [AIMessage(content="", tool_calls=[bad])]}, context=settings)
    assert out["messages"][-1].status == "error" and "no selection run" in out["messages"][-1].content


def test_compute_complexity_measures_with_fvcore_and_caches(ws):
    out = catalog.compute_complexity(ws, schemas.ComputeComplexityArgs(models=["demo_lenet", "demo_linear"]))
    rows = {r["name"]: r for r in out.artifact["complexity"]}
    assert rows["demo_linear"]["macs"] == 10 * 16 * 16           # one 256 -> 10 linear layer
    assert rows["demo_lenet"]["macs"] == ws.registry.get("demo_lenet").macs
    assert rows["demo_lenet"]["params"] > rows["demo_linear"]["params"]
    assert all(r["how"] == "measured (fvcore)" for r in rows.values())
    assert (Path(ws.cache_dir) / "complexity.json").exists()


# ---- run_bandit / rerank ---------------------------------------------------------------------------------------------

def test_run_bandit_returns_summary_artifact_and_state_updates(run):
    result = run.artifact.result
    assert result.strategy == DEFAULT_STRATEGY and result.n_images == 40
    assert len(result.top3) == 3 and result.spent.calls <= result.budget
    for name in [r.name for r in result.top3]:
        assert name in run.text
    assert f"of {result.brute_force.calls:,} for brute force" in run.text
    assert run.updates["last_run"].result == result
    assert run.updates["last_run"].args.sample == 40 and run.updates["last_run"].args.seed == 3
    assert run.updates["evaluations"] == result.spent.new_evaluations


def test_rerank_uses_cached_outcomes_only(ws, run, settings):
    rows = _rows(ws)
    out = selection.rerank(ws, schemas.RerankArgs(weights={"size": 0.9}), run.updates["last_run"], WEIGHTS, settings)
    assert _rows(ws) == rows                                  # not one evaluation computed
    assert out.artifact.new_evaluations == 0 and "0 new evaluations" in out.text
    assert out.artifact.after.weights == {**WEIGHTS, "size": 0.9}
    assert out.updates == {"weights": {**WEIGHTS, "size": 0.9}}
    pulls = {r.name: r.pulls for r in run.artifact.result.ranking}
    assert {r.name: r.pulls for r in out.artifact.after.ranking} == pulls
    if out.artifact.after.settled:
        assert out.artifact.after.calls_to_settle == 0
    else:
        assert out.artifact.after.calls_to_settle > 0 and "spend them" in out.text
    # accuracy only: the order is by observed accuracy
    acc = selection.rerank(ws, schemas.RerankArgs(weights={"size": 0, "complexity": 0}), run.updates["last_run"],
                           WEIGHTS, settings)
    seen = [r.est_accuracy for r in acc.artifact.after.ranking if r.est_accuracy is not None]
    assert seen == sorted(seen, reverse=True)


def test_weights_the_reward_cannot_use_are_left_out_and_said(ws, settings, run):
    cards = ws.demo_cards()
    weights, excluded = selection.split_weights({"accuracy": 0.5, "calibration": 0.3, "latency": 0.2}, cards)
    assert dict(weights.values) == {"accuracy": 0.5}
    assert "not a metric GreenRunner measures" in excluded["calibration"]
    assert "not measured" in excluded["latency"]
    with pytest.raises(InvalidWeightsError, match="did you mean"):
        selection.split_weights({"acuracy": 1.0}, cards)
    with pytest.raises(InvalidWeightsError, match="no usable weight"):
        selection.split_weights({"calibration": 1.0}, cards)
    out = selection.rerank(ws, schemas.RerankArgs(weights={"calibration": 0.3}), run.updates["last_run"], WEIGHTS,
                           settings)
    assert "calibration=0.3 is left out of the reward" in out.text


def test_progress_is_a_no_op_outside_a_graph_run():
    assert stream_progress("run_bandit") is None


# ---- compare_baselines ----------------------------------------------------------------------------------------------

def test_brute_force_is_not_run_beyond_the_limit_and_its_cost_is_stated(ws, settings, run):
    rows = _rows(ws)
    args = schemas.CompareBaselinesArgs(baselines=["brute_force"], max_new_calls=0, sample=40, seed=11)
    out = selection.compare_baselines(ws, args, run.updates["last_run"], WEIGHTS, settings)
    bf = out.artifact.brute_force
    if out.artifact.brute_force_uncached_calls == 0:
        pytest.skip("every outcome of this sample is cached already (shared cache)")
    assert bf.run is False and bf.new_calls_needed == out.artifact.brute_force_uncached_calls
    assert f"{out.artifact.brute_force_calls:,} evaluation calls" in out.text and "not run" in out.text
    assert _rows(ws) == rows


def test_baselines_within_the_limit_compare_the_picks(ws, settings, run):
    out = selection.compare_baselines(ws, schemas.CompareBaselinesArgs(), run.updates["last_run"], WEIGHTS, settings)
    bf = out.artifact.brute_force
    assert bf.run is True
    exact = [r for r in bf.result.ranking if r.excluded is None]
    assert all(r.exact for r in exact)
    assert out.artifact.bandit_rank_in_brute_force >= 1
    assert "benchmark card" in out.text and "brute force" in out.text
    # now fully cached: asking again computes nothing
    rows = _rows(ws)
    again = selection.compare_baselines(ws, schemas.CompareBaselinesArgs(max_new_calls=0), run.updates["last_run"],
                                        WEIGHTS, settings)
    assert again.artifact.brute_force.run is True and again.updates["evaluations"] == 0
    assert _rows(ws) == rows


# ---- user metrics ----------------------------------------------------------------------------------------------------

IMPLEMENTED = '''
    def measure(self, model, card, images, correct):
        import torch
        with torch.no_grad():
            blurred = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1)
            pred = model(blurred).argmax(1).tolist()
        return sum(p in ok for p, ok in zip(pred, correct)) / len(correct)
'''


def _implement(path: Path, body: str) -> None:
    text = path.read_text()
    start = text.index("    def measure(")
    end = text.index("\nMETRIC = ")
    path.write_text(text[:start] + body.lstrip("\n") + "\n" + text[end:])


def test_metric_stub_is_written_checked_and_never_run_until_enabled(tmp_path, ws, settings, run):
    local = ToolSettings(include_torchvision=False, metrics_dir=str(tmp_path))
    out = user_metrics.generate_metric_stub(schemas.GenerateMetricStubArgs(
        name="blur robustness", description="accuracy under blur", direction="higher", normalisation="identity"),
        local)
    path = Path(out.artifact["path"])
    assert path == tmp_path / "blur_robustness.py" and path.exists()
    ast.parse(path.read_text())
    assert out.artifact["ok"] and not out.artifact["implemented"] and not out.artifact["enabled"]
    assert "left out of the reward" in out.text and "enable metric blur_robustness" in out.text
    assert not [m for m in sys.modules if m.startswith("greenrunner_user_metric_")]   # never imported
    # its weight is excluded, and the reason says it is a stub
    _, excluded = selection.split_weights({"accuracy": 1, "blur_robustness": 0.4}, ws.demo_cards(), tmp_path)
    assert "stub that is not enabled" in excluded["blur_robustness"]
    with pytest.raises(GreenRunnerError, match="NotImplementedError"):
        user_metrics.enable_metric(schemas.EnableMetricArgs(name="blur_robustness"), local)
    with pytest.raises(GreenRunnerError, match="not enabled"):
        user_metric_runs.load_metric("blur_robustness", tmp_path)
    # writing again keeps the user's file
    path.write_text(path.read_text() + "\n# my notes\n")
    user_metrics.generate_metric_stub(schemas.GenerateMetricStubArgs(name="blur_robustness", description="x",
                                                             direction="higher"), local)
    assert path.read_text().endswith("# my notes\n")


def test_enabled_metric_runs_with_a_timeout_and_errors_are_reported(tmp_path, ws):
    check = metrics_protocol.write_stub("blur_acc", "accuracy under blur", folder=tmp_path)
    _implement(check.path, IMPLEMENTED)
    out = user_metrics.enable_metric(schemas.EnableMetricArgs(name="blur_acc"),
                                     ToolSettings(include_torchvision=False, metrics_dir=str(tmp_path),
                                                  user_metric_timeout=30))
    assert out.artifact["loaded"] and "Enabled user metric blur_acc" in out.text
    metric = user_metric_runs.load_metric("blur_acc", tmp_path)
    dataset = ws.dataset("demo", ws.demo_cards(), sample=24, seed=0)
    cards = [ws.registry.get("demo_lenet"), ws.registry.get("demo_linear")]
    result = user_metric_runs.measure_metric(metric, [(c, lambda c=c: ws.registry.load(c.name)) for c in cards],
                                             lambda c: user_metrics.metric_inputs(c, dataset), timeout=30)
    assert set(result.values) == {"demo_lenet", "demo_linear"} and not result.errors
    assert all(0.0 <= v <= 1.0 for v in result.values.values())

    slow = metrics_protocol.write_stub("slow_metric", "sleeps", folder=tmp_path)
    _implement(slow.path, "    def measure(self, model, card, images, correct):\n"
                          "        import time\n        time.sleep(5)\n        return 1.0\n")
    broken = metrics_protocol.write_stub("broken_metric", "fails", folder=tmp_path)
    _implement(broken.path, "    def measure(self, model, card, images, correct):\n        return 1 / 0\n")
    for name in ("slow_metric", "broken_metric"):
        metrics_protocol.enable_metric(name, tmp_path)
    loaded, errors = user_metric_runs.load_enabled_metrics(tmp_path, timeout=30)
    assert {m.name for m in loaded} == {"blur_acc", "slow_metric", "broken_metric"} and not errors
    by_name = {m.name: m for m in loaded}
    start = time.monotonic()
    slow_run = user_metric_runs.measure_metric(by_name["slow_metric"], [(cards[1], lambda: None)],
                                               lambda c: (None, []), timeout=0.2)
    assert time.monotonic() - start < 4                          # the caller did not wait for the sleep
    assert "TimeoutError" in slow_run.errors["demo_linear"] and not slow_run.values
    broken_run = user_metric_runs.measure_metric(by_name["broken_metric"], [(cards[1], lambda: None)],
                                                 lambda c: (None, []), timeout=5)
    assert "ZeroDivisionError" in broken_run.errors["demo_linear"]


def test_invalid_metric_files_are_refused_by_the_ast_check(tmp_path):
    (tmp_path / "bad_syntax.py").write_text("def measure(:\n")
    assert not metrics_protocol.check_stub(tmp_path / "bad_syntax.py").ok
    (tmp_path / "no_metric.py").write_text("class X:\n    name = 'no_metric'\n")
    check = metrics_protocol.check_stub(tmp_path / "no_metric.py")
    assert not check.ok and "METRIC" in check.problems[0]
    with pytest.raises(GreenRunnerError, match="cannot be enabled"):
        metrics_protocol.enable_metric("no_metric", tmp_path)
    with pytest.raises(GreenRunnerError, match="built-in metric"):
        metrics_protocol.metric_name("size")
    with pytest.raises(GreenRunnerError, match="no metric file"):
        metrics_protocol.enable_metric("missing", tmp_path)
