"""The `greenrunner` command: list models, select a model for a use case, record and replay outcome matrices."""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from greenrunner_core.baselines import run_brute_force
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.experiment import run_experiment
from greenrunner_core.notes import SampleCoversAll
from greenrunner_core.replay import OutcomeMatrix, ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY, make_strategy
from greenrunner_core.workspace import DEFAULT_BUDGET_FRACTION
from tools.catalog import filter_cards
from tools.constraints import removal_text
from tools.dataset_text import dataset_summary, error_text
from tools.energy_text import report_json
from tools.notes_text import word, words
from tools.schemas import ListModelsArgs
from ui.cli_args import build_parser
from ui.cli_progress import CallProgress
from ui.cli_weights import parse_weights, weights_for
from ui.cli_workspace import csv_list as _csv
from ui.cli_workspace import workspace as _workspace
from ui.present.html import html_report
from ui.present.terminal import cards_table, terminal_report, weights_line
from ui.settings import AppSettings


def cmd_models(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    try:
        query = ListModelsArgs(source=args.source, family=args.family, max_size_mb=args.max_size,
                               max_mmacs=args.max_macs / 1e6 if args.max_macs else None, max_params=args.max_params,
                               min_benchmark_accuracy=args.min_acc, min_shifted_accuracy=args.min_shifted,
                               pretraining=args.pretraining, sort=args.sort)
    except ValidationError as err:
        raise GreenRunnerError(f"bad filter: {err.errors()[0]['loc'][0]} {err.errors()[0]['msg']}") from None
    cards, _ = filter_cards(ws, query)
    shown = cards[:args.limit] if args.limit else cards
    print(cards_table(shown))
    more = f" ({len(cards) - len(shown)} more not shown; raise --limit, 0 = all)" if len(shown) < len(cards) else ""
    print(f"\n{len(cards)} models{more}" + ("; no model passes these filters: loosen one (--source, --family, --max-*, "
                                              "--min-*, --pretraining)" if not cards else ""))
    if any(c.source == "timm" for c in shown):
        from greenrunner_core.registry.timm_source import catalog_about
        print(f"timm figures: {catalog_about().split(' (see ')[0]}.")
    for note in words(ws.registry.notes):
        print(f"note: {note}")
    return 0


def cmd_shortlist(args: argparse.Namespace) -> int:
    from tools.shortlist import SHORTLIST_HEADER, shortlist_notes, shortlist_report, shortlist_rows
    from ui.present.tables import aligned_table
    weights, why, constraints = weights_for(args)
    ws = _workspace(args)
    report = shortlist_report(ws, dict(weights.values), constraints.to_dict(), args.k, args.source,
                              _csv(args.include) or ())
    result = report.shortlist
    print(weights_line(weights, why))
    print(aligned_table(list(SHORTLIST_HEADER), shortlist_rows(result)))
    print("\n" + "\n".join(shortlist_notes(report)))
    print(f"\n{len(result.names)} candidates; evaluate them with: greenrunner select --models {','.join(result.names)} "
          "--data DIR")
    return 0


def _report_folder(out: str) -> Path:
    """The reports' folder, created and checked before any evaluation, so a bad --out never loses a finished run."""
    folder = Path(out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GreenRunnerError(f"cannot create the reports folder {out!r} ({err.strerror}); pass --out with a "
                               f"folder you can write to") from None
    if not os.access(folder, os.W_OK):
        raise GreenRunnerError(f"cannot write to the reports folder {out!r}; pass --out with a folder you can write to")
    return folder


def _write_reports(result: ExperimentResult, out: Path, weights_text: str) -> tuple[Path, Path]:
    """Reports under a name no other run takes: the JSON file is created exclusively, the HTML shares its name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        json_path = out / (f"greenrunner-{stamp}.json" if n == 1 else f"greenrunner-{stamp}-{n}.json")
        try:
            with open(json_path, "x") as handle:       # atomic: two concurrent runs never get the same name
                handle.write(report_json(result, indent=2))
            break
        except FileExistsError:
            continue
    else:
        raise GreenRunnerError(f"{out} already holds 10,000 reports named greenrunner-{stamp}*; pass another --out")
    html_path = html_report(result, json_path.with_suffix(".html"), weights_text)
    return json_path, html_path


def cmd_select(args: argparse.Namespace) -> int:
    if args.guarantee:
        if args.strategy not in (DEFAULT_STRATEGY, GUARANTEE_STRATEGY):
            raise GreenRunnerError(f"--guarantee runs {GUARANTEE_STRATEGY}; drop --strategy {args.strategy} or --guarantee")
        args.strategy = GUARANTEE_STRATEGY
    weights, why, constraints = weights_for(args)
    out = _report_folder(args.out)
    print(f"Use case: {args.use_case or '-'}")
    print(weights_line(weights, why))
    if constraints:
        from tools.constraints import from_args, limit_text
        constraints = from_args(constraints.to_dict())
        print(f"Hard constraints: {limit_text(constraints)} (models over a limit are removed before evaluation)")
    ws = _workspace(args)
    for note in words(ws.registry.notes):        # e.g. a checkpoint that could not be read, and why
        print(f"note: {note}")
    models = _csv(args.models)
    label_map = args.label_map
    if not models and args.data not in (None, "", "demo"):
        # the candidates that fit the data (your checkpoints, else the hub shortlist of models covering the classes),
        # the models left out with the fix, the label map and the cost: what the web app's staging shows
        from tools.candidates import plan_for_cli
        models, planned_map, lines, runnable = plan_for_cli(ws, args.data, dict(weights.values), constraints.to_dict(),
                                                             args.label_map, sample=args.sample, budget=args.budget,
                                                             strategy=args.strategy)
        print("\n".join(line.replace("**", "").replace("`", "").replace(
            "say *map boat to canoe and speedboat* or upload a JSON to change it", "pass --label-map FILE to change it")
            for line in lines))
        if not runnable:
            raise GreenRunnerError("nothing can be evaluated on these images (see above); name models with --models, "
                                   "add checkpoints with --checkpoints, or map the classes with --label-map")
        if getattr(args, "auto_label_map", False):
            label_map = planned_map
    elif label_map is None and getattr(args, "auto_label_map", False) and args.data not in (None, "", "demo"):
        from tools.candidates import auto_label_map_for
        label_map, lines = auto_label_map_for(ws, args.data, models)
        print("\n".join(lines))
    progress = CallProgress(args.strategy)
    try:
        result, dataset = ws.select(weights, models=models, data=args.data, strategy=args.strategy,
                                    budget=args.budget, seed=args.seed, batch_size=args.batch_size,
                                    label_map=label_map, sample=args.sample, use_case=args.use_case or "",
                                    constraints=constraints, progress=progress)
    finally:
        progress.close()
        ws.close()
    if dataset.report.issues:
        print(dataset_summary(dataset.report))
    for removal in result.removed_by_constraints.values():
        print(f"removed by a constraint: {removal_text(removal)}")
    print(terminal_report(result))
    json_path, html_path = _write_reports(result, out, str(weights))
    print(f"\nReport: {html_path}\nJSON:   {json_path}")
    return 130 if result.interrupted else 0


def cmd_record(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    cards = ws.candidates(_csv(args.models), args.data)
    dataset = ws.dataset(args.data, cards, label_map=args.label_map, sample=args.sample, seed=args.seed)
    if args.sample and args.sample > len(dataset):
        print(f"note: {word(SampleCoversAll(args.sample, len(dataset)))}")
    env = ws.environment(cards, dataset, batch_size=args.batch_size)
    bar = CallProgress("brute force")
    try:
        result = run_brute_force(env, Weights({"accuracy": 1.0}), batch_size=args.batch_size, progress=bar)
    finally:
        bar.close()
        ws.close()            # Ray workers (if any) are done: the pulls below are all answered by the cache
    if result.interrupted:
        print("interrupted: outcomes so far are cached; run the same command again to finish", file=sys.stderr)
        return 130
    keep = [i for i, c in enumerate(cards) if c.name not in result.excluded]
    correct = [env.pull(i, list(range(len(dataset)))) for i in keep]   # all answered by the cache now
    seconds = [result.per_model[cards[i].name].compute_seconds / max(result.per_model[cards[i].name].calls, 1)
               for i in keep]
    import numpy as np
    matrix = OutcomeMatrix([cards[i] for i in keep], env.image_ids, np.array(correct), np.array(seconds),
                           name=Path(args.out).stem)
    path = matrix.save(args.out)
    print(f"recorded {len(keep)} models x {len(dataset):,} images -> {path}")
    for name, reason in result.excluded.items():
        print(f"excluded {name}: {reason}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from greenrunner_core.replay import matrix_from_table
    weights = parse_weights(args.weights)
    matrix = (matrix_from_table(args.table, args.matrix, name=Path(args.matrix).stem) if args.table
              else OutcomeMatrix.load(args.matrix))
    budget = args.budget or max(len(matrix.cards), int(DEFAULT_BUDGET_FRACTION * matrix.correct.size))
    chosen = [make_strategy(name, seed=args.seed, batch_size=args.batch_size)     # every name checked before a run
              for name in _csv(args.strategy) or [DEFAULT_STRATEGY]]
    truth = run_brute_force(ReplayEnvironment(matrix), weights)
    best = truth.best.name if truth.best else None
    print(f"{matrix.name}: {len(matrix.cards)} models x {len(matrix.image_ids):,} images; brute-force best: {best}")
    for strategy in chosen:
        result = run_experiment(ReplayEnvironment(matrix), weights, strategy, budget, dataset=matrix.name)
        print(f"\n== {strategy.name} ==")
        print(terminal_report(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    commands = {"models": cmd_models, "shortlist": cmd_shortlist, "select": cmd_select, "record": cmd_record,
                "replay": cmd_replay}
    args = build_parser(commands, __doc__ or "").parse_args(argv)
    try:
        args.settings = AppSettings()           # the environment, read once here and passed down
        return int(args.func(args))
    except GreenRunnerError as err:
        print(f"error: {error_text(err)}", file=sys.stderr)
        return 2
    except ValidationError as err:              # a GREENRUNNER_* variable that is not valid
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: everything evaluated so far is cached; re-running resumes from there", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
