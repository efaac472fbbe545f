"""What a strategy pulls from: an environment answering "model i on images [j..]" with correctness.

Live runs (``evaluator.LiveEnvironment``) and replays of recorded outcome matrices
(``replay.ReplayEnvironment``) implement the same protocol, so strategies cannot tell them apart.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from greenrunner_core.batch_rates import BatchCosts
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard


class ModelFailedError(GreenRunnerError):
    """A model raised while loading or running; the run excludes it and goes on."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"model {model!r} failed and was excluded: {reason}")
        self.model = model
        self.reason = reason


@dataclass
class ModelAccount:
    """Cost of the evaluation calls made for one model in one run."""

    calls: int = 0                 # evaluation calls requested (one model on one image)
    new_evaluations: int = 0       # calls actually computed now (not answered by the cache)
    cache_hits: int = 0
    seconds: float = 0.0           # wall seconds spent computing now (load + forward)
    compute_seconds: float = 0.0   # seconds the answered calls cost when first computed (cache included), per call
    macs: int = 0                  # MACs of all calls (calls x MACs per image)
    one_time_seconds: float = 0.0  # of ``seconds``: model loads + warm-up, paid once per load, not per call


@dataclass
class Accounting:
    """Per-model costs; for calls whose batch size is known, their per-call seconds and joules by batch size
    (``batch_rates``), so brute force is priced at ``eval_batch`` (its batch size; 0 = unknown: as measured)."""

    per_model: dict[str, ModelAccount] = field(default_factory=dict)
    eval_batch: int = 0
    seconds_by_batch: dict[str, BatchCosts] = field(default_factory=dict)
    joules_by_batch: dict[str, BatchCosts] = field(default_factory=dict)

    def account(self, model: str) -> ModelAccount:
        return self.per_model.setdefault(model, ModelAccount())

    def total(self) -> ModelAccount:
        out = ModelAccount()
        for a in self.per_model.values():
            out.calls += a.calls
            out.new_evaluations += a.new_evaluations
            out.cache_hits += a.cache_hits
            out.seconds += a.seconds
            out.compute_seconds += a.compute_seconds
            out.macs += a.macs
            out.one_time_seconds += a.one_time_seconds
        return out


class Environment(Protocol):
    """Models x images, answered one batch at a time."""

    cards: list[ModelCard]
    image_ids: list[str]
    accounting: Accounting

    def pull(self, model_index: int, image_indices: Sequence[int]) -> np.ndarray:
        """Correctness (bool array, same order) of model ``model_index`` on those images.

        Raises ``ModelFailedError`` when the model cannot be loaded or run.
        """
        ...
