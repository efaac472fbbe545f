"""Concurrent runs never overwrite a report (issue 14 item 4): names are reserved by creating the JSON file
exclusively, so runs finishing in the same second (threads here, processes in practice) get distinct names."""
from __future__ import annotations

import json
import threading
from pathlib import Path
from unittest import mock

from greenrunner_core.experiment import run_experiment
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from ui.cli import _write_reports


def test_eight_runs_finishing_in_the_same_second_keep_eight_reports(tmp_path: Path) -> None:
    results = [run_experiment(ReplayEnvironment(synthetic_matrix(n_models=4, n_images=40)), Weights({"accuracy": 1.0}),
                              make_strategy("ucb1", seed=seed, batch_size=4), budget=60) for seed in range(8)]
    barrier = threading.Barrier(len(results))
    written: list[tuple[Path, Path]] = []

    def finish(result) -> None:
        barrier.wait()
        written.append(_write_reports(result, tmp_path, "accuracy=1"))

    with mock.patch("ui.cli.time.strftime", return_value="20261130-120000"):
        threads = [threading.Thread(target=finish, args=(r,)) for r in results]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    json_paths = {j for j, _ in written}
    assert len(json_paths) == 8 and {h for _, h in written} == {j.with_suffix(".html") for j in json_paths}
    seeds = sorted(json.loads(p.read_text())["params"]["seed"] for p in json_paths)
    assert seeds == list(range(8))                         # each file holds its own run, none overwritten
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(p.name for p in json_paths)
