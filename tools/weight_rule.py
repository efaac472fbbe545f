"""The one rule for a reward weight a person gives, whichever front door it comes through (a chat follow-up, a typed
answer to a staged run, the settings panel, the proposal, `greenrunner --weights`): a finite number in [0, 1], where 0
ignores a metric and 1 is the most a weight can count. The core's ``Weights`` accepts any finite weight >= 0 (replays
and benchmarks may scale them); this is the product's rule for what people type."""
from __future__ import annotations

import math
from collections.abc import Mapping

from greenrunner_core.errors import InvalidWeightsError

WEIGHT_RANGE = (0.0, 1.0)
RANGE_TEXT = f"[{WEIGHT_RANGE[0]:g}, {WEIGHT_RANGE[1]:g}]"
WEIGHT_RULE = f"weights are numbers in {RANGE_TEXT}"
WEIGHT_MEANING = "0 ignores a metric, 1 is the most a weight can count"


def weight_ok(value: float) -> bool:
    """Whether ``value`` is a weight a person may give: finite and in ``WEIGHT_RANGE``."""
    return math.isfinite(value) and WEIGHT_RANGE[0] <= value <= WEIGHT_RANGE[1]


def weight_problem(metric: str, value: float) -> str | None:
    """None for a valid weight; else the value and the rule, e.g. ``accuracy=7 (weights are numbers in [0, 1])``."""
    if weight_ok(value):
        return None
    return f"{metric}={value:g} {'' if math.isfinite(value) else 'is not a finite number '}({WEIGHT_RULE})"


def check_weights(weights: Mapping[str, float], fix: str = "e.g. acc=0.63,size=0.25,complexity=0.21") -> None:
    """Raise ``InvalidWeightsError`` naming every weight outside the rule, the range and ``fix``."""
    problems = [p for m, v in weights.items() if (p := weight_problem(m, float(v))) is not None]
    if problems:
        raise InvalidWeightsError(f"not valid: {'; '.join(problems)} — {WEIGHT_MEANING}; {fix}")
