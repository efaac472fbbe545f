"""One place that wires sources, target data, the outcome cache and the evaluator for a selection run.

Front doors (CLI, agent tools, web app) all go through here, so a run means the same thing everywhere.
They may inject an energy meter (e.g. CodeCarbon's) and a carbon intensity; the default meter reads RAPL
when it can and otherwise estimates, labelled so. ``tactics`` adds optimised variants of the candidates
as arms of their own; ``measure_latency`` measures (once per model and machine) the "latency" metric.
What one selection run does with them is ``selection_run.py``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenrunner_core.cancel import CancelToken
from greenrunner_core.data import TargetDataset, load_target
from greenrunner_core.energy import EnergyMeter, default_meter
from greenrunner_core.energy_ledger import CarbonIntensity
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.execution import ExecutionSettings, PullBackend, make_backend
from greenrunner_core.latency import LatencyCache, LatencyStats
from greenrunner_core.notes import TacticSkipped
from greenrunner_core.outcome_cache import OutcomeCache
from greenrunner_core.paths import cache_dir as default_cache_dir
from greenrunner_core.pull import PullWorker
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.cifar10_shared import checkpoint_source
from greenrunner_core.registry.demo_zoo import DemoZooSource
from greenrunner_core.registry.hf_discovery import HubDiscovery
from greenrunner_core.registry.hub_cache import HUB_DEFAULTS, HubSettings
from greenrunner_core.selection_run import DEFAULT_BUDGET_FRACTION, DEFAULT_EVAL_BATCH, DEMO_DATASET, SelectionRun
from greenrunner_core.tactic_source import VariantInfo, add_variants, skip_notes
from greenrunner_core.tactics import parse_tactics
from greenrunner_core.zip_extract import ZipLimits

__all__ = ["DEFAULT_BUDGET_FRACTION", "DEFAULT_EVAL_BATCH", "DEMO_DATASET", "Workspace"]


@dataclass
class Workspace(SelectionRun):
    """The registry (demo zoo, torchvision and timm catalogs, `hf:` models, local checkpoints) plus its caches
    under one directory; ``select`` (one selection run over them) comes from ``SelectionRun`` (``selection_run.py``)."""

    cache_dir: Path = field(default_factory=default_cache_dir)
    checkpoints: Sequence[Path] = ()
    include_torchvision: bool = True
    include_timm: bool = True                     # timm's pretrained classifiers (cards from the shipped catalog)
    measure_latency: bool = False                 # time every candidate once (cached): the "latency" metric
    tactics: Sequence[str] = ()                   # e.g. ("quantize", "compile"): optimised variants as arms
    energy_meter: EnergyMeter | None = None       # injected by a front door (e.g. CodeCarbon); default: RAPL/estimate
    cpu_watts_per_core: float | None = None       # the estimate's power per busy core when RAPL is unreadable (10 W)
    carbon: CarbonIntensity | None = None         # grid intensity for grams of CO2 (default: world average)
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)   # in process (default) or Ray workers
    zip_limits: ZipLimits = field(default_factory=ZipLimits)   # how much a dataset zip may unpack to
    include_demo: bool = True                     # False: the demo zoo is neither listed nor trained
    hub: HubSettings = HUB_DEFAULTS              # the Hugging Face Hub cache and offline switch (front doors: env)
    _registry: Registry | None = field(default=None, init=False, repr=False)
    plans: dict[tuple, Any] = field(default_factory=dict, init=False, repr=False)   # tools' candidate plans, per key
    _demo: DemoZooSource | None = field(default=None, init=False, repr=False)
    _cache: OutcomeCache | None = field(default=None, init=False, repr=False)
    _meter: EnergyMeter | None = field(default=None, init=False, repr=False)
    _latency_cache: LatencyCache | None = field(default=None, init=False, repr=False)
    _worker: PullWorker | None = field(default=None, init=False, repr=False)
    _backend: PullBackend | None = field(default=None, init=False, repr=False)
    variant_info: dict[str, VariantInfo] = field(default_factory=dict, init=False, repr=False)
    tactic_skips: dict[str, TacticSkipped] = field(default_factory=dict, init=False, repr=False)
    latency_stats: dict[str, LatencyStats] = field(default_factory=dict, init=False, repr=False)
    latency_failures: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    hub_skips: dict[str, str] = field(default_factory=dict, init=False, repr=False)   # hub model -> why unusable
    local_models: dict[str, str] = field(default_factory=dict, init=False, repr=False)   # model -> its folder
    skipped_files: dict[str, str] = field(default_factory=dict, init=False, repr=False)  # checkpoint -> why
    _hub_found: dict[bool, HubDiscovery] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.tactics = parse_tactics(self.tactics)

    @property
    def demo(self) -> DemoZooSource:
        if self._demo is None:
            self._demo = DemoZooSource(cache_dir=Path(self.cache_dir))
        return self._demo

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            sources: list[ModelSource] = [self.demo] if self.include_demo else []
            if self.include_torchvision:
                from greenrunner_core.registry.torchvision_catalog import TorchvisionSource
                sources.append(TorchvisionSource())
            if self.include_timm:
                from greenrunner_core.registry.timm_source import TimmSource
                sources.append(TimmSource(hub=self.hub))
            local = [checkpoint_source(Path(folder)) for folder in self.checkpoints]
            self._registry = Registry(sources + local)
            for source in sources + local:
                self._registry.notes.extend(getattr(source, "notes", []) or [])
            for folder, source in zip(self.checkpoints, local):
                self.local_models |= {c.name: str(folder) for c in source.cards()}
                self.skipped_files |= {f"{folder}/{f}": why for f, why in getattr(source, "skipped", {}).items()}
        return self._registry

    @property
    def outcome_cache(self) -> OutcomeCache:
        if self._cache is None:
            self._cache = OutcomeCache(Path(self.cache_dir) / "outcomes.sqlite")
        return self._cache

    @property
    def meter(self) -> EnergyMeter:
        """The injected energy meter, else RAPL when readable, else the labelled estimate."""
        if self._meter is None:
            self._meter = self.energy_meter if self.energy_meter is not None else \
                default_meter(watts_per_core=self.cpu_watts_per_core)
        return self._meter

    @property
    def pull_worker(self) -> PullWorker:
        """Loaded models and the decoder pool, shared by every run of this workspace."""
        if self._worker is None:
            self._worker = PullWorker()
        return self._worker

    @property
    def backend(self) -> PullBackend | None:
        """The Ray backend (started on first use, kept for every run of this workspace); None = in process."""
        if self._backend is None and self.execution.uses_ray:
            self._backend = make_backend(self.execution)
        return self._backend

    def close(self) -> None:
        """Stop the Ray workers (and a local Ray runtime this workspace started); in process: nothing to do."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    @property
    def latency_cache(self) -> LatencyCache:
        if self._latency_cache is None:
            self._latency_cache = LatencyCache(Path(self.cache_dir) / "latency.json")
        return self._latency_cache

    def checkpoint_cards(self) -> list[ModelCard]:
        """The models of the local checkpoint folders (the user's own), without optimised variants."""
        registry = self.registry
        return [registry.get(n) for n in self.local_models if n not in self.variant_info]

    def demo_cards(self) -> list[ModelCard]:
        return [c for c in self.registry.cards() if c.source == self.demo.name and c.name not in self.variant_info]

    def candidates(self, names: Sequence[str] | None, data: str | Path | None,
                   batch_size: int = DEFAULT_EVAL_BATCH) -> list[ModelCard]:
        """Named models, or the demo zoo when the user names none and targets the demo data; with ``tactics``
        each is followed by its optimised variants, and with ``measure_latency`` every card carries its latency."""
        registry = self.registry                  # built first: it knows the checkpoints and the skipped files
        if names:
            try:
                cards = registry.resolve(self.resolve_hub_names(names))
            except GreenRunnerError as err:
                why = [f"{path} was skipped: {reason}" for path, reason in self.skipped_files.items()
                       if Path(path).name.split(".")[0] in names]
                raise (GreenRunnerError(f"{err}. " + "; ".join(why)) if why else err) from None
        elif data in (None, "", DEMO_DATASET):
            cards = self.demo_cards()
        elif self.checkpoints:        # your own checkpoints, on your own data
            cards = [registry.get(n) for n in self.local_models]
            if len(cards) < 2:
                why = "; ".join(f"{p}: {r}" for p, r in self.skipped_files.items()) or "no checkpoint files found"
                raise GreenRunnerError(f"the checkpoint folder(s) give {len(cards)} usable model(s) "
                                       f"({', '.join(self.local_models) or 'none'}); selection needs 2 — {why}")
        else:
            raise GreenRunnerError("name the candidate models for your own data (e.g. --models resnet18,mobilenet_v3_small)"
                                   "; list them with `greenrunner models`")
        if len(cards) < 2:
            raise GreenRunnerError(f"only {len(cards)} candidate model given; selection needs at least 2")
        if self.tactics:
            cards = self.with_variants(cards)
        if self.measure_latency:
            cards = self.with_latency(cards, batch_size)
        return cards

    def resolve_hub_names(self, names: Sequence[str]) -> list[str]:
        """Names as registered: ``hf:<repo>`` is described (config + processor) on first mention, ``timm:<arch>``
        becomes its best-published pretrained tag; a hub model that cannot be used is left out, its reason kept
        in ``hub_skips``."""
        from greenrunner_core.registry import hub_names
        return hub_names.resolve(self.registry, names, Path(self.cache_dir), self.hub_skips, self.hub)

    def discover_hub(self, search: bool = True) -> HubDiscovery:
        """Hugging Face image classifiers to consider unnamed (the cached ones; online, a bounded search of the Hub),
        registered like named ones; those that cannot be described are left out with the reason in ``hub_skips``.
        Done once per workspace."""
        if search not in self._hub_found:
            from greenrunner_core.registry.hf_discovery import discover
            found = discover(self.hub, search=search)
            self.resolve_hub_names(found.names)
            self._hub_found[search] = found
        return self._hub_found[search]

    # -- optimisation tactics ------------------------------------------------------------------------------------
    def with_variants(self, cards: Sequence[ModelCard], tactics: Sequence[str] | None = None) -> list[ModelCard]:
        """``cards`` with their variants under ``tactics`` (default: the workspace's), each beside its base; built
        once per workspace and registered, so they can be loaded, re-ranked and named later."""
        wanted = parse_tactics(tactics if tactics is not None else self.tactics)
        return add_variants(self.registry, cards, wanted, self.variant_info, self.tactic_skips)

    def tactic_notes(self, cards: Sequence[ModelCard], tactics: Sequence[str] | None = None) -> list[TacticSkipped]:
        return skip_notes(cards, parse_tactics(tactics if tactics is not None else self.tactics), self.tactic_skips)

    # -- latency -------------------------------------------------------------------------------------------------
    def with_latency(self, cards: Sequence[ModelCard], batch_size: int = DEFAULT_EVAL_BATCH) -> list[ModelCard]:
        """Cards carrying their measured latency (median ms per image at batch 1), measured once per model and
        machine. A model that cannot be loaded keeps its card without latency (see ``latency_failures``)."""
        out = []
        for card in cards:
            try:
                stats, _ = self.latency_cache.measure(card, lambda card=card: self.registry.load(card.name),
                                                      batch_size, meter=self.meter)
            except Exception as exc:  # noqa: BLE001 - reported per model; the run decides what to do without it
                reason = str(exc) if isinstance(exc, GreenRunnerError) else f"{type(exc).__name__}: {exc}"
                self.latency_failures[card.name] = reason
                out.append(card)
                continue
            self.latency_failures.pop(card.name, None)
            self.latency_stats[card.name] = stats
            out.append(self.registry.add_metrics(card.name, latency=stats.median_ms))
        return out

    def target(self, data: str | Path | None, label_map: str | Path | Mapping | None = None) -> TargetDataset:
        """The target images as loaded and validated (all classes)."""
        path = self.demo.target_dir if data in (None, "", DEMO_DATASET) else Path(str(data)).expanduser()
        if data in (None, "", DEMO_DATASET):
            self.demo.ensure_built()
        return load_target(path, label_map=label_map, cache_dir=Path(self.cache_dir) / "datasets",
                           zip_limits=self.zip_limits)

    def dataset(self, data: str | Path | None, cards: Sequence[ModelCard], *, label_map: str | Path | Mapping | None = None,
                sample: int | None = None, seed: int = 0, target: TargetDataset | None = None) -> TargetDataset:
        """Target images restricted to classes every candidate can predict, optionally sampled."""
        dataset = target if target is not None else self.target(data, label_map)
        dataset = dataset.restrict_to([c.class_labels for c in cards])
        return dataset.sample(sample, seed) if sample is not None else dataset

    def environment(self, cards: Sequence[ModelCard], dataset: TargetDataset, batch_size: int = 64,
                    cancel: CancelToken | None = None) -> LiveEnvironment:
        return LiveEnvironment(self.registry, list(cards), dataset, self.outcome_cache, batch_size=batch_size,
                               meter=self.meter, carbon=self.carbon, worker=self.pull_worker, backend=self.backend,
                               cancel=cancel)
