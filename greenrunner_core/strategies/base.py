"""One small base class for every selection strategy, its ask/tell protocol, and the per-run state.

A strategy is immutable configuration. ``start()`` returns the per-run state (a ``BanditState`` or a
subclass holding the strategy's own bookkeeping); ``ask(state)`` proposes the next step as a list of
independent pulls; ``tell(state, pulls, results)`` records their outcomes, in the order of ``pulls``.
An executor may run the pulls of one step in any order or concurrently: as long as it hands the results
back in the order of ``pulls``, a seeded run returns the same ranking and calls (see docs/strategies.md).

Every arm (candidate model) reads the target images in the same seeded order, so all models are
compared on the same images (paired), and an arm that has read every image is known exactly.
"""
from __future__ import annotations

import math
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from greenrunner_core.cancel import Cancelled, CancelToken
from greenrunner_core.environment import Environment, ModelFailedError
from greenrunner_core.errors import BudgetError, GreenRunnerError, checked
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.notes import Interrupted, RunNote, Stopped, StopReason
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.progress import ProgressCallback, ProgressEvent

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
Executor = Callable[[Environment, Sequence[Pull]], list[PullResult]]


def serial_executor(env: Environment, pulls: Sequence[Pull]) -> list[PullResult]:
    """Run the pulls one after the other in this process; failures come back as ``ModelFailedError``."""
    out: list[PullResult] = []
    for pull in pulls:
        try:
            out.append(np.asarray(env.pull(pull.arm, pull.images), dtype=bool))
        except ModelFailedError as err:
            out.append(err)
    return out


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


@dataclass
class StrategyRun:
    """What a strategy returns: the final state, its recommended order, and why it stopped."""

    state: BanditState
    ranking: list[int]
    interrupted: bool = False
    notes: list[RunNote] = field(default_factory=list)


class _FrozenAfterInit(ABCMeta):
    """Strategies are configuration: attributes are fixed once ``__init__`` returns."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        obj = super().__call__(*args, **kwargs)
        object.__setattr__(obj, "_frozen", True)
        return obj


class Strategy(metaclass=_FrozenAfterInit):
    """Budgeted model selection as ask/tell over a per-run state.

    ``seed`` feeds the only RNG a run uses (created in ``start``); ``budget`` is in evaluation calls
    (one model on one image); ``batch_size`` is the most images one pull evaluates.
    """

    name: ClassVar[str] = "base"
    state_class: ClassVar[type[BanditState]] = BanditState
    own_params: ClassVar[tuple[str, ...]] = ()     # the subclass's settings ``params()`` reports after the base's

    def __init__(self, *, seed: int | None = 0, batch_size: int = 16, confidence: float = 0.95) -> None:
        self.batch_size = checked("batch_size", batch_size, isinstance(batch_size, int) and batch_size >= 1,
                                  "must be an integer >= 1")
        self.confidence = checked("confidence", confidence, 0.5 <= confidence < 1.0, "must be in [0.5, 1)")
        self.seed = seed

    def __setattr__(self, key: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            raise AttributeError(f"{type(self).__name__} is immutable configuration; {key!r} cannot be set after "
                                 "construction (per-run state belongs to the state start() returns)")
        object.__setattr__(self, key, value)

    def params(self) -> dict[str, Any]:
        """The settings a result records: seed, batch size and the subclass's ``own_params``."""
        return {"seed": self.seed, "batch_size": self.batch_size, **{k: getattr(self, k) for k in self.own_params}}

    # ---- the protocol ------------------------------------------------------------------------
    def start(self, env: Environment, reward_model: RewardModel, budget: int) -> BanditState:
        """A fresh per-run state (validated budget, seeded RNG, shared image order)."""
        names = [c.name for c in env.cards]
        validate_budget(budget, len(names), len(env.image_ids))
        return self.state_class(names, len(env.image_ids), reward_model, budget, np.random.default_rng(self.seed),
                                self.confidence, np.array([float(c.macs) for c in env.cards]))

    @abstractmethod
    def ask(self, state: BanditState) -> list[Pull]:
        """The next step: independent pulls (an empty list = stop). Pulls take the next images of each arm."""

    def tell(self, state: BanditState, pulls: Sequence[Pull], results: Sequence[PullResult]) -> None:
        """Record the results of one step, in the order of ``pulls``."""
        for pull, result in zip(pulls, results):
            if isinstance(result, ModelFailedError):
                state.exclude(pull.arm, result.reason)
                self.on_exclude(state, pull.arm)
                continue
            correct = np.asarray(result, dtype=bool)
            state.record(pull.arm, correct)
            self.update(state, pull.arm, correct)

    def update(self, state: BanditState, arm: int, correct: np.ndarray) -> None:
        """Called for each recorded pull (the state is already updated)."""

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

    def finish(self, state: BanditState) -> list[RunNote]:
        """Notes on the run for the report (called once at the end): typed records, worded in ``tools/``."""
        return []

    # ---- the driver --------------------------------------------------------------------------
    def run(self, env: Environment, reward_model: RewardModel, budget: int,
            progress: ProgressCallback | None = None, executor: Executor = serial_executor,
            cancel: CancelToken | None = None) -> StrategyRun:
        """ask -> execute -> tell until the strategy stops, the budget is spent or ``cancel`` is cancelled
        (checked before every step; the environment may check it between batches too)."""
        state = self.start(env, reward_model, budget)
        interrupted = False
        try:
            while state.remaining > 0:
                if cancel is not None:
                    cancel.check()
                pulls = within_budget(state, self.ask(state))
                if not pulls:
                    break
                results = executor(env, pulls)
                self.tell(state, pulls, results)
                if progress is not None:
                    report_progress(state, pulls, results, progress)
        except KeyboardInterrupt:
            interrupted = True
            state.stop_reason = Interrupted()
        except Cancelled as stop:
            interrupted = True
            state.stop_reason = Interrupted(stop.reason)
        if state.stop_reason is None:
            state.stop_reason = Stopped("budget_spent") if state.remaining <= 0 else Stopped("nothing_left")
        ranking = self.recommend(state)
        return StrategyRun(state=state, ranking=ranking, interrupted=interrupted, notes=self.finish(state))

    # ---- helpers for subclasses ----------------------------------------------------------------
    @staticmethod
    def argmax_random_tie(values: np.ndarray, arms: np.ndarray, rng: np.random.Generator) -> int:
        vals = values[arms]
        best = np.flatnonzero(vals >= np.max(vals) - 1e-12)
        return int(arms[best[rng.integers(len(best))]])


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


def within_budget(state: BanditState, pulls: Sequence[Pull]) -> list[Pull]:
    """Cut a step to the budget left (in order) and drop empty or impossible pulls."""
    left = state.remaining
    out = []
    for pull in pulls:
        n = min(pull.size, left, state.n_images - int(state.pulls[pull.arm]))
        if n <= 0 or pull.arm in state.excluded:
            continue
        out.append(pull if n == pull.size else Pull(pull.arm, pull.images[:n]))
        left -= n
    return out


def report_progress(state: BanditState, pulls: Sequence[Pull], results: Sequence[PullResult],
                    progress: ProgressCallback) -> None:
    leader = state.leader()
    for pull, result in zip(pulls, results):
        if isinstance(result, ModelFailedError):
            continue
        progress(ProgressEvent(spent=state.spent, budget=state.budget, model=state.names[pull.arm],
                               batch_calls=pull.size, leader=None if leader is None else state.names[leader],
                               counts=state.counts()))


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
