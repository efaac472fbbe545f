"""Epsilon-greedy: exploit the best estimated reward, explore a random model with probability epsilon."""
from __future__ import annotations

from typing import Any, ClassVar

from greenrunner_core.errors import checked
from greenrunner_core.strategies.sequential import SequentialStrategy
from greenrunner_core.strategies.state import BanditState


class EpsilonGreedy(SequentialStrategy):
    name: ClassVar[str] = "epsilon_greedy"
    own_params: ClassVar[tuple[str, ...]] = ("epsilon",)

    def __init__(self, *, epsilon: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.epsilon = checked("epsilon", epsilon, 0.0 <= epsilon <= 1.0, "must be in [0, 1]")

    def select(self, state: BanditState) -> int | None:
        active = state.active()
        if state.rng.random() < self.epsilon:
            return int(active[state.rng.integers(len(active))])
        return self.argmax_random_tie(state.reward(), active, state.rng)
