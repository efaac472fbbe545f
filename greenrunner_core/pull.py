"""Pulls: the compute behind evaluation calls — one model on a few images, batched, no cache involved.

* ``PullTask`` / ``run_pull_task`` — a pure, picklable unit of compute (shipped to worker processes or Ray
  actors as is): decode + preprocess a few images, batched forward under ``torch.inference_mode()``.
* ``PullWorker`` — what a process keeps between pulls: its loaded models (LRU) and its decoder pool.

Energy: with an ``EnergyMeter`` on the task, each batch is measured and its share stored per call.
"""
from __future__ import annotations

import functools
import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from greenrunner_core.decode import ImageDecoder, ImagePrep
from greenrunner_core.energy import EnergyMeter, EnergyReading
from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.outcome_cache import Outcome
from greenrunner_core.registry.base import ModelSource
from greenrunner_core.registry.card import ModelCard

__all__ = ["PullResult", "PullTask", "PullWorker", "batches", "run_pull_task"]


@dataclass(frozen=True)
class PullTask:
    """One model on a few images: everything a worker process needs, nothing it cannot unpickle."""

    source: ModelSource                      # picklable (plain dataclass holding paths/settings)
    card: ModelCard
    dataset_root: str
    images: tuple[tuple[str, str], ...]      # (image_id, path relative to dataset_root)
    batch_size: int = 64
    meter: EnergyMeter | None = None         # measures each batch (and a model load); picklable
    contents: tuple[bytes, ...] | None = None   # the images' bytes (same order): a remote worker reads no path

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"PullTask batch_size must be >= 1 (got {self.batch_size})")
        if self.contents is not None and len(self.contents) != len(self.images):
            raise ValueError(f"PullTask has {len(self.contents)} contents for {len(self.images)} images")


@dataclass(frozen=True)
class PullResult:
    """Top-1 predictions for the task's images, in order, and what they cost."""

    image_ids: tuple[str, ...]
    predictions: list[int]
    probs: list[float]
    seconds: float                            # decode + preprocess + forward, all images (no model load)
    call_seconds: list[float] = field(default_factory=list)   # per image: its batch's seconds / batch size
    load_seconds: float = 0.0                 # one-time: model load + warm-up paid by this task (0 when loaded)
    call_joules: list[float | None] = field(default_factory=list)   # per image: its batch's joules / batch size
    load_joules: float = 0.0                  # energy of the model load (and warm-up) paid by this task
    energy_kind: EnergyKind = NOT_MEASURED    # the meter's kind (not measured: no meter)
    call_batches: list[int] = field(default_factory=list)    # per image: images in its batch

    @property
    def joules(self) -> float:
        """Energy of the batches (no model load); 0 when nothing was measured."""
        return float(sum(j for j in self.call_joules if j is not None))

    def outcomes(self) -> dict[str, Outcome]:
        joules = self.call_joules or [None] * len(self.image_ids)
        sizes: list[int | None] = list(self.call_batches) or [None] * len(self.image_ids)
        return {i: Outcome(p, q, s, j, self.energy_kind if j is not None else NOT_MEASURED, b) for i, p, q, s, j, b in
                zip(self.image_ids, self.predictions, self.probs, self.call_seconds, joules, sizes, strict=True)}


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _logits(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)           # e.g. HF-style output objects
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]                                 # e.g. (logits, aux)
    raise TypeError(f"model returned {type(output).__name__}, expected a (batch, classes) tensor of scores")


def _warm_up(model: torch.nn.Module, card: ModelCard, device: torch.device) -> None:
    """One forward pass on a blank image of the card's input shape (its output is not used)."""
    if card.preprocess is None:
        return
    x = torch.zeros(1, card.preprocess.channels, *card.preprocess.crop, device=device)
    with torch.inference_mode():
        model(x)


