"""A stop (Ctrl-C or a cancel) landing at any point of a run keeps the cache and the accounting consistent: what
the interrupted run reports as evaluated is exactly what the cache holds, and a rerun evaluates exactly the rest.

The interrupts here are injected at exact points, not timed: a real SIGINT sent from inside the cache write
(just before / just after its commit), a cancel or SIGINT from the progress callback, and, for the Ray backend's
drain logic, a fake ``ray`` whose ``wait`` is interrupted while finished tasks are in flight (no cluster needed).
(Timed Ctrl-C on a real cluster: tests/integration/test_ray.py.)"""
from __future__ import annotations

import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest

from greenrunner_core.baselines import run_brute_force
from greenrunner_core.cancel import CancelToken, interrupts_deferred
from greenrunner_core.data import load_target
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.execution import ExecutionSettings
from greenrunner_core.execution.local import run_one
from greenrunner_core.notes import Interrupted
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.pull import PullWorker
from greenrunner_core.registry.base import Registry
from greenrunner_core.reward import Weights
from tests.unit.test_evaluation import TinySource, write_dataset
from tools.notes_text import word

MODELS = ("tiny-a", "tiny-b", "tiny-c")
BATCH = 2                       # images per task: 12 images -> 6 tasks per model, 18 in all
WEIGHTS = Weights({"accuracy": 1.0})


class SigintInWrite(OutcomeCache):
    """An outcome cache that sends this process a real SIGINT from inside its ``at``-th write, ``when`` "before"
    or "after" the commit (a Ctrl-C landing there: the Python handler runs at the next bytecode)."""

    def __init__(self, path: Path, at: int, when: str) -> None:
        super().__init__(path)
        self.at, self.when, self.writes = at, when, 0

    def put_many(self, model: str, weights_id: str, preprocess_id: str, outcomes: Mapping[str, Outcome]) -> None:
        self.writes += 1
        hit = self.writes == self.at
        if hit and self.when == "before":
            signal.raise_signal(signal.SIGINT)
        super().put_many(model, weights_id, preprocess_id, outcomes)
        if hit and self.when == "after":
            signal.raise_signal(signal.SIGINT)


@pytest.fixture()
def dataset(tmp_path):
    return load_target(write_dataset(tmp_path / "colours", per_class=4))


@pytest.fixture()
def registry():
    return Registry([TinySource(models=MODELS)])


def brute_force(registry: Registry, dataset, cache: OutcomeCache, backend=None, progress=None):
    env = LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=BATCH, backend=backend)
    return run_brute_force(env, WEIGHTS, batch_size=4, progress=progress), env


def assert_consistent_and_resumable(registry, dataset, cache: OutcomeCache, first, env) -> None:
    """What the interrupted run counted is what the cache holds (per worker too); a rerun does exactly the rest
    and finds the same answer as a run never interrupted."""
    rows = cache.stats().rows
    assert first.interrupted
    assert rows == first.spent.new_evaluations
    assert sum(w.evaluations for w in env.workers.values()) == rows
    rerun, _ = brute_force(registry, dataset, OutcomeCache(cache.path))
    assert not rerun.interrupted
    assert rerun.spent.new_evaluations == rerun.brute_force.calls - rows
    clean, _ = brute_force(registry, dataset, OutcomeCache(cache.path.with_name("clean.sqlite")))
    assert rerun.observations == clean.observations and [r.name for r in rerun.ranking] == \
        [r.name for r in clean.ranking]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("at", [1, 4, 11])
def test_ctrl_c_inside_a_cache_write_counts_exactly_what_was_written(registry, dataset, tmp_path, at, when):
    cache = SigintInWrite(tmp_path / "outcomes.sqlite", at, when)
    first, env = brute_force(registry, dataset, cache)
    assert_consistent_and_resumable(registry, dataset, cache, first, env)
    assert cache.writes == at                              # the stop came right after that batch
    assert first.spent.new_evaluations == at * BATCH       # that batch was written and counted, whichever side


@pytest.mark.parametrize("stop", ["sigint", "cancel"])
def test_a_stop_from_the_progress_callback_keeps_the_step_it_follows(registry, dataset, tmp_path, stop):
    cache = OutcomeCache(tmp_path / "outcomes.sqlite")
    token = CancelToken()
    env = LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=BATCH, cancel=token)

    def progress(event) -> None:
        if event.spent >= 8:
            signal.raise_signal(signal.SIGINT) if stop == "sigint" else token.cancel("stopped by the user")

    first = run_brute_force(env, WEIGHTS, batch_size=4, progress=progress)
    assert first.spent.new_evaluations == 8
    assert_consistent_and_resumable(registry, dataset, cache, first, env)


