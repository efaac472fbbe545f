"""Evaluation calls (one model on one image), answered from the outcome cache before any compute.

``Evaluator`` asks the cache first and computes only what is missing (one batch per transaction, so an
interruption loses at most the batch in flight), with per-model accounting of calls, seconds and energy;
``LiveEnvironment`` turns its predictions into correctness for the strategies.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from greenrunner_core.energy import CarbonIntensity, EnergyLedger, EnergyMeter, default_meter
from greenrunner_core.environment import Accounting, ModelFailedError
from greenrunner_core.errors import DatasetError, GreenRunnerError
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.pull import PullTask, PullWorker, batches
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard

if TYPE_CHECKING:  # data.py is only needed for type hints; the evaluator uses its documented attributes
    from greenrunner_core.data import TargetDataset, TargetImage

__all__ = ["Evaluator", "LiveEnvironment"]


def _failure_reason(exc: Exception) -> str:
    # our own errors are already actionable sentences; others keep their type for diagnosis
    return str(exc) if isinstance(exc, GreenRunnerError) else f"{type(exc).__name__}: {exc}"


class Evaluator:
    """Answers evaluation calls from the cache first and computes only the missing ones, batch by batch."""

    def __init__(self, registry: Registry, dataset: TargetDataset, cache: OutcomeCache,
                 batch_size: int = 64, accounting: Accounting | None = None, *,
                 meter: EnergyMeter | None = None, energy: EnergyLedger | None = None,
                 worker: PullWorker | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        self.registry = registry
        self.dataset = dataset
        self.cache = cache
        self.batch_size = batch_size
        self.accounting = accounting if accounting is not None else Accounting()
        self.meter: EnergyMeter = meter if meter is not None else default_meter()
        self.energy = energy if energy is not None else EnergyLedger(kind=self.meter.kind, detail=self.meter.detail)
        self.worker = worker if worker is not None else PullWorker()   # loaded models + decoder, kept between calls

    def predict(self, card: ModelCard, images: Sequence[TargetImage]) -> list[Outcome]:
        """Outcomes (same order as ``images``) of ``card`` on those images.

        Raises ``ModelFailedError`` when the model cannot be loaded or run (batches finished before
        the failure stay cached); ``DatasetError`` for an unreadable image; ``KeyboardInterrupt``
        propagates untouched, after the batches already computed were committed.
        """
        account = self.accounting.account(card.name)
        energy = self.energy.account(card.name)
        key = (card.name, card.weights_id, card.preprocess.id)
        known = self.cache.get_many(*key, [img.id for img in images])
        missing: dict[str, str] = {}
        for img in images:
            if img.id not in known and img.id not in missing:
                missing[img.id] = img.path
        if missing:
            source = self.registry.source_of(card.name)
            todo = list(missing.items())
            for batch in batches(todo, self.batch_size):
                task = PullTask(source=source, card=card, dataset_root=str(self.dataset.root),
                                images=tuple(batch), batch_size=self.batch_size, meter=self.meter)
                start = time.perf_counter()
                try:
                    result = self.worker.run(task)
                except DatasetError:
                    raise
                except Exception as exc:
                    self.worker.release(source, card)
                    raise ModelFailedError(card.name, _failure_reason(exc)) from exc
                finally:
                    account.seconds += time.perf_counter() - start
                new = result.outcomes()
                self.cache.put_many(*key, new)
                known.update(new)
                account.new_evaluations += len(new)
                energy.spent_joules += result.joules + result.load_joules
                energy.load_joules += result.load_joules
        outcomes = [known[img.id] for img in images]
        account.calls += len(images)
        account.cache_hits += len(images) - len(missing)
        account.compute_seconds += sum(o.seconds for o in outcomes)
        account.macs += len(images) * card.macs
        for o in outcomes:
            if o.joules is not None:
                energy.joules += o.joules
                energy.known_calls += 1
                if o.energy_kind:
                    energy.kinds.add(o.energy_kind)
        return outcomes


class LiveEnvironment:
    """The ``Environment`` a strategy pulls from during a real run: correctness from live/cached predictions."""

    def __init__(self, registry: Registry, cards: Sequence[ModelCard], dataset: TargetDataset,
                 cache: OutcomeCache, batch_size: int = 64, *, meter: EnergyMeter | None = None,
                 carbon: CarbonIntensity | None = None, worker: PullWorker | None = None) -> None:
        self.cards: list[ModelCard] = list(cards)
        self.dataset = dataset
        self.images: list[TargetImage] = list(dataset.images)
        self.image_ids: list[str] = [img.id for img in self.images]
        self.accounting = Accounting()
        meter = meter if meter is not None else default_meter()
        self.energy = EnergyLedger(kind=meter.kind, detail=meter.detail)
        if carbon is not None:
            self.energy.carbon = carbon
        self.evaluator = Evaluator(registry, dataset, cache, batch_size=batch_size, accounting=self.accounting,
                                   meter=meter, energy=self.energy, worker=worker)
        self._allowed: dict[tuple[str, ...], dict[str, frozenset[int]]] = {}

    def _allowed_for(self, card: ModelCard, class_name: str) -> frozenset[int]:
        per_class = self._allowed.setdefault(card.class_labels, {})
        allowed = per_class.get(class_name)
        if allowed is None:
            allowed = per_class[class_name] = frozenset(self.dataset.allowed_indices(class_name, card.class_labels))
        return allowed

    def pull(self, model_index: int, image_indices: Sequence[int]) -> np.ndarray:
        if not 0 <= model_index < len(self.cards):
            raise IndexError(f"model index {model_index} out of range: this environment has "
                             f"{len(self.cards)} models (0..{len(self.cards) - 1})")
        bad = [i for i in image_indices if not 0 <= i < len(self.images)]
        if bad:
            raise IndexError(f"image indices {bad[:5]} out of range: the dataset has "
                             f"{len(self.images)} images (0..{len(self.images) - 1})")
        card = self.cards[model_index]
        images = [self.images[i] for i in image_indices]
        outcomes = self.evaluator.predict(card, images)
        return np.fromiter((o.prediction in self._allowed_for(card, img.class_name)
                            for img, o in zip(images, outcomes, strict=True)), dtype=bool, count=len(images))
