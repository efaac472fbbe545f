"""A real Ray cluster (``ray start --head`` on 127.0.0.1, 2 CPUs, 200 MB object store, no dashboard) gives the
same answer as one process: same top 3 and calls for a seed on the demo zoo (CLI, --ray-address) and on the
CIFAR-10 checkpoints, nothing re-evaluated on a rerun, a killed worker replaced with its pull retried, a model
that cannot load on a worker excluded with its reason. Every Ray process started here is stopped at the end."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from greenrunner_core.environment import ModelFailedError
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.execution import ExecutionSettings
from greenrunner_core.execution.ray_backend import RayBackend
from greenrunner_core.experiment import run_experiment
from greenrunner_core.outcome_cache import OutcomeCache
from greenrunner_core.registry.base import Registry
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import DEFAULT_STRATEGY, make_strategy
from greenrunner_core.workspace import Workspace
from tests.conftest import SHARED_DATA
from tests.integration.ray_cluster import LocalRayHead
from tests.unit.test_execution import RandomSubsets
from tools.text import execution_text

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = "acc=0.63,size=0.25,complexity=0.21"
DEMO_SAMPLE = 200
CIFAR_MODELS = ["resnet20_akamaster", "resnet32_akamaster", "resnet20_chenyaofo", "shufflenetv2_x0_5_chenyaofo"]


@pytest.fixture(scope="module")
def head():
    ray = pytest.importorskip("ray")
    with LocalRayHead(num_cpus=2, object_store_mb=200) as cluster:
        try:
            yield cluster
        finally:
            if ray.is_initialized():
                ray.shutdown()
    assert cluster.leftovers() == [], "Ray processes outlived the test cluster"


@pytest.fixture(scope="module")
def zoo(_isolated_cache):
    """The demo zoo, built once; each run below gets a fresh outcome cache next to a copy of it."""
    Workspace(cache_dir=_isolated_cache, include_torchvision=False).demo.ensure_built()
    return _isolated_cache / "demo_zoo"


def fresh_cache(tmp_path: Path, name: str, zoo: Path) -> Path:
    cache = tmp_path / name
    shutil.copytree(zoo, cache / "demo_zoo")
    return cache


def cli_select(cache: Path, out: Path, *extra: str) -> dict:
    env = os.environ | {"GREENRUNNER_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-m", "ui.cli", "select", "--weights", WEIGHTS, "--no-torchvision",
                           "--sample", str(DEMO_SAMPLE), "--seed", "3", "--out", str(out), *extra],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    (report,) = sorted(out.glob("*.json"))[-1:]
    data = json.loads(report.read_text())
    report.unlink()
    return data


def test_demo_zoo_cli_on_the_cluster_matches_one_process_and_reruns_nothing(head, zoo, tmp_path):
    reference, _ = Workspace(cache_dir=fresh_cache(tmp_path, "single", zoo), include_torchvision=False).select(
        Weights.parse(WEIGHTS), sample=DEMO_SAMPLE, seed=3)
    single = reference.to_dict()
    cluster_cache = fresh_cache(tmp_path, "cluster", zoo)
    args = ("--ray-address", head.address, "--workers", "2")
    first = cli_select(cluster_cache, tmp_path / "r2", *args)
    assert first["top3"] == single["top3"]
    assert first["observations"] == {k: list(v) for k, v in single["observations"].items()}   # same calls per model
    assert first["spent"]["calls"] == single["spent"]["calls"]
    assert first["spent"]["new_evaluations"] == single["spent"]["new_evaluations"] > 0
    where = ExperimentResult.from_dict(first).execution         # typed in the JSON report, worded by the tools
    assert where.ray and where.started and where.workers == 2 and where.ray_address.startswith("127.0.0.1")
    assert execution_text(where).startswith("Ray: 2 worker(s)") and "cluster at 127.0.0.1" in execution_text(where)
    assert all(w.startswith("w") for where in first["placement"].values() for w in where)
    assert sum(a["evaluations"] for a in first["workers"].values()) == first["spent"]["new_evaluations"]
    assert single["placement"] and all(where == ["local"] for where in single["placement"].values())
    again = cli_select(cluster_cache, tmp_path / "r3", *args)
    assert again["spent"]["new_evaluations"] == 0 and not again["workers"]     # all cached: no worker was needed
    assert again["top3"] == first["top3"] and again["observations"] == first["observations"]


def test_concurrent_steps_on_one_and_two_workers_match_one_process(head, zoo, tmp_path):
    """A strategy whose steps hold several pulls: the same calls and ranking in process, on 1 and on 2 workers."""
    answers = {}
    for workers in (0, 1, 2):
        execution = ExecutionSettings(workers=workers, ray_address=head.address if workers else None)
        ws = Workspace(cache_dir=fresh_cache(tmp_path, f"w{workers}", zoo), include_torchvision=False,
                       execution=execution)
        try:
            cards = ws.candidates(None, None)
            env = ws.environment(cards, ws.dataset(None, cards, sample=120, seed=1), batch_size=16)
            result = run_experiment(env, Weights.parse(WEIGHTS), RandomSubsets(seed=5, batch_size=8), 240)
        finally:
            ws.close()
        answers[workers] = ([r.name for r in result.ranking], result.observations, result.spent.new_evaluations)
        if workers == 2:
            assert len(result.workers) == 2                 # both workers computed
    assert answers[1] == answers[0]
    assert answers[2] == answers[0]


def test_cifar10_checkpoints_on_the_cluster_match_one_process(head, zoo, tmp_path):
    models, test = SHARED_DATA / "cifar10" / "models", SHARED_DATA / "cifar10" / "test"
    if not models.is_dir() or not test.is_dir():
        pytest.skip(f"CIFAR-10 checkpoints/images not found under {SHARED_DATA / 'cifar10'}")
    data = tmp_path / "cifar-150"                       # 15 test images per class (a 10,000-image scan costs minutes)
    for folder in sorted(p for p in test.iterdir() if p.is_dir()):
        (data / folder.name).mkdir(parents=True)
        for image in sorted(folder.iterdir())[:15]:
            shutil.copy(image, data / folder.name / image.name)
    subset = tmp_path / "cifar-models"                 # only the 4 checkpoints used: the scan measures MACs per file
    subset.mkdir()
    for pattern in ("akamaster_resnet20-*", "akamaster_resnet32-*", "chenyaofo_cifar10_resnet20-*",
                    "chenyaofo_cifar10_shufflenetv2_x0_5-*"):
        for path in models.glob(pattern):
            (subset / path.name).symlink_to(path)
    ws = Workspace(cache_dir=fresh_cache(tmp_path, "cifar", zoo), checkpoints=[subset], include_torchvision=False)
    cards = ws.candidates(CIFAR_MODELS, str(data))          # one registry scan (MACs are measured per scan)
    dataset = ws.dataset(str(data), cards)
    backend = RayBackend(ExecutionSettings(workers=2, ray_address=head.address))
    results = []
    try:
        for env in (ws.environment(cards, dataset, batch_size=16),
                    LiveEnvironment(ws.registry, cards, dataset, OutcomeCache(tmp_path / "cluster.sqlite"),
                                    batch_size=16, backend=backend)):
            results.append(run_experiment(env, Weights({"accuracy": 1.0}),
                                          make_strategy(DEFAULT_STRATEGY, seed=2, batch_size=16), 300))
    finally:
        backend.close()
    single, cluster = results
    assert [r.name for r in cluster.top3] == [r.name for r in single.top3]
    assert cluster.observations == single.observations and cluster.spent.calls == single.spent.calls
    assert execution_text(cluster.execution).startswith("Ray") and set(cluster.placement) <= set(CIFAR_MODELS)


def test_a_killed_worker_is_replaced_and_its_pull_retried(head, zoo, tmp_path):
    reference, _ = Workspace(cache_dir=fresh_cache(tmp_path, "ref", zoo), include_torchvision=False).select(
        Weights.parse(WEIGHTS), sample=DEMO_SAMPLE, seed=4)
    ws = Workspace(cache_dir=fresh_cache(tmp_path, "killed", zoo), include_torchvision=False,
                   execution=ExecutionSettings(workers=2, ray_address=head.address))
    try:
        backend = ws.backend
        before = backend.worker_pids()
        killed: list[int] = []

        def kill_soon(event) -> None:                         # on the first progress event: kill worker 0 mid-run
            if not killed:
                killed.append(before[0])
                threading.Timer(0.02, os.kill, (before[0], signal.SIGKILL)).start()

        result, _ = ws.select(Weights.parse(WEIGHTS), sample=DEMO_SAMPLE, seed=4, progress=kill_soon)
        after, alive = backend.worker_pids(), list(backend.alive)
    finally:
        ws.close()
    assert killed and after[0] != before[0] and after[1] == before[1]   # worker 0 was replaced, worker 1 untouched
    assert alive == [True, True]
    assert [r.name for r in result.top3] == [r.name for r in reference.top3]
    assert result.observations == reference.observations
    assert not result.excluded


def test_a_model_that_cannot_load_on_a_worker_is_excluded_with_its_reason(head, zoo, tmp_path):
    from greenrunner_core.evaluator import Evaluator
    from greenrunner_core.registry.torchvision_catalog import TorchvisionSource

    ws = Workspace(cache_dir=fresh_cache(tmp_path, "bad", zoo), include_torchvision=False)
    offline = TorchvisionSource(allow_download=False)
    registry = Registry([ws.demo, offline])
    tv_card = next(c for c in offline.cards() if c.name == "squeezenet1_0")
    demo_card = registry.get("demo_lenet")
    dataset = ws.dataset(None, [demo_card], sample=20, seed=0)
    backend = RayBackend(ExecutionSettings(workers=1, ray_address=head.address))
    try:
        evaluator = Evaluator(registry, dataset, OutcomeCache(tmp_path / "bad.sqlite"), batch_size=8, backend=backend)
        failed, ok = evaluator.predict_many([(tv_card, dataset.images[:8]), (demo_card, dataset.images[:8])])
    finally:
        backend.close()
    if not isinstance(failed, ModelFailedError):
        pytest.skip("squeezenet1_0 weights are cached on this machine, so nothing fails to load")
    assert "downloads are disabled" in failed.reason and failed.model == "squeezenet1_0"
    assert len(ok) == 8 and np.all([o.prediction >= 0 for o in ok])


def test_ctrl_c_cancels_outstanding_tasks_and_keeps_what_finished(head, zoo, tmp_path):
    cache = fresh_cache(tmp_path, "interrupted", zoo)
    ws = Workspace(cache_dir=cache, include_torchvision=False,
                   execution=ExecutionSettings(workers=2, ray_address=head.address))
    events: list[int] = []

    def interrupt_soon(event) -> None:                        # Ctrl-C while the next batches are in flight
        events.append(event.spent)
        if len(events) == 3:
            threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)).start()

    try:
        first, _ = ws.select(Weights.parse(WEIGHTS), sample=DEMO_SAMPLE, seed=5, strategy="brute_force",
                             progress=interrupt_soon)
        backend = ws.backend
        assert backend.worker_pids()                          # the workers are free again: nothing left queued
    finally:
        ws.close()
    assert first.interrupted and 0 < first.spent.new_evaluations < first.brute_force.calls
    rows = ws.outcome_cache.stats().rows
    assert rows == first.spent.new_evaluations               # every batch that finished was written
    rerun, _ = Workspace(cache_dir=cache, include_torchvision=False).select(
        Weights.parse(WEIGHTS), sample=DEMO_SAMPLE, seed=5, strategy="brute_force")
    assert not rerun.interrupted
    assert rerun.spent.new_evaluations == rerun.brute_force.calls - rows     # nothing written is repeated
