"""Successive halving (Karnin et al. 2013; Jamieson & Talwalkar 2016) over evaluation calls.

The budget is split evenly over ceil(log2 K) rounds; each round evaluates every survivor on the
next images of the shared order and keeps the better half by estimated reward.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.strategies.base import BanditState, Strategy


class SuccessiveHalving(Strategy):
    name: ClassVar[str] = "successive_halving"
    initial_round: ClassVar[bool] = False

    def __init__(self, *, eta: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(eta, int) or eta < 2:
            from greenrunner_core.errors import GreenRunnerError
            raise GreenRunnerError(f"eta={eta!r} must be an integer >= 2")
        self.eta = eta

    def params(self) -> dict[str, Any]:
        return {**super().params(), "eta": self.eta}

    def start(self, state: BanditState) -> None:
        self.survivors = list(range(state.n_models))
        self.rounds = max(1, math.ceil(math.log(max(state.n_models, 2), self.eta)))
        self.round = 0
        self.eliminated: list[list[int]] = []   # per round, worst first
        self._begin_round(state)

    def _begin_round(self, state: BanditState) -> None:
        rounds_left = max(self.rounds - self.round, 1)
        per_round = state.remaining // rounds_left
        per_arm = max(1, per_round // max(len(self.survivors), 1))
        self.target = {a: min(state.n_images, int(state.pulls[a]) + per_arm) for a in self.survivors}

    def select(self, state: BanditState) -> int | None:
        self.survivors = [a for a in self.survivors if a not in state.excluded]
        if not self.survivors:
            return None
        pending = [a for a in self.survivors if state.pulls[a] < self.target[a]]
        if pending:
            return min(pending, key=lambda a: state.pulls[a])
        if len(self.survivors) == 1 or self.round >= self.rounds - 1:
            # last round done: spend what is left on the survivors, evenly
            open_arms = [a for a in self.survivors if state.pulls[a] < state.n_images]
            return min(open_arms, key=lambda a: state.pulls[a]) if open_arms else None
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        ordered = sorted(self.survivors, key=lambda a: -est[a])
        keep = max(1, math.ceil(len(ordered) / self.eta))
        self.eliminated.append(list(reversed(ordered[keep:])))
        self.survivors = ordered[:keep]
        self.round += 1
        self._begin_round(state)
        return self.select(state)

    def recommend(self, state: BanditState) -> list[int]:
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        survivors = sorted((a for a in getattr(self, "survivors", []) if a not in state.excluded), key=lambda a: -est[a])
        out = list(survivors)
        for group in reversed(getattr(self, "eliminated", [])):
            out.extend(sorted(group, key=lambda a: -est[a]))
        out.extend(a for a in super().recommend(state) if a not in out)
        return out
