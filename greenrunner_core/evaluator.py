"""Evaluation calls (one model on one image), answered from the outcome cache before any compute.

``Evaluator`` asks the cache first and computes only what is missing (one batch per transaction, so an
interruption loses at most the batch in flight), with per-model accounting of calls, seconds and energy;
``LiveEnvironment`` turns its predictions into correctness for the strategies.

A stop (Ctrl-C or a ``CancelToken``) may land anywhere: a finished batch's cache write and its accounting are
one unit (``interrupts_deferred``), each batch is recorded at most once, and on a stop the backend hands back
the batches that already finished, which are recorded before the stop goes on. So what an interrupted run
reports as evaluated is exactly what the cache holds, and a rerun evaluates exactly the rest.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from greenrunner_core.batch_rates import BatchCosts
from greenrunner_core.cancel import Cancelled, CancelToken, interrupts_deferred
from greenrunner_core.energy import EnergyMeter, default_meter
from greenrunner_core.energy_ledger import CarbonIntensity, EnergyLedger
from greenrunner_core.environment import Accounting, ModelFailedError
from greenrunner_core.errors import DatasetError
from greenrunner_core.execution import ExecutionPlace, PullBackend, TaskDone, WorkerAccount
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.pull import PullTask, PullWorker, batches
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard

if TYPE_CHECKING:  # data.py is only needed for type hints; the evaluator uses its documented attributes
    from greenrunner_core.data import TargetDataset, TargetImage

__all__ = ["Evaluator", "LiveEnvironment"]


class Evaluator:
    """Answers evaluation calls from the cache first and computes only the missing ones, batch by batch.

    The compute runs on ``backend`` (default: this process, on ``worker``); several requests given together
    (``predict_many``) run concurrently there. Only this object writes the cache, one batch per transaction.
    """

    def __init__(self, registry: Registry, dataset: TargetDataset, cache: OutcomeCache,
                 batch_size: int = 64, accounting: Accounting | None = None, *,
                 meter: EnergyMeter | None = None, energy: EnergyLedger | None = None,
                 worker: PullWorker | None = None, backend: PullBackend | None = None,
                 cancel: CancelToken | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        self.registry = registry
        self.dataset = dataset
        self.cache = cache
        self.batch_size = batch_size
        self.accounting = accounting if accounting is not None else Accounting()
        self.accounting.eval_batch = self.accounting.eval_batch or batch_size
        self.meter: EnergyMeter = meter if meter is not None else default_meter()
        self.energy = energy if energy is not None else EnergyLedger(kind=self.meter.kind, meter=self.meter.info)
        self.worker = worker if worker is not None else PullWorker()   # in-process models + decoder, kept between calls
        if backend is None:
            from greenrunner_core.execution.local import LocalBackend
            backend = LocalBackend(worker=self.worker)
        self.backend = backend
        self.cancel = cancel                             # checked between batches: a stop never waits for a pull
        self.workers: dict[str, WorkerAccount] = {}      # what each worker computed in this run
        self.placement: dict[str, list[str]] = {}        # model -> workers that computed it in this run

    def predict(self, card: ModelCard, images: Sequence[TargetImage]) -> list[Outcome]:
        """Outcomes (same order as ``images``) of ``card`` on those images.

        Raises ``ModelFailedError`` when the model cannot be loaded or run (batches finished before
        the failure stay cached); ``DatasetError`` for an unreadable image; ``KeyboardInterrupt``
        propagates untouched, after the batches already computed were committed.
        """
        (answer,) = self.predict_many([(card, images)])
        if isinstance(answer, ModelFailedError):
            raise answer
        return answer

    def predict_many(self, requests: Sequence[tuple[ModelCard, Sequence[TargetImage]]]
                     ) -> list[list[Outcome] | ModelFailedError]:
        """``predict`` for several requests at once: their missing batches run concurrently on the backend;
        answers come back in request order whatever order the batches finished in."""
        known: list[dict[str, Outcome]] = []
        n_missing: list[int] = []
        tasks: list[PullTask] = []
        owner: list[int] = []
        for r, (card, images) in enumerate(requests):
            got = self.cache.get_many(card.name, card.weights_id, card.preprocess.id, [img.id for img in images])
            missing: dict[str, str] = {}
            for img in images:
                if img.id not in got and img.id not in missing:
                    missing[img.id] = img.path
            known.append(got)
            n_missing.append(len(missing))
            if missing:
                source = self.registry.source_of(card.name)
                for batch in batches(list(missing.items()), self.batch_size):
                    tasks.append(PullTask(source=source, card=card, dataset_root=str(self.dataset.root),
                                          images=tuple(batch), batch_size=self.batch_size, meter=self.meter))
                    owner.append(r)
        failures: dict[int, ModelFailedError] = {}
        if tasks:
            if self.cancel is not None:
                self.cancel.check()
            self._run(tasks, requests, known, failures, owner)
        answers: list[list[Outcome] | ModelFailedError] = []
        for r, (card, images) in enumerate(requests):
            if r in failures:
                answers.append(failures[r])
                continue
            answers.append(self._answer(card, images, known[r], n_missing[r]))
        return answers

    def _run(self, tasks: Sequence[PullTask], requests: Sequence[tuple[ModelCard, Sequence[TargetImage]]],
             known: list[dict[str, Outcome]], failures: dict[int, ModelFailedError], owner: Sequence[int]) -> None:
        """Record every task as it finishes; on a stop, record what the backend hands back, then re-raise."""
        recorded: set[int] = set()

        def record(done: TaskDone) -> None:
            if done.index in recorded:       # a backend that is stopped may hand a finished task back again
                return
            with interrupts_deferred():      # written and counted together, or neither
                self._record(requests[owner[done.index]][0], known[owner[done.index]], done, failures, owner)
                recorded.add(done.index)

        runs = self.backend.run(tasks)
        try:
            for done in runs:
                record(done)
                if self.cancel is not None:
                    self.cancel.check()      # after the batch is committed: closing the run stops the rest
        except (KeyboardInterrupt, Cancelled) as stop:
            for done in _finished_on_stop(runs, stop):
                record(done)
            raise
        finally:
            close = getattr(runs, "close", None)
            if close is not None:
                close()                      # a backend cancels what is still running (Ray: at once, not at GC)

    def _record(self, card: ModelCard, known: dict[str, Outcome], done: TaskDone,
                failures: dict[int, ModelFailedError], owner: Sequence[int]) -> None:
        """Write a finished task's outcomes to the cache and account them to its model and worker."""
        account = self.accounting.account(card.name)
        account.seconds += done.seconds
        self.workers.setdefault(done.worker, WorkerAccount()).add(done, card.name)
        if done.dataset_error is not None:
            raise DatasetError(done.dataset_error) from done.cause
        if done.failure is not None or done.result is None:
            if owner[done.index] not in failures:
                failed = failures[owner[done.index]] = ModelFailedError(card.name, done.failure or "no result")
                failed.__cause__ = done.cause
            return
        account.one_time_seconds += done.result.load_seconds
        new = done.result.outcomes()
        self.cache.put_many(card.name, card.weights_id, card.preprocess.id, new)
        known.update(new)
        account.new_evaluations += len(new)
        energy = self.energy.account(card.name)
        energy.spent_joules += done.result.joules + done.result.load_joules
        energy.load_joules += done.result.load_joules
        where = self.placement.setdefault(card.name, [])
        if done.worker not in where:
            where.append(done.worker)

    def _answer(self, card: ModelCard, images: Sequence[TargetImage], known: dict[str, Outcome],
                n_missing: int) -> list[Outcome]:
        account = self.accounting.account(card.name)
        energy = self.energy.account(card.name)
        outcomes = [known[img.id] for img in images]
        account.calls += len(images)
        account.cache_hits += len(images) - n_missing
        account.compute_seconds += sum(o.seconds for o in outcomes)
        account.macs += len(images) * card.macs
        by_batch = self.accounting.seconds_by_batch.setdefault(card.name, BatchCosts())
        joules_by_batch = self.accounting.joules_by_batch.setdefault(card.name, BatchCosts())
        for o in outcomes:
            if o.batch:
                by_batch.add(o.batch, o.seconds)
                if o.joules is not None:
                    joules_by_batch.add(o.batch, o.joules)
            if o.joules is not None:
                energy.joules += o.joules
                energy.known_calls += 1
                if o.energy_kind:
                    energy.kinds.add(o.energy_kind)
        return outcomes


