"""A budgeted selection run -> ``ExperimentResult`` (``greenrunner_core/result.py``): the ranking with estimated
reward and uncertainty per model, what was spent, and the same figures for brute force so savings can be reported.

Baselines in the same shape: ``baselines.py``; re-ranking a finished run: ``rerank.py``; costs: ``costs.py``.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from greenrunner_core.cancel import CancelToken
from greenrunner_core.costs import brute_force_cost, cost_of, fill_unrecorded_energy
from greenrunner_core.energy_kind import NOT_MEASURED, is_estimated
from greenrunner_core.energy_ledger import WORLD_AVERAGE, EnergyLedger
from greenrunner_core.environment import Environment
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.execution import environment_executor
from greenrunner_core.notes import EnergyEstimated, ModelLeftOut, RunNote, Stopped, StopReason
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import ExperimentResult, RankedModel
from greenrunner_core.reward import RewardModel, Weights
from greenrunner_core.strategies.base import Executor, Strategy
from greenrunner_core.strategies.progress import ProgressCallback
from greenrunner_core.strategies.state import BanditState

__all__ = ["ExperimentResult", "assemble_result", "build_ranking", "reward_model_for", "run_experiment"]


def reward_model_for(cards: Sequence[ModelCard], weights: Weights) -> RewardModel:
    """Eq. 1 over this candidate set (normalisation uses exactly these models)."""
    names = [c.name for c in cards]
    known: dict[str, list[float]] = {}
    for metric in {m for c in cards for m in c.known_metrics()}:
        values = [c.known_metrics().get(metric) for c in cards]
        if all(v is not None for v in values):
            known[metric] = [float(v) for v in values]  # type: ignore[arg-type]
    return RewardModel(weights, names, known)


def build_ranking(cards: Sequence[ModelCard], order: Sequence[int], pulls: np.ndarray, successes: np.ndarray,
                  n_images: int, reward_model: RewardModel, excluded: Mapping[int, str],
                  z: float = Z_95, estimates: np.ndarray | None = None) -> list[RankedModel]:
    """One row per model in ``order``. ``estimates`` (reward per model) are the strategy's own point estimates
    when its order uses other than the plain ones (e.g. paired, control-variate estimates): the rows then show
    them, with accuracy and both intervals shifted by the same amount, so the table shows what the order uses."""
    acc, low, high = accuracy_interval(pulls, successes, n_images, z)
    if estimates is not None and reward_model.accuracy_weight > 0:
        plain = reward_model.reward(acc)
        shift = np.where(np.isfinite(estimates) & (pulls > 0) & (pulls < n_images),
                         (np.asarray(estimates, dtype=float) - plain) / reward_model.accuracy_weight, 0.0)
        acc, low, high = (np.clip(a + shift, 0.0, 1.0) for a in (acc, low, high))
    reward = reward_model.reward(acc)
    r_low, r_high = reward_model.reward(low), reward_model.reward(high)
    out = []
    for rank, i in enumerate(order, start=1):
        c = cards[i]
        seen = pulls[i] > 0
        out.append(RankedModel(
            rank=rank, name=c.name, family=c.family, pulls=int(pulls[i]),
            est_accuracy=float(acc[i]) if seen else None, acc_low=float(low[i]), acc_high=float(high[i]),
            est_reward=float(reward[i]) if seen else None, reward_low=float(r_low[i]), reward_high=float(r_high[i]),
            size_mb=float(c.size_mb), macs=int(c.macs), benchmark_accuracy=c.benchmark_accuracy,
            exact=bool(pulls[i] >= n_images), excluded=excluded.get(i),
            latency_ms=c.known_metrics().get("latency")))
    return out


def assemble_result(strategy: str, params: dict[str, Any], weights: Weights, budget: int, env: Environment, dataset: str,
            state_like: BanditState, ranking_order: Sequence[int], interrupted: bool, stop_reason: StopReason,
            wall: float, use_case: str, extra_notes: Sequence[RunNote] = ()) -> ExperimentResult:
    cards = env.cards
    ranking = build_ranking(cards, ranking_order, state_like.pulls, state_like.successes, state_like.n_images,
                            state_like.reward_model, state_like.excluded, estimates=state_like.estimates)
    ledger: EnergyLedger | None = getattr(env, "energy", None)
    spent, per_model = cost_of(env.accounting, ledger)
    energy_notes = fill_unrecorded_energy(cards, per_model, spent) if ledger is not None else []
    brute, notes = brute_force_cost(cards, len(env.image_ids), per_model, env.accounting)
    excluded = {cards[i].name: reason for i, reason in state_like.excluded.items()}
    all_notes = [*extra_notes, *notes, *energy_notes, *(ModelLeftOut(n, "failed", r) for n, r in excluded.items())]
    energy_kind = spent.energy_kind if ledger is not None else NOT_MEASURED
    carbon = ledger.carbon if ledger is not None else WORLD_AVERAGE
    if ledger is not None and is_estimated(energy_kind):
        all_notes.append(EnergyEstimated(energy_kind, ledger.meter))
    if interrupted:
        all_notes.append(stop_reason)       # the typed ``Interrupted`` stop: a note of the run too
    return ExperimentResult(
        strategy=strategy, params=params, weights=dict(weights.values), budget=budget, n_models=len(cards),
        n_images=len(env.image_ids), dataset=dataset, ranking=ranking, spent=spent, brute_force=brute,
        per_model=per_model, observations={c.name: (int(state_like.pulls[i]), int(state_like.successes[i]))
                                           for i, c in enumerate(cards)},
        excluded=excluded, notes=all_notes, interrupted=interrupted, stop_reason=stop_reason, wall_seconds=wall,
        use_case=use_case, confidence=state_like.confidence, energy_kind=energy_kind,
        energy_detail=ledger.meter if ledger is not None else None, carbon_g_per_kwh=carbon.g_per_kwh,
        carbon_source=carbon.source, execution=getattr(env, "execution", None),
        placement={n: list(w) for n, w in getattr(env, "placement", {}).items()},
        workers={w: replace(a, models=list(a.models)) for w, a in getattr(env, "workers", {}).items()})


def run_experiment(env: Environment, weights: Weights, strategy: Strategy, budget: int, *, dataset: str = "",
                   use_case: str = "", progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None,
                   executor: Executor = environment_executor) -> ExperimentResult:
    """Run ``strategy`` on ``env`` under ``budget`` calls and report it with brute-force figures.

    The default executor runs the pulls of one step together when ``env`` can (``pull_many``: concurrently on
    Ray workers), in order otherwise; either way results come back in the order of the pulls.
    """
    reward_model = reward_model_for(env.cards, weights)
    start = time.perf_counter()
    run = strategy.run(env, reward_model, budget, progress, executor, cancel=cancel)
    return assemble_result(strategy.name, strategy.params(), weights, budget, env, dataset, run.state, run.ranking,
                   run.interrupted, run.state.stop_reason or Stopped("nothing_left"), time.perf_counter() - start, use_case, run.notes)
