"""Latency as a metric: median/p90 per image at batch 1 and at the evaluation batch size (warm-up excluded), cached per
weights + preprocess + hardware, usable as the reward's "latency" with its own weight — and a clear error without it."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from greenrunner_core import latency
from greenrunner_core.errors import InvalidWeightsError
from greenrunner_core.latency import LatencyCache, LatencyStats, hardware_fingerprint, measure_latency
from greenrunner_core.notes import LatencyMeasured
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.reward import Weights
from greenrunner_core.workspace import Workspace
from tools.notes_text import words

PRE = Preprocess(crop=(4, 4), mean=(0.5,), std=(0.5,), channels=1)


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(16, 3)
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(int(x.shape[0]))
        return self.fc(x.flatten(1))


def _card(weights_id: str = "w1") -> ModelCard:
    return ModelCard(name="m", source="t", family="toy", params=51, size_mb=0.01, macs=48, preprocess=PRE,
                     class_labels=("a", "b", "c"), weights_id=weights_id)


def test_measures_batch_1_and_the_evaluation_batch_after_warm_up():
    model = Counting()
    stats = measure_latency(model, (1, 4, 4), batch_size=8, warmup=2)
    ones, eights = model.batches.count(1), model.batches.count(8)
    assert model.batches[:2] == [1, 1] and model.batches[ones:ones + 2] == [8, 8]   # warm-up first, then timed
    assert stats.repeats == min(ones, eights) - 2 >= latency.MIN_REPEATS // 2
    assert 0 < stats.median_ms <= stats.p90_ms and 0 < stats.batch_median_ms <= stats.batch_p90_ms
    assert stats.batch_size == 8 and stats.hardware_id and "torch" in stats.hardware
    fp = hardware_fingerprint()
    assert {"cpu", "torch", "threads"} <= set(fp) and fp["threads"] == torch.get_num_threads()


def test_cached_per_weights_preprocess_and_hardware(tmp_path, monkeypatch):
    path = tmp_path / "latency.json"
    loads = []

    def load():
        loads.append(1)
        return Counting()

    cache = LatencyCache(path)
    first, cached = cache.measure(_card(), load, batch_size=4)
    assert not cached and len(loads) == 1
    again, cached = LatencyCache(path).measure(_card(), load, batch_size=4)    # read back from disk
    assert cached and again == first and len(loads) == 1
    _, cached = cache.measure(_card("w2"), load, batch_size=4)                 # new weights: measured again
    assert not cached and len(loads) == 2
    _, cached = cache.measure(_card(), load, batch_size=16)                    # other evaluation batch size
    assert not cached and len(loads) == 3
    real = hardware_fingerprint()
    monkeypatch.setattr(latency, "hardware_fingerprint", lambda: {**real, "threads": real["threads"] + 7})
    _, cached = cache.measure(_card(), load, batch_size=4)                     # other machine/threads
    assert not cached and len(loads) == 4
    (tmp_path / "broken.json").write_text("{not json")
    assert len(LatencyCache(tmp_path / "broken.json")) == 0
    assert LatencyStats.from_dict({**first.__dict__, "unknown_key": 1}) == first


@pytest.fixture(scope="module")
def ws():
    return Workspace(include_torchvision=False)      # the session cache: the demo zoo is built once per session


def test_a_latency_weight_without_measuring_it_says_how_to_enable_it(ws):
    with pytest.raises(InvalidWeightsError, match="--measure-latency") as err:
        ws.select(Weights({"accuracy": 0.8, "latency": 0.2}), models=["demo_linear", "demo_mlp_tiny"], sample=20,
                  budget=20)
    assert "Workspace(measure_latency=True)" in str(err.value)


def test_latency_is_measured_once_and_weighted_in_the_reward(ws):
    timed = Workspace(cache_dir=ws.cache_dir, include_torchvision=False, measure_latency=True)
    models = ["demo_linear", "demo_mlp_tiny", "demo_lenet"]
    result, _ = timed.select(Weights({"accuracy": 0.5, "latency": 0.5}), models=models, sample=30, budget=60,
                             strategy="successive_halving")
    assert result.weights == {"accuracy": 0.5, "latency": 0.5}
    assert set(result.latency) == set(models)
    for r in result.ranking:
        assert r.latency_ms == pytest.approx(result.latency[r.name].median_ms)
        assert result.latency[r.name].batch_size == 16
        assert timed.registry.get(r.name).known_metrics()["latency"] == r.latency_ms
    assert any(isinstance(n, LatencyMeasured) and n.repeats > 0 for n in result.notes)
    assert any(n.startswith("latency measured on") for n in words(result.notes))
    # a second workspace on the same cache reads the figures instead of timing again
    again = Workspace(cache_dir=ws.cache_dir, include_torchvision=False, measure_latency=True)
    assert len(again.latency_cache) >= 3
    cards = again.candidates(models, None)
    assert [c.known_metrics()["latency"] for c in cards] == [result.latency[m].median_ms for m in models]
