"""Successive halving (Karnin et al. 2013; Jamieson & Talwalkar 2016) over evaluation calls.

The budget is split evenly over ceil(log2 K) rounds; each round evaluates every survivor on the
next images of the shared order and keeps the better half by estimated reward. The round logic has
hooks (``pick``, ``cut_order``, ``settled``) that ``EnergyAwareHalving`` overrides.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.environment import Environment
from greenrunner_core.errors import checked
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.sequential import SequentialState, SequentialStrategy
from greenrunner_core.strategies.state import BanditState


class HalvingState(SequentialState):
    """Per-run bookkeeping of successive halving."""

    survivors: list[int]
    rounds: int = 1
    round: int = 0
    target: dict[int, int]
    eliminated: list[list[int]]       # per round, worst first


class SuccessiveHalving(SequentialStrategy):
    name: ClassVar[str] = "successive_halving"
    initial_round: ClassVar[bool] = False
    state_class: ClassVar[type[BanditState]] = HalvingState
    own_params: ClassVar[tuple[str, ...]] = ("eta",)

    def __init__(self, *, eta: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.eta = checked("eta", eta, isinstance(eta, int) and eta >= 2, "must be an integer >= 2")

    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> HalvingState:
        state = super().start(env, reward_model, budget)
        assert isinstance(state, HalvingState)
        state.survivors = list(range(state.n_models))
        state.rounds = max(1, math.ceil(math.log(max(state.n_models, 2), self.eta)))
        state.round = 0
        state.eliminated = []
        self.begin_round(state)
        return state

    def begin_round(self, state: HalvingState) -> None:
        rounds_left = max(state.rounds - state.round, 1)
        per_round = state.remaining // rounds_left
        per_arm = max(1, per_round // max(len(state.survivors), 1))
        state.target = {a: min(state.n_images, int(state.pulls[a]) + per_arm) for a in state.survivors}

    # ---- hooks ---------------------------------------------------------------------------------
    def pick(self, state: HalvingState, arms: list[int]) -> int:
        """Which of the arms still owed images goes next (the least evaluated)."""
        return min(arms, key=lambda a: state.pulls[a])

    def cut_order(self, state: HalvingState) -> list[int]:
        """Survivors best first, for the cut at the end of a round."""
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        return sorted(state.survivors, key=lambda a: -est[a])

    def settled(self, state: HalvingState) -> bool:
        """Stop before the budget is spent? (plain halving never does)"""
        return False

    # ---- the rounds ----------------------------------------------------------------------------
    def owed(self, state: HalvingState) -> list[int] | None:
        """Survivors still owed images this round (None: no survivor left)."""
        state.survivors = [a for a in state.survivors if a not in state.excluded]
        if not state.survivors:
            return None
        return [a for a in state.survivors if state.pulls[a] < state.target[a]]

    def select(self, state: HalvingState) -> int | None:  # type: ignore[override]
        pending = self.owed(state)
        if pending is None:
            return None
        if pending:
            return self.pick(state, pending)
        if self.settled(state):
            return None
        if len(state.survivors) == 1 or state.round >= state.rounds - 1:
            # last round done: spend what is left on the survivors, evenly
            open_arms = [a for a in state.survivors if state.pulls[a] < state.n_images]
            return self.pick(state, open_arms) if open_arms else None
        ordered = self.cut_order(state)
        keep = max(1, math.ceil(len(ordered) / self.eta))
        state.eliminated.append(list(reversed(ordered[keep:])))
        state.survivors = ordered[:keep]
        state.round += 1
        self.begin_round(state)
        return self.select(state)

    def recommend(self, state: BanditState) -> list[int]:
        assert isinstance(state, HalvingState)
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        out = sorted((a for a in state.survivors if a not in state.excluded), key=lambda a: -est[a])
        for group in reversed(state.eliminated):
            out.extend(sorted((a for a in group if a not in out and a not in state.excluded), key=lambda a: -est[a]))
        out.extend(a for a in super().recommend(state) if a not in out)
        return out