def _finished_on_stop(runs: Iterator[TaskDone], stop: BaseException) -> Iterator[TaskDone]:
    """The tasks a backend hands back when the stop that reached the driver is thrown in at its ``yield``
    (the Ray backend: every task already finished; in process: none). A stop raised inside the backend has
    already drained it (then there is nothing left)."""
    throw = getattr(runs, "throw", None)
    if throw is None:
        return
    try:
        done = throw(stop)
        while True:
            yield done
            done = next(runs)
    except (Exception, KeyboardInterrupt):  # noqa: BLE001 - the stop itself (re-raised by the caller) or the end
        return


class LiveEnvironment:
    """The ``Environment`` a strategy pulls from during a real run: correctness from live/cached predictions."""

    def __init__(self, registry: Registry, cards: Sequence[ModelCard], dataset: TargetDataset,
                 cache: OutcomeCache, batch_size: int = 64, *, meter: EnergyMeter | None = None,
                 carbon: CarbonIntensity | None = None, worker: PullWorker | None = None,
                 backend: PullBackend | None = None, cancel: CancelToken | None = None) -> None:
        self.cards: list[ModelCard] = list(cards)
        self.dataset = dataset
        self.images: list[TargetImage] = list(dataset.images)
        self.image_ids: list[str] = [img.id for img in self.images]
        self.accounting = Accounting()
        meter = meter if meter is not None else default_meter()
        self.energy = EnergyLedger(kind=meter.kind, meter=meter.info)
        if carbon is not None:
            self.energy.carbon = carbon
        self.evaluator = Evaluator(registry, dataset, cache, batch_size=batch_size, accounting=self.accounting,
                                   meter=meter, energy=self.energy, worker=worker, backend=backend, cancel=cancel)
        self.workers = self.evaluator.workers          # what each worker computed (Ray: per actor)
        self.placement = self.evaluator.placement      # model -> where it ran
        self._allowed: dict[tuple[str, ...], dict[str, frozenset[int]]] = {}

    @property
    def execution(self) -> ExecutionPlace:
        """Where evaluations run (in process, or the Ray workers and their nodes)."""
        return self.evaluator.backend.place()

    @property
    def concurrency(self) -> int:
        """How many pulls can run at once (1 in process)."""
        return int(getattr(self.evaluator.backend, "concurrency", 1))

    def _allowed_for(self, card: ModelCard, class_name: str) -> frozenset[int]:
        per_class = self._allowed.setdefault(card.class_labels, {})
        allowed = per_class.get(class_name)
        if allowed is None:
            allowed = per_class[class_name] = frozenset(self.dataset.allowed_indices(class_name, card.class_labels))
        return allowed

    def pull(self, model_index: int, image_indices: Sequence[int]) -> np.ndarray:
        (answer,) = self.pull_many([(model_index, image_indices)])
        if isinstance(answer, ModelFailedError):
            raise answer
        return answer

    def pull_many(self, pulls: Sequence[tuple[int, Sequence[int]]]) -> list[np.ndarray | ModelFailedError]:
        """Several independent pulls at once (concurrent on a Ray backend); answers in the order asked."""
        requests = []
        for model_index, image_indices in pulls:
            if not 0 <= model_index < len(self.cards):
                raise IndexError(f"model index {model_index} out of range: this environment has "
                                 f"{len(self.cards)} models (0..{len(self.cards) - 1})")
            bad = [i for i in image_indices if not 0 <= i < len(self.images)]
            if bad:
                raise IndexError(f"image indices {bad[:5]} out of range: the dataset has "
                                 f"{len(self.images)} images (0..{len(self.images) - 1})")
            requests.append((self.cards[model_index], [self.images[i] for i in image_indices]))
        answers: list[np.ndarray | ModelFailedError] = []
        for (card, images), got in zip(requests, self.evaluator.predict_many(requests), strict=True):
            if isinstance(got, ModelFailedError):
                answers.append(got)
                continue
            answers.append(np.fromiter((o.prediction in self._allowed_for(card, img.class_name)
                                        for img, o in zip(images, got, strict=True)), dtype=bool, count=len(images)))
        return answers
