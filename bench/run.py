"""`python -m bench.run` regenerates docs/benchmarks.md and its plots; `--quick` is a small smoke version.

Every number in the report comes from this command: replay instances (recorded CIFAR-10 and demo-zoo
matrices under bench/matrices, synthetic torchvision-metadata instances generated from fixed seeds),
every strategy over the same seeds, and, when the shared CIFAR-10 data is present, the live evaluator's
throughput.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from bench.harness import BUDGET_DEPENDENT, WEIGHT_SETS, Instance, Summary, evaluate
from bench.peers import SELF_STOPPING
from bench.record import MATRICES, cifar_available
from bench.synthetic import synthetic_instance
from greenrunner_core.replay import OutcomeMatrix
from greenrunner_core.selection_run import default_budget
from greenrunner_core.strategies import DEFAULT_STRATEGY, STRATEGIES

ROOT = Path(__file__).resolve().parents[1]
FRACTIONS = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.50)
QUICK_FRACTIONS = (0.10, 0.25, 0.35, 0.50)
BUDGET_RUN_FRACTIONS = (0.10, 0.25, 0.35, 0.50)     # strategies that plan by budget get one run per budget
COMPARISONS = ("paired_race", "thompson", "successive_halving")   # guarantee mode, the paper's, halving


def cifar_instances(quick: bool, full: bool = False) -> tuple[list[Instance], list[str]]:
    notes: list[str] = []
    files = sorted(MATRICES.glob("cifar10-*-1000.npz"))
    if not full:
        return [], [("CIFAR-10 instances left out of the default run to keep `make bench` under 15 min on 2 cores "
                     "(`python -m bench.run --full` includes them)")]
    if not files:
        notes.append("CIFAR-10 instances skipped: no recorded matrices in bench/matrices "
                     "(record them with `python -m bench.record`, which needs ../shared/data)")
        return [], notes
    out = []
    for path in files:
        m = OutcomeMatrix.load(path)
        cond = m.name.removeprefix("cifar10-")
        rng = np.random.default_rng(0)   # 10 images per class for the 100-image target
        labels = np.repeat(np.arange(10), len(m.image_ids) // 10)
        small = sorted(int(i) for c in range(10) for i in rng.choice(np.flatnonzero(labels == c), 10, replace=False))
        sub = m.subset(images=small)
        sub.name = f"cifar10-{cond}-100"
        out.append(Instance(sub.name, sub, batch_size=8, kind="cifar10"))
        if full:
            m.name = f"cifar10-{cond}-1000"
            out.append(Instance(m.name, m, batch_size=32, kind="cifar10"))
    if quick:
        out = out[:1]
    return out, notes


def demo_instance() -> tuple[list[Instance], list[str]]:
    path = MATRICES / "demo-zoo-target.npz"
    if not path.exists():
        return [], ["demo-zoo instance skipped: bench/matrices/demo-zoo-target.npz missing (`python -m bench.record`)"]
    m = OutcomeMatrix.load(path)
    return [Instance("demo-zoo", m, batch_size=8, kind="demo")], []


def synthetic_instances(quick: bool) -> list[Instance]:
    out = [Instance("synthetic-40x100", synthetic_instance(40, 100, seed=1), batch_size=8),
           Instance("synthetic-80x200", synthetic_instance(80, 200, seed=5), batch_size=16)]
    return out[:1] if quick else out


def _cell(args: tuple) -> Summary:
    instance, weights, strategy, seeds, fractions = args
    if strategy in BUDGET_DEPENDENT:
        fractions = tuple(f for f in fractions if f in BUDGET_RUN_FRACTIONS) or fractions
    # the self-stopping strategies run under the user's default budget cap and stop on their own: trace them
    return evaluate(instance, weights, strategy, seeds, fractions,
                    # (the cap as a fraction of brute force: the default budget of one model on 100 images)
                    auto_budget_fraction=default_budget(1, 100, strategy) / 100 if strategy in SELF_STOPPING else 0.0)


def machine() -> dict[str, str]:
    import torch
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small smoke version (few seeds, few instances)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per real-outcome cell (default 200, quick 10)")
    parser.add_argument("--synthetic-seeds", type=int, default=None,
                        help="seeds per synthetic-suite cell (default 50, quick 10)")
    parser.add_argument("--full", action="store_true", help="also the CIFAR-10 1000-image instances (slow)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    parser.add_argument("--out", type=Path, default=None,
                        help="where benchmarks.md and bench/ go (default docs/, quick: build/bench-quick/)")
    parser.add_argument("--no-throughput", action="store_true", help="skip the live evaluator measurement")
    parser.add_argument("--strategies", default=",".join(COMPARISONS),
                        help=f"comparison strategies besides the default (default: {','.join(COMPARISONS)})")
    args = parser.parse_args(argv)
    real_seeds = args.seeds or (10 if args.quick else 200)
    seeds = range(args.synthetic_seeds or (10 if args.quick else 50))
    args.out = args.out or (ROOT / "build" / "bench-quick" if args.quick else ROOT / "docs")
    fractions = QUICK_FRACTIONS if args.quick else FRACTIONS
    weights = ["drone", "accuracy"] if args.quick else list(WEIGHT_SETS)
    started = time.time()

    real_lines: list[str] = []
    from bench import real
    if real.available():
        from bench.real_report import sections
        sizes = (100, 200, 1000) if args.quick else real.SIZES
        print(f"real outcomes: {len(sizes)} target sizes x {len(WEIGHT_SETS)} weights x {real_seeds} seeds", flush=True)
        outcomes, real_seconds = real.run_all(real_seeds, args.jobs, sizes=sizes)
        real_lines = sections(outcomes, real_seeds, real_seconds, real.load().cards)
        raw_real = ROOT / "build" / "bench" / ("real-quick.json" if args.quick else "real.json")   # 3 MB: not in docs
        raw_real.parent.mkdir(parents=True, exist_ok=True)
        raw_real.write_text(json.dumps([asdict(o) for o in outcomes]))
        print(f"real outcomes done in {real_seconds:.0f}s", flush=True)
    else:
        real_lines = ["## Real outcomes", "", f"Skipped: {real.data_dir()} not found (ImageNetV2 predictions).", ""]

    instances = synthetic_instances(args.quick)
    cifar, notes = cifar_instances(args.quick, args.full)
    demo, demo_notes = demo_instance()
    instances += demo + cifar
    notes += demo_notes
    strategies = [DEFAULT_STRATEGY] + [s for s in args.strategies.split(",") if s and s != DEFAULT_STRATEGY]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategies {unknown}; registered: {', '.join(STRATEGIES)}")
    cells = [(inst, w, s, seeds, fractions) for inst in instances for w in weights for s in strategies]
    # biggest cells first so the pool stays busy to the end
    cells.sort(key=lambda c: -c[0].n_models * c[0].n_images)
    print(f"{len(cells)} cells x {len(seeds)} seeds on {args.jobs} process(es)", flush=True)
    summaries: list[Summary] = []
    if args.jobs > 1:
        with get_context("fork").Pool(args.jobs) as pool:
            for k, summary in enumerate(pool.imap_unordered(_cell, cells), 1):
                summaries.append(summary)
                print(f"[{k}/{len(cells)}] {summary.instance} {summary.weights} {summary.strategy} "
                      f"({time.time() - started:.0f}s)", flush=True)
    else:
        for k, cell in enumerate(cells, 1):
            summaries.append(_cell(cell))
            print(f"[{k}/{len(cells)}] {cell[0].name} {cell[1]} {cell[2]} ({time.time() - started:.0f}s)", flush=True)

    throughput = []
    if not args.no_throughput:
        if cifar_available():
            from bench.throughput import measure_all
            try:
                throughput = measure_all(n_images=256 if args.quick else 512)
            except Exception as exc:  # noqa: BLE001 - the selection results must still be written
                notes.append(f"live throughput measurement failed: {type(exc).__name__}: {exc}")
        else:
            notes.append("live throughput not measured: ../shared/data (CIFAR-10 checkpoints) not found")

    from bench.report import write_report
    elapsed = time.time() - started
    path = write_report(args.out, summaries, instances, throughput, notes, machine(), elapsed, args, len(seeds),
                        real_lines)
    raw = args.out / "bench" / ("results-quick.json" if args.quick else "results.json")
    raw.write_text(json.dumps([_jsonable(s) for s in summaries], indent=1))
    print(f"wrote {path} and {raw} in {elapsed:.0f}s")
    return 0


def _jsonable(s: Summary) -> dict:
    out = asdict(s)
    for k, v in out.items():
        if isinstance(v, np.ndarray):
            out[k] = [round(float(x), 5) for x in v]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
