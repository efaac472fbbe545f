"""Re-ranking a finished run under new weights from its observations only (0 new evaluations), and how many more
calls would settle a ranking the cached outcomes leave open."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.experiment import build_ranking, reward_model_for
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import ExperimentResult, RankedModel, Rerank
from greenrunner_core.reward import RewardModel, Weights


def calls_to_resolve(acc: float, pulls: int, n_images: int, half_width: float, z: float = Z_95) -> int:
    """More images a model needs before its accuracy interval half-width is <= ``half_width``."""
    if pulls >= n_images:
        return 0
    p = min(max(acc, 0.02), 0.98)
    if half_width <= 0:
        return n_images - pulls
    ratio = (half_width / z) ** 2 / (p * (1 - p))
    needed = math.ceil(n_images / (1 + (n_images - 1) * ratio))
    return max(0, min(n_images, needed) - pulls)


def rerank(result: ExperimentResult, cards: Sequence[ModelCard], weights: Weights) -> Rerank:
    """Re-rank a finished run under new weights from its observations only (0 new evaluations)."""
    by_name = {c.name: c for c in cards}
    missing = [n for n in result.observations if n not in by_name]
    if missing:
        raise GreenRunnerError(f"cannot re-rank: no model card for {', '.join(missing)}")
    cards = [by_name[n] for n in result.observations]
    reward_model = reward_model_for(cards, weights)
    pulls = np.array([result.observations[c.name][0] for c in cards])
    successes = np.array([result.observations[c.name][1] for c in cards])
    excluded = {i: result.excluded[c.name] for i, c in enumerate(cards) if c.name in result.excluded}
    acc, low, high = accuracy_interval(pulls, successes, result.n_images)
    est = reward_model.reward(acc)
    r_low, r_high = reward_model.reward(low), reward_model.reward(high)
    alive = [i for i in range(len(cards)) if i not in excluded]
    seen = [i for i in alive if pulls[i] > 0]
    order = sorted(seen, key=lambda i: -est[i]) + [i for i in alive if pulls[i] == 0] + list(excluded)
    leader = order[0]
    contenders = [i for i in alive if i != leader and r_high[i] > r_low[leader]]
    calls = 0
    if contenders and reward_model.accuracy_weight > 0:
        for i in contenders + [leader]:
            other = est[i] if i != leader else est[contenders[0]]
            gap = float(abs(est[leader] - other)) if pulls[i] and np.isfinite(other) else 0.0  # unseen: no gap known
            calls += calls_to_resolve(float(np.nan_to_num(acc[i], nan=0.5)), int(pulls[i]), result.n_images,
                                      gap / (2 * reward_model.accuracy_weight))
    ranking = build_ranking(cards, order, pulls, successes, result.n_images, reward_model, excluded)
    return Rerank(weights=dict(weights.values), ranking=ranking, settled=not contenders,
                  calls_to_settle=int(calls), contenders=[cards[i].name for i in contenders])




def reward_terms(ranking: Sequence[RankedModel], weights: Weights) -> dict[str, dict[str, float]]:
    """Each model's reward split into one signed term per weighted metric (Eq. 1 over the models of ``ranking``;
    a model not evaluated counts accuracy 0): what an explanation of a pick says."""
    known: dict[str, list[float]] = {"size": [r.size_mb for r in ranking], "complexity": [float(r.macs) for r in ranking]}
    if all(r.latency_ms is not None for r in ranking):
        known["latency"] = [float(r.latency_ms) for r in ranking]  # type: ignore[arg-type]
    model = RewardModel(weights, [r.name for r in ranking], known)
    terms = model.terms([r.est_accuracy or 0.0 for r in ranking])
    return {r.name: {metric: float(values[i]) for metric, values in terms.items()} for i, r in enumerate(ranking)}
