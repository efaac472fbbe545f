"""One place that wires sources, target data, the outcome cache and the evaluator for a selection run.

Front doors (CLI, agent tools, web app) all go through here, so a run means the same thing everywhere.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenrunner_core.data import TargetDataset, load_target
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.evaluation import LiveEnvironment, OutcomeCache
from greenrunner_core.experiment import ExperimentResult, run_benchmark_card, run_brute_force, run_experiment
from greenrunner_core.paths import cache_dir as default_cache_dir
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.demo_zoo import DemoZooSource
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import DEFAULT_STRATEGY, make_strategy
from greenrunner_core.strategies.base import ProgressCallback

DEMO_DATASET = "demo"
DEFAULT_BUDGET_FRACTION = 0.25


@dataclass
class Workspace:
    """The registry (demo zoo, torchvision catalog, local checkpoints) plus caches under one directory."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    checkpoints: Sequence[Path] = ()
    include_torchvision: bool = True
    _registry: Registry | None = field(default=None, init=False, repr=False)
    _demo: DemoZooSource | None = field(default=None, init=False, repr=False)
    _cache: OutcomeCache | None = field(default=None, init=False, repr=False)

    @property
    def demo(self) -> DemoZooSource:
        if self._demo is None:
            self._demo = DemoZooSource(cache_dir=Path(self.cache_dir))
        return self._demo

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            sources: list[ModelSource] = [self.demo]
            if self.include_torchvision:
                from greenrunner_core.registry.torchvision_catalog import TorchvisionSource
                sources.append(TorchvisionSource())
            for folder in self.checkpoints:
                sources.append(checkpoint_source(Path(folder)))
            self._registry = Registry(sources)
            for source in sources:
                self._registry.notes.extend(getattr(source, "notes", []) or [])
        return self._registry

    @property
    def outcome_cache(self) -> OutcomeCache:
        if self._cache is None:
            self._cache = OutcomeCache(Path(self.cache_dir) / "outcomes.sqlite")
        return self._cache

    def demo_cards(self) -> list[ModelCard]:
        return [c for c in self.registry.cards() if c.source == self.demo.name]

    def candidates(self, names: Sequence[str] | None, data: str | Path | None) -> list[ModelCard]:
        """Named models, or the demo zoo when the user names none and targets the demo data."""
        if names:
            cards = self.registry.resolve(list(names))
        elif data in (None, "", DEMO_DATASET):
            cards = self.demo_cards()
        else:
            raise GreenRunnerError("name the candidate models for your own data (e.g. --models resnet18,mobilenet_v3_small)"
                                   "; list them with `greenrunner models`")
        if len(cards) < 2:
            raise GreenRunnerError(f"only {len(cards)} candidate model given; selection needs at least 2")
        return cards

    def dataset(self, data: str | Path | None, cards: Sequence[ModelCard], *, label_map: str | Path | Mapping | None = None,
                sample: int | None = None, seed: int = 0) -> TargetDataset:
        """Target images restricted to classes every candidate can predict, optionally sampled."""
        path = self.demo.target_dir if data in (None, "", DEMO_DATASET) else Path(str(data)).expanduser()
        if data in (None, "", DEMO_DATASET):
            self.demo.ensure_built()
        dataset = load_target(path, label_map=label_map, cache_dir=Path(self.cache_dir) / "datasets")
        dataset = dataset.restrict_to([c.class_labels for c in cards])
        return dataset.sample(sample, seed) if sample else dataset

    def environment(self, cards: Sequence[ModelCard], dataset: TargetDataset, batch_size: int = 64) -> LiveEnvironment:
        return LiveEnvironment(self.registry, list(cards), dataset, self.outcome_cache, batch_size=batch_size)

    def select(self, weights: Weights, *, models: Sequence[str] | None = None, data: str | Path | None = None,
               strategy: str = DEFAULT_STRATEGY, budget: int | None = None, seed: int = 0, batch_size: int = 16,
               label_map: str | Path | Mapping | None = None, sample: int | None = None, use_case: str = "",
               strategy_params: Mapping[str, Any] | None = None,
               progress: ProgressCallback | None = None) -> tuple[ExperimentResult, TargetDataset]:
        cards = self.candidates(models, data)
        dataset = self.dataset(data, cards, label_map=label_map, sample=sample, seed=seed)
        env = self.environment(cards, dataset, batch_size=max(batch_size, 16))
        if budget is None:
            budget = default_budget(len(cards), len(dataset))
        if strategy == "brute_force":
            result = run_brute_force(env, weights, dataset=dataset_label(data), use_case=use_case, progress=progress)
        elif strategy == "benchmark_card":
            result = run_benchmark_card(env, weights, dataset=dataset_label(data), use_case=use_case)
        else:
            chosen = make_strategy(strategy, seed=seed, batch_size=batch_size, **dict(strategy_params or {}))
            result = run_experiment(env, weights, chosen, budget, dataset=dataset_label(data), use_case=use_case,
                                    progress=progress)
        result.notes[:0] = [f"dataset: {dataset.report.summary().splitlines()[0]}"] if dataset.report.issues else []
        return result, dataset


def default_budget(n_models: int, n_images: int) -> int:
    """A quarter of brute force, and never less than one batch per model."""
    return max(n_models * 8, int(DEFAULT_BUDGET_FRACTION * n_models * n_images))


def dataset_label(data: str | Path | None) -> str:
    return "demo (digits through a new camera)" if data in (None, "", DEMO_DATASET) else str(data)


def checkpoint_source(folder: Path) -> ModelSource:
    """A local checkpoints folder; the shared CIFAR-10 checkpoints are recognised by their file names."""
    from greenrunner_core.registry import local
    if not folder.is_dir():
        raise GreenRunnerError(f"checkpoints folder {str(folder)!r} does not exist or is not a directory")
    manifest_file = folder / "greenrunner.json"
    if not manifest_file.exists() and (any(folder.glob("akamaster_*.th")) or any(folder.glob("chenyaofo_*.pt"))):
        return local.cifar10_shared_source(folder)
    return local.LocalCheckpointSource(folder)
