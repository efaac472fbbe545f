"""The typed result of a run, from the core to the screen: ranking, costs, savings, and a re-rank of it.

One shape per thing: tools, the agent's state and the front doors pass these objects on as they are. They are
serialised once, at the persistence edge: ``to_dict``/``to_json`` for the JSON report, ``from_dict`` to read one
back (and LangGraph's checkpointer, which stores dataclasses by their fields; see ``agent/graph.py``). Energy
figures carry their typed ``EnergyKind`` (runs saved with the kind in words read back) and the meter's ``MeterInfo``;
notes are typed
records (``greenrunner_core/notes.py``); words about them live in ``tools/`` (``notes_text.py``, ``energy_text.py``,
which also adds the energy block of the JSON report) and ``ui/``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from greenrunner_core.constraints import Constraints, Removal
from greenrunner_core.energy import MeterInfo
from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind
from greenrunner_core.energy_ledger import WORLD_AVERAGE, CarbonIntensity, grams_co2
from greenrunner_core.execution import ExecutionPlace, WorkerAccount
from greenrunner_core.latency_stats import LatencyStats
from greenrunner_core.note_serde import note_from, note_to_dict, stop_from
from greenrunner_core.notes import RunNote
from greenrunner_core.variant_info import VariantInfo


@dataclass
class RankedModel:
    rank: int
    name: str
    family: str
    pulls: int                    # selection count: images this model was evaluated on
    est_accuracy: float | None    # on the target images seen (None = not evaluated)
    acc_low: float
    acc_high: float
    est_reward: float | None
    reward_low: float
    reward_high: float
    size_mb: float
    macs: int
    benchmark_accuracy: float | None
    exact: bool = False           # evaluated on every target image
    excluded: str | None = None   # reason when the model failed
    latency_ms: float | None = None   # median ms per image at batch 1 on this machine (when measured)


def top3_of(ranking: list[RankedModel]) -> list[RankedModel]:
    """The first three models that were evaluated and not excluded."""
    return [r for r in ranking if r.excluded is None and r.pulls > 0][:3]


@dataclass
class Cost:
    calls: int = 0
    new_evaluations: int = 0
    cache_hits: int = 0
    macs: int = 0
    seconds: float = 0.0          # wall seconds of the computation done in this run
    compute_seconds: float = 0.0  # what the answered calls cost when computed (cache included)
    joules: float = 0.0           # energy the answered calls cost when computed (cache included)
    energy_calls: int = 0         # calls whose energy was recorded (older cache rows: extrapolated, see notes)
    spent_joules: float = 0.0     # energy spent computing in this run (forward passes + model loads)
    energy_kind: EnergyKind = NOT_MEASURED   # how the joules were obtained (saved words read back)
    one_time_seconds: float = 0.0  # of ``seconds``: model loads + warm-up (brute force's estimate: per-call only)

    def __post_init__(self) -> None:
        self.energy_kind = EnergyKind.revive(self.energy_kind)


@dataclass
class Savings:
    calls_pct: float              # spent / brute force, in %
    macs_pct: float
    seconds_pct: float
    calls_saved: int
    macs_saved: int
    seconds_saved: float
    joules_pct: float = 0.0
    joules_saved: float = 0.0
    co2_saved_g: float = 0.0


@dataclass
class ExperimentResult:
    strategy: str
    params: dict[str, Any]
    weights: dict[str, float]
    budget: int
    n_models: int
    n_images: int
    dataset: str
    ranking: list[RankedModel]
    spent: Cost
    brute_force: Cost             # calls/MACs exact; seconds extrapolated from measured per-call seconds
    per_model: dict[str, Cost]
    observations: dict[str, tuple[int, int]]   # name -> (images evaluated, correct)
    excluded: dict[str, str] = field(default_factory=dict)
    notes: list[RunNote] = field(default_factory=list)   # typed records; legacy strings read back as TextNote
    interrupted: bool = False
    stop_reason: RunNote | None = None   # a typed ``StopReason``; a legacy sentence reads back as a TextNote
    wall_seconds: float = 0.0
    use_case: str = ""
    confidence: float = 0.95
    energy_kind: EnergyKind = NOT_MEASURED   # kind of the energy figures (not measured, e.g. a replay)
    energy_detail: MeterInfo | None = None   # how the meter works (None = not measured; saved words read back as saved_text)
    carbon_g_per_kwh: float = WORLD_AVERAGE.g_per_kwh
    carbon_source: str = WORLD_AVERAGE.source
    latency: dict[str, LatencyStats] = field(default_factory=dict)      # name -> its measured latency
    variants: dict[str, VariantInfo] = field(default_factory=dict)      # variant -> its base model and tactic
    constraints: Constraints = field(default_factory=Constraints)       # the limits the run honoured
    removed_by_constraints: dict[str, Removal] = field(default_factory=dict)  # name -> the limits it breaks
    execution: ExecutionPlace | None = None   # where evaluations ran (None: not recorded, e.g. a replay)
    placement: dict[str, list[str]] = field(default_factory=dict)   # model -> workers that computed it in this run
    workers: dict[str, WorkerAccount] = field(default_factory=dict)  # worker -> what it computed (summed = spent)

    def __post_init__(self) -> None:
        # a checkpointer stores tuples as lists and JSON gives dicts: keep one shape (and read older saved runs)
        self.observations = {k: (int(v[0]), int(v[1])) for k, v in self.observations.items()}
        self.removed_by_constraints = {k: Removal.revive(k, v) for k, v in self.removed_by_constraints.items()}
        self.latency = {k: _typed(LatencyStats, v) for k, v in self.latency.items()}
        self.variants = {k: _typed(VariantInfo, v) for k, v in self.variants.items()}
        self.workers = {k: _typed(WorkerAccount, v) for k, v in self.workers.items()}
        if not isinstance(self.constraints, Constraints):
            self.constraints = Constraints.from_mapping(self.constraints)
        if isinstance(self.execution, str):      # a run saved when this was a sentence ("" = not recorded)
            self.execution = ExecutionPlace(saved_text=self.execution) if self.execution else None
        elif self.execution is not None:
            self.execution = _typed(ExecutionPlace, self.execution)
        self.energy_detail = MeterInfo.revive(self.energy_detail)
        self.energy_kind = EnergyKind.revive(self.energy_kind)
        self.notes = [note_from(n) for n in self.notes]
        self.stop_reason = stop_from(self.stop_reason)

    @property
    def top3(self) -> list[RankedModel]:
        return top3_of(self.ranking)

    @property
    def best(self) -> RankedModel | None:
        top = self.top3
        return top[0] if top else None

    @property
    def savings(self) -> Savings:
        bf, sp = self.brute_force, self.spent
        pct = lambda a, b: 100.0 * a / b if b else 0.0
        joules_saved = max(bf.joules - sp.joules, 0.0)
        return Savings(calls_pct=pct(sp.calls, bf.calls), macs_pct=pct(sp.macs, bf.macs),
                       seconds_pct=pct(sp.compute_seconds, bf.compute_seconds),
                       calls_saved=bf.calls - sp.calls, macs_saved=bf.macs - sp.macs,
                       seconds_saved=max(bf.compute_seconds - sp.compute_seconds, 0.0),
                       joules_pct=pct(sp.joules, bf.joules), joules_saved=joules_saved,
                       co2_saved_g=self.co2_g(joules_saved))

    @property
    def carbon(self) -> CarbonIntensity:
        return CarbonIntensity(self.carbon_g_per_kwh, self.carbon_source)

    @property
    def energy_measured(self) -> bool:
        """Energy figures exist for this run (live runs; replays of matrices without energy have none)."""
        return bool(self.energy_kind)

    def co2_g(self, joules: float) -> float:
        return grams_co2(joules, self.carbon)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["top3"] = [r.name for r in self.top3]
        data["savings"] = asdict(self.savings)
        data["observations"] = {k: list(v) for k, v in self.observations.items()}
        data["notes"] = [note_to_dict(n) for n in self.notes]
        data["stop_reason"] = None if self.stop_reason is None else note_to_dict(self.stop_reason)
        data["constraints"] = self.constraints.to_dict()
        return data

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentResult:
        data = dict(data)
        data.pop("top3", None)
        data.pop("savings", None)
        data.pop("energy", None)             # the JSON report's energy block (tools/energy_text.py): derived
        data.pop("one_time", None)           # ... and its one-time seconds block: derived from ``spent``
        data["ranking"] = [RankedModel(**r) for r in data["ranking"]]
        data["spent"] = Cost(**data["spent"])
        data["brute_force"] = Cost(**data["brute_force"])
        data["per_model"] = {k: Cost(**v) for k, v in data["per_model"].items()}
        return cls(**data)


def _typed(cls: type[Any], value: Any) -> Any:
    """``value`` itself, or the dataclass read back from its stored fields (unknown keys of a newer run ignored)."""
    if isinstance(value, cls):
        return value
    return cls(**{k: v for k, v in dict(value).items() if k in cls.__dataclass_fields__})


@dataclass
class Rerank:
    """New ranking from the same observations under new weights, and whether the cache settles it."""

    weights: dict[str, float]
    ranking: list[RankedModel]
    settled: bool
    calls_to_settle: int
    contenders: list[str]

    @property
    def top3(self) -> list[RankedModel]:
        return top3_of(self.ranking)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rerank:
        """Read a re-rank back from its stored form (a persisted tool message)."""
        data = dict(data)
        data["ranking"] = [RankedModel(**r) for r in data["ranking"]]
        return cls(**{k: data[k] for k in ("weights", "ranking", "settled", "calls_to_settle", "contenders")})
