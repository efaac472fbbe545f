"""Hard constraints through the tools: a run removes the models over a limit before any evaluation (a note per
model), and a follow-up limit re-ranks the last run from the cache (0 new evaluations)."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from greenrunner_core.errors import GreenRunnerError
from tools import selection
from tools.schemas import RerankArgs, RunBanditArgs
from tools.settings import ToolSettings, workspace_for

WEIGHTS = {"accuracy": 0.6, "size": 0.2, "complexity": 0.2}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> ToolSettings:
    return ToolSettings(include_torchvision=False, metrics_dir=str(tmp_path_factory.mktemp("metrics")))


@pytest.fixture(scope="module")
def ws(settings):
    return workspace_for(settings)


@pytest.fixture(scope="module")
def sizes(ws):
    return sorted(c.size_mb for c in ws.demo_cards())


@pytest.fixture(scope="module")
def limited_run(ws, settings, sizes):
    limit = sizes[len(sizes) // 2]
    return limit, selection.run_bandit(ws, RunBanditArgs(weights=WEIGHTS, sample=30, seed=1,
                                                         constraints={"max_size_mb": limit}), settings)


def test_a_size_limit_removes_models_before_evaluation_with_a_note_each(ws, limited_run):
    limit, run = limited_run
    result = run.artifact.result
    over = {c.name for c in ws.demo_cards() if c.size_mb > limit}
    assert over and set(result.removed_by_constraints) == over
    assert not over & set(result.observations)            # never evaluated
    assert all(r.size_mb <= limit for r in result.ranking)
    assert "Hard constraints: size ≤" in run.text and all(name in run.text for name in over)
    assert run.updates["last_run"].args.constraints == {"max_size_mb": limit}


def test_a_tighter_limit_in_a_follow_up_reranks_from_the_cache(ws, settings, limited_run, sizes):
    _, run = limited_run
    rows = ws.outcome_cache.stats().rows
    tighter = sizes[len(sizes) // 4]
    out = selection.rerank(ws, RerankArgs(constraints={"max_size_mb": tighter}), run.updates["last_run"],
                           WEIGHTS, settings)
    assert ws.outcome_cache.stats().rows == rows and out.artifact.new_evaluations == 0
    assert all(r.size_mb <= tighter for r in out.artifact.after.ranking)
    assert out.artifact.removed_by_constraints and "Limits: size ≤" in out.text


def test_a_latency_limit_without_measured_latency_asks_for_a_run_instead_of_guessing(ws, settings, limited_run):
    _, run = limited_run
    with pytest.raises(GreenRunnerError, match="new run with this limit"):
        selection.rerank(ws, RerankArgs(constraints={"max_latency_ms": 5}), run.updates["last_run"], WEIGHTS,
                         settings)


def test_limits_that_remove_everything_say_what_to_relax(ws, settings, sizes):
    with pytest.raises(GreenRunnerError, match="smallest candidate has"):
        selection.run_bandit(ws, RunBanditArgs(weights=WEIGHTS, sample=10, constraints={"max_size_mb": sizes[0] / 2}),
                             settings)


@pytest.mark.parametrize("bad", [{"max_size_mb": -5}, {"max_size_mb": float("nan")}, {"max_weight": 3}])
def test_invalid_constraints_are_refused_by_the_schema(bad):
    with pytest.raises(ValidationError):
        RunBanditArgs(weights=WEIGHTS, constraints=bad)


def test_baselines_honour_the_runs_limits(ws, settings, limited_run):
    from tools.schemas import CompareBaselinesArgs
    _limit, run = limited_run
    out = selection.compare_baselines(ws, CompareBaselinesArgs(max_new_calls=0), run.updates["last_run"], WEIGHTS,
                                      settings)
    kept = len(run.artifact.result.observations)
    assert out.artifact.n_models == kept and "bandit (" in out.text       # same candidates as the run
