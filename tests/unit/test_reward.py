import math

import numpy as np
import pytest

from greenrunner_core.errors import InvalidWeightsError
from greenrunner_core.reward import RewardModel, Weights, lognorm


def test_eq1_matches_paper_formula_by_hand():
    weights = Weights({"accuracy": 0.63, "size": 0.25, "complexity": 0.21})  # paper's drone weights
    sizes, macs = [1.0, 10.0, 100.0], [1e6, 1e8, 1e7]
    model = RewardModel(weights, ["a", "b", "c"], {"size": sizes, "complexity": macs})
    acc = np.array([0.5, 0.8, 0.9])
    expected = []
    for a, s, m in zip(acc, sizes, macs):
        ls = (math.log(s) - math.log(1)) / (math.log(100) - math.log(1))
        lm = (math.log(m) - math.log(1e6)) / (math.log(1e8) - math.log(1e6))
        expected.append(a * 0.63 - ls * 0.25 - lm * 0.21)
    np.testing.assert_allclose(model.reward(acc), expected)


def test_lognorm_bounds_and_constant():
    np.testing.assert_allclose(lognorm([2, 4, 8]), [0, 0.5, 1])
    np.testing.assert_allclose(lognorm([3, 3]), [0, 0])
    with pytest.raises(ValueError, match="> 0"):
        lognorm([0, 1])


@pytest.mark.parametrize("text, match", [
    ("acc=-1", ">= 0"), ("acc=nan", "finite"), ("acc=inf", "finite"), ("acc=0,size=0", "all weights are zero"),
    ("acc=x", "not a number"), ("accurcy=1", "did you mean"), ("acc", "name=value"), ("acc=1,accuracy=2", "twice"),
    ("acc=0.5 size=0.5", r"separate weights with commas, e\.g\. acc=0\.5,size=0\.5$"),     # said "not a number"
    ("acc = 0.5 size = 0.2", r"e\.g\. acc=0\.5,size=0\.2$"),
])
def test_invalid_weights_are_refused_with_reason(text, match):
    with pytest.raises(InvalidWeightsError, match=match):
        Weights.parse(text)


def test_weights_need_not_sum_to_one_and_aliases_resolve():
    w = Weights.parse("acc=0.63, size=0.25, macs=0.21")
    assert dict(w.values) == {"accuracy": 0.63, "size": 0.25, "complexity": 0.21}


def test_missing_metric_with_weight_is_refused():
    with pytest.raises(InvalidWeightsError, match="latency"):
        RewardModel(Weights({"accuracy": 1, "latency": 0.5}), ["a"], {"size": [1.0]})
