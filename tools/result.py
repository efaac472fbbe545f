"""What every tool function returns (text for the LLM, a typed artifact for the UI, graph-state updates), and the
typed artifacts of the selection tools.

The artifacts hold the core's objects as they are (``ExperimentResult``, ``Rerank``): no layer turns them into
dicts and back. The graph's checkpointer serialises them once (``agent/graph.py`` lists these types); a tool message
read back from the checkpoint carries its artifact in stored form, which ``RunRecord.revive`` / ``RerankArtifact.revive``
read back.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from greenrunner_core.constraints import Constraints, Removal, Violation
from greenrunner_core.energy import HardwarePart, MeterInfo
from greenrunner_core.energy_kind import EnergyKind, EnergyMethod
from greenrunner_core.execution import ExecutionPlace, WorkerAccount
from greenrunner_core.latency_stats import LatencyStats
from greenrunner_core.metrics_protocol import MetricRun
from greenrunner_core.notes import NOTE_KINDS
from greenrunner_core.result import Cost, ExperimentResult, RankedModel, Rerank
from greenrunner_core.variant_info import VariantInfo
from tools.schemas import RunBanditArgs


@dataclass
class ToolResult:
    text: str                                             # compact markdown the LLM reads and the chat shows
    artifact: Any = field(default_factory=dict)           # typed data for the UI (a dataclass below, or a dict)
    updates: dict[str, Any] = field(default_factory=dict)   # graph-state fields this result changes


@dataclass
class RunRecord:
    """A selection run: its result, the ``run_bandit`` arguments it ran with (defaults filled in), the weights left
    out of the reward with the reason, and the enabled user metrics measured on its top 3."""

    result: ExperimentResult
    args: RunBanditArgs | None = None      # None: not recorded
    excluded_weights: dict[str, str] = field(default_factory=dict)
    user_metrics: list[MetricRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.args = run_args_from(self.args)     # a checkpoint from before the arguments were typed holds a dict

    @classmethod
    def revive(cls, value: RunRecord | Mapping[str, Any]) -> RunRecord:
        """The record itself, or the record read back from a stored tool message."""
        if isinstance(value, cls):
            return value
        return cls(result=ExperimentResult.from_dict(value["result"]), args=run_args_from(value.get("args")),
                   excluded_weights=dict(value.get("excluded_weights") or {}),
                   user_metrics=[MetricRun(**m) for m in value.get("user_metrics") or []])


@dataclass
class RerankArtifact:
    """The ranking under the weights before and after a what-if, from the last run's observations only."""

    before: Rerank
    after: Rerank
    run_args: RunBanditArgs | None = None      # the last run's arguments (None: not recorded)
    excluded_weights: dict[str, str] = field(default_factory=dict)
    new_evaluations: int = 0
    constraints: Constraints = field(default_factory=Constraints)        # limits in force after the what-if
    removed_by_constraints: dict[str, Removal] = field(default_factory=dict)  # last-run models over them -> why

    def __post_init__(self) -> None:
        self.run_args = run_args_from(self.run_args)

    @classmethod
    def revive(cls, value: RerankArtifact | Mapping[str, Any]) -> RerankArtifact:
        """The artifact itself, or the artifact read back from a stored tool message."""
        if isinstance(value, cls):
            return value
        return cls(before=Rerank.from_dict(value["before"]), after=Rerank.from_dict(value["after"]),
                   run_args=run_args_from(value.get("run_args")),
                   excluded_weights=dict(value.get("excluded_weights") or {}),
                   new_evaluations=int(value.get("new_evaluations") or 0),
                   constraints=_limits(value.get("constraints")),
                   removed_by_constraints={k: Removal.revive(k, v) for k, v in
                                           dict(value.get("removed_by_constraints") or {}).items()})


def run_args_from(value: RunBanditArgs | Mapping[str, Any] | None) -> RunBanditArgs | None:
    """A run's arguments: the model itself, or read back from their stored fields (a tool call's arguments, or a record
    saved before they were typed); empty = not recorded. Fields that no longer validate are kept as they were saved."""
    if value is None or isinstance(value, RunBanditArgs):
        return value
    data = dict(value)
    if not data:
        return None
    try:
        return RunBanditArgs.model_validate(data)
    except ValidationError:
        return RunBanditArgs.model_construct(**{"weights": {}, **{k: v for k, v in data.items()
                                                                   if k in RunBanditArgs.model_fields}})


def _limits(value: Constraints | Mapping[str, Any] | None) -> Constraints:
    return value if isinstance(value, Constraints) else Constraints.from_mapping(value)


@dataclass
class BruteForceBaseline:
    """Brute force in a baseline comparison: its result when it ran, else why not (its cost beyond the limit)."""

    run: bool
    calls: int
    new_calls_needed: int = 0
    limit: int = 0
    result: ExperimentResult | None = None


@dataclass
class BaselinesArtifact:
    """The bandit's pick against brute force and the benchmark-card pick, under the same weights."""

    weights: dict[str, float]
    n_models: int
    n_images: int
    brute_force_calls: int
    brute_force_uncached_calls: int
    brute_force: BruteForceBaseline | None = None
    benchmark_card: ExperimentResult | None = None
    bandit_rank_in_brute_force: int | None = None


CHECKPOINTED_TYPES: tuple[type, ...] = (RunRecord, ExperimentResult, RankedModel, Cost, MetricRun, Removal, Violation,
                                         LatencyStats, VariantInfo, Constraints, ExecutionPlace, WorkerAccount,
                                         MeterInfo, HardwarePart, EnergyKind, EnergyMethod, RunBanditArgs,
                                         *NOTE_KINDS.values())
"""Types the graph state holds (``last_run`` and its parts, its typed notes among them): the checkpointer is told to
revive exactly these."""
