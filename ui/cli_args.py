"""The `greenrunner` command's arguments: one subparser per command, the options each takes and their help."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY, STRATEGIES
from tools.text import DEFAULT_BUDGET_TEXT
from ui import cli_types as types

Command = Callable[[argparse.Namespace], int]

RUN_OPTIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("--models", {"help": "comma-separated model names (default: the demo zoo; with --data, your --checkpoints, else "
                           "for select the hub models whose labels cover its classes)"}),
    ("--data", {"help": "target ImageFolder directory or .zip (default: the demo target)"}),
    ("--label-map", {"help": "JSON file mapping dataset classes to sets of model classes"}),
    ("--auto-label-map", {"action": argparse.BooleanOptionalAction, "default": True,
                          "help": "without --label-map, map class folder names onto the models' labels automatically "
                                  "(exact names, synonyms, the WordNet tree for ImageNet models), printed for review"}),
    ("--sample", {"type": types.SAMPLE, "help": "evaluate on a seeded sample of N target images"}),
    ("--seed", {"type": types.SEED, "default": 0}),
    ("--batch-size", {"type": types.BATCH, "default": 16, "help": "images per pull"}),
    ("--measure-latency", {"action": "store_true",
                           "help": "time every candidate once on this machine (cached) so 'latency' can be weighted"}),
    ("--tactics", {"metavar": "LIST",
                   "help": "offer optimised variants as extra candidates: quantize (dynamic int8, CPU), compile "
                           "(torch.compile), fp16/bf16 (GPU only), e.g. --tactics quantize,compile"}),
    ("--energy-meter", {"default": "auto", "metavar": "METER",
                        "help": "auto (RAPL when readable, else a labelled time x W estimate), codecarbon, rapl, "
                                "estimate or nvml"}),
    ("--country", {"metavar": "ISO3", "help": "grid carbon intensity of this country for grams of CO2, e.g. FRA "
                                              "(default: world average 475 g/kWh)"}),
    ("--workers", {"type": types.WORKERS, "default": 0, "metavar": "N",
                   "help": "evaluate on N Ray workers (a local Ray runtime, or N actors on --ray-address); default "
                           "0 = in this process, without Ray (with --ray-address: one per CPU of the cluster)"}),
    ("--ray-address", {"metavar": "ADDR", "help": "join an existing Ray cluster: auto or HOST:PORT (default: "
                                                  "$RAY_ADDRESS; 'local' ignores it); see docs/scale.md"}),
    ("--gpus-per-worker", {"type": types.GPUS, "default": 0.0, "metavar": "G",
                           "help": "GPUs each Ray worker requests (e.g. 1, or 0.5 to share one GPU by two workers)"}),
)
"""The options of every command that runs models (select, record): flag and ``add_argument`` keywords."""


def build_parser(commands: Mapping[str, Command], description: str = "") -> argparse.ArgumentParser:
    """The parser; each subcommand's ``func`` is ``commands[name]``."""
    parser = argparse.ArgumentParser(prog="greenrunner", description=description)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--checkpoints", action="append", metavar="DIR",
                       help="folder of local checkpoints (TorchScript, torch.export, state_dict + greenrunner.json)")
        p.add_argument("--no-torchvision", action="store_true", help="leave the torchvision catalog out")
        p.add_argument("--no-timm", action="store_true", help="leave the timm catalog out")

    p = sub.add_parser("models", help="list candidate models")
    common(p)
    p.add_argument("--source", help="demo, torchvision, timm, local, ...")
    p.add_argument("--family")
    p.add_argument("--max-size", type=types.SIZE_MB, metavar="MB", help="maximum size in MB")
    p.add_argument("--max-macs", type=types.MACS, metavar="MACS", help="maximum MACs per image, e.g. 1e9, 600M, 1.5G")
    p.add_argument("--max-params", type=types.PARAMS, metavar="N", help="maximum parameters, e.g. 5e6 or 5M")
    p.add_argument("--min-acc", type=types.ACCURACY, metavar="ACC", help="minimum published accuracy in [0, 1]")
    p.add_argument("--min-shifted", type=types.ACCURACY, metavar="ACC",
                   help="minimum mean published top-1 on shifted sets (ImageNetV2/Sketch/R/A) in [0, 1]")
    p.add_argument("--pretraining", metavar="DATA", help="pretraining data, e.g. in1k, in22k, laion2b")
    p.add_argument("--sort", default="size", choices=["size", "top1", "shifted", "macs", "params", "name"])
    p.add_argument("--limit", type=types.LIMIT, default=50, help="show at most N rows (default 50; 0 = all)")
    p.set_defaults(func=commands["models"])

    p = sub.add_parser("shortlist", help="propose K hub candidates from published figures, before any evaluation")
    common(p)
    p.add_argument("--use-case", help="plain-text use case; weights are proposed from it unless --weights is given")
    p.add_argument("--weights", help="e.g. acc=0.63,size=0.25,complexity=0.21")
    p.add_argument("-k", type=types.SHORTLIST_K, default=30, help="how many candidates (default 30)")
    p.add_argument("--source", help="only this source, e.g. timm, torchvision or hf (the Hugging Face Hub)")
    p.add_argument("--include", metavar="MODELS",
                   help="models that must be on the shortlist, e.g. hf:google/vit-base-patch16-224")
    p.add_argument("--max-size", type=types.SIZE_MB, metavar="MB", help="hard limit on size")
    p.add_argument("--max-macs", type=types.MACS, metavar="MACS", help="hard limit on MACs per image, e.g. 1e9")
    p.add_argument("--max-params", type=types.PARAMS, metavar="N", help="hard limit on parameters, e.g. 5M")
    p.set_defaults(func=commands["shortlist"])

    def run_args(p: argparse.ArgumentParser) -> None:
        for flag, options in RUN_OPTIONS:
            p.add_argument(flag, **options)

    p = sub.add_parser("select", help="pick the best model for a use case on target images")
    common(p)
    run_args(p)
    p.add_argument("--use-case", help="plain-text use case; weights are proposed from it unless --weights is given")
    p.add_argument("--weights", help="e.g. acc=0.63,size=0.25,complexity=0.21 (latency=0.2 with --measure-latency)")
    p.add_argument("--strategy", default=DEFAULT_STRATEGY,
                   help=f"one of {', '.join(STRATEGIES)}, brute_force, benchmark_card (default: {DEFAULT_STRATEGY})")
    p.add_argument("--guarantee", action="store_true",
                   help=f"use {GUARANTEE_STRATEGY}: anytime-valid tests, P(pick within 0.01 of the best) >= 95 %% "
                        "however often it looks; costs more calls than the default (docs/benchmarks.md)")
    p.add_argument("--budget", type=types.BUDGET,
                   help="evaluation calls (default: " + DEFAULT_BUDGET_TEXT.replace("%", "%%") + "; with --guarantee, brute force)")
    p.add_argument("--out", default="reports", help="folder for the JSON and HTML reports")
    # a size that is not a finite number >= 0 is refused by the parser; Constraints checks the rest (> 0), as in chat
    p.add_argument("--max-size", type=types.SIZE_MB, metavar="MB", help="hard limit: remove models larger than this")
    p.add_argument("--max-macs", type=types.MACS, metavar="MACS", help="hard limit on MACs per image, e.g. 1e9, 600M, 1.5G")
    p.add_argument("--max-latency", type=types.LATENCY_MS, metavar="MS",
                   help="hard limit: median ms per image at batch 1, measured once per model on this machine")
    p.add_argument("--max-params", type=types.PARAMS, metavar="N", help="hard limit on the number of parameters, e.g. 5e6 or 5M")
    p.set_defaults(func=commands["select"])

    p = sub.add_parser("record", help="brute-force run recorded as an outcome matrix for replay")
    common(p)
    run_args(p)
    p.add_argument("--out", required=True, help="output .npz file")
    p.set_defaults(func=commands["record"])

    p = sub.add_parser("replay", help="run strategies on a recorded outcome matrix (no models needed)")
    p.add_argument("matrix", help="an outcome matrix written by `greenrunner record`, or an outcomes .npz with --table")
    p.add_argument("--table", metavar="CSV", help="the models' table (name, family, params, macs, file_mb, "
                   "imagenet_val_top1) when MATRIX is an outcomes .npz (models, correct), e.g. ../shared/data/imagenetv2")
    p.add_argument("--strategy", help=f"comma-separated strategies (default: {DEFAULT_STRATEGY})")
    p.add_argument("--weights", default="acc=0.63,size=0.25,complexity=0.21",
                   help="default: the drone weights %(default)s")
    p.add_argument("--budget", type=types.BUDGET,
                   help="evaluation calls per strategy (default: " + DEFAULT_BUDGET_TEXT.replace("%", "%%") + ")")
    p.add_argument("--seed", type=types.SEED, default=0)
    p.add_argument("--batch-size", type=types.BATCH, default=16)
    p.set_defaults(func=commands["replay"])
    return parser
