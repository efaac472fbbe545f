"""The brute-force seconds/joules estimate: one-time costs left out, calls priced at brute force's batch size,
models never evaluated extrapolated from measured latency or a fitted power law in MACs (not seconds per MAC)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from greenrunner_core.batch_rates import BatchCosts, rates_at_batch
from greenrunner_core.call_rates import REFERENCE_MACS_PER_SECOND, call_rates
from greenrunner_core.costs import brute_force_cost
from greenrunner_core.data import load_target
from greenrunner_core.environment import Accounting
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.notes import BruteForceExtrapolated
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.result import Cost
from tools.notes_text import word

LABELS = ("red", "green", "blue")
PRE = Preprocess(crop=(8, 8), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize=9)
SET_UP = 0.3      # seconds the slow model's first forward pass takes (lazy set-up)


def _card(name: str, macs: int, latency: float | None = None) -> ModelCard:
    card = ModelCard(name=name, source="t", family="t", params=10, size_mb=0.1, macs=macs, preprocess=PRE,
                     class_labels=LABELS, weights_id=f"{name}-w")
    return card.with_metrics(latency=latency) if latency is not None else card


class SlowFirstCall(nn.Module):
    """Its first forward pass after loading takes SET_UP seconds more (a one-time set-up), the rest are quick."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 3)
        self.first = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.first:
            self.first = False
            time.sleep(SET_UP)
        return self.linear(x.mean(dim=(2, 3)))


@dataclass
class SlowSource:
    name: str = "slow"

    def cards(self) -> list[ModelCard]:
        return [_card("slow-a", 1000), _card("slow-b", 1000)]

    def load(self, card: ModelCard) -> nn.Module:
        return SlowFirstCall().eval()


@pytest.fixture()
def dataset(tmp_path: Path):
    root = tmp_path / "images"
    for c in LABELS:
        (root / c).mkdir(parents=True)
        for k in range(20):
            arr = np.full((10, 12, 3), 40 * LABELS.index(c), dtype=np.uint8)
            arr[0, 0] = (k, k, k)
            Image.fromarray(arr).save(root / c / f"{c}_{k}.png")
    return load_target(root)


def test_a_one_time_set_up_is_not_multiplied_by_the_images(dataset, tmp_path):
    # each model pays SET_UP once when loaded; brute force would pay it twice, not once per image
    registry = Registry([SlowSource()])
    with OutcomeCache(tmp_path / "c.sqlite") as cache:
        env = LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=4)
        env.pull(0, [0, 1, 2, 3])
        env.pull(1, [0, 1, 2, 3])
        spent = env.accounting.total()
        assert spent.one_time_seconds >= 2 * SET_UP          # counted as one-time, per load
        assert spent.compute_seconds < SET_UP                 # not in the calls' seconds
        per_model = {n: Cost(calls=a.calls, compute_seconds=a.compute_seconds) for n, a in env.accounting.per_model.items()}
        brute, _ = brute_force_cost(env.cards, len(dataset.images), per_model, env.accounting)
    n = len(dataset.images)
    steady = sum(n * a.compute_seconds / a.calls for a in env.accounting.per_model.values())
    with_set_up = sum(n * (a.compute_seconds + a.one_time_seconds) / a.calls for a in env.accounting.per_model.values())
    assert brute.compute_seconds <= steady * (1 + 1e-9)        # per-call seconds x images, nothing more
    assert brute.compute_seconds < with_set_up / 4             # the old estimate: SET_UP / 4 calls x 60 images


def test_calls_are_priced_at_the_batch_size_brute_force_uses():
    # per-call seconds r + o/k (r = 1 ms per image, o = 4 ms per batch), read at k = 1, 2 and 4 as a strategy does
    costs = BatchCosts()
    for k, times in ((1, 3), (2, 3), (4, 3)):
        for _ in range(times):
            for _ in range(k):
                costs.add(k, 0.001 + 0.004 / k)
    assert rates_at_batch({"m": costs}, 16)["m"] == pytest.approx(0.001 + 0.004 / 16)
    accounting = Accounting(eval_batch=16, seconds_by_batch={"m": costs})
    calls = sum(len(v) for v in costs.by_size.values())
    spent = sum(sum(v) for v in costs.by_size.values())
    brute, notes = brute_force_cost([_card("m", 1000)], 100, {"m": Cost(calls=calls, compute_seconds=spent)},
                                    accounting)
    assert brute.compute_seconds == pytest.approx(100 * (0.001 + 0.004 / 16))
    assert spent / calls * 100 > 2 * brute.compute_seconds                # the mean of small batches: 2.2x too much
    assert notes and notes[0].batch == 16 and "at batches of 16 images" in word(notes[0])


