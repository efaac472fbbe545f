"""UCB1 (Auer et al. 2002) on the learned accuracy: optimism in the face of uncertainty."""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from greenrunner_core.errors import checked
from greenrunner_core.strategies.base import log_term
from greenrunner_core.strategies.sequential import SequentialStrategy
from greenrunner_core.strategies.state import BanditState


class UCB1(SequentialStrategy):
    """Pick argmax of reward(acc_hat + c * sqrt(2 ln t / n)); t and n count evaluated images."""

    name: ClassVar[str] = "ucb1"
    own_params: ClassVar[tuple[str, ...]] = ("exploration",)

    def __init__(self, *, exploration: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.exploration = checked("exploration", exploration, exploration >= 0, "must be >= 0")

    def select(self, state: BanditState) -> int | None:
        active = state.active()
        n = np.maximum(state.pulls, 1)
        bonus = self.exploration * np.sqrt(2.0 * log_term(state.spent) / n)
        optimistic = np.minimum(np.nan_to_num(state.accuracy(), nan=1.0) + bonus, 1.0)
        return self.argmax_random_tie(state.reward_model.reward(optimistic), active, state.rng)
