"""Real-outcome benchmark: 64 ImageNet models x ImageNetV2 MatchedFrequency (../shared/data/imagenetv2).

Per seed, a target set of N images is drawn (``default_rng([N, seed])``) and every method runs on the same
images in the same shared order: GreenRunner's default (self-stopping, user batch size), the guarantee mode,
the paper's Thompson sampling, successive halving, Optuna's WilcoxonPruner and SuccessiveHalvingPruner, the
benchmark-card pick and brute force. Slow peers run on the first seeds only (``SEEDS_FOR``; the report says so).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.harness import REGRET_OK, WEIGHT_SETS, true_regret
from bench.peers import card_pick, optuna_run, strategy_run
from greenrunner_core.replay import OutcomeMatrix, matrix_from_table
from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY

SIZES = (100, 200, 1000, 10_000)
CURVE_SIZES = (200, 1000)                      # fixed-budget curves (5 %..50 %) for these target sizes
FRACTIONS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50)
METHODS = (DEFAULT_STRATEGY, GUARANTEE_STRATEGY, "thompson", "successive_halving", "optuna_wilcoxon",
           "optuna_sh", "benchmark_card", "brute_force")
# seeds per (method, N) when fewer than all: the slow peers (Wilcoxon's permutation tests, long runs at N=10,000)
SEEDS_FOR: dict[tuple[str, int], int] = {
    ("optuna_wilcoxon", 100): 5, ("optuna_wilcoxon", 200): 5, ("optuna_wilcoxon", 1000): 3,
    ("optuna_wilcoxon", 10_000): 0, ("optuna_sh", 10_000): 5, (GUARANTEE_STRATEGY, 10_000): 5,
    ("thompson", 10_000): 5, ("successive_halving", 10_000): 5, (GUARANTEE_STRATEGY, 1000): 60,
    ("thompson", 1000): 60, ("successive_halving", 1000): 60, ("optuna_sh", 1000): 60,
}
BUDGET_DEPENDENT = frozenset({DEFAULT_STRATEGY, "successive_halving"})   # one run per fixed budget


def data_dir() -> Path:
    shared = os.environ.get("GREENRUNNER_SHARED_DATA")
    root = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared" / "data"
    return root / "imagenetv2"


def available() -> bool:
    folder = data_dir()
    return all((folder / f).exists() for f in ("models.csv", "matched_frequency.npz", "imagenet_val.npz"))


def load() -> OutcomeMatrix:
    """Cards from models.csv (benchmark accuracy = top-1 on imagenet_val.npz), outcomes on MatchedFrequency."""
    from dataclasses import replace
    folder = data_dir()
    matrix = matrix_from_table(folder / "models.csv", folder / "matched_frequency.npz", name="imagenetv2-mf",
                               benchmark_dataset="ImageNet val")
    val = matrix_from_table(folder / "models.csv", folder / "imagenet_val.npz")
    matrix.cards = [replace(c, benchmark_accuracy=float(a)) for c, a in zip(matrix.cards, val.accuracy)]
    return matrix


def target_set(matrix: OutcomeMatrix, n: int, seed: int) -> OutcomeMatrix:
    images = np.sort(np.random.default_rng([n, seed]).choice(len(matrix.image_ids), n, replace=False))
    sub = matrix.subset(images=images)
    sub.name = f"MatchedFrequency N={n}"
    return sub


@dataclass
class Outcome:
    """One (method, N, weights, seed): where it stopped, what it cost and what it returned."""

    method: str
    n: int
    weights: str
    seed: int
    calls_pct: float
    macs_pct: float
    regret: float
    pick: str
    regret_at: list[float] = field(default_factory=list)   # per FRACTIONS (curve sizes only)
    pick_accuracy: float = float("nan")                     # target accuracy of the pick


def run_seed(args: tuple[OutcomeMatrix, int, str, int]) -> list[Outcome]:
    """Every method on one target set (the unit of work of the process pool)."""
    full, n, weights_name, seed = args
    matrix = target_set(full, n, seed)
    weights = WEIGHT_SETS[weights_name]
    regret = true_regret(matrix, weights)
    bf = matrix.correct.size
    bf_macs = float(sum(c.macs for c in matrix.cards)) * n
    curve = n in CURVE_SIZES
    budgets = [max(len(matrix.cards), round(f * bf)) for f in FRACTIONS] if curve else [bf // 2]
    order = np.random.default_rng(seed).permutation(n)
    out = []
    for method in METHODS:
        if seed >= SEEDS_FOR.get((method, n), 10**9):
            continue
        if method == "brute_force":
            best = int(np.argmin(regret))
            out.append(Outcome(method, n, weights_name, seed, 100.0, 100.0, 0.0, matrix.cards[best].name,
                               [0.0] * len(FRACTIONS) if curve else [], float(matrix.accuracy[best])))
            continue
        if method == "benchmark_card":
            pick = card_pick(matrix, weights)
            out.append(Outcome(method, n, weights_name, seed, 100.0 / len(matrix.cards),
                               100.0 * matrix.cards[pick].macs * n / bf_macs, float(regret[pick]),
                               matrix.cards[pick].name, [float(regret[pick])] * len(FRACTIONS) if curve else [],
                               float(matrix.accuracy[pick])))
            continue
        if method.startswith("optuna_"):
            run = optuna_run(method.removeprefix("optuna_"), matrix, weights, seed, budgets, order)
        else:
            run = strategy_run(method, matrix, weights, seed, budgets, per_budget=method in BUDGET_DEPENDENT)
        at = [float(regret[p]) if p >= 0 else float("nan") for p in run.at_budget] if curve else []
        out.append(Outcome(method, n, weights_name, seed, 100.0 * run.calls / bf, 100.0 * run.macs / bf_macs,
                           float(regret[run.pick]), matrix.cards[run.pick].name, at, float(matrix.accuracy[run.pick])))
    return out


def run_all(seeds: int, jobs: int, sizes=SIZES, weights=tuple(WEIGHT_SETS), log=print) -> tuple[list[Outcome], float]:
    full = load()
    work = [(full, n, w, s) for n in sizes for w in weights for s in range(seeds)]
    work.sort(key=lambda a: (-a[1], a[3]))             # big targets first keep the pool busy to the end
    started = time.time()
    results: list[Outcome] = []
    if jobs > 1:
        from multiprocessing import get_context
        with get_context("fork").Pool(jobs) as pool:
            for k, chunk in enumerate(pool.imap_unordered(run_seed, work, chunksize=4), 1):
                results.extend(chunk)
                if k % 200 == 0:
                    log(f"  real outcomes: {k}/{len(work)} target sets ({time.time() - started:.0f}s)")
    else:
        for item in work:
            results.extend(run_seed(item))
    return results, time.time() - started


def ok(regret: float) -> bool:
    return bool(regret <= REGRET_OK + 1e-12)