def _meter_start(meter: EnergyMeter | None) -> bool:
    if meter is None:
        return False
    try:
        meter.start()
        return True
    except (OSError, ValueError, GreenRunnerError):   # a counter that vanished must not fail the evaluation
        return False


def _meter_stop(meter: EnergyMeter | None, started: bool) -> EnergyReading | None:
    if meter is None or not started:
        return None
    try:
        return meter.stop()
    except (OSError, ValueError, GreenRunnerError):
        return None


# Loaded models kept between pulls: the default strategy reads several models per step, so keeping only two
# reloaded checkpoints every step; bounded by memory instead (same default as a Ray worker).
DEFAULT_MODEL_BYTES = 2 * 1024 ** 3


class PullWorker:
    """What one process keeps between pulls: loaded models (least recently used dropped beyond ``max_models``,
    or beyond ``max_bytes`` of parameters + buffers; the model in use is always kept) and the image decoder
    pool. An ``Evaluator`` owns one; a worker process or Ray actor can hold one for its lifetime, on ``device``.
    It pickles to an empty worker (models and threads stay in the process that made them)."""

    def __init__(self, max_models: int = 64, decoder: ImageDecoder | None = None, *,
                 max_bytes: int | None = DEFAULT_MODEL_BYTES,
                 device: str = "cpu") -> None:
        if max_models < 1:
            raise ValueError(f"PullWorker max_models={max_models} must be >= 1 (a pull needs its model loaded)")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"PullWorker max_bytes={max_bytes} must be >= 1 or None (no memory bound)")
        self.max_models = max_models
        self.max_bytes = max_bytes
        self.device = torch.device(device)
        self.decoder = decoder if decoder is not None else ImageDecoder()
        self._models: OrderedDict[tuple[str, str, str], torch.nn.Module] = OrderedDict()
        self._bytes: dict[tuple[str, str, str], int] = {}
        self._lock = threading.Lock()
        self._decoded: set[str] = set()          # preprocess ids the decoder has run once (its one-time set-up)

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (functools.partial(PullWorker, max_bytes=self.max_bytes, device=str(self.device)), (self.max_models,))

    @staticmethod
    def _key(source: ModelSource, card: ModelCard) -> tuple[str, str, str]:
        return (source.name, card.name, card.weights_id)

    def model(self, source: ModelSource, card: ModelCard) -> tuple[torch.nn.Module, float]:
        """The loaded model and the one-time seconds its load took now (0.0 when it was already loaded).

        A fresh model runs once on one blank image before it is returned (lazy kernel set-up, first allocations):
        that one-time cost is part of the load, so per-call seconds measure the steady per-image cost that brute
        force would pay on every image, not a first batch several times slower than the rest."""
        key = self._key(source, card)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key], 0.0
        start = time.perf_counter()
        model = source.load(card)
        model.eval()
        if self.device.type != "cpu":
            model = model.to(self.device)
        _warm_up(model, card, self.device)
        seconds = time.perf_counter() - start
        size = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
        with self._lock:
            self._models[key] = model
            self._bytes[key] = size
            self._models.move_to_end(key)
            while len(self._models) > 1 and (len(self._models) > self.max_models or (
                    self.max_bytes is not None and sum(self._bytes.values()) > self.max_bytes)):
                old, _ = self._models.popitem(last=False)
                self._bytes.pop(old, None)
        return model, seconds

    def loaded(self) -> list[str]:
        """Names of the models kept loaded, least recently used first."""
        with self._lock:
            return [name for _, name, _ in self._models]

    def release(self, source: ModelSource | None = None, card: ModelCard | None = None) -> None:
        """Drop loaded models: one (source + card) or all (no arguments)."""
        with self._lock:
            if source is not None and card is not None:
                dropped = self._models.pop(self._key(source, card), None) is not None
                self._bytes.pop(self._key(source, card), None)
            else:
                dropped = bool(self._models)
                self._models.clear()
                self._bytes.clear()
        if dropped:
            gc.collect()

    def close(self) -> None:
        """Drop every model and stop the decoder threads."""
        self.release()
        self.decoder.close()

    def _warm_decoder(self, root: Path, task: PullTask, prep: ImagePrep) -> float:
        """Decode the task's first image once per preprocessing (thread pool start, codec set-up): one-time seconds
        that would otherwise land on the first batch's calls (0.0 when done before)."""
        if task.card.preprocess is None or task.card.preprocess.id in self._decoded or not task.images:
            return 0.0
        start = time.perf_counter()
        self.decoder.load_batch(root, [task.images[0][1]], prep, None if task.contents is None else task.contents[:1])
        self._decoded.add(task.card.preprocess.id)
        return time.perf_counter() - start

    def run(self, task: PullTask) -> PullResult:
        """Top-1 prediction of ``task.card`` on each of ``task.images``.

        With ``task.meter``, each batch's energy (decode + preprocess + forward, the same span as its
        seconds) is split evenly over its images; a model load is measured on its own.
        """
        prep = ImagePrep.of(task.card.preprocess)
        n_classes = len(task.card.class_labels)
        meter = task.meter
        root = Path(task.dataset_root)
        started = _meter_start(meter)
        model, load_seconds = self.model(task.source, task.card)
        load_seconds += self._warm_decoder(root, task, prep)
        load_reading = _meter_stop(meter, started)
        load_joules = load_reading.joules if load_reading is not None and load_seconds > 0 else 0.0
        predictions: list[int] = []
        probs: list[float] = []
        call_seconds: list[float] = []
        call_joules: list[float | None] = []
        call_batches: list[int] = []
        kind: EnergyKind | None = None
        total = 0.0
        for first in range(0, len(task.images), task.batch_size):
            batch = task.images[first:first + task.batch_size]
            contents = None if task.contents is None else task.contents[first:first + task.batch_size]
            started = _meter_start(meter)
            start = time.perf_counter()
            x = self.decoder.load_batch(root, [rel for _, rel in batch], prep, contents)
            if self.device.type != "cpu":
                x = x.to(self.device, non_blocking=True)
            with torch.inference_mode():
                scores = _logits(model(x))
                if scores.ndim != 2 or scores.shape[0] != len(batch) or scores.shape[1] != n_classes:
                    raise ValueError(f"model {task.card.name!r} returned scores of shape {tuple(scores.shape)}; "
                                     f"expected ({len(batch)}, {n_classes}) to match its {n_classes} class labels")
                top_prob, top_idx = torch.softmax(scores.float(), dim=1).max(dim=1)
            seconds = time.perf_counter() - start
            reading = _meter_stop(meter, started)
            total += seconds
            predictions.extend(int(i) for i in top_idx.tolist())
            probs.extend(float(p) for p in top_prob.tolist())
            call_seconds.extend([seconds / len(batch)] * len(batch))
            call_batches.extend([len(batch)] * len(batch))
            call_joules.extend([None if reading is None else reading.joules / len(batch)] * len(batch))
            if reading is not None:
                kind = reading.kind
        return PullResult(image_ids=tuple(i for i, _ in task.images), predictions=predictions, probs=probs,
                          seconds=total, call_seconds=call_seconds, load_seconds=load_seconds,
                          call_joules=call_joules if meter is not None else [], load_joules=load_joules,
                          energy_kind=kind if kind is not None else (load_reading.kind if load_reading else NOT_MEASURED),
                          call_batches=call_batches)


def run_pull_task(task: PullTask, worker: PullWorker | None = None) -> PullResult:
    """Run ``task`` on ``worker`` (pure; safe in a worker process). Without one, a throw-away worker loads the
    model for this task only: pass a long-lived ``PullWorker`` to keep models loaded between tasks."""
    if worker is not None:
        return worker.run(task)
    temporary = PullWorker(max_models=1)
    try:
        return temporary.run(task)
    finally:
        temporary.close()
