"""User metrics run in child processes: a timed-out measurement is really stopped, user code never runs here."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import torch

from greenrunner_core import metrics_protocol
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.user_metric_runs import UserCodeError, call_in_subprocess, load_metric, measure_metric

CARD = ModelCard(name="m", source="test", family="t", params=1, size_mb=0.1, macs=1,
                 preprocess=Preprocess(crop=(2, 2), mean=(0.0,), std=(1.0,), channels=1), class_labels=("a", "b"),
                 weights_id="w")


def _metric(folder: Path, name: str, body: str) -> None:
    check = metrics_protocol.write_stub(name, "test metric", folder=folder)
    text = check.path.read_text()
    start = text.index("    def measure(")
    end = text.index("\n\nMETRIC =")
    check.path.write_text(text[:start] + body + text[end:])
    metrics_protocol.enable_metric(name, folder)


def test_a_timed_out_measurement_is_killed_not_left_running(tmp_path: Path) -> None:
    marker = tmp_path / "still_running"
    _metric(tmp_path, "slow_writer", "    def measure(self, model, card, images, correct):\n"
                                     "        import pathlib, time\n        time.sleep(1.5)\n"
                                     f"        pathlib.Path({str(marker)!r}).write_text('x')\n        return 1.0\n")
    metric = load_metric("slow_writer", tmp_path, timeout=30)
    run = measure_metric(metric, [(CARD, lambda: None)], lambda c: (None, []), timeout=0.3)
    assert "TimeoutError" in run.errors["m"]
    time.sleep(2.0)
    assert not marker.exists()                          # a thread would have gone on and written it


def test_user_code_runs_only_in_children_and_sees_the_model(tmp_path: Path) -> None:
    _metric(tmp_path, "param_sum", "    def measure(self, model, card, images, correct):\n"
                                   "        return float(sum(p.sum() for p in model.parameters())) + len(correct)\n")
    metric = load_metric("param_sum", tmp_path)
    assert (metric.name, metric.direction) == ("param_sum", "higher")
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.5)
    run = measure_metric(metric, [(CARD, lambda: model)], lambda c: (torch.zeros(1, 1, 2, 2), [frozenset({0})]))
    assert run.values == {"m": pytest.approx(5.0 + 1)} and not run.errors
    assert not [m for m in sys.modules if m.startswith("greenrunner_user_metric_")]


def test_child_errors_come_back_by_type() -> None:
    with pytest.raises(ZeroDivisionError):
        call_in_subprocess(lambda: 1 / 0, timeout=10)

    class Local(Exception):                             # defined in a function: cannot be pickled back
        pass

    def boom() -> None:
        raise Local("no pickling for me")

    with pytest.raises(UserCodeError, match="Local: no pickling for me"):
        call_in_subprocess(boom, timeout=10)
    assert call_in_subprocess(lambda: torch.ones(3).sum().item(), timeout=10) == 3.0
