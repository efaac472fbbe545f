"""One selection run in a workspace: candidates, limits, latency and label fit, the dataset, the strategy (or a
baseline), and the result annotated with what the workspace knows (notes, latency, variants).

``Workspace`` (``workspace.py``) wires sources and caches and inherits ``select`` from ``SelectionRun``; this module
holds what one run does with them, and the defaults a run records (budget, dataset name).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenrunner_core.baselines import run_benchmark_card, run_brute_force
from greenrunner_core.cancel import CancelToken
from greenrunner_core.constraints import Constraints, Removal, split_cards
from greenrunner_core.data import TargetDataset
from greenrunner_core.dataset_scan import ISSUE_KINDS, ValidationReport
from greenrunner_core.errors import GreenRunnerError, InvalidWeightsError, NoUsableCandidateError
from greenrunner_core.experiment import run_experiment
from greenrunner_core.latency import latency_notes
from greenrunner_core.notes import DatasetIssues, ModelLeftOut, RunNote, SampleCoversAll
from greenrunner_core.registry.label_sets import fit_to_dataset
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY, make_strategy
from greenrunner_core.strategies.progress import ProgressCallback

if TYPE_CHECKING:
    from greenrunner_core.registry.card import ModelCard

__all__ = ["DEFAULT_BUDGET_FRACTION", "DEFAULT_EVAL_BATCH", "DEMO_DATASET", "LATENCY_HINT", "SelectionRun",
           "dataset_name", "dataset_note", "default_budget"]

DEMO_DATASET = "demo"
# A cap, not a target: the default strategy stops on its own well below it (docs/benchmarks.md); at 25 % the cap
# cut its runs short on 200-image targets with accuracy-only weights (P 0.875 instead of 0.955).
DEFAULT_BUDGET_FRACTION = 0.5
DEFAULT_EVAL_BATCH = 16
LATENCY_HINT = ("the 'latency' metric has weight {w:g} but latency is not measured; enable it with --measure-latency "
                "(CLI) or Workspace(measure_latency=True) — each model is timed once on this machine and cached — "
                "or set its weight to 0")


class SelectionRun:
    """``Workspace.select`` and what it needs beyond the workspace's wiring (a mixin of ``Workspace``: ``self`` has
    its candidates, caches, latency and hub bookkeeping)."""

    def select(self, weights: Weights, *, models: Sequence[str] | None = None, data: str | Path | None = None,
               strategy: str = DEFAULT_STRATEGY, budget: int | None = None, seed: int = 0, batch_size: int = 16,
               label_map: str | Path | Mapping | None = None, sample: int | None = None, use_case: str = "",
               strategy_params: Mapping[str, Any] | None = None, constraints: Constraints | None = None,
               progress: ProgressCallback | None = None, cancel: CancelToken | None = None
               ) -> tuple[ExperimentResult, TargetDataset]:
        eval_batch = max(batch_size, DEFAULT_EVAL_BATCH)
        latency_weight = weights.get("latency")
        cards = self.candidates(models, data, batch_size=eval_batch)
        extra_notes: list[RunNote] = [ModelLeftOut(n, "hub", why) for n, why in self.hub_skips.items()]
        extra_notes += self.tactic_notes(cards)
        constraints = constraints or Constraints()
        cards, removed = self.constrained(cards, constraints, eval_batch)
        untimed = [c.name for c in cards if "latency" not in c.known_metrics()]
        if latency_weight > 0 and untimed:
            if not self.measure_latency:
                raise InvalidWeightsError(LATENCY_HINT.format(w=latency_weight))
            extra_notes += [ModelLeftOut(n, "latency_needed", self.latency_failures.get(n, "unknown"))
                            for n in untimed]
            cards = [c for c in cards if c.name not in untimed]
            if len(cards) < 2:
                raise GreenRunnerError("latency could be measured for fewer than 2 candidates: "
                                       + "; ".join(f"{n}: {self.latency_failures.get(n, '?')}" for n in untimed))
        elif self.measure_latency:
            extra_notes += [ModelLeftOut(n, "latency", self.latency_failures[n]) for n in untimed
                            if n in self.latency_failures]
        target = self.target(data, label_map)
        cards, refused = fit_to_dataset(cards, target)
        extra_notes += list(refused.values())
        if len(cards) < 2:
            raise GreenRunnerError("fewer than 2 candidates have labels that fit this dataset: "
                                   + "; ".join(f"{n} maps {r.mapped} of its {r.n_classes} classes (no label for "
                                               f"{', '.join(r.missing[:5])})" for n, r in refused.items())
                                   + "; give a label map that lists their labels for those classes")
        dataset = self.dataset(data, cards, sample=sample, seed=seed, target=target)
        env = self.environment(cards, dataset, batch_size=eval_batch, cancel=cancel)
        if budget is None:
            budget = default_budget(len(cards), len(dataset), strategy)
        if strategy == "brute_force":
            result = run_brute_force(env, weights, dataset=dataset_name(data), use_case=use_case, progress=progress)
        elif strategy == "benchmark_card":
            result = run_benchmark_card(env, weights, dataset=dataset_name(data), use_case=use_case)
        else:
            chosen = make_strategy(strategy, seed=seed, batch_size=batch_size, **dict(strategy_params or {}))
            result = run_experiment(env, weights, chosen, budget, dataset=dataset_name(data), use_case=use_case,
                                    progress=progress, cancel=cancel)
        if cards and all(c.name in result.excluded for c in cards) and not result.interrupted:
            raise NoUsableCandidateError(result.excluded)
        result.notes[:0] = [dataset_note(dataset.report)] if dataset.report.issues else []
        if sample is not None and sample > len(dataset):        # said first: the run is not on the sample asked for
            result.notes.insert(0, SampleCoversAll(sample, len(dataset)))
        self._annotate(result, cards)
        result.notes.extend(extra_notes)
        result.constraints = constraints
        result.removed_by_constraints = removed
        return result, dataset

    def constrained(self, cards: Sequence[ModelCard], constraints: Constraints,
                    batch_size: int = DEFAULT_EVAL_BATCH) -> tuple[list[ModelCard], dict[str, Removal]]:
        """The cards within every limit (latency measured first when a latency limit is set, cached per machine),
        and the removal of each removed card. A card whose latency cannot be measured is removed under a latency limit."""
        if not constraints:
            return list(cards), {}
        if constraints.needs_latency:
            cards = self.with_latency(cards, batch_size)
        split = split_cards(cards, constraints).require_some(constraints)
        removed = {r.name: r for r in split.removed}
        removed |= {n: Removal(n, unmeasured=self.latency_failures.get(n, "unknown")) for n in split.unmeasured}
        kept = [c for c in split.kept if c.name not in split.unmeasured]
        if len(kept) < 2:
            raise GreenRunnerError(f"the limits {constraints.short_text()} leave {len(kept)} candidate model(s) "
                                   f"({', '.join(c.name for c in kept) or 'none'}) of {len(cards)}; selection needs "
                                   "at least 2 — raise or drop a limit")
        return kept, removed

    def _annotate(self, result: ExperimentResult, cards: Sequence[ModelCard]) -> None:
        """Latency per model and the variant -> base map on the result, with what measuring latency cost."""
        names = {c.name for c in cards}
        result.variants = {n: info for n, info in self.variant_info.items() if n in names}
        result.latency = {n: s for n, s in self.latency_stats.items() if n in names}
        result.notes.extend(latency_notes(result.latency))


def default_budget(n_models: int, n_images: int, strategy: str = DEFAULT_STRATEGY) -> int:
    """``DEFAULT_BUDGET_FRACTION`` of brute force, and never less than one batch per model; the anytime-valid
    ``--guarantee`` strategy stops on its own and is capped only by brute force (a cap would void its guarantee)."""
    if strategy == GUARANTEE_STRATEGY:
        return n_models * n_images
    return max(n_models * 8, int(DEFAULT_BUDGET_FRACTION * n_models * n_images))


def dataset_name(data: str | Path | None) -> str:
    """The target a result records: ``DEMO_DATASET`` for the demo, else the path as given (worded for the user by
    ``tools/dataset_text.dataset_label``)."""
    return DEMO_DATASET if data in (None, "", DEMO_DATASET) else str(data)


def dataset_note(report: ValidationReport) -> DatasetIssues:
    """What the run's notes keep of the target's validation report: its counts, with skipped files by kind."""
    counts = sorted(report.counts().items(), key=lambda kv: ISSUE_KINDS.index(kv[0]))
    return DatasetIssues(str(report.source), report.usable, len(report.classes), report.total_files, tuple(counts))
