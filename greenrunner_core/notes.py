"""Typed notes on a run and on model sources: data, never prose (``tools/notes_text.py`` words them).

Each kind of note is a frozen dataclass carrying its data (model names, counts, reasons, joules...), registered
under its class name in ``NOTE_KINDS``. Notes are serialised once, at the persistence edge (``note_serde.py``); a note
of an unknown kind, or a plain string saved before notes were typed, reads back as a ``TextNote``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from greenrunner_core.energy import MeterInfo
from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind

__all__ = ["NOTE_KINDS", "RunNote", "SourceNote", "StopReason", "TextNote"]

NOTE_KINDS: dict[str, type[RunNote]] = {}
"""Every note kind by its tag (the class name): the registry ``note_serde.note_from`` reads saved notes with."""


@dataclass(frozen=True)
class RunNote:
    """Base of every note kind. Subclasses register themselves under their class name (``base=True``: a family, not a
    kind). No field may be called ``kind``: that is the tag."""

    def __init_subclass__(cls, *, base: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if base:
            return
        if cls.__name__ in NOTE_KINDS:
            raise TypeError(f"note kind {cls.__name__!r} is defined twice; give one of them another name")
        NOTE_KINDS[cls.__name__] = cls

    def __post_init__(self) -> None:
        # JSON and the checkpointer give lists back where the note held tuples: keep one shape (and hashable notes)
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, list):
                object.__setattr__(self, f.name, tuple(tuple(v) if isinstance(v, list) else v for v in value))


@dataclass(frozen=True)
class SourceNote(RunNote, base=True):
    """A note a model source makes while listing its models (``ModelSource.notes``, ``Registry.notes``)."""


@dataclass(frozen=True)
class TextNote(RunNote):
    """A note saved as text before notes were typed, or of a kind this version does not know."""

    text: str


# -- the run: costs, energy, stops ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BruteForceExtrapolated(RunNote):
    """Brute-force ``quantity`` ("seconds" or "energy") from the per-call figures of ``measured`` of ``total`` models;
    ``from_latency`` others from their measured latency, the rest by MACs to the power ``mac_exponent`` (None: none
    left), ``fitted`` on the measured models (else a default). ``one_time_excluded``: the per-call figures leave
    model loads and warm-up out (a note saved before that was so reads back False, exponent 1: "scaled by MACs");
    ``batch``: the per-call figures are priced at brute force's batch size, fitted over the batch sizes measured."""

    quantity: Literal["seconds", "energy"]
    measured: int
    total: int
    from_latency: int = 0
    mac_exponent: float | None = 1.0
    fitted: bool = False
    one_time_excluded: bool = False
    batch: int = 0                     # per-call figures priced at batches of this many images (0: as measured)
    macs_per_second: float = 0.0       # > 0: not fitted (one model size measured): measured rate + MACs at this rate
    via_seconds: bool = False          # energy of the unmeasured models: their estimated seconds x the measured power


@dataclass(frozen=True)
class CachedEnergyExtrapolated(RunNote):
    """``calls`` answered from cache rows written before energy was recorded: their energy is extrapolated from
    the measured per-call energy (of the same model, else per MAC of the measured ones)."""

    calls: int


@dataclass(frozen=True)
class EnergyEstimated(RunNote):
    """The energy figures are estimates, of kind ``energy_kind`` (e.g. ``ESTIMATED``): no meter could be read.
    ``detail`` is the meter that made the estimate (None = nothing could be measured; a sentence saved before meters
    were data reads back as ``MeterInfo(saved_text=...)``). Shown so that nobody takes an estimate for a measurement."""

    energy_kind: EnergyKind
    detail: MeterInfo | None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "detail", MeterInfo.revive(self.detail))
        object.__setattr__(self, "energy_kind", EnergyKind.revive(self.energy_kind))


@dataclass(frozen=True)
class RunInterrupted(RunNote):
    """Legacy: a run stopped before its end, saved while stop reasons were text (``reason``). Runs now note their
    typed ``Interrupted`` stop itself."""

    reason: str


@dataclass(frozen=True)
class NoPublishedAccuracy(RunNote):
    """The benchmark-card baseline left out ``count`` models without a published accuracy."""

    count: int


# -- why the run stopped (``ExperimentResult.stop_reason``; an ``Interrupted`` stop is a note of the run too) ---------

@dataclass(frozen=True)
class StopReason(RunNote, base=True):
    """Why a run (a strategy or a baseline) stopped."""


StoppedHow = Literal["budget_spent", "nothing_left", "every_model_failed", "leader_settled", "every_image_evaluated",
                     "picked_by_published_accuracy"]


@dataclass(frozen=True)
class Stopped(StopReason):
    """A stop that needs no more data than ``how``: "budget_spent" (every call of the budget), "nothing_left" (the
    strategy asked for no more evaluations), "every_model_failed", "leader_settled" (``energy_halving``: the
    leader's interval cleared every other survivor, the rest of the budget was not needed),
    "every_image_evaluated" (brute force finished), "picked_by_published_accuracy" (the benchmark-card baseline)."""

    how: StoppedHow


