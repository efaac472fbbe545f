"""Execution backends: settings, the default path without Ray, request-ordered answers whatever the completion
order, failures, images by content, and the memory-bounded model LRU. (Real Ray: tests/integration/test_ray.py.)"""
from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from greenrunner_core.environment import ModelFailedError
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.execution import ExecutionPlace, ExecutionSettings, TaskDone, WorkerAccount
from greenrunner_core.execution.local import LocalBackend
from greenrunner_core.outcome_cache import OutcomeCache
from greenrunner_core.pull import PullTask, PullWorker
from greenrunner_core.registry.base import Registry
from greenrunner_core.reward import Weights
from greenrunner_core.strategies.base import Strategy
from greenrunner_core.strategies.state import BanditState, Pull
from tests.unit.test_evaluation import LABELS, TinySource, write_dataset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def dataset(tmp_path):
    from greenrunner_core.data import load_target
    return load_target(write_dataset(tmp_path / "colours", per_class=4))


def _cache(path: Path) -> OutcomeCache:
    return OutcomeCache(path / "outcomes.sqlite")


class ShuffledBackend:
    """Runs tasks in process like a Ray backend would, but hands them back in a seeded random order and
    labels them as if two workers ran them."""

    def __init__(self, seed: int) -> None:
        self.inner = LocalBackend()
        self.rng = np.random.default_rng(seed)
        self.settings = ExecutionSettings()
        self.batches: list[int] = []

    def run(self, tasks: Sequence[PullTask]) -> Iterator[TaskDone]:
        self.batches.append(len(tasks))
        done = list(self.inner.run(tasks))
        for i in self.rng.permutation(len(done)):
            d = done[int(i)]
            yield TaskDone(d.index, f"w{d.index % 2}@test", d.result, d.failure, d.dataset_error, d.seconds, d.cause)

    def release(self, source, card) -> None:
        self.inner.release(source, card)

    def place(self) -> ExecutionPlace:
        return ExecutionPlace(ray=True, workers=2, started=True, devices=("cpu",), nodes=("test",))

    def close(self) -> None:
        self.inner.close()


# ------------------------------------------------------------------------------------------ settings


def test_default_settings_run_in_process_and_validate():
    assert not ExecutionSettings().uses_ray
    assert ExecutionSettings(workers=2).uses_ray
    assert ExecutionSettings(ray_address="auto").uses_ray
    with pytest.raises(GreenRunnerError, match="workers=-1"):
        ExecutionSettings(workers=-1)
    with pytest.raises(GreenRunnerError, match="object_store_mb"):
        ExecutionSettings(object_store_mb=10)


