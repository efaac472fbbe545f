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

from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind
from greenrunner_core.environment import Environment
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.notes import CostUnit, EnergyHalvingSummary, RunNote, Stopped
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.state import BanditState
from greenrunner_core.strategies.successive_halving import HalvingState, SuccessiveHalving


class EnergyState(HalvingState):
    """Halving bookkeeping plus the exploratory rung, the energy source and the environment measured."""

    env: Environment
    z: float
    phase: str = "explore"
    explore_images: int = 0
    energy_source: CostUnit = "not_measured"
    energy_kind: EnergyKind = NOT_MEASURED
    pruned: list[int]
    stopped_early: bool = False


class EnergyAwareHalving(SuccessiveHalving):
    name: ClassVar[str] = "energy_halving"
    state_class: ClassVar[type[BanditState]] = EnergyState

    def __init__(self, *, eta: int = 2, explore_fraction: float = 0.1, energy_weight: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(eta=eta, **kwargs)
        if not 0.0 < explore_fraction < 1.0:
            raise GreenRunnerError(f"explore_fraction={explore_fraction!r} must be in (0, 1), e.g. 0.1")
        if not (math.isfinite(energy_weight) and energy_weight >= 0):
            raise GreenRunnerError(f"energy_weight={energy_weight!r} must be a number >= 0 (0 = plain halving)")
        self.explore_fraction = float(explore_fraction)
        self.energy_weight = float(energy_weight)

    def params(self) -> dict[str, Any]:
        return {**super().params(), "explore_fraction": self.explore_fraction, "energy_weight": self.energy_weight}

    # schedule: an exploratory rung first, then successive halving -------------------------------------------
    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> EnergyState:
        state = super().start(env, reward_model, budget)
        assert isinstance(state, EnergyState)
        state.env = env
        state.z = NormalDist().inv_cdf(0.5 + self.confidence / 2)
        state.pruned = []
        state.phase = "explore"
        state.round, state.rounds = 0, 1
        per_arm = int(self.explore_fraction * state.budget / max(state.n_models, 1))
        state.explore_images = max(1, min(per_arm, state.n_images))
        state.target = {a: state.explore_images for a in state.survivors}
        return state

    def begin_round(self, state: HalvingState) -> None:
        if getattr(state, "phase", "halving") == "explore":   # called by SuccessiveHalving.start: rung set there
            return
        super().begin_round(state)

    def pick(self, state: HalvingState, arms: list[int]) -> int:
        return min(arms, key=lambda a: (state.pulls[a], a))

    def select(self, state: HalvingState) -> int | None:  # type: ignore[override]
        assert isinstance(state, EnergyState)
        if state.phase == "explore":
            pending = self.owed(state)
            if pending is None:
                return None
            if pending:
                return self.pick(state, pending)
            state.explore_images = int(max(state.pulls[a] for a in state.survivors))   # pulls come in whole batches
            self._prune_dominated(state)
            state.phase = "halving"
            state.round = 0
            state.rounds = max(1, math.ceil(math.log(max(len(state.survivors), 2), self.eta)))
            self.begin_round(state)
        return super().select(state)

    def cut_order(self, state: HalvingState) -> list[int]:
        assert isinstance(state, EnergyState)
        self._prune_dominated(state)
        objective = self.objective(state)
        return sorted(state.survivors, key=lambda a: (-objective[a], a))

    def finish(self, state: BanditState) -> list[RunNote]:
        assert isinstance(state, EnergyState)
        return super().finish(state) + [EnergyHalvingSummary(
            self.energy_weight, state.energy_source, state.explore_images, tuple(state.names[a] for a in state.pruned),
            state.remaining if state.stopped_early else None, state.energy_kind)]

    # the objective ------------------------------------------------------------------------------------------
    def energy_per_call(self, state: EnergyState) -> np.ndarray:
        """One cost figure per model (NaN where unknown), in the best unit every seen survivor has."""
        seen = [a for a in range(state.n_models) if state.pulls[a] > 0 and a not in state.excluded]
        env = state.env
        names = state.names
        ledger = getattr(env, "energy", None)
        if ledger is not None:
            values = np.array([getattr(ledger.per_model.get(n), "per_call", None) or np.nan for n in names])
            if seen and all(np.isfinite(values[a]) and values[a] > 0 for a in seen):
                state.energy_source, state.energy_kind = "joules", ledger.kind
                return values
        accounting = getattr(env, "accounting", None)
        if accounting is not None:
            values = np.full(state.n_models, np.nan)
            for i, n in enumerate(names):
                account = accounting.per_model.get(n)
                if account is not None and account.calls and account.compute_seconds > 0:
                    values[i] = account.compute_seconds / account.calls
            if seen and all(np.isfinite(values[a]) for a in seen):
                state.energy_source = "seconds"
                return values
        cards = getattr(env, "cards", None) or []
        state.energy_source = "macs"
        return np.array([float(c.macs) for c in cards] if cards else [1.0] * state.n_models)

    def penalty(self, state: EnergyState) -> np.ndarray:
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

    def objective(self, state: EnergyState) -> np.ndarray:
        return np.nan_to_num(state.reward(), nan=-np.inf) - self.penalty(state)

    def _bounds(self, state: EnergyState) -> tuple[np.ndarray, np.ndarray]:
        low, high = state.accuracy_interval(state.z)
        return state.reward_model.bounds(low, high)

    def _prune_dominated(self, state: EnergyState) -> None:
        r_low, r_high = self._bounds(state)
        pen = self.penalty(state)
        f_low, f_high = r_low - pen, r_high - pen
        best_low = max(f_low[a] for a in state.survivors)
        dominated = [a for a in state.survivors if f_high[a] < best_low]
        if dominated:
            group = sorted(dominated, key=lambda a: f_high[a])
            state.pruned.extend(group)
            state.eliminated.append(group)
            state.survivors = [a for a in state.survivors if a not in dominated]

    def settled(self, state: HalvingState) -> bool:
        assert isinstance(state, EnergyState)
        if len(state.survivors) < 2:
            done = len(state.survivors) == 1 and state.pulls[state.survivors[0]] > 0
        else:
            est = np.nan_to_num(state.reward(), nan=-np.inf)
            leader = max(state.survivors, key=lambda a: (est[a], -a))
            r_low, r_high = self._bounds(state)
            done = all(r_low[leader] > r_high[a] for a in state.survivors if a != leader)
        if done:
            state.stopped_early = True
            state.stop_reason = Stopped("leader_settled")
        return done