@dataclass(frozen=True)
class Interrupted(StopReason):
    """Stopped before its end: by Ctrl-C (``cancel_reason`` None) or a cancel (its ``CancelToken`` reason, e.g.
    "stopped by the user"). The ranking uses the evaluations made so far. ``baseline``: a baseline run (brute
    force), worded without the advice on resuming."""

    cancel_reason: str | None = None
    baseline: bool = False


@dataclass(frozen=True)
class AllImagesEvaluated(StopReason):
    """Every model still in the race was evaluated on every image; ``leader`` leads."""

    leader: str


@dataclass(frozen=True)
class LeaderProven(StopReason):
    """``paired_race`` stopped early: ``leader`` is within ``epsilon`` (reward) of the best with ``confidence``;
    ``rivals`` models remained, each shown not more than epsilon better (0 = every other one was ruled out)."""

    leader: str
    epsilon: float
    confidence: float
    rivals: int
    spent: int
    budget: int


@dataclass(frozen=True)
class LastInRace(StopReason):
    """``paired_elimination`` stopped early: ``leader`` is the last model in the race, within ``epsilon`` (reward)
    of every other one at ``z`` (calibrated, not a guarantee)."""

    leader: str
    epsilon: float
    z: float
    spent: int
    budget: int


# -- strategies ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NeverEvaluated(RunNote):
    """``models`` dropped before their first call: even accuracy 1.0 cannot beat the leader's (``proven``) bound."""

    models: tuple[str, ...]
    proven: bool = False


@dataclass(frozen=True)
class ModelsDropped(RunNote):
    """``count`` models dropped after paired comparisons on shared images, by the strategy's ``rule``:
    "paired_race" = shown worse than another with confidence ``threshold``; "elimination" = unlikely to beat the
    leader by more than epsilon = ``threshold`` (reward)."""

    count: int
    rule: Literal["paired_race", "elimination"]
    threshold: float


@dataclass(frozen=True)
class RankedByElimination(RunNote):
    """``models`` rank below a model with a lower estimate: ``paired_elimination`` ranks by how long a model stayed
    in the race (the images it was compared on), then by estimate, as an estimate on fewer images is less sure."""

    models: tuple[str, ...]


CostUnit = Literal["joules", "seconds", "macs", "not_measured"]


@dataclass(frozen=True)
class EnergyHalvingSummary(RunNote):
    """How ``energy_halving`` weighed cost: objective = reward - ``energy_weight`` x normalised log(``cost_unit``):
    joules per call (of ``energy_kind``), compute seconds per call (no energy recorded) or MACs per image (nothing
    measured); a run saved when the unit was a sentence keeps it."""

    energy_weight: float
    cost_unit: CostUnit | str
    explore_images: int
    pruned: tuple[str, ...]
    unspent: int | None = None    # calls of the budget left when it stopped early (None = it did not)
    energy_kind: EnergyKind = NOT_MEASURED   # how the joules were obtained (cost_unit "joules")

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "energy_kind", EnergyKind.revive(self.energy_kind))


# -- candidates left out before or during the run, and the target data -----------------------------------------------

LeftOutAt = Literal["failed", "hub", "labels", "latency_needed", "latency"]


@dataclass(frozen=True)
class ModelLeftOut(RunNote):
    """``model`` is not (fully) in the run, and why. ``stage``: "failed" (excluded during the run), "hub" (a hub model
    that could not be described), "labels" (its labels do not fit the dataset), "latency_needed" (its latency, which
    the reward weighs, could not be measured), "latency" (its latency could not be measured; the model stays)."""

    model: str
    stage: LeftOutAt
    reason: str


@dataclass(frozen=True)
class LabelsDoNotFit(RunNote):
    """``model`` was refused for the dataset: its labels (``label_set``, "" = unnamed, of ``n_labels``) map ``mapped``
    of the dataset's ``n_classes`` classes (none for ``missing``) where other candidates map ``best``."""

    model: str
    label_set: str
    n_labels: int
    mapped: int
    n_classes: int
    missing: tuple[str, ...]
    best: int


@dataclass(frozen=True)
class TacticSkipped(SourceNote):
    """A tactic not offered on this machine (``variant`` empty), or one base's variant that could not be built:
    ``reason`` is a code (``tactics.TacticUnavailable``; words in ``tools/note_words.toml``) or the error's text."""

    tactic: str
    reason: str
    variant: str = ""


@dataclass(frozen=True)
class DatasetIssues(RunNote):
    """The target dataset had files skipped: ``issues`` are (kind, count) pairs, e.g. ("corrupt", 3)."""

    source: str
    usable: int
    classes: int
    files_checked: int
    issues: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class SampleCoversAll(RunNote):
    """A sample of ``asked`` images was asked for, but the dataset has only ``images`` usable ones: all of them are
    used (a sample cannot be larger than what it is drawn from)."""

    asked: int
    images: int


# -- latency ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LatencyMeasured(RunNote):
    """Where and how latency was measured; ``joules`` what measuring cost (None = not metered)."""

    hardware: str
    repeats: int
    joules: float | None = None
    energy_kind: EnergyKind = NOT_MEASURED

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "energy_kind", EnergyKind.revive(self.energy_kind))


@dataclass(frozen=True)
class BusyWhileTiming(RunNote):
    """The machine was busy (load average up to ``load_avg``) while ``models`` were timed: their latency is inflated."""

    load_avg: float
    models: tuple[str, ...]
