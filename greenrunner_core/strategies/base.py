"""One small base class for every selection strategy, and the shared bandit state it works on.

Every arm (candidate model) reads the target images in the same seeded order, so all models are
compared on the same images (paired), and an arm that has read every image is known exactly.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.environment import Environment, ModelFailedError
from greenrunner_core.errors import BudgetError, GreenRunnerError
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.reward import RewardModel

UNSEEN = -1


@dataclass
class ProgressEvent:
    """Sent after every batch of pulls (UIs show it live)."""

    spent: int
    budget: int
    model: str
    batch_calls: int
    leader: str | None
    counts: dict[str, int]


ProgressCallback = Callable[[ProgressEvent], None]


class BanditState:
    """Everything observed so far: per-model outcomes over the shared image order."""

    def __init__(self, names: list[str], n_images: int, reward_model: RewardModel, budget: int,
                 rng: np.random.Generator, confidence: float = 0.95) -> None:
        self.names = names
        self.n_models = len(names)
        self.n_images = n_images
        self.reward_model = reward_model
        self.budget = budget
        self.rng = rng
        self.confidence = confidence
        self.order = rng.permutation(n_images)               # shared image order (paired evaluation)
        self.outcomes = np.full((self.n_models, n_images), UNSEEN, dtype=np.int8)  # by position in order
        self.pulls = np.zeros(self.n_models, dtype=np.int64)  # images seen per model (a prefix of order)
        self.successes = np.zeros(self.n_models, dtype=np.int64)
        self.batches = np.zeros(self.n_models, dtype=np.int64)
        self.excluded: dict[int, str] = {}
        self.spent = 0
        self.stop_reason: str | None = None

    # ---- bookkeeping -------------------------------------------------------------------------
    def next_images(self, arm: int, n: int) -> np.ndarray:
        start = int(self.pulls[arm])
        return self.order[start:start + n]

    def record(self, arm: int, correct: np.ndarray) -> None:
        correct = np.asarray(correct, dtype=bool)
        start = int(self.pulls[arm])
        self.outcomes[arm, start:start + correct.size] = correct
        self.pulls[arm] += correct.size
        self.successes[arm] += int(correct.sum())
        self.batches[arm] += 1
        self.spent += correct.size

    def exclude(self, arm: int, reason: str) -> None:
        self.excluded[arm] = reason

    def active(self) -> np.ndarray:
        """Arms that may still be pulled: not excluded, not exhausted."""
        mask = self.pulls < self.n_images
        for arm in self.excluded:
            mask[arm] = False
        return np.flatnonzero(mask)

    def alive(self) -> np.ndarray:
        """Arms not excluded (exhausted ones included)."""
        return np.array([a for a in range(self.n_models) if a not in self.excluded], dtype=np.int64)

    @property
    def remaining(self) -> int:
        return self.budget - self.spent

    # ---- estimates ---------------------------------------------------------------------------
    def accuracy(self) -> np.ndarray:
        """Observed accuracy per model (NaN where not evaluated)."""
        return accuracy_interval(self.pulls, self.successes, self.n_images)[0]

    def accuracy_interval(self, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
        """Finite-population-corrected confidence interval per model (see ``estimates``)."""
        _, low, high = accuracy_interval(self.pulls, self.successes, self.n_images, z)
        return low, high

    def reward(self) -> np.ndarray:
        return self.reward_model.reward(self.accuracy())

    def leader(self) -> int | None:
        est = self.reward()
        alive = [a for a in self.alive() if self.pulls[a] > 0]
        if not alive:
            return None
        return int(max(alive, key=lambda a: est[a]))

    def counts(self) -> dict[str, int]:
        return {self.names[i]: int(self.pulls[i]) for i in range(self.n_models)}


@dataclass
class StrategyRun:
    """What a strategy returns: the final state, its recommended order, and why it stopped."""

    state: BanditState
    ranking: list[int]
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


class Strategy(ABC):
    """Budgeted model selection. Subclasses implement ``select`` (and may override ``recommend``).

    ``seed`` feeds the only RNG the strategy uses; ``budget`` is in evaluation calls (one model on
    one image); ``batch_size`` is how many images one pull evaluates.
    """

    name: ClassVar[str] = "base"
    initial_round: ClassVar[bool] = True   # pull every arm once before ``select`` takes over

    def __init__(self, *, seed: int | None = 0, batch_size: int = 16, confidence: float = 0.95) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise GreenRunnerError(f"batch_size={batch_size!r} must be an integer >= 1")
        if not 0.5 <= confidence < 1.0:
            raise GreenRunnerError(f"confidence={confidence!r} must be in [0.5, 1)")
        self.seed = seed
        self.batch_size = batch_size
        self.confidence = confidence

    def params(self) -> dict[str, Any]:
        return {"seed": self.seed, "batch_size": self.batch_size}

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, env: Environment, reward_model: RewardModel, budget: int,
            progress: ProgressCallback | None = None) -> StrategyRun:
        names = [c.name for c in env.cards]
        n_models, n_images = len(names), len(env.image_ids)
        validate_budget(budget, n_models, n_images)
        rng = np.random.default_rng(self.seed)
        state = BanditState(names, n_images, reward_model, budget, rng, self.confidence)
        self.start(state)
        interrupted = False
        try:
            if self.initial_round:
                for arm in range(n_models):
                    if state.remaining <= 0:
                        break
                    self._pull(env, state, arm, progress, share=max(1, state.remaining // max(n_models - arm, 1)))
            while state.remaining > 0 and len(state.active()):
                arm = self.select(state)
                if arm is None:
                    break
                self._pull(env, state, arm, progress)
        except KeyboardInterrupt:
            interrupted = True
            state.stop_reason = "interrupted (Ctrl-C): results so far are kept; re-running resumes from the cache"
        if state.stop_reason is None:
            state.stop_reason = "budget spent" if state.remaining <= 0 else "no model needs more evaluations"
        ranking = self.recommend(state)
        return StrategyRun(state=state, ranking=ranking, interrupted=interrupted)

    def _pull(self, env: Environment, state: BanditState, arm: int, progress: ProgressCallback | None,
              share: int | None = None) -> None:
        size = min(self.batch_size, share or self.batch_size)
        n = int(min(size, state.remaining, state.n_images - state.pulls[arm]))
        if n <= 0 or arm in state.excluded:
            return
        images = state.next_images(arm, n)
        try:
            correct = env.pull(arm, images)
        except ModelFailedError as err:
            state.exclude(arm, err.reason)
            self.on_exclude(state, arm)
            return
        state.record(arm, correct)
        self.update(state, arm, np.asarray(correct, dtype=bool))
        if progress is not None:
            leader = state.leader()
            progress(ProgressEvent(spent=state.spent, budget=state.budget, model=state.names[arm], batch_calls=n,
                                   leader=None if leader is None else state.names[leader], counts=state.counts()))

    # ---- hooks -------------------------------------------------------------------------------
    def start(self, state: BanditState) -> None:
        """Called once before the first pull."""

    @abstractmethod
    def select(self, state: BanditState) -> int | None:
        """Next arm to pull, or None to stop early."""

    def update(self, state: BanditState, arm: int, correct: np.ndarray) -> None:
        """Called after each pull (the state is already updated)."""

    def on_exclude(self, state: BanditState, arm: int) -> None:
        """Called when a model failed and was excluded."""

    def recommend(self, state: BanditState) -> list[int]:
        """Models best first: by estimated reward; unevaluated and excluded models last."""
        est = state.reward()
        def key(a: int) -> tuple[int, float, int]:
            if a in state.excluded:
                return (2, 0.0, a)
            if state.pulls[a] == 0:
                return (1, -float(state.reward_model.max_reward[a]), a)
            return (0, -float(est[a]), a)
        return sorted(range(state.n_models), key=key)

    # ---- helpers for subclasses ----------------------------------------------------------------
    @staticmethod
    def argmax_random_tie(values: np.ndarray, arms: np.ndarray, rng: np.random.Generator) -> int:
        vals = values[arms]
        best = np.flatnonzero(vals >= np.max(vals) - 1e-12)
        return int(arms[best[rng.integers(len(best))]])


def validate_budget(budget: int, n_models: int, n_images: int) -> None:
    if n_models == 0:
        raise GreenRunnerError("no candidate models to select from; pick at least two models (see `greenrunner models`)")
    if n_images == 0:
        raise GreenRunnerError("the target dataset has no usable images; see its validation report")
    if not isinstance(budget, (int, np.integer)) or isinstance(budget, bool):
        raise BudgetError(f"budget={budget!r} must be an integer number of evaluation calls")
    if budget < n_models:
        raise BudgetError(f"budget={budget} is below the number of candidate models ({n_models}); "
                          f"raise it to at least {n_models} (one call = one model on one image)")


def log_term(t: int) -> float:
    return math.log(max(t, 2))
