"""Strategies that pick one arm at a time (``select``), after an optional initial round over every arm."""
from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from greenrunner_core.environment import Environment
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.base import Strategy
from greenrunner_core.strategies.state import BanditState, Pull

__all__ = ["SequentialState", "SequentialStrategy"]


class SequentialState(BanditState):
    """Adds where the initial round (every arm pulled once) has got to."""

    initial_next: int = 0


class SequentialStrategy(Strategy):
    """A strategy that picks one arm at a time (``select``): each step is a single pull of ``batch_size``
    images; with ``initial_round`` every arm is pulled once first, the budget shared evenly."""

    initial_round: ClassVar[bool] = True
    state_class: ClassVar[type[BanditState]] = SequentialState

    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> SequentialState:
        state = super().start(env, reward_model, budget)
        assert isinstance(state, SequentialState)
        state.initial_next = 0 if self.initial_round else state.n_models
        return state

    def ask(self, state: SequentialState) -> list[Pull]:  # type: ignore[override]
        while state.initial_next < state.n_models:
            arm = state.initial_next
            state.initial_next += 1
            share = max(1, state.remaining // max(state.n_models - arm, 1))
            n = int(min(self.batch_size, share, state.remaining, state.n_images - state.pulls[arm]))
            if n > 0 and arm not in state.excluded:
                return [state.pull(arm, n)]
        if not len(state.active()):
            return []
        arm = self.select(state)
        if arm is None:
            return []
        n = int(min(self.batch_size, state.remaining, state.n_images - state.pulls[arm]))
        return [state.pull(arm, n)] if n > 0 and arm not in state.excluded else []

    @abstractmethod
    def select(self, state: BanditState) -> int | None:
        """Next arm to pull, or None to stop early."""
