"""Peers run on the same target sets and image orders as GreenRunner's strategies, one seeded run each.

Every peer returns a ``PeerRun``: where it stopped on its own (calls, MACs, pick) and its pick at each fixed
budget (what a run given that budget would have returned). Optuna's pruners are the real library (a dev
dependency): each model is a trial, each target image an instance reported as one step.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greenrunner_core.experiment import reward_model_for
from greenrunner_core.replay import OutcomeMatrix, ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.selection_run import default_budget
from greenrunner_core.strategies import make_strategy, serial_executor
from greenrunner_core.strategies.base import within_budget

USER_BATCH = 16   # `greenrunner select --batch-size` default (images per pull)


@dataclass
class PeerRun:
    calls: int                       # where it stopped on its own (or spent its budget)
    macs: int
    pick: int                        # model index recommended at the end
    at_budget: np.ndarray            # pick (model index, -1 = none) at each fixed budget


def _drive(strategy, matrix: OutcomeMatrix, weights: Weights, budget: int, checkpoints: Sequence[int] = ()) -> tuple:
    """ask/tell until the strategy stops or the budget is spent; picks before each step crossing a checkpoint."""
    env = ReplayEnvironment(matrix)
    state = strategy.start(env, reward_model_for(matrix.cards, weights), budget)
    picks = np.full(len(checkpoints), -1, dtype=np.int64)
    k = 0

    def pick() -> int:
        seen = [a for a in strategy.recommend(state) if state.pulls[a] > 0 and a not in state.excluded]
        return seen[0] if seen else -1

    while state.remaining > 0:
        pulls = within_budget(state, strategy.ask(state))
        if not pulls:
            break
        step = sum(p.size for p in pulls)
        if k < len(checkpoints) and checkpoints[k] < state.spent + step:
            now = pick()
            while k < len(checkpoints) and checkpoints[k] < state.spent + step:
                picks[k] = now
                k += 1
        strategy.tell(state, pulls, serial_executor(env, pulls))
    final = pick()
    picks[k:] = final
    macs = int(np.sum(state.pulls * np.array([c.macs for c in matrix.cards], dtype=np.int64)))
    return state, final, macs, picks


def strategy_run(name: str, matrix: OutcomeMatrix, weights: Weights, seed: int, budgets: Sequence[int],
                 per_budget: bool = False, **params) -> PeerRun:
    """A GreenRunner strategy at the user's batch size: self-stopping under the user's default budget cap, and
    its pick at each budget (one run per budget when its schedule depends on the budget)."""
    full = default_budget(len(matrix.cards), matrix.correct.shape[1], name)
    make = lambda: make_strategy(name, seed=seed, batch_size=USER_BATCH, **params)
    if per_budget:
        at = np.array([_drive(make(), matrix, weights, int(b))[1] for b in budgets])
        top = full if name in SELF_STOPPING else int(max(budgets))
        state, final, macs, _ = _drive(make(), matrix, weights, top)
        return PeerRun(int(state.spent), macs, final, at)
    state, final, macs, at = _drive(make(), matrix, weights, full if name in SELF_STOPPING else int(max(budgets)),
                                    [int(b) for b in budgets])
    return PeerRun(int(state.spent), macs, final, at)


SELF_STOPPING = frozenset({"paired_elimination", "paired_race"})


def optuna_run(pruner_name: str, matrix: OutcomeMatrix, weights: Weights, seed: int, budgets: Sequence[int],
               order: np.ndarray) -> PeerRun:
    """Optuna driving the same evaluations: a study over the models (trials in a seeded random order), each
    trial reporting the reward of its model on one more target image per step (images in ``order``)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rm = reward_model_for(matrix.cards, weights)
    k, n = matrix.correct.shape
    per_image = rm.accuracy_weight * matrix.correct[:, order].astype(float) + rm.offset[:, None]
    if pruner_name == "wilcoxon":
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            pruner: optuna.pruners.BasePruner = optuna.pruners.WilcoxonPruner(p_threshold=0.1)
    else:
        pruner = optuna.pruners.SuccessiveHalvingPruner()
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.RandomSampler(seed=seed))
    models = np.random.default_rng(seed).permutation(k)
    # WilcoxonPruner is asked after 8, 16 and 32 images, then on a geometric schedule (x1.15) from 51 on, not after
    # every image: each check re-reads every reported value, and below 51 values scipy's wilcoxon runs a
    # permutation test (0.5 s per check with 0/1 outcomes)
    checks = np.zeros(n, dtype=bool)
    checks[np.unique(np.minimum(np.round(1.15 ** np.arange(200)).astype(np.int64), n)) - 1] = True
    checks[:50] = False                       # below 51 differences scipy runs a permutation test per check
    checks[[s - 1 for s in (8, 16, 32) if s <= n]] = True
    if pruner_name != "wilcoxon":
        checks[:] = True
    calls = 0
    macs = 0
    best, best_value = -1, -np.inf
    done_at: list[tuple[int, int]] = []          # (calls when a trial completed, best model so far)
    for model in models:
        trial = study.ask()
        values = per_image[model]
        running = 0.0
        pruned = False
        for step in range(n):
            running += values[step]
            # WilcoxonPruner compares per-instance values; successive halving compares the running mean
            trial.report(float(values[step]) if pruner_name == "wilcoxon" else running / (step + 1), step)
            calls += 1
            if checks[step] and trial.should_prune():
                pruned = True
                break
        macs += (step + 1) * matrix.cards[model].macs
        if pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            value = running / n
            study.tell(trial, value)
            if value > best_value:
                best, best_value = int(model), value
        done_at.append((calls, best))
    at = np.full(len(budgets), -1, dtype=np.int64)
    for i, b in enumerate(budgets):
        for when, who in done_at:
            if when <= b:
                at[i] = who
    return PeerRun(calls, macs, best, at)


def card_pick(matrix: OutcomeMatrix, weights: Weights) -> int:
    """The benchmark-card baseline: best reward with the published accuracy, known metrics as they are."""
    rm = reward_model_for(matrix.cards, weights)
    bench = np.array([c.benchmark_accuracy if c.benchmark_accuracy is not None else -np.inf for c in matrix.cards])
    return int(np.argmax(rm.reward(bench)))
