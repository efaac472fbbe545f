"""The baselines a selection run is measured against, in the same ``ExperimentResult`` shape: brute force (every
model on every image, the exact answer at full cost) and the benchmark card (pick by published accuracy)."""
from __future__ import annotations

import time

import numpy as np

from greenrunner_core.cancel import Cancelled
from greenrunner_core.environment import Environment, ModelFailedError
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.execution import environment_executor
from greenrunner_core.experiment import assemble_result, reward_model_for
from greenrunner_core.notes import (
    Interrupted,
    NoPublishedAccuracy,
    RunNote,
    Stopped,
    StopReason,
)
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies.progress import ProgressCallback, ProgressEvent
from greenrunner_core.strategies.state import BanditState, Pull


def run_brute_force(env: Environment, weights: Weights, *, batch_size: int = 64, dataset: str = "",
                    use_case: str = "", progress: ProgressCallback | None = None) -> ExperimentResult:
    """Every model on every image: the exact answer, at full cost."""
    reward_model = reward_model_for(env.cards, weights)
    n_images = len(env.image_ids)
    budget = len(env.cards) * n_images
    state = BanditState([c.name for c in env.cards], n_images, reward_model, budget, np.random.default_rng(0))
    state.order = np.arange(n_images)
    start, interrupted = time.perf_counter(), False
    reason: StopReason = Stopped("every_image_evaluated")
    # in process: model after model (each loaded once); on parallel workers: every open model's next batch at once
    parallel = getattr(env, "concurrency", 1) > 1
    try:
        while len(open_arms := state.active()):
            steps = [Pull(int(a), state.next_images(int(a), batch_size)) for a in (open_arms if parallel
                                                                                   else open_arms[:1])]
            for pull, result in zip(steps, environment_executor(env, steps), strict=True):
                if isinstance(result, ModelFailedError):
                    state.exclude(pull.arm, result.reason)
                else:
                    state.record(pull.arm, result)
                if progress:
                    leader = state.leader()
                    progress(ProgressEvent(state.spent, budget, env.cards[pull.arm].name, pull.size,
                                           None if leader is None else env.cards[leader].name, state.counts()))
    except KeyboardInterrupt:
        interrupted, reason = True, Interrupted(baseline=True)
    except Cancelled as stop:            # the environment checks the run's CancelToken between batches
        interrupted, reason = True, Interrupted(stop.reason, baseline=True)
    est = np.nan_to_num(state.reward(), nan=-np.inf)
    order = sorted(range(len(env.cards)), key=lambda a: (a in state.excluded, -est[a], a))
    return assemble_result("brute_force", {"batch_size": batch_size}, weights, budget, env, dataset, state, order,
                   interrupted, reason, time.perf_counter() - start, use_case)


def run_benchmark_card(env: Environment, weights: Weights, *, batch_size: int = 64, dataset: str = "",
                       use_case: str = "") -> ExperimentResult:
    """Pick by published (benchmark) accuracy plus the known metrics; evaluate only that pick on the target."""
    cards = env.cards
    reward_model = reward_model_for(cards, weights)
    with_bench = [i for i, c in enumerate(cards) if c.benchmark_accuracy is not None]
    notes: list[RunNote] = []
    if not with_bench:
        raise GreenRunnerError("no candidate publishes a benchmark accuracy, so the benchmark-card baseline cannot pick")
    if len(with_bench) < len(cards):
        notes.append(NoPublishedAccuracy(len(cards) - len(with_bench)))
    card_reward = reward_model.reward(np.array([cards[i].benchmark_accuracy for i in with_bench]),
                                      np.array(with_bench))
    order = [with_bench[k] for k in np.argsort(-card_reward, kind="stable")]
    n_images = len(env.image_ids)
    state = BanditState([c.name for c in cards], n_images, reward_model, n_images, np.random.default_rng(0))
    state.order = np.arange(n_images)
    start = time.perf_counter()
    for pick in order:   # if the pick fails, fall back to the next card
        try:
            while state.pulls[pick] < n_images:
                state.record(pick, env.pull(pick, state.next_images(pick, batch_size)))
            break
        except ModelFailedError as err:
            state.exclude(pick, err.reason)
    ranked = order + [i for i in range(len(cards)) if i not in order]
    ranked = [i for i in ranked if i not in state.excluded] + list(state.excluded)
    return assemble_result("benchmark_card", {"batch_size": batch_size}, weights, n_images, env, dataset, state, ranked,
                   False, Stopped("picked_by_published_accuracy"), time.perf_counter() - start, use_case, notes)


