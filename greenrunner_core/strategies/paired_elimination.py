"""Paired elimination, the default: rungs of shared images growing geometrically, paired tests, early stop.

Built for identification at the lowest cost, with calibrated rather than worst-case confidence:

* rungs — a model entering the race reads the first ``first_rung`` (4) images of the shared order, and its
  rung grows by ``growth`` each round (4, 5, 6, 7, 9, ... images) up to the whole target set; the pulls of
  a round are independent, so one step proposes them together (an executor may run them concurrently);
* paired differences — after each round every pair in the race is compared on the images both have read
  (the difference of two correctness vectors has the disagreement rate as variance, far below two separate
  estimates; mixed with the independent-models variance on few images, which can agree by chance), with
  the finite-population correction sqrt((N - n) / (N - 1)): a pair read on all N target images is exact;
* elimination — a model is dropped once ``beaters`` (2) others are each unlikely to be beaten by it by
  more than ``epsilon`` (``-gap + z * se < epsilon``): one lucky streak of one leader is not enough; with
  ``endgame`` (3) or fewer models left, one beater at the wider ``endgame_z``. The race stops at one model;
* known metrics — size and MACs are known: a model whose reward at accuracy 1.0 cannot beat the leader's
  lower bound (plus ``epsilon``) is dropped before its first evaluation. The better half by best possible
  reward races first; the others enter once they could beat the leader's estimate at the best accuracy
  seen, or when the race is over — so expensive long shots meet a settled leader and are mostly dropped
  unevaluated;
* calibrated confidence — ``z`` (1.7) is a normal quantile with no union bound over models or looks, chosen
  on replays of real outcomes (ImageNetV2, target sets drawn from a seed stream the benchmark does not use)
  and the synthetic suite so that P(regret <= epsilon) >= 0.95 (docs/benchmarks.md). For a guarantee that
  holds however often it looks, use ``paired_race`` (``--guarantee``), which costs more calls.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.environment import Environment
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.notes import (
    AllImagesEvaluated,
    LastInRace,
    ModelsDropped,
    RankedByElimination,
    RunNote,
    Stopped,
)
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.base import Strategy
from greenrunner_core.strategies.notes import never_evaluated_note
from greenrunner_core.strategies.state import BanditState, Pull


class EliminationState(BanditState):
    """Per-run state: each model's rung, when it entered the race, and which models are out (and when)."""

    w: float
    c: np.ndarray
    max_reward: np.ndarray
    round: int = 0
    target: np.ndarray            # images each model in the race reads this round (its own rung)
    entered: np.ndarray           # round a model entered the race (-1: waiting)
    dropped: np.ndarray           # round at which a model was dropped after evaluation (-1: still in)
    pruned: np.ndarray            # dropped by the known-metric bound before any evaluation
    dead: np.ndarray              # failed (excluded)


