"""Wall time of the same selection in one process and on 1 and 2 Ray workers, and Ray's overhead per pull.

    python -m bench.scaling                      # CIFAR-10 checkpoints (../shared/data), 4 models, 400 images
    python -m bench.scaling --images 200 --strategies brute_force

Each run gets a fresh outcome cache (everything computed), so the runs do the same work; Ray start-up (runtime +
actors) is timed apart from the selection. Ray workers run one torch thread each, so the process is timed both with
torch's default threads and with one. Overhead per pull = (1-worker wall - 1-thread process wall) / pull tasks;
wall - compute per pull = what the driver, the cache and (for Ray) the round trips add to each task's compute.
Prints a markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.record import bench_cache
from greenrunner_core.execution import ExecutionSettings
from greenrunner_core.reward import Weights
from greenrunner_core.workspace import Workspace

SHARED_DATA = Path(os.environ.get("GREENRUNNER_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
MODELS = ("resnet20_akamaster", "resnet32_akamaster", "resnet20_chenyaofo", "shufflenetv2_x0_5_chenyaofo")


@dataclass
class Timing:
    strategy: str
    mode: str
    startup_s: float          # Ray runtime + actors ready (0 in process)
    wall_s: float             # the selection itself
    tasks: int                # pull tasks computed (batches)
    compute_s: float          # compute seconds the workers (or the process) reported for those tasks
    evaluations: int
    top3: list[str]
    calls: int


def subset(images: int, out: Path) -> Path:
    """The first ``images`` CIFAR-10 test images, the same number per class (a 10,000-image scan costs minutes)."""
    folders = sorted(p for p in (SHARED_DATA / "cifar10" / "test").iterdir() if p.is_dir())
    for folder in folders:
        (out / folder.name).mkdir(parents=True, exist_ok=True)
        for image in sorted(folder.iterdir())[:max(1, images // len(folders))]:
            shutil.copy(image, out / folder.name / image.name)
    return out


def run_once(strategy: str, workers: int, data: Path, seed: int, models: tuple[str, ...],
             threads: int | None = None) -> Timing:
    """``workers=0``: in this process, with ``threads`` torch threads (None = torch's default, one per core)."""
    default_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _run_once(strategy, workers, data, seed, models, threads)
    finally:
        torch.set_num_threads(default_threads)


def _run_once(strategy: str, workers: int, data: Path, seed: int, models: tuple[str, ...],
              threads: int | None) -> Timing:
    with tempfile.TemporaryDirectory(prefix="gr-scaling-") as tmp:
        cache = bench_cache()
        Workspace(cache_dir=cache, include_torchvision=False).demo.ensure_built()   # the registry lists the demo zoo:
        shutil.copytree(cache / "demo_zoo", Path(tmp) / "demo_zoo")   # build once, then copy it (no outcomes)
        ws = Workspace(cache_dir=Path(tmp), checkpoints=[SHARED_DATA / "cifar10" / "models"], include_torchvision=False,
                       execution=ExecutionSettings(workers=workers))
        try:
            ws.candidates(list(models), str(data))          # scan the checkpoints (MACs measured) before timing
            start = time.perf_counter()
            if ws.backend is not None:
                ws.backend.start()                           # Ray: start the runtime and the actors now
            startup = time.perf_counter() - start
            start = time.perf_counter()
            result, _ = ws.select(Weights({"accuracy": 1.0}), models=list(models),
                                  data=str(data), seed=seed, strategy=strategy)
            wall = time.perf_counter() - start
        finally:
            ws.close()
    tasks = sum(w.tasks for w in result.workers.values())
    mode = (f"1 process{f', {threads} torch thread' if threads else ''}" if not workers
            else f"{workers} worker{'s' if workers > 1 else ''}")
    compute = sum(w.seconds for w in result.workers.values())
    return Timing(strategy, mode, startup if workers else 0.0, wall, tasks, compute, result.spent.new_evaluations,
                  [r.name for r in result.top3], result.spent.calls)


def table(rows: list[Timing]) -> str:
    out = [("| selection | where | Ray start-up s | wall s | speed-up vs 1 process | pull tasks | compute s | "
            "overhead per pull vs 1 thread (ms) | wall - compute per pull (ms) | same top 3 and calls |"),
           "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        base = next(r for r in rows if r.strategy == row.strategy and r.mode == "1 process")
        single = next((r for r in rows if r.strategy == row.strategy and r.mode.endswith("1 torch thread")), base)
        one = next((r for r in rows if r.strategy == row.strategy and r.mode == "1 worker"), None)
        overhead = (f"{1000 * (one.wall_s - single.wall_s) / max(one.tasks, 1):.0f}"
                    if one is not None and row is one else "")
        same = "yes" if (row.top3, row.calls) == (base.top3, base.calls) else "NO"
        gap = 1000 * (row.wall_s - row.compute_s) / max(row.tasks, 1)
        out.append(f"| {row.strategy} | {row.mode} | {row.startup_s:.1f} | {row.wall_s:.2f} | "
                   f"{base.wall_s / row.wall_s:.2f}x | {row.tasks} | {row.compute_s:.2f} | {overhead} | {gap:.0f} | "
                   f"{same} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strategies", default="brute_force,paired_race")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gr-scaling-data-") as tmp:
        data = subset(args.images, Path(tmp) / "cifar10")
        for strategy in [s.strip() for s in args.strategies.split(",") if s.strip()]:
            for workers, threads in ((0, None), (0, 1), (1, None), (2, None)):
                rows.append(run_once(strategy, workers, data, args.seed, MODELS, threads))
                print(rows[-1], flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (2 cores)\n")
    print(table(rows))


if __name__ == "__main__":
    main()
