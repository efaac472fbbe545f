"""One small base class for every selection strategy, its ask/tell protocol, and the driver of a run.

A strategy is immutable configuration. ``start()`` returns the per-run state (a ``BanditState`` or a
subclass holding the strategy's own bookkeeping); ``ask(state)`` proposes the next step as a list of
independent pulls; ``tell(state, pulls, results)`` records their outcomes, in the order of ``pulls``.
An executor may run the pulls of one step in any order or concurrently: as long as it hands the results
back in the order of ``pulls``, a seeded run returns the same ranking and calls (see docs/strategies.md).

The per-run state (``BanditState``, ``Pull``) is ``state.py``; strategies that pick one arm at a time subclass
``SequentialStrategy`` (``sequential.py``).
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
from greenrunner_core.notes import Interrupted, RunNote, Stopped
from greenrunner_core.reward import RewardModel
from greenrunner_core.strategies.progress import ProgressCallback, ProgressEvent
from greenrunner_core.strategies.state import BanditState, Pull, PullResult

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