class PairedElimination(Strategy):
    """Successive elimination on paired, finite-population-corrected differences, rungs growing geometrically.

    ``epsilon``: a model within this much reward of the best counts as found (the regret the benchmark
    reports). ``z``: width of the tests in standard errors while more than ``endgame`` models race, then
    ``endgame_z``; a model is dropped when ``beaters`` models each beat it (one lucky streak is not
    enough), from ``min_shared`` shared images on. ``prior_strength``: pseudo-images of the
    independent-models variance mixed into each pair's paired variance (few images can agree by chance).
    ``first_rung``: images per model in its first round; ``growth``: rung growth per round.
    ``batch_size``: the most images one pull evaluates. ``min_evaluated``: models evaluated at least.
    """

    name: ClassVar[str] = "paired_elimination"
    state_class: ClassVar[type[BanditState]] = EliminationState

    def __init__(self, *, epsilon: float = 0.01, z: float = 1.7, endgame_z: float = 2.0, first_rung: int = 4,
                 growth: float = 1.15, beaters: int = 2, endgame: int = 3, prior_strength: float = 10.0,
                 min_shared: int = 12, min_evaluated: int = 3, **kwargs: Any) -> None:
        kwargs.setdefault("batch_size", 64)
        super().__init__(**kwargs)
        for label, value, low, high in (("epsilon", epsilon, 0, 1), ("z", z, 0, 10), ("endgame_z", endgame_z, 0, 10),
                                        ("prior_strength", prior_strength, 0, 1e6)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise GreenRunnerError(f"{label}={value!r} must be a number in [{low:g}, {high:g}]")
        for label, value in (("first_rung", first_rung), ("beaters", beaters), ("endgame", endgame),
                             ("min_shared", min_shared), ("min_evaluated", min_evaluated)):
            if not isinstance(value, int) or value < 1:
                raise GreenRunnerError(f"{label}={value!r} must be an integer >= 1")
        if not (isinstance(growth, (int, float)) and growth > 1):
            raise GreenRunnerError(f"growth={growth!r} must be a number > 1 (rung growth per round, e.g. 1.25)")
        self.epsilon = float(epsilon)
        self.z = float(z)
        self.endgame_z = float(endgame_z)
        self.first_rung = first_rung
        self.growth = float(growth)
        self.beaters = beaters
        self.endgame = endgame
        self.prior_strength = float(prior_strength)
        self.min_shared = min_shared
        self.min_evaluated = min_evaluated

    def params(self) -> dict[str, Any]:
        return {**super().params(), "epsilon": self.epsilon, "z": self.z, "endgame_z": self.endgame_z,
                "first_rung": self.first_rung, "growth": self.growth, "beaters": self.beaters,
                "endgame": self.endgame, "prior_strength": self.prior_strength, "min_shared": self.min_shared,
                "min_evaluated": self.min_evaluated}

    # ---- set-up ------------------------------------------------------------------------------------
    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> EliminationState:
        state = super().start(env, reward_model, budget)
        assert isinstance(state, EliminationState)
        k = state.n_models
        state.w = float(reward_model.accuracy_weight)
        state.c = np.asarray(reward_model.offset, dtype=float)
        state.max_reward = state.w + state.c
        state.dropped = np.full(k, -1, dtype=np.int64)
        state.dead = np.zeros(k, dtype=bool)
        # offsets alone: a model whose reward at accuracy 1.0 is below another's at accuracy 0 cannot win
        state.pruned = state.max_reward < np.max(state.c) + self.epsilon * (state.w > 0)
        state.pruned[int(np.argmax(state.max_reward))] = False
        state.target = np.zeros(k, dtype=np.int64)
        state.entered = np.full(k, -1, dtype=np.int64)
        # the first to race: the better half by best possible reward (all of them when only accuracy counts)
        pool = np.flatnonzero(~state.pruned)
        first = pool[state.max_reward[pool] >= np.median(state.max_reward[pool])]
        if first.size < self.min_evaluated:
            first = pool[np.lexsort((pool, state.macs[pool], -state.max_reward[pool]))][:self.min_evaluated]
        self._enter(state, first)
        return state

    def _enter(self, state: EliminationState, arms: np.ndarray) -> None:
        state.entered[arms] = state.round
        state.target[arms] = min(self.first_rung, state.n_images)

    def on_exclude(self, state: BanditState, arm: int) -> None:
        assert isinstance(state, EliminationState)
        state.dead[arm] = True

    def racing(self, state: EliminationState) -> np.ndarray:
        return np.flatnonzero((state.entered >= 0) & (state.dropped < 0) & ~state.pruned & ~state.dead)

    def waiting(self, state: EliminationState) -> np.ndarray:
        return np.flatnonzero((state.entered < 0) & ~state.pruned & ~state.dead)

    # ---- the rounds --------------------------------------------------------------------------------
    def ask(self, state: BanditState) -> list[Pull]:
        assert isinstance(state, EliminationState)
        while True:
            race = self.racing(state)
            owed = race[state.pulls[race] < state.target[race]]
            if owed.size:
                return self._pulls(state, owed)
            if race.size:
                self._decide(state, race)
            race = self.racing(state)
            waiting = self.waiting(state)
            if race.size <= 1 or np.all(state.pulls[race] >= state.n_images):
                if waiting.size:                     # the race is over: who was waiting runs now
                    state.round += 1
                    self._enter(state, waiting)
                    continue
                extra = self._top_up(state)
                if extra:
                    return extra
                self._stop_reason(state, race)
                return []
            state.round += 1
            race = self._fit_budget(state, race)
            grown = np.maximum(state.target[race] + 1, np.ceil(state.target[race] * self.growth)).astype(np.int64)
            state.target[race] = np.minimum(grown, state.n_images)
            if waiting.size:
                self._enter(state, waiting[self._may_win(state, race, waiting)])

    def _fit_budget(self, state: EliminationState, race: np.ndarray) -> np.ndarray:
        """A budget too small to finish the race: as successive halving does, keep the better half by estimate
        whenever the next round would take more than the budget left shared over the halvings still needed.
        (Never triggers when the budget is large enough for the race to stop on its own.)"""
        while race.size > 1:
            grown = np.minimum(np.maximum(state.target[race] + 1, np.ceil(state.target[race] * self.growth)),
                               state.n_images)
            halvings = math.ceil(math.log2(race.size))
            if (grown - state.pulls[race]).sum() * halvings <= state.remaining:
                break
            est = state.reward()[race]
            order = race[np.lexsort((race, state.macs[race], -state.pulls[race], -est))]
            keep = order[:math.ceil(race.size / 2)]
            state.dropped[order[keep.size:]] = state.round - 1
            race = np.sort(keep)
        return race

    def _may_win(self, state: EliminationState, race: np.ndarray, waiting: np.ndarray) -> np.ndarray:
        """Waiting models that could beat the leader's estimate at the best accuracy seen so far (plus its
        uncertainty): these enter now; the others wait for the known-metric bound to drop them."""
        if state.w <= 0:
            return np.ones(waiting.size, dtype=bool)
        seen = race[state.pulls[race] > 0]
        if seen.size == 0:
            return np.ones(waiting.size, dtype=bool)
        _, high = state.accuracy_interval(self.z)
        ceiling = float(np.max(high[seen]))
        lead = self.leader(state, seen)
        return state.w * ceiling + state.c[waiting] >= state.reward()[lead] + self.epsilon

    def _pulls(self, state: EliminationState, owed: np.ndarray) -> list[Pull]:
        # best possible reward first, cheapest on ties: the order a budget cut respects
        owed = owed[np.lexsort((owed, state.macs[owed], -state.max_reward[owed]))]
        need = np.minimum(state.target[owed] - state.pulls[owed], self.batch_size)
        if need.sum() > state.remaining:       # a budget too small for the rung: spread it evenly
            share = np.zeros_like(need)
            left = state.remaining
            while left > 0 and np.any(share < need):
                room = np.flatnonzero(share < need)
                per = max(1, left // room.size)
                for i in room:
                    add = int(min(per, need[i] - share[i], left))
                    share[i] += add
                    left -= add
                    if left <= 0:
                        break
            need = share
        return [state.pull(int(a), int(n)) for a, n in zip(owed, need) if n > 0]

    def _top_up(self, state: EliminationState) -> list[Pull]:
        """Evaluate the best unevaluated models a little so a top ``min_evaluated`` can be shown."""
        evaluated = int(np.count_nonzero((state.pulls > 0) & ~state.dead))
        want = min(self.min_evaluated, int(np.count_nonzero(~state.dead)))
        if evaluated >= want:
            return []
        pool = np.flatnonzero((state.pulls == 0) & ~state.dead)
        pool = pool[np.lexsort((pool, state.macs[pool], -state.max_reward[pool]))][:want - evaluated]
        n = min(self.first_rung, state.n_images, self.batch_size)
        return [state.pull(int(a), n) for a in pool]

    def leader(self, state: EliminationState, race: np.ndarray) -> int:
        est = state.reward()[race]
        order = np.lexsort((race, state.macs[race], -state.pulls[race], -est))
        return int(race[order[0]])

    def _pair_stats(self, state: EliminationState, race: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(shared images, gap reward(l) - reward(b), standard error) for every ordered pair in the race."""
        pulls = state.pulls[race]
        shared = np.minimum(pulls[:, None], pulls[None, :])
        right_wrong = np.zeros(shared.shape)
        correct = np.zeros(shared.shape)                 # [l, b]: correct answers of l on the shared images
        for length in np.unique(shared):                 # a few distinct prefixes (rungs, late entrants)
            if length == 0:
                continue
            obs = state.outcomes[race, :length].astype(np.float64)
            here = shared == length
            right_wrong[here] = (obs @ (1.0 - obs).T)[here]
            correct[here] = np.broadcast_to(obs.sum(axis=1)[:, None], shared.shape)[here]
        m = np.maximum(shared, 1).astype(float)
        diff = right_wrong - right_wrong.T
        gap = state.w * diff / m + state.c[race][:, None] - state.c[race][None, :]
        disagree = (right_wrong + right_wrong.T + 1.0) / (m + 2.0)
        var = np.maximum(disagree - (diff / (m + 2.0)) ** 2, 1e-12)
        if self.prior_strength > 0:     # few shared images can agree by chance: mix in the independent variance
            p_l = (correct + 1.0) / (m + 2.0)
            p_b = (correct.T + 1.0) / (m + 2.0)
            indep = p_l * (1 - p_l) + p_b * (1 - p_b)
            var = (m * var + self.prior_strength * indep) / (m + self.prior_strength)
        n_all = state.n_images
        fpc = np.sqrt(np.clip((n_all - shared) / max(n_all - 1, 1), 0.0, 1.0))
        return shared, gap, state.w * np.sqrt(var / m) * fpc

    def _decide(self, state: EliminationState, race: np.ndarray) -> None:
        """End of a round: drop models unlikely to beat others by more than epsilon; prune by known metrics."""
        lead = self.leader(state, race)
        n_all = state.n_images
        if race.size > 1 and state.w > 0:
            shared, gap, se = self._pair_stats(state, race)
            z = self.endgame_z if race.size <= self.endgame else self.z
            beaten_by = (gap - z * se > -self.epsilon) & (shared >= min(self.min_shared, n_all))
            np.fill_diagonal(beaten_by, False)
            need = self.beaters if race.size > self.endgame else 1      # one lucky streak is not enough
            drop = beaten_by.sum(axis=0) >= need
            drop[race == lead] = False
            state.dropped[race[drop]] = state.round
        elif race.size > 1:      # accuracy does not matter: the offsets decide
            drop = state.c[race] < state.c[lead] + self.epsilon
            drop[race == lead] = False
            state.dropped[race[drop]] = state.round
        # known-metric bound for models not evaluated yet
        todo = np.flatnonzero((state.pulls == 0) & ~state.pruned & ~state.dead & (state.dropped < 0))
        if todo.size and state.pulls[lead] > 0:
            n = float(state.pulls[lead])
            p = (state.successes[lead] + 1.0) / (n + 2.0)
            fpc = math.sqrt(max(n_all - n, 0.0) / max(n_all - 1, 1))
            low = state.w * (state.successes[lead] / n - self.z * math.sqrt(p * (1 - p) / n) * fpc) + state.c[lead]
            state.pruned[todo[state.max_reward[todo] < low + self.epsilon]] = True

    def _stop_reason(self, state: EliminationState, race: np.ndarray) -> None:
        if race.size == 0:
            state.stop_reason = Stopped("every_model_failed")
            return
        lead = self.leader(state, race)
        if race.size == 1:
            state.stop_reason = LastInRace(state.names[lead], self.epsilon, self.z, int(state.spent), int(state.budget))
        else:
            state.stop_reason = AllImagesEvaluated(state.names[lead])

    # ---- recommendation ----------------------------------------------------------------------------
    def recommend(self, state: BanditState) -> list[int]:
        """Models still in the race by estimate, then those dropped later before those dropped earlier (each
        group by estimate), then unevaluated by best possible reward, failed last. A model is never ranked
        below one that was evaluated on fewer images and has a lower estimate."""
        assert isinstance(state, EliminationState)
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        big = np.iinfo(np.int64).max

        def key(a: int) -> tuple[int, int, int, float, int]:
            if a in state.excluded or state.dead[a]:
                return (3, 0, 0, 0.0, a)
            if state.pulls[a] == 0:
                return (2, 0, 0, -float(state.max_reward[a]), a)
            round_out = -1 if state.pruned[a] else big if state.dropped[a] < 0 else int(state.dropped[a])
            return (0, -round_out, -int(state.pulls[a]), -float(est[a]), a)
        return sorted(range(state.n_models), key=key)

    def finish(self, state: BanditState) -> list[RunNote]:
        assert isinstance(state, EliminationState)
        notes = super().finish(state)
        notes += never_evaluated_note(state.names, state.pruned & (state.pulls == 0), proven=False)
        dropped = int(np.count_nonzero((state.dropped >= 0) & (state.pulls > 0)))
        if dropped:
            notes.append(ModelsDropped(dropped, "elimination", self.epsilon))
        est = state.reward()
        order = [a for a in self.recommend(state) if state.pulls[a] > 0 and not state.dead[a] and a not in state.excluded]
        below = tuple(state.names[b] for i, b in enumerate(order) if any(est[a] < est[b] for a in order[:i]))
        if below:                   # the order shown is not the order of the estimates shown: say why
            notes.append(RankedByElimination(below))
        return notes
