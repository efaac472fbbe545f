"""The per-run state every strategy shares: the pulls of a step and what a run has observed (``BanditState``).

Every arm (candidate model) reads the target images in the same seeded order, so all models are
compared on the same images (paired), and an arm that has read every image is known exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greenrunner_core.environment import ModelFailedError
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.notes import StopReason
from greenrunner_core.reward import RewardModel

__all__ = ["UNSEEN", "BanditState", "Pull", "PullResult"]

UNSEEN = -1


@dataclass(frozen=True)
class Pull:
    """One independent unit of work: model ``arm`` on target images ``images`` (the next of its prefix)."""

    arm: int
    images: np.ndarray

    @property
    def size(self) -> int:
        return int(self.images.size)


PullResult = np.ndarray | ModelFailedError          # correctness per image, or why the model failed


class BanditState:
    """Everything observed in one run: per-model outcomes over the shared image order."""

    def __init__(self, names: list[str], n_images: int, reward_model: RewardModel, budget: int,
                 rng: np.random.Generator, confidence: float = 0.95, macs: np.ndarray | None = None) -> None:
        self.names = names
        self.n_models = len(names)
        self.n_images = n_images
        self.reward_model = reward_model
        self.budget = budget
        self.rng = rng
        self.confidence = confidence
        self.macs = np.ones(self.n_models) if macs is None else np.maximum(np.asarray(macs, dtype=float), 1.0)
        self.order = rng.permutation(n_images)               # shared image order (paired evaluation)
        self.outcomes = np.full((self.n_models, n_images), UNSEEN, dtype=np.int8)  # by position in order
        self.pulls = np.zeros(self.n_models, dtype=np.int64)  # images seen per model (a prefix of order)
        self.successes = np.zeros(self.n_models, dtype=np.int64)
        self.batches = np.zeros(self.n_models, dtype=np.int64)
        self.excluded: dict[int, str] = {}
        self.spent = 0
        self.stop_reason: StopReason | None = None
        self.estimates: np.ndarray | None = None   # reward per model the final order uses, when not the plain one

    # ---- bookkeeping -------------------------------------------------------------------------
    def next_images(self, arm: int, n: int) -> np.ndarray:
        start = int(self.pulls[arm])
        return self.order[start:start + n]

    def pull(self, arm: int, n: int) -> Pull:
        """The next ``n`` images of ``arm``'s prefix as a pull."""
        return Pull(int(arm), self.next_images(arm, n))

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
