"""Energy-aware successive halving (SM2, "Spend More to Save More", Geißler et al., ARCS 2025) over evaluation calls.

SM2 spends a little energy on a cheap exploratory rung so that inefficient candidates are dropped before
they cost much, and ranks candidates by an objective that blends performance with measured energy:

1. exploratory rung: every model on a small slice of the shared image order (``explore_fraction`` of
   the budget, spread evenly), measuring accuracy and energy per call;
2. prune the dominated: drop every model whose objective upper bound is below the best lower bound,
   where objective = reward − ``energy_weight`` x normalised log(energy per call);
3. successive halving on the rest (keep the best 1/eta by that objective each round, after pruning
   the dominated again);
4. stop as soon as the leader's reward interval clears every other survivor's (checked at each round's
   end, and after every pull in the last round) — the budget left is energy not spent.

Energy per call comes from the environment's energy ledger (joules, measured or estimated, cached calls
included); without one (a replay), from seconds per call, else from MACs. The final ranking is by the
user's reward: energy steers where evaluations are spent, not what "best" means.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.environment import Environment
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.base import BanditState, ProgressCallback, Strategy, StrategyRun


class EnergyAwareHalving(Strategy):
    name: ClassVar[str] = "energy_halving"
    initial_round: ClassVar[bool] = False

    def __init__(self, *, eta: int = 2, explore_fraction: float = 0.1, energy_weight: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(eta, int) or eta < 2:
            raise GreenRunnerError(f"eta={eta!r} must be an integer >= 2")
        if not 0.0 < explore_fraction < 1.0:
            raise GreenRunnerError(f"explore_fraction={explore_fraction!r} must be in (0, 1), e.g. 0.1")
        if not (math.isfinite(energy_weight) and energy_weight >= 0):
            raise GreenRunnerError(f"energy_weight={energy_weight!r} must be a number >= 0 (0 = plain halving)")
        self.eta = eta
        self.explore_fraction = float(explore_fraction)
        self.energy_weight = float(energy_weight)
        self._env: Environment | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "eta": self.eta, "explore_fraction": self.explore_fraction,
                "energy_weight": self.energy_weight}

    # the base loop, plus access to the environment's energy figures ---------------------------------------------
    def run(self, env: Environment, reward_model: RewardModel, budget: int,
            progress: ProgressCallback | None = None) -> StrategyRun:
        self._env = env
        self.energy_source = "not measured"
        self.pruned: list[int] = []
        self.stopped_early = False
        try:
            run = super().run(env, reward_model, budget, progress)
        finally:
            self._env = None
        state = run.state
        pruned = ", ".join(state.names[a] for a in self.pruned) or "none"
        run.notes.append(
            f"energy_halving: objective = reward − {self.energy_weight:g} × normalised log({self.energy_source}); "
            f"exploratory rung: up to {getattr(self, 'explore_images', 0)} images per model; pruned as dominated: "
            f"{pruned}"
            + ("; stopped early: the leader's interval cleared every other survivor, "
               f"{state.remaining:,} calls of the budget not spent" if self.stopped_early else ""))
        return run

    # schedule -----------------------------------------------------------------------------------------------
    def start(self, state: BanditState) -> None:
        self.z = NormalDist().inv_cdf(0.5 + self.confidence / 2)
        self.survivors = list(range(state.n_models))
        self.eliminated: list[list[int]] = []
        self.phase = "explore"
        self.round, self.rounds = 0, 1
        per_arm = int(self.explore_fraction * state.budget / max(state.n_models, 1))
        self.explore_images = max(1, min(per_arm, state.n_images))
        self.target = {a: self.explore_images for a in self.survivors}

    def _begin_round(self, state: BanditState) -> None:
        rounds_left = max(self.rounds - self.round, 1)
        per_arm = max(1, (state.remaining // rounds_left) // max(len(self.survivors), 1))
        self.target = {a: min(state.n_images, int(state.pulls[a]) + per_arm) for a in self.survivors}

    def select(self, state: BanditState) -> int | None:
        self.survivors = [a for a in self.survivors if a not in state.excluded]
        if not self.survivors:
            return None
        pending = [a for a in self.survivors if state.pulls[a] < self.target[a]]
        if pending:
            return min(pending, key=lambda a: (state.pulls[a], a))
        if self.phase == "explore":
            self.explore_images = int(max(state.pulls[a] for a in self.survivors))   # pulls come in whole batches
            self._prune_dominated(state)
            self.phase = "halving"
            self.round = 0
            self.rounds = max(1, math.ceil(math.log(max(len(self.survivors), 2), self.eta)))
            self._begin_round(state)
            return self.select(state)
        if self._settled(state):
            self.stopped_early = True
            state.stop_reason = "the leader is settled: the rest of the budget was not needed"
            return None
        if len(self.survivors) == 1 or self.round >= self.rounds - 1:
            open_arms = [a for a in self.survivors if state.pulls[a] < state.n_images]
            return min(open_arms, key=lambda a: (state.pulls[a], a)) if open_arms else None
        self._prune_dominated(state)
        objective = self.objective(state)
        ordered = sorted(self.survivors, key=lambda a: (-objective[a], a))
        keep = max(1, math.ceil(len(ordered) / self.eta))
        self.eliminated.append(list(reversed(ordered[keep:])))
        self.survivors = ordered[:keep]
        self.round += 1
        self._begin_round(state)
        return self.select(state)

    # the objective ------------------------------------------------------------------------------------------
    def energy_per_call(self, state: BanditState) -> np.ndarray:
        """One cost figure per model (NaN where unknown), in the best unit every seen survivor has."""
        seen = [a for a in range(state.n_models) if state.pulls[a] > 0 and a not in state.excluded]
        env = self._env
        names = state.names
        ledger = getattr(env, "energy", None)
        if ledger is not None:
            values = np.array([getattr(ledger.per_model.get(n), "per_call", None) or np.nan for n in names])
            if seen and all(np.isfinite(values[a]) and values[a] > 0 for a in seen):
                self.energy_source = f"J per call, {ledger.kind}" if ledger.kind else "J per call"
                return values
        accounting = getattr(env, "accounting", None)
        if accounting is not None:
            values = np.full(state.n_models, np.nan)
            for i, n in enumerate(names):
                account = accounting.per_model.get(n)
                if account is not None and account.calls and account.compute_seconds > 0:
                    values[i] = account.compute_seconds / account.calls
            if seen and all(np.isfinite(values[a]) for a in seen):
                self.energy_source = "seconds per call (no energy recorded)"
                return values
        cards = getattr(env, "cards", None) or []
        self.energy_source = "MACs per image (nothing measured)"
        return np.array([float(c.macs) for c in cards] if cards else [1.0] * state.n_models)

    def penalty(self, state: BanditState) -> np.ndarray:
        """energy_weight x log(e / e_min) / log(e_max / e_min), with the range over every model measured."""
        e = self.energy_per_call(state)
        ok = np.isfinite(e) & (e > 0)
        out = np.zeros(state.n_models)
        if self.energy_weight == 0 or ok.sum() < 2:
            return out
        lo, hi = float(np.min(e[ok])), float(np.max(e[ok]))
        if hi / lo <= 1 + 1e-9:
            return out
        out[ok] = self.energy_weight * np.log(e[ok] / lo) / math.log(hi / lo)
        return out

    def objective(self, state: BanditState) -> np.ndarray:
        return np.nan_to_num(state.reward(), nan=-np.inf) - self.penalty(state)

    def _bounds(self, state: BanditState) -> tuple[np.ndarray, np.ndarray]:
        low, high = state.accuracy_interval(self.z)
        return state.reward_model.bounds(low, high)

    def _prune_dominated(self, state: BanditState) -> None:
        r_low, r_high = self._bounds(state)
        pen = self.penalty(state)
        f_low, f_high = r_low - pen, r_high - pen
        best_low = max(f_low[a] for a in self.survivors)
        dominated = [a for a in self.survivors if f_high[a] < best_low]
        if dominated:
            group = sorted(dominated, key=lambda a: f_high[a])
            self.pruned.extend(group)
            self.eliminated.append(group)
            self.survivors = [a for a in self.survivors if a not in dominated]

    def _settled(self, state: BanditState) -> bool:
        if len(self.survivors) < 2:
            return len(self.survivors) == 1 and state.pulls[self.survivors[0]] > 0
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        leader = max(self.survivors, key=lambda a: (est[a], -a))
        r_low, r_high = self._bounds(state)
        return all(r_low[leader] > r_high[a] for a in self.survivors if a != leader)

    def recommend(self, state: BanditState) -> list[int]:
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        out = sorted((a for a in getattr(self, "survivors", []) if a not in state.excluded), key=lambda a: -est[a])
        for group in reversed(getattr(self, "eliminated", [])):
            out.extend(sorted((a for a in group if a not in out and a not in state.excluded), key=lambda a: -est[a]))
        out.extend(a for a in super().recommend(state) if a not in out)
        return out
