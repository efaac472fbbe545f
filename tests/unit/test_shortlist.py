"""The shortlist: K candidates spanning published accuracy vs MACs/size under weights and hard constraints."""
from __future__ import annotations

import numpy as np
import pytest

from greenrunner_core.constraints import ConstraintError, Constraints
from greenrunner_core.registry.timm_source import TimmSource
from greenrunner_core.reward import Weights
from greenrunner_core.shortlist import Reason, pareto_front, shortlist, spread

DRONE = Weights({"accuracy": 0.63, "size": 0.25, "complexity": 0.21})


@pytest.fixture(scope="module")
def cards():
    return TimmSource().cards()


def test_pareto_front_keeps_only_undominated_points_cheapest_first():
    acc = np.array([0.70, 0.80, 0.75, 0.90, 0.60])
    cost = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    assert pareto_front(acc, cost).tolist() == [4, 0, 1, 3]        # 2 is beaten by 1 (more accurate, cheaper)
    assert spread(np.array([4, 0, 1, 3]), cost, 2) == [4, 3]         # the two ends in log cost


def test_default_shortlist_is_30_with_reasons_best_proxy_first(cards):
    result = shortlist(cards, DRONE)
    assert len(result.entries) == 30 and result.pool_size > 1000
    assert all(e.reasons for e in result.entries)
    rewards = [e.proxy_reward for e in result.entries]
    assert rewards == sorted(rewards, reverse=True)
    reasons = {r for e in result.entries for r in e.reasons}
    assert {Reason.TOP_REWARD, Reason.PARETO_MACS, Reason.PARETO_SIZE, Reason.ROBUST} <= reasons
    assert not any(n.startswith("timm:test_") for n in result.names)      # timm's CI fixtures are not candidates


def test_constraints_apply_before_choosing_and_the_front_spans_the_range(cards):
    limits = Constraints(max_macs=1e9, max_size_mb=40)
    result = shortlist(cards, Weights({"accuracy": 1.0}), limits, k=20)
    assert len(result.entries) == 20 and result.removed
    assert all(e.card.macs <= 1e9 and e.card.size_mb <= 40 for e in result.entries)
    pool = [c for c in cards if c.benchmark_accuracy is not None and c.macs <= 1e9 and c.size_mb <= 40
            and not c.name.startswith("timm:test_")]
    best = max(pool, key=lambda c: c.benchmark_accuracy)
    cheapest = min(pool, key=lambda c: (c.macs, -c.benchmark_accuracy))
    assert best.name in result.names and cheapest.name in result.names   # both ends of the accuracy-MACs front


def test_weights_move_the_shortlist(cards):
    accurate = shortlist(cards, Weights({"accuracy": 1.0}), k=10)
    frugal = shortlist(cards, Weights({"accuracy": 0.2, "size": 1.0, "complexity": 1.0}), k=10)
    top = lambda s: [e.card for e in s.entries if Reason.TOP_REWARD in e.reasons]
    assert np.mean([c.benchmark_accuracy for c in top(accurate)]) > np.mean([c.benchmark_accuracy for c in top(frugal)])
    assert np.mean([c.macs for c in top(frugal)]) < np.mean([c.macs for c in top(accurate)])


def test_constraints_that_remove_everything_say_what_to_relax(cards):
    with pytest.raises(ConstraintError, match="max_size_mb"):
        shortlist(cards, DRONE, Constraints(max_size_mb=0.001))


def test_unknown_metrics_are_left_out_of_the_proxy(cards):
    result = shortlist(cards, Weights({"accuracy": 1.0, "latency": 0.5}), k=5)
    assert result.ignored_weights == ("latency",) and len(result.entries) == 5
