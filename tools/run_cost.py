"""What a staged run will cost before it runs: calls under its budget and sample, and one time estimate that says
what it is based on (a model's speed timed on this machine, measured in the last run or in earlier runs, else scaled
from its MACs). Shown by staging (web, Slack) and by `greenrunner select --data` without --models."""
from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Mapping
from typing import Any

from greenrunner_core.candidate_plan import CandidatePlan
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.notes import SampleCoversAll
from greenrunner_core.selection_run import DEFAULT_EVAL_BATCH, default_budget
from greenrunner_core.strategies import DEFAULT_STRATEGY
from greenrunner_core.workspace import Workspace
from tools.formatting import fmt_seconds
from tools.notes_text import word

__all__ = ["cost_lines", "seconds_per_call"]

CPU_MACS_PER_SECOND = 3.8e10      # resnet18 at 224 px: ~21 img/s x 1.8 GMACs on 2 cores (STACK_NOTES)
MIN_SECONDS_PER_CALL = 0.002      # decoding and per-image overhead of a tiny model
ROUGH = "a rough guess until a run measures it"
"""CIFAR-10 ResNets and ShuffleNet (32 px) took 6-20x longer per call than MACs-scaled (e.g. 50 ms for 10.9 M MACs):
at small inputs per-layer overhead dominates; only a measurement is a good estimate."""


def cost_lines(plan: CandidatePlan, ws: Workspace, *, sample: int | None = None, budget: int | None = None,
               strategy: str | None = None, last_run: Mapping[str, float] | None = None) -> list[str]:
    """The calls and seconds of brute force and of this run: on ``sample`` images when given, under ``budget``. The
    one time estimate staging shows: per model, its speed timed on this machine (latency cache), else its seconds per
    call measured in the last run (``last_run``: model -> seconds per call), else scaled from its MACs; it says which."""
    cards = [ws.registry.get(n) for n in plan.names]
    if not cards:
        return []
    strategy = strategy or DEFAULT_STRATEGY
    n_images = min(plan.n_images, sample) if sample else plan.n_images
    brute = len(cards) * n_images
    calls = (brute if strategy == "brute_force" else n_images if strategy == "benchmark_card"
             else min(budget or default_budget(len(cards), n_images, strategy), brute))
    seconds, basis = [], Counter[str]()
    for card in cards:
        how, per_call = _speed(ws, card, last_run)
        seconds.append(per_call)
        basis[how] += 1
    per_call = sum(seconds) / len(seconds)
    covers_all = f" ({word(SampleCoversAll(sample, plan.n_images))})" if sample and sample > plan.n_images else ""
    return [(f"**Estimated cost**: {len(cards)} models × {n_images:,} images{covers_all} = {brute:,} calls by "
             f"brute force; this run spends at most {calls:,} calls, about {fmt_seconds(calls * per_call)} at "
             f"{_speed_words(basis, len(cards))} (~{per_call * 1000:.3g} ms per call; cached calls are free).")]


_MEASURED = {"timed": "timed on this machine", "last run": "in the last run", "cache": "in earlier runs"}


def _speed(ws: Workspace, card: Any, last_run: Mapping[str, float] | None) -> tuple[str, float]:
    """A model's seconds per call and where it comes from: timed on this machine (latency cache), measured in the
    last run, the mean of its cached outcomes (earlier runs here), else scaled from its MACs."""
    stats = _measured(ws, card)
    if stats is not None:
        return "timed", stats.batch_median_ms / 1000
    if last_run and last_run.get(card.name):
        return "last run", float(last_run[card.name])
    try:
        cached = ws.outcome_cache.mean_seconds(card.name, card.weights_id, card.preprocess.id)
    except (OSError, sqlite3.Error):
        cached = None
    if cached is not None and cached[0] > 0:
        return "cache", cached[0]
    return "macs", max(MIN_SECONDS_PER_CALL, card.macs / CPU_MACS_PER_SECOND)


def _speed_words(basis: Mapping[str, int], n_models: int) -> str:
    """What the seconds per call are based on: one source for every model, or how many models of each."""
    if basis.get("timed") == n_models:
        return "the speed measured on this machine"
    if basis.get("macs") == n_models:       # small models run several times slower per MAC than this speed
        return f"a MACs-scaled CPU speed, {ROUGH}"
    if len(basis) == 1:
        return f"the speed measured {_MEASURED[next(iter(basis))]}"
    measured = n_models - basis.get("macs", 0)
    where = ", ".join(f"{basis[k]} {words}" for k, words in _MEASURED.items() if basis.get(k))
    return f"measured speed for {measured} of {n_models} models ({where})" + (
        f", MACs-scaled for the rest ({ROUGH})" if basis.get("macs") else "")


def seconds_per_call(result: Any) -> dict[str, float]:
    """Each model's measured compute seconds per call in a finished run (``ExperimentResult``), for ``cost_lines``."""
    return {name: cost.compute_seconds / cost.calls for name, cost in result.per_model.items()
            if cost.calls and cost.compute_seconds}


def _measured(ws: Workspace, card: Any) -> Any:
    try:
        return ws.latency_stats.get(card.name) or ws.latency_cache.get(card, DEFAULT_EVAL_BATCH)
    except (OSError, ValueError, GreenRunnerError):
        return None
