"""Thompson sampling with a Beta posterior on each model's accuracy, as the GreenRunnerGPT paper ran it.

Recommends the most-selected model by default (the paper's rule); ``recommend_by="reward"``
ranks by estimated reward instead.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from greenrunner_core.errors import checked
from greenrunner_core.strategies.sequential import SequentialStrategy
from greenrunner_core.strategies.state import BanditState


class ThompsonSampling(SequentialStrategy):
    name: ClassVar[str] = "thompson"
    own_params: ClassVar[tuple[str, ...]] = ("recommend_by",)

    def __init__(self, *, recommend_by: Literal["most_selected", "reward"] = "most_selected", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recommend_by = checked("recommend_by", recommend_by, recommend_by in ("most_selected", "reward"),
                                    "must be 'most_selected' or 'reward'")

    def select(self, state: BanditState) -> int | None:
        active = state.active()
        failures = state.pulls - state.successes
        sampled = state.rng.beta(1.0 + state.successes, 1.0 + failures)
        return self.argmax_random_tie(state.reward_model.reward(sampled), active, state.rng)

    def recommend(self, state: BanditState) -> list[int]:
        if self.recommend_by == "reward":
            return super().recommend(state)
        est = np.nan_to_num(state.reward(), nan=-np.inf)
        return sorted(range(state.n_models),
                      key=lambda a: (a in state.excluded, -int(state.pulls[a]), -float(est[a]), a))
