"""Replay a strategy on an outcome matrix over many seeds and measure regret, calls, MACs and time.

One run per (strategy, seed) records the recommendation at every budget checkpoint (the state just
before the pull that would cross it, i.e. what a run with that budget would have returned). Strategies
whose schedule depends on the budget itself (successive halving) get one run per checkpoint instead.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from greenrunner_core.experiment import reward_model_for
from greenrunner_core.notes import LastInRace, LeaderProven, StopReason
from greenrunner_core.replay import OutcomeMatrix, ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy, serial_executor
from greenrunner_core.strategies.base import within_budget

WEIGHT_SETS: dict[str, Weights] = {
    "drone": Weights({"accuracy": 0.63, "size": 0.25, "complexity": 0.21}),   # the paper's drone weights
    "accuracy": Weights({"accuracy": 1.0}),
    "size-heavy": Weights({"accuracy": 0.3, "size": 0.5, "complexity": 0.2}),
}
BUDGET_DEPENDENT = frozenset({"successive_halving", "paired_elimination"})   # one run per budget
REGRET_OK = 0.01


@dataclass
class Instance:
    name: str
    matrix: OutcomeMatrix
    batch_size: int
    kind: str = "synthetic"
    note: str = ""

    @property
    def n_models(self) -> int:
        return len(self.matrix.cards)

    @property
    def n_images(self) -> int:
        return len(self.matrix.image_ids)


@dataclass
class RunTrace:
    """One seed: per checkpoint (calls, MACs, regret); and where the run ended on its own."""

    calls: np.ndarray
    macs: np.ndarray
    regret: np.ndarray
    final_calls: int
    final_macs: int
    final_regret: float
    seconds: float
    stop_reason: StopReason | None = None


def true_regret(matrix: OutcomeMatrix, weights: Weights) -> np.ndarray:
    """Regret of recommending each model, against the brute-force best on the same images (reward units)."""
    rm = reward_model_for(matrix.cards, weights)
    reward = rm.reward(matrix.accuracy)
    return float(np.max(reward)) - reward


def run_trace(instance: Instance, weights: Weights, strategy_name: str, seed: int, budget: int,
              checkpoints: np.ndarray, regret_of: np.ndarray, **params) -> RunTrace:
    """Drive one seeded run through ask/tell, recording the recommendation before each step that crosses a
    checkpoint (what a run with that budget would have returned)."""
    matrix = instance.matrix
    env = ReplayEnvironment(matrix)
    strategy = make_strategy(strategy_name, seed=seed, batch_size=instance.batch_size, **params)
    state = strategy.start(env, reward_model_for(matrix.cards, weights), budget)
    macs_of = np.array([c.macs for c in matrix.cards], dtype=np.int64)
    n_cp = len(checkpoints)
    calls, macs = np.zeros(n_cp, dtype=np.int64), np.zeros(n_cp, dtype=np.int64)
    regret = np.full(n_cp, np.nan)
    k, n_calls, n_macs = 0, 0, 0
    t0 = time.perf_counter()

    def pick() -> float:
        seen = [a for a in strategy.recommend(state) if state.pulls[a] > 0 and a not in state.excluded]
        return float(regret_of[seen[0]]) if seen else np.nan

    while state.remaining > 0:
        pulls = within_budget(state, strategy.ask(state))
        if not pulls:
            break
        step = sum(p.size for p in pulls)
        if k < n_cp and checkpoints[k] < n_calls + step:
            now = pick() if state.spent else np.nan
            while k < n_cp and checkpoints[k] < n_calls + step:
                calls[k], macs[k], regret[k] = n_calls, n_macs, now
                k += 1
        strategy.tell(state, pulls, serial_executor(env, pulls))
        n_calls += step
        n_macs += int(sum(p.size * macs_of[p.arm] for p in pulls))
    final = pick()
    calls[k:], macs[k:], regret[k:] = n_calls, n_macs, final
    return RunTrace(calls, macs, regret, n_calls, n_macs, final, time.perf_counter() - t0, state.stop_reason)


@dataclass
class Summary:
    """Aggregates over seeds, per checkpoint (fractions of brute-force calls)."""

    instance: str
    weights: str
    strategy: str
    fractions: np.ndarray
    p_ok: np.ndarray            # P(regret <= 0.01) per checkpoint
    mean_regret: np.ndarray
    calls_pct: np.ndarray       # mean calls used, % of brute force (early stopping uses less than the budget)
    macs_pct: np.ndarray
    seconds: float              # mean wall seconds per run (the longest run, i.e. the largest budget)
    seeds: int
    auto: dict[str, float] = field(default_factory=dict)   # runs left to stop on their own (under the default budget cap)


def summarise(instance: Instance, weights_name: str, strategy: str, fractions: np.ndarray,
              traces: list[RunTrace], seconds: float, auto: dict[str, float] | None = None) -> Summary:
    bf_calls = instance.n_models * instance.n_images
    bf_macs = sum(c.macs for c in instance.matrix.cards) * instance.n_images
    regret = np.array([t.regret for t in traces])
    calls = np.array([t.calls for t in traces], dtype=float)
    macs = np.array([t.macs for t in traces], dtype=float)
    return Summary(instance.name, weights_name, strategy, fractions,
                   p_ok=np.mean(regret <= REGRET_OK + 1e-12, axis=0), mean_regret=np.nanmean(regret, axis=0),
                   calls_pct=100 * calls.mean(axis=0) / bf_calls, macs_pct=100 * macs.mean(axis=0) / bf_macs,
                   seconds=seconds, seeds=len(traces), auto=auto or {})


def evaluate(instance: Instance, weights_name: str, strategy: str, seeds: Sequence[int],
             fractions: Sequence[float], auto_budget_fraction: float = 1.0, **params) -> Summary:
    """All seeds of one (instance, weights, strategy) cell."""
    weights = WEIGHT_SETS[weights_name]
    fractions = np.asarray(fractions, dtype=float)
    bf_calls = instance.n_models * instance.n_images
    budgets = np.maximum(np.round(fractions * bf_calls).astype(np.int64), instance.n_models)
    regret_of = true_regret(instance.matrix, weights)
    traces: list[RunTrace] = []
    auto: dict[str, float] = {}
    t0 = time.perf_counter()
    top = int(max(budgets[-1], round(auto_budget_fraction * bf_calls)))
    auto_run = auto_budget_fraction > 0
    if strategy in BUDGET_DEPENDENT:
        for seed in seeds:
            parts = [run_trace(instance, weights, strategy, seed, int(b), np.array([np.inf]), regret_of, **params)
                     for b in budgets]
            last = run_trace(instance, weights, strategy, seed, top, np.array([np.inf]), regret_of, **params) \
                if top > budgets[-1] else parts[-1]
            traces.append(RunTrace(np.array([p.final_calls for p in parts]), np.array([p.final_macs for p in parts]),
                                   np.array([p.final_regret for p in parts]), last.final_calls, last.final_macs,
                                   last.final_regret, last.seconds, last.stop_reason))
    else:
        for seed in seeds:
            traces.append(run_trace(instance, weights, strategy, seed, top, budgets.astype(float) + 0.5, regret_of,
                                    **params))
    seconds = float(np.mean([t.seconds for t in traces]))
    finals = np.array([t.final_regret for t in traces])
    bf_macs = sum(c.macs for c in instance.matrix.cards) * instance.n_images
    auto = {} if not auto_run else {"budget_pct": 100.0 * top / bf_calls,
            "p_ok": float(np.mean(finals <= REGRET_OK + 1e-12)), "mean_regret": float(np.mean(finals)),
            "calls_pct": 100.0 * float(np.mean([t.final_calls for t in traces])) / bf_calls,
            "calls_pct_p90": 100.0 * float(np.percentile([t.final_calls for t in traces], 90)) / bf_calls,
            "macs_pct": 100.0 * float(np.mean([t.final_macs for t in traces])) / bf_macs,
            "stopped_early": float(np.mean([isinstance(t.stop_reason, LeaderProven | LastInRace) for t in traces]))}
    del t0
    return summarise(instance, weights_name, strategy, fractions, traces, seconds, auto)
