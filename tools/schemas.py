"""Pydantic argument schemas of the agent's tools; every field is described, since the LLM reads them."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from greenrunner_core.strategies import DEFAULT_STRATEGY, STRATEGIES
from tools.text import DEFAULT_BUDGET_TEXT
from tools.weight_rule import RANGE_TEXT, WEIGHT_MEANING, weight_problem

_STRATEGY_HELP = (f"selection strategy: one of {', '.join(STRATEGIES)} (aliases: ucb, ts, sh, eps); "
                  f"null = the default ({DEFAULT_STRATEGY})")
_WEIGHTS_HELP = (f"reward weight per metric, each in {RANGE_TEXT}: accuracy (on the user's target images), "
                 "size (MB, smaller is better), complexity (MACs per image, fewer is better). Other metric names "
                 "are accepted but left out of the reward until they are measured; the reply says so.")


class _Args(BaseModel):
    """Base of the argument schemas. Unknown keys are ignored (not forbidden): LangGraph passes the injected
    ``runtime`` through the same validation."""


def _clean_weights(value: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, w in value.items():
        key = name.strip().lower()
        try:
            w = float(w)
        except (TypeError, ValueError):
            raise ValueError(f"weight {name}={w!r} is not a number; use e.g. {key}=0.3") from None
        problem = weight_problem(key, w)      # the rule of every front door (tools/weight_rule.py)
        if problem is not None:
            raise ValueError(f"not valid: {problem}; a weight must be a finite number >= 0 and at most 1 "
                             f"({WEIGHT_MEANING})")
        out[key] = w
    return out


_CONSTRAINTS_HELP = ("hard limits; a model over any of them is removed before evaluation (with a note): max_size_mb, "
                     "max_macs (MACs per image), max_latency_ms (median ms per image at batch 1, measured on this "
                     "machine; latency_hardware names the device the user stated it for), max_params")


def _clean_constraints(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    from greenrunner_core.constraints import Constraints
    return Constraints.from_mapping(value).to_dict()   # raises with the bad value and the rule


class _WeightedArgs(_Args):
    """Arguments with ``weights`` and ``constraints``: both checked the same way wherever they are given."""

    @field_validator("weights", check_fields=False)
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        return _clean_weights(value)

    @field_validator("constraints", check_fields=False)
    @classmethod
    def _constraints(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _clean_constraints(value)


class ListModelsArgs(_Args):
    """Filter the registered candidate models; every filter is optional and they combine (AND)."""

    names: list[str] | None = Field(None, description="exact model names to show (unknown names get suggestions)")
    source: str | None = Field(None, description="only models from this source, e.g. demo, torchvision, local")
    family: str | None = Field(None, description="only this architecture family, e.g. resnet, mobilenet, mlp, cnn")
    max_size_mb: float | None = Field(None, gt=0, description="maximum serialized size in MB")
    max_mmacs: float | None = Field(None, gt=0, description="maximum millions of MACs per image")
    min_benchmark_accuracy: float | None = Field(None, ge=0, le=1,
                                                 description="minimum published (benchmark) accuracy in [0, 1]")
    max_params: float | None = Field(None, gt=0, description="maximum number of parameters, e.g. 5e6")
    min_shifted_accuracy: float | None = Field(None, ge=0, le=1, description="minimum mean published top-1 on "
                                               "shifted test sets (ImageNetV2, Sketch, R, A) in [0, 1]")
    pretraining: str | None = Field(None, description="pretraining data, e.g. in1k, in22k, laion2b")
    sort: Literal["size", "top1", "shifted", "macs", "params", "name"] = Field(
        "size", description="sort order: size/macs/params smallest first, top1/shifted best first")
    limit: int = Field(30, ge=1, le=500, description="maximum rows in the table (the artifact holds all matches)")


class ComputeComplexityArgs(_Args):
    """Measure MACs, parameters and size of named models (fvcore, cached on disk)."""

    models: list[str] = Field(min_length=1, description="model names, e.g. [\"resnet18\", \"mobilenet_v3_small\"]")


class RunBanditArgs(_WeightedArgs):
    """Run a budgeted model selection on the target images and report the top 3 and the savings."""

    weights: dict[str, float] = Field(description=_WEIGHTS_HELP)
    strategy: str | None = Field(None, description=_STRATEGY_HELP)
    budget: int | None = Field(None, ge=1, description="evaluation calls to spend (one call = one model on one "
                                                       f"image); null = {DEFAULT_BUDGET_TEXT}")
    models: list[str] | None = Field(None, description="candidate model names; null = the demo zoo on the demo data")
    dataset: str | None = Field(None, description="target ImageFolder path or .zip; null or 'demo' = the built-in "
                                                  "demo (digits seen through a new camera)")
    sample: int | None = Field(None, ge=1, description="evaluate on a seeded sample of this many target images; "
                                                       "null = all images (or the app's default)")
    seed: int = Field(0, description="random seed (same seed = same image order and same result)")
    label_map: str | dict[str, list[str]] | None = Field(None, description="dataset class -> model labels counted as "
                                                         "correct: a JSON file path or the mapping itself")
    use_case: str = Field("", description="the user's use case, recorded in the report")
    constraints: dict[str, float | str | None] | None = Field(None, description=_CONSTRAINTS_HELP)


class RerankArgs(_WeightedArgs):
    """Re-rank the last run under new weights from cached outcomes only (0 new evaluations)."""

    weights: dict[str, float] = Field(default_factory=dict, description="new weights; metrics not given keep their "
                                      "current value, 0 ignores a metric. " + _WEIGHTS_HELP)
    constraints: dict[str, float | str | None] | None = Field(
        None, description="new limits replacing the last run's for the fields given (\"what if the limit is 50 MB?\" "
                          "-> {\"max_size_mb\": 50}); models over a limit drop out of the ranking. " + _CONSTRAINTS_HELP)
    lift_constraints: list[str] = Field(default_factory=list, description="limits to drop, e.g. [\"max_size_mb\"]")
    top_n: int = Field(3, ge=1, le=50, description="how many models to show")


class CompareBaselinesArgs(_Args):
    """Brute force and the benchmark-card pick next to the bandit's pick, from the cache where possible."""

    weights: dict[str, float] | None = Field(None, description="weights to compare under; null = the current ones")
    baselines: list[Literal["brute_force", "benchmark_card"]] = Field(
        default_factory=lambda: ["brute_force", "benchmark_card"],
        description="which baselines: brute_force (every model on every image) and/or benchmark_card (pick by "
                    "published accuracy)")
    max_new_calls: int | None = Field(None, ge=0, description="run brute force only if it needs at most this many NEW "
                                                              "evaluations; null = the app's limit. Larger runs "
                                                              "are not started: the reply states their cost.")
    models: list[str] | None = Field(None, description="candidate names; null = those of the last run (or the demo)")
    dataset: str | None = Field(None, description="target data; null = that of the last run (or the demo)")
    sample: int | None = Field(None, ge=1, description="seeded sample size; null = that of the last run")
    seed: int | None = Field(None, description="seed; null = that of the last run")


class GenerateMetricStubArgs(_Args):
    """Write a Python stub for a metric GreenRunner does not measure yet into the user's metrics folder."""

    name: str = Field(description="metric name, e.g. blur_robustness, calibration_error, worst_class_accuracy")
    description: str = Field(description="one sentence: what the metric measures and on what")
    direction: Literal["higher", "lower"] = Field(description="'higher' if more is better, 'lower' if less is better")
    normalisation: Literal["log_minmax", "minmax", "identity"] = Field(
        "minmax", description="scaling over the candidates: minmax (default), log_minmax for values spanning "
                              "orders of magnitude (ms, bytes), identity for values already in [0, 1]")


class EnableMetricArgs(_Args):
    """Enable a completed user metric so it is measured (the user confirms first: it runs their code)."""

    name: str = Field(description="name of the user metric file in the metrics folder (without .py)")