def test_a_size_read_once_is_set_up_and_a_bigger_batch_never_costs_more():
    costs = BatchCosts()
    for _ in range(4):
        costs.add(16, 0.002)
    for _ in range(16):
        costs.add(16, 0.050)              # the first batch of 16: set-up; dropped from the mean of 5 batches
    assert rates_at_batch({"m": costs}, 16)["m"] == pytest.approx(0.002)
    once = BatchCosts()
    for _ in range(8):
        once.add(8, 0.003)
    assert rates_at_batch({"m": once}, 16)["m"] <= 0.003


def test_a_model_evaluated_on_every_image_keeps_what_it_cost():
    costs = BatchCosts()
    for _ in range(10):
        costs.add(5, 0.001)
    costs.add(5, 0.5)                      # one slow batch: brute force paid it too
    accounting = Accounting(eval_batch=5, seconds_by_batch={"m": costs})
    brute, notes = brute_force_cost([_card("m", 10)], 11, {"m": Cost(calls=11, compute_seconds=0.51)}, accounting)
    assert brute.compute_seconds == pytest.approx(0.51) and notes == []


def test_unmeasured_models_follow_the_fitted_power_of_macs():
    cards = [_card("a", 10_000), _card("b", 1_000_000), _card("big", 100_000_000)]
    flat = {"a": 1e-4, "b": 1e-4}              # overhead-bound: cost does not grow with MACs
    rates, basis = call_rates(cards, flat)
    assert rates["big"] == pytest.approx(1e-4) and basis.fitted and basis.mac_exponent == pytest.approx(0.0)
    compute = {"a": 1e-5, "b": 1e-3}           # compute-bound: proportional, as seconds per MAC had it
    rates, basis = call_rates(cards, compute)
    assert rates["big"] == pytest.approx(0.1) and basis.mac_exponent == pytest.approx(1.0)
    # one model size: its per-call cost is mostly overhead; the extra MACs cost at most 1 / REFERENCE each
    one, basis = call_rates(cards, {"a": 1e-4})
    extra = (100_000_000 - 10_000) / REFERENCE_MACS_PER_SECOND
    assert one["big"] == pytest.approx(1e-4 + extra) and not basis.fitted    # seconds per MAC said 1.0 s (100x)
    assert basis.macs_per_second == REFERENCE_MACS_PER_SECOND
    cifar, _ = call_rates([_card("r56", 125_000_000), _card("r20", 40_000_000)], {"r56": 3.4e-3})
    assert cifar["r20"] == pytest.approx(3.4e-3 * 40 / 125)   # compute-bound (37 GMAC/s measured): proportional


def test_measured_latency_is_used_before_macs():
    cards = [_card("a", 1000, latency=2.0), _card("b", 1000, latency=8.0), _card("c", 10**9)]
    rates, basis = call_rates(cards, {"a": 0.001})   # measured at half its latency: "b" gets 8 ms x 0.5 / 1000
    assert rates["b"] == pytest.approx(0.004)
    assert (basis.measured, basis.from_latency, basis.by_macs) == (1, 1, 1)


def test_the_note_says_what_the_estimate_rests_on():
    cards = [_card("a", 10_000), _card("b", 1_000_000), _card("c", 5_000_000)]
    per_model = {"a": Cost(calls=10, compute_seconds=0.01, joules=0.1, energy_calls=10),
                 "b": Cost(calls=10, compute_seconds=0.01, joules=0.1, energy_calls=10)}
    _, notes = brute_force_cost(cards, 100, per_model)
    seconds = next(n for n in notes if isinstance(n, BruteForceExtrapolated) and n.quantity == "seconds")
    assert (seconds.measured, seconds.total, seconds.fitted, seconds.one_time_excluded) == (2, 3, True, True)
    assert "the other 1 scaled by MACs^0, fitted on the measured models" in word(seconds)
    assert "one-time model loads and warm-up left out" in word(seconds)


def test_energy_of_unmeasured_models_follows_their_estimated_time():
    cards = [_card("a", 10_000), _card("b", 1_000_000), _card("c", 5_000_000)]
    per_model = {"a": Cost(calls=10, compute_seconds=0.01, joules=0.2, energy_calls=10),       # 20 W
                 "b": Cost(calls=10, compute_seconds=0.02, joules=0.2, energy_calls=10),       # 10 W
                 "c": Cost(calls=10, compute_seconds=0.03)}                                   # no energy recorded
    brute, notes = brute_force_cost(cards, 100, per_model)
    assert brute.joules == pytest.approx(100 * (0.02 + 0.02 + 15.0 * 0.003))
    energy = next(n for n in notes if n.quantity == "energy")
    assert energy.via_seconds and "the other 1: their estimated time x the measured joules per second" in word(energy)


def test_the_cache_keeps_each_calls_batch_size(tmp_path):
    with OutcomeCache(tmp_path / "c.sqlite") as cache:
        cache.put_many("m", "w", "p", {"i": Outcome(1, 0.5, 0.01, None, None, 4), "j": Outcome(2, 0.5, 0.01)})
        got = cache.get_many("m", "w", "p", ["i", "j"])
    assert got["i"].batch == 4 and got["j"].batch is None