def test_ray_address_comes_from_the_option_then_the_environment(monkeypatch):
    """$RAY_ADDRESS is read by the front doors' settings (EnvSettings) and passed down; the core reads none."""
    from agent.context import Context
    from agent.settings import EnvSettings
    from tools.settings import ToolSettings

    monkeypatch.delenv("GREENRUNNER_RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert EnvSettings().execution().ray_address == "10.0.0.5:6379"
    assert EnvSettings().execution(ray_address="auto").ray_address == "auto"
    assert EnvSettings().execution(ray_address="local").ray_address is None
    for context in (Context.from_settings(EnvSettings()), Context()):      # a front door's, and LangGraph Server's
        assert context.execution().ray_address == "10.0.0.5:6379"
    assert ExecutionSettings.from_options().ray_address is None            # the core: what it is given
    assert ToolSettings().execution().ray_address is None
    monkeypatch.setenv("GREENRUNNER_RAY_ADDRESS", "local")                 # the app's own variable wins
    assert EnvSettings().execution().ray_address is None
    monkeypatch.delenv("GREENRUNNER_RAY_ADDRESS")
    monkeypatch.delenv("RAY_ADDRESS")
    settings = EnvSettings().execution(workers=3)
    assert (settings.workers, settings.ray_address, settings.uses_ray) == (3, None, True)


def test_default_path_never_imports_ray(tmp_path):
    code = (f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
            "from tests.unit.test_evaluation import TinySource, write_dataset\n"
            "from pathlib import Path\n"
            "from greenrunner_core.data import load_target\n"
            "from greenrunner_core.evaluator import LiveEnvironment\n"
            "from greenrunner_core.outcome_cache import OutcomeCache\n"
            "from greenrunner_core.registry.base import Registry\n"
            "import greenrunner_core.workspace\n"
            f"root = Path({str(tmp_path)!r})\n"
            "ds = load_target(write_dataset(root / 'd'))\n"
            "reg = Registry([TinySource()])\n"
            "env = LiveEnvironment(reg, reg.cards(), ds, OutcomeCache(root / 'c.sqlite'))\n"
            "env.pull(0, [0, 1])\n"
            "bad = [m for m in sys.modules if m == 'ray' or m.startswith('ray.')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


# ------------------------------------------------------------------------------------------ ordering


class RandomSubsets(Strategy):
    """Each step: a seeded random subset of the open models, each pulled for 1-3 images (several pulls per step,
    and the next step depends on the results, so any reordering of tell() would change the calls)."""

    name = "random_subsets"

    def ask(self, state: BanditState) -> list[Pull]:
        active = state.active()
        if not len(active):
            return []
        acc = np.nan_to_num(state.accuracy(), nan=0.5)
        k = int(state.rng.integers(1, len(active) + 1))
        arms = sorted(state.rng.choice(active, size=k, replace=False).tolist(), key=lambda a: -acc[a])
        return [state.pull(a, int(state.rng.integers(1, 4))) for a in arms]


def test_concurrent_pulls_answer_in_request_order_whatever_order_tasks_finish(dataset, tmp_path):
    source = TinySource(models=("tiny-a", "tiny-b", "tiny-c"))
    registry = Registry([source])
    pulls = [(0, [0, 1, 2, 3, 4]), (2, [5, 6, 7]), (1, [0, 8, 9, 10, 11]), (0, [5, 6])]
    reference = LiveEnvironment(registry, registry.cards(), dataset, _cache(tmp_path / "a"), batch_size=2)
    expected = [reference.pull(m, images) for m, images in pulls]
    for seed in range(3):
        backend = ShuffledBackend(seed)
        env = LiveEnvironment(registry, registry.cards(), dataset, _cache(tmp_path / f"s{seed}"), batch_size=2,
                              backend=backend)
        got = env.pull_many(pulls)
        assert backend.batches == [9]                  # every missing batch of every pull submitted at once
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)
        assert env.accounting.total().new_evaluations == 5 + 3 + 5 + 2
        assert set(env.placement) == {"tiny-a", "tiny-b", "tiny-c"}
        assert {w for where in env.placement.values() for w in where} == {"w0@test", "w1@test"}
        assert sum(w.evaluations for w in env.workers.values()) == 15
        assert sum(w.tasks for w in env.workers.values()) == 9
        again = env.pull_many(pulls)                   # all cached now: nothing is computed
        assert backend.batches == [9]
        for a, b in zip(again, expected, strict=True):
            np.testing.assert_array_equal(a, b)


def test_same_seed_same_calls_and_ranking_serial_or_concurrent_in_any_completion_order(dataset, tmp_path):
    from greenrunner_core.experiment import run_experiment
    from greenrunner_core.strategies.base import serial_executor

    perms = [(0, 1, 2), (1, 2, 0), (0, 2, 1), (2, 1, 0)]
    sources = [TinySource(name=f"s{i}", models=(f"m{i}",), perm=p) for i, p in enumerate(perms)]
    registry = Registry(sources)
    weights = Weights({"accuracy": 1.0})

    def run(env, executor=None):
        kwargs = {} if executor is None else {"executor": executor}
        r = run_experiment(env, weights, RandomSubsets(seed=7), 30, **kwargs)
        return [m.name for m in r.ranking], r.observations, r.spent.calls

    serial = run(LiveEnvironment(registry, registry.cards(), dataset, _cache(tmp_path / "serial")), serial_executor)
    for seed in range(3):
        backend = ShuffledBackend(seed)
        env = LiveEnvironment(registry, registry.cards(), dataset, _cache(tmp_path / f"c{seed}"), backend=backend)
        assert run(env) == serial
        assert max(backend.batches) > 1                # steps did run several pulls at once
    assert serial[2] == 30


def test_a_failing_model_fails_only_its_own_requests(dataset, tmp_path):
    good = TinySource(name="good", models=("ok",))
    bad = TinySource(name="bad", models=("broken",), fail_load="weights for broken are missing; copy them")
    registry = Registry([good, bad])
    env = LiveEnvironment(registry, registry.cards(), dataset, _cache(tmp_path), batch_size=2,
                          backend=ShuffledBackend(0))
    got = env.pull_many([(1, [0, 1, 2]), (0, [0, 1, 2])])
    assert isinstance(got[0], ModelFailedError) and got[0].reason == "weights for broken are missing; copy them"
    assert got[1].dtype == bool and got[1].shape == (3,)
    assert bad.loads == 1                              # after the failure its other batch was not run


def test_local_backend_skips_the_rest_of_a_failed_model():
    source = TinySource(fail_load="no weights")
    card = source.cards()[0]
    tasks = [PullTask(source=source, card=card, dataset_root="/nonexistent", images=(("x", "x.png"),))] * 3
    done = list(LocalBackend().run(tasks))
    assert [d.failure for d in done] == ["no weights"] * 3
    assert source.loads == 1


def test_worker_account_sums_what_ran():
    account = WorkerAccount()
    account.add(TaskDone(0, "w0", failure="x", seconds=0.5), "m")
    assert (account.tasks, account.evaluations, account.seconds, account.models) == (1, 0, 0.5, ["m"])


# ------------------------------------------------------------------------------------------ pull worker


def test_images_by_content_match_images_by_path(dataset):
    source = TinySource()
    card = source.cards()[0]
    images = tuple((i.id, i.path) for i in dataset.images)
    by_path = PullTask(source=source, card=card, dataset_root=str(dataset.root), images=images, batch_size=5)
    contents = tuple((dataset.root / rel).read_bytes() for _, rel in images)
    by_bytes = PullTask(source=source, card=card, dataset_root="/not/on/this/worker", images=images, batch_size=5,
                        contents=contents)
    worker = PullWorker()
    a, b = worker.run(by_path), worker.run(pickle.loads(pickle.dumps(by_bytes)))
    assert a.predictions == b.predictions and [LABELS[p] for p in a.predictions] == [i.class_name for i in
                                                                                     dataset.images]
    with pytest.raises(ValueError, match="contents"):
        PullTask(source=source, card=card, dataset_root="/", images=images, contents=contents[:1])


def test_model_lru_is_bounded_by_memory_and_keeps_the_model_in_use():
    source = TinySource(models=("a", "b", "c"))
    a, b, c = source.cards()
    model_bytes = sum(t.numel() * t.element_size() for t in source.load(a).parameters())
    worker = PullWorker(max_models=10, max_bytes=2 * model_bytes)
    for card in (a, b, c):
        worker.model(source, card)
    assert worker.loaded() == ["b", "c"]
    tiny = PullWorker(max_models=10, max_bytes=1)      # smaller than any model: the one in use stays
    tiny.model(source, a)
    tiny.model(source, b)
    assert tiny.loaded() == ["b"]
    clone = pickle.loads(pickle.dumps(worker))
    assert (clone.max_bytes, clone.loaded()) == (2 * model_bytes, [])
