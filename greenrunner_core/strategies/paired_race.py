"""Paired race: best-model identification that stops as soon as the leader is provably epsilon-good.

Built for identification, not for cumulative reward (what epsilon-greedy, UCB1 and Thompson optimise):

* known metrics up front — size and MACs are known, only accuracy is learned, so a model whose best
  possible reward (accuracy 1.0) is below the leader's proven lower bound is dropped before its
  first evaluation;
* paired comparisons — every model reads the target images in one shared order, and each pair of
  models is compared on the images both have seen (easy images are easy for all, so the paired
  difference has far less variance than two separate estimates);
* finite population — the target set has N images drawn without replacement: the tests use the
  exact conditional mean of the images not yet drawn, and a model evaluated on all N is exact;
* anytime-valid tests — betting e-processes (see ``betting``), with a union bound over the K-1
  comparisons that involve the best model plus the K leader bounds, so the guarantee holds however
  often the race looks: with probability >= ``confidence`` the best model is never dropped and a
  stop returns a model within ``epsilon`` (reward units) of the best;
* cost — which challenger to evaluate next is weighted by its MACs, and evaluation starts from
  the models with the best possible reward (cheapest first on ties), so expensive models are
  dropped by the known-metric bound before they cost anything.

Sampling follows LUCB (Kalyanakrishnan et al. 2012): each step takes the current leader (best paired
estimate) and the challenger with the highest optimistic reward difference, and evaluates whichever
of the two limits their paired comparison. The sampling index is deliberately narrower (``index_z``
standard deviations) than the tests: under a fixed budget it spends on the close contenders instead
of proving every far-behind model worse; the guarantee does not depend on the sampling rule.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.environment import Environment
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.notes import AllImagesEvaluated, LeaderProven, ModelsDropped, RunNote
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.betting import DEFAULT_CAP, PairedEProcesses, SingleCS, log_threshold
from greenrunner_core.strategies.notes import never_evaluated_note
from greenrunner_core.strategies.sequential import SequentialState, SequentialStrategy
from greenrunner_core.strategies.state import BanditState


def _boundary(w: float, reward_gap: np.ndarray) -> np.ndarray:
    if w > 0:
        return (1.0 + reward_gap / w) / 2.0
    return np.where(reward_gap >= 0, np.inf, -np.inf)   # accuracy does not matter: offsets decide


class RaceState(SequentialState):
    """Per-run state of the race: the tests and which models are out."""

    w: float
    c: np.ndarray
    max_reward: np.ndarray
    cost: np.ndarray
    pair_thr: float
    single_thr: float
    pairs: PairedEProcesses
    singles: SingleCS
    dead: np.ndarray
    beaten: np.ndarray
    settled: np.ndarray
    pruned_known: np.ndarray


class PairedRace(SequentialStrategy):
    """LUCB over paired, finite-population, anytime-valid tests with known-metric pruning.

    ``epsilon``: stop once the leader is within this much reward of the best (reward units, the
    same as the regret the benchmark reports). ``cost_power``: challengers are ranked by optimistic
    gain / (MACs / cheapest MACs) ** cost_power (0 disables cost weighting). ``min_evaluated``:
    evaluate at least this many models before stopping, so a top 3 can be shown. ``index_z``: width
    of the sampling index in standard deviations of the paired difference. ``confidence`` (base class):
    probability that no test errs. ``bet_cap``: largest fraction of the betting wealth risked per image.
    """

    name: ClassVar[str] = "paired_race"
    initial_round: ClassVar[bool] = False
    state_class: ClassVar[type[BanditState]] = RaceState

    def __init__(self, *, epsilon: float = 0.01, cost_power: float = 0.25, min_evaluated: int = 3,
                 index_z: float = 1.0, bet_cap: float = DEFAULT_CAP, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon >= 0):
            raise GreenRunnerError(f"epsilon={epsilon!r} must be a finite number >= 0 (reward units, e.g. 0.01)")
        if not (isinstance(cost_power, (int, float)) and 0 <= cost_power <= 2):
            raise GreenRunnerError(f"cost_power={cost_power!r} must be in [0, 2] (0 = ignore MACs)")
        if not isinstance(min_evaluated, int) or min_evaluated < 1:
            raise GreenRunnerError(f"min_evaluated={min_evaluated!r} must be an integer >= 1")
        if not (isinstance(index_z, (int, float)) and 0 <= index_z <= 10):
            raise GreenRunnerError(f"index_z={index_z!r} must be in [0, 10] (width of the sampling index, in sd)")
        if not 0 < bet_cap < 1:
            raise GreenRunnerError(f"bet_cap={bet_cap!r} must be in (0, 1)")
        self.epsilon = float(epsilon)
        self.cost_power = float(cost_power)
        self.min_evaluated = min_evaluated
        self.bet_cap = float(bet_cap)
        self.index_z = float(index_z)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "epsilon": self.epsilon, "confidence": self.confidence,
                "cost_power": self.cost_power, "index_z": self.index_z, "min_evaluated": self.min_evaluated}

    # ---- explain the outcome -----------------------------------------------------------------------
    def finish(self, state: BanditState) -> list[RunNote]:  # type: ignore[override]
        assert isinstance(state, RaceState)
        state.estimates = self.adjusted_rewards(state)     # the order uses these: the report shows them
        notes = super().finish(state)
        notes += never_evaluated_note(state.names, state.pruned_known & (state.pulls == 0), proven=True)
        dropped = np.flatnonzero(state.beaten & ~state.dead & (state.pulls > 0))
        if dropped.size:
            notes.append(ModelsDropped(len(dropped), "paired_race", self.confidence))
        return notes

    # ---- set-up ------------------------------------------------------------------------------------
    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> RaceState:
        state = super().start(env, reward_model, budget)
        assert isinstance(state, RaceState)
        k, n = state.n_models, state.n_images
        rm = state.reward_model
        state.w = float(rm.accuracy_weight)
        state.c = np.asarray(rm.offset, dtype=float)
        state.max_reward = state.w + state.c
        state.cost = (state.macs / state.macs.min()) ** self.cost_power
        alpha = 1.0 - self.confidence
        # half the error budget for the K-1 paired comparisons with the best model, half for the K leader bounds
        state.pair_thr = log_threshold(alpha / 2.0 / max(k - 1, 1))
        state.single_thr = log_threshold(alpha / 2.0 / k)
        # ordered pair (x, y): X = (1 + o_x - o_y) / 2 has mean (1 + acc_x - acc_y) / 2.
        # elimination null  r_x - r_y <= 0        <=>  mean <= (1 + (c_y - c_x) / w) / 2
        # epsilon null      r_x - r_y <= -epsilon  <=>  mean <= (1 + (c_y - c_x - epsilon) / w) / 2
        gap = state.c[None, :] - state.c[:, None]
        state.pairs = PairedEProcesses(n, _boundary(state.w, gap), _boundary(state.w, gap - self.epsilon),
                                       state.pair_thr, self.bet_cap)
        state.singles = SingleCS(k, n, state.single_thr, self.bet_cap)
        state.dead = np.zeros(k, dtype=bool)          # failed (excluded) models
        state.beaten = state.pairs.rejected0.any(axis=0)   # shown worse than some model: never the best
        state.settled = np.zeros(k, dtype=bool)       # unevaluated, shown not more than epsilon better than the leader
        state.pruned_known = np.zeros(k, dtype=bool)  # unevaluated, dropped by the known-metric bound
        return state

    # ---- evidence ----------------------------------------------------------------------------------
    def update(self, state: BanditState, arm: int, correct: np.ndarray) -> None:
        k_new = correct.size
        end = int(state.pulls[arm])
        start = end - k_new
        state.singles.extend(arm, correct)
        mask = (state.pulls > start) & ~state.dead & ~state.beaten    # dropped models need no more comparisons
        mask[arm] = False
        others = np.flatnonzero(mask)
        if others.size == 0:
            return
        lengths = np.minimum(state.pulls[others], end) - start
        mine = state.outcomes[arm, start:end].astype(float)
        diff = (1.0 + mine[None, :] - state.outcomes[others, start:end]) / 2.0   # past their prefix: masked
        xs = np.concatenate([np.full(others.size, arm), others])
        ys = np.concatenate([others, np.full(others.size, arm)])
        beaten = state.pairs.extend(xs, ys, np.concatenate([diff, 1.0 - diff]), np.concatenate([lengths, lengths]))
        state.beaten[ys[beaten]] = True

    def on_exclude(self, state: BanditState, arm: int) -> None:
        state.dead[arm] = True

    # ---- estimates ---------------------------------------------------------------------------------
    def adjusted_rewards(self, state: BanditState) -> np.ndarray:
        """Paired (control-variate) reward estimates: each model's accuracy on its prefix of the shared
        image order, shifted by how much easier or harder that prefix was for the most-evaluated model."""
        seen = (state.pulls > 0) & ~state.dead
        est = np.full(state.n_models, np.nan)
        if not seen.any():
            return est
        ref = int(np.argmax(np.where(seen, state.pulls, -1)))
        n_ref = int(state.pulls[ref])
        ref_cum = np.concatenate(([0], np.cumsum(state.outcomes[ref, :n_ref] > 0)))
        n = state.pulls[seen]
        acc = state.successes[seen] / n + (ref_cum[n_ref] / n_ref - ref_cum[n] / n)
        est[seen] = state.w * acc + state.c[seen]
        return est

    def leader(self, state: BanditState) -> int | None:
        est = self.adjusted_rewards(state)
        ok = (state.pulls > 0) & ~state.dead & ~state.beaten
        if not ok.any():
            return None
        cands = np.flatnonzero(ok)
        order = np.lexsort((cands, -state.pulls[cands], -est[cands]))   # best estimate, then most evaluated
        return int(cands[order[0]])

    def _prune_unevaluated(self, state: BanditState, leader: int) -> None:
        """Known-metric bound: drop unevaluated models whose reward at accuracy 1.0 is below the leader's
        proven lower bound; mark as settled those that cannot beat it by more than epsilon."""
        if state.w <= 0:
            return
        todo = np.flatnonzero((state.pulls == 0) & ~state.dead & ~state.beaten & ~state.settled)
        if todo.size == 0:
            return
        outcomes = state.outcomes[leader, :int(state.pulls[leader])]
        for b in todo[np.argsort(state.max_reward[todo], kind="stable")]:
            need = (state.max_reward[b] - self.epsilon - state.c[leader]) / state.w
            if not state.singles.exceeds(leader, outcomes, need):
                break                                      # thresholds only grow from here
            state.settled[b] = True
            if state.singles.exceeds(leader, outcomes, need + self.epsilon / state.w):
                state.beaten[b] = True
                state.pruned_known[b] = True

    # ---- the race ----------------------------------------------------------------------------------
    def select(self, state: BanditState) -> int | None:
        lead = self.leader(state)
        if lead is None:
            return self._first_look(state)
        self._prune_unevaluated(state, lead)
        others = np.flatnonzero(~state.dead & ~state.beaten)
        others = others[others != lead]
        if others.size == 0:
            return self._finish(state, lead)
        t, mean, sd, settled_pair = state.pairs.stats(lead, others)
        seen = state.pulls[others] > 0
        open_ = ~np.where(seen, settled_pair, state.settled[others])
        if not open_.any():
            return self._finish(state, lead)
        bs, t, mean, sd, seen = others[open_], t[open_], mean[open_], sd[open_], seen[open_]
        # challenger index: optimistic reward of b minus the leader's, from the paired difference on their
        # common images (finite-population corrected). It only orders the sampling; decisions use the tests.
        n = state.n_images
        fpc = np.sqrt(np.clip((n - t) / max(n - 1, 1), 0.0, 1.0))
        sd_mean = 2.0 * sd / np.sqrt(np.maximum(t, 1.0)) * fpc
        paired = state.w * (1.0 - 2.0 * mean + self.index_z * sd_mean) + state.c[bs] - state.c[lead]
        unseen = state.max_reward[bs] - self.adjusted_rewards(state)[lead]
        gain = np.where(seen, paired, unseen) - self.epsilon
        priority = np.where(gain > 0, gain / state.cost[bs], gain)       # cost-weighted when it can still win
        for b in bs[np.lexsort((bs, state.macs[bs], -priority))]:
            pick = self._pull_for_pair(state, lead, int(b))
            if pick is not None:
                return pick
        state.stop_reason = AllImagesEvaluated(state.names[lead])
        return None

    def _first_look(self, state: BanditState) -> int | None:
        pool = np.flatnonzero(~state.dead & ~state.beaten & (state.pulls < state.n_images))
        if pool.size == 0:
            return None
        return int(pool[np.lexsort((pool, state.macs[pool], -state.max_reward[pool]))[0]])

    def _pull_for_pair(self, state: BanditState, lead: int, b: int) -> int | None:
        n = state.n_images
        if state.pulls[lead] <= state.pulls[b] and state.pulls[lead] < n:
            return lead
        if state.pulls[b] < n:
            return b
        return lead if state.pulls[lead] < n else None

    def _finish(self, state: BanditState, lead: int) -> int | None:
        evaluated = int(np.count_nonzero((state.pulls > 0) & ~state.dead))
        want = min(self.min_evaluated, int(np.count_nonzero(~state.dead)))
        if evaluated < want:   # show a top 3: evaluate the best unevaluated models by their possible reward
            pool = np.flatnonzero((state.pulls == 0) & ~state.dead)
            return int(pool[np.lexsort((pool, state.macs[pool], -state.max_reward[pool]))[0]])
        rivals = int(np.count_nonzero(~state.dead & ~state.beaten)) - 1
        state.stop_reason = LeaderProven(state.names[lead], self.epsilon, self.confidence, rivals, int(state.spent),
                                         int(state.budget))
        return None

    # ---- recommendation ----------------------------------------------------------------------------
    def recommend(self, state: BanditState) -> list[int]:
        assert isinstance(state, RaceState)
        est = self.adjusted_rewards(state)
        lead = self.leader(state)
        beaten = state.beaten

        def key(a: int) -> tuple[int, float, int]:
            if a in state.excluded:
                return (4, 0.0, a)
            if state.pulls[a] == 0:
                return (3, -float(state.max_reward[a]), a)
            if a == lead:
                return (0, 0.0, a)
            if beaten[a]:
                return (2, -float(est[a]), a)
            return (1, -float(est[a]), a)
        return sorted(range(state.n_models), key=key)