def test_interrupts_deferred_holds_a_ctrl_c_until_the_block_ends():
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        done.append("after the signal")                # the block still runs to its end
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with interrupts_deferred():                         # nothing held: nothing delivered
        pass
    errors = []

    def off_main() -> None:
        try:
            with interrupts_deferred():                 # no signal reaches this thread: a plain block
                done.append("thread")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=off_main)
    thread.start()
    thread.join()
    assert not errors and done[-1] == "thread"


# ------------------------------------------------------------------------- the Ray backend's stop, no cluster


class FakeRay:
    """Just enough of ``ray`` for ``RayBackend.run``: ``actor.run.remote`` runs the task at once in process (so it
    is finished), ``wait`` returns the oldest finished ref, and its ``interrupt_at``-th call raises Ctrl-C while
    the other submitted tasks are finished but not yet handed back."""

    def __init__(self, exceptions, interrupt_at: int | None = None) -> None:
        self.exceptions = exceptions
        self.results: dict[int, object] = {}
        self.cancelled: set[int] = set()
        self.waits = 0
        self.interrupt_at = interrupt_at
        self.worker = PullWorker()

    def actor(self, label: str):
        def remote(task, index):
            ref = len(self.results)
            self.results[ref] = (run_one(self.worker, task, index, label), 1)
            return ref
        return SimpleNamespace(run=SimpleNamespace(remote=remote))

    def wait(self, refs, num_returns=1, timeout=None):
        self.waits += 1
        if self.waits == self.interrupt_at:
            raise KeyboardInterrupt
        return sorted(refs)[:num_returns], sorted(refs)[num_returns:]

    def get(self, ref, timeout=None):
        return self.results[ref]

    def cancel(self, ref) -> None:
        self.cancelled.add(ref)


def fake_backend(monkeypatch, interrupt_at: int | None):
    ray = pytest.importorskip("ray")
    from greenrunner_core.execution import ray_backend
    from greenrunner_core.execution.ray_worker import WorkerInfo

    fake = FakeRay(ray.exceptions, interrupt_at)
    monkeypatch.setattr(ray_backend, "ray", fake)
    backend = ray_backend.RayBackend(ExecutionSettings(workers=2))
    backend.infos = [WorkerInfo(i, "127.0.0.1", 1, "cpu", 1) for i in range(2)]
    backend.actors = [fake.actor(info.label) for info in backend.infos]
    backend.alive, backend.restarts, backend._holds = [True, True], [0, 0], [set(), set()]
    monkeypatch.setattr(backend, "close", lambda: None)
    return backend, fake


@pytest.mark.parametrize("interrupt_at", [1, 3, 7])
def test_ray_ctrl_c_while_waiting_hands_back_every_finished_task_once(registry, dataset, tmp_path, monkeypatch,
                                                                    interrupt_at):
    backend, fake = fake_backend(monkeypatch, interrupt_at)
    cache = OutcomeCache(tmp_path / "outcomes.sqlite")
    first, env = brute_force(registry, dataset, cache, backend=backend)
    handed_back = interrupt_at - 1 + 4          # each wait hands one back; then the 4 in flight (2 per worker)
    assert first.spent.new_evaluations == handed_back * BATCH
    assert len(fake.results) == handed_back and not fake.cancelled     # all finished: kept, nothing cancelled
    assert_consistent_and_resumable(registry, dataset, cache, first, env)


@pytest.mark.parametrize("when", ["before", "after"])
def test_ray_ctrl_c_while_a_batch_is_written_keeps_the_finished_ones_in_flight(registry, dataset, tmp_path,
                                                                             monkeypatch, when):
    backend, _ = fake_backend(monkeypatch, None)
    cache = SigintInWrite(tmp_path / "outcomes.sqlite", 2, when)
    first, env = brute_force(registry, dataset, cache, backend=backend)
    assert first.spent.new_evaluations == 5 * BATCH   # the batch being written, the one before, the 3 in flight
    assert_consistent_and_resumable(registry, dataset, cache, first, env)


def test_ray_cancel_token_also_keeps_the_finished_ones_in_flight(registry, dataset, tmp_path, monkeypatch):
    backend, _ = fake_backend(monkeypatch, None)
    token = CancelToken()
    writes = []

    class Stopping(OutcomeCache):
        def put_many(self, *args, **kwargs) -> None:
            super().put_many(*args, **kwargs)
            writes.append(1)
            if len(writes) == 2:
                token.cancel("stopped by the user")

    cache = Stopping(tmp_path / "outcomes.sqlite")
    env = LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=BATCH, backend=backend, cancel=token)
    first = run_brute_force(env, WEIGHTS, batch_size=4)
    assert first.stop_reason == Interrupted("stopped by the user", baseline=True)
    assert word(first.stop_reason).startswith("interrupted, stopped by the user")
    assert first.spent.new_evaluations == 5 * BATCH
    assert_consistent_and_resumable(registry, dataset, cache, first, env)
