"""The workspace of one `greenrunner` command, from its arguments and settings; the offline demo zoo is part of it (and
trained on first use, with progress) only for the commands that use it."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from greenrunner_core.registry.demo_zoo import SPECS, DemoZooSource
from greenrunner_core.workspace import DEMO_DATASET, Workspace
from ui.cli_progress import build_demo_with_progress
from ui.settings import AppSettings


def csv_list(text: str | None) -> list[str] | None:
    """``"a, b,"`` -> ``["a", "b"]``; None for no text."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def workspace(args: argparse.Namespace) -> Workspace:
    settings: AppSettings = args.settings
    green: dict = {"cpu_watts_per_core": settings.cpu_watts_per_core}
    if hasattr(args, "energy_meter"):
        from tools.energy import carbon_intensity_for, meter_for
        meter, _ = meter_for(args.energy_meter, args.country, settings.cpu_watts_per_core)
        green = {"energy_meter": meter, "carbon": carbon_intensity_for(args.country),
                 "measure_latency": bool(args.measure_latency), "tactics": csv_list(args.tactics) or ()}
    if hasattr(args, "workers"):
        green["execution"] = settings.execution(args.workers, args.ray_address, args.gpus_per_worker)
    ws = Workspace(cache_dir=settings.cache_root(), checkpoints=[Path(p) for p in (args.checkpoints or [])],
                   include_torchvision=settings.include_torchvision and not getattr(args, "no_torchvision", False),
                   include_timm=not getattr(args, "no_timm", False), zip_limits=settings.zip_limits(),
                   include_demo=uses_demo(args), hub=settings.hub(), **green)
    if ws.include_demo:
        build_demo_with_progress(ws)
    return ws


def uses_demo(args: argparse.Namespace) -> bool:
    """Whether the command uses the demo zoo (which is trained on first use): a listing of every source or of the
    demo's; a shortlist only when asked for the demo source or a demo model; a run on the demo data without named
    models, or naming a demo model. Anything else (hub listings and shortlists, your data with hub models, replay)
    never trains it."""
    command = getattr(args, "command", None)
    if command == "models":
        return args.source in (None, "", DemoZooSource.name)
    if command == "shortlist":
        return args.source == DemoZooSource.name or _names_demo(csv_list(args.include) or ())
    if command in ("select", "record"):
        names = csv_list(args.models)
        return args.data in (None, "", DEMO_DATASET) if not names else _names_demo(names)
    return False


def _names_demo(names: Sequence[str]) -> bool:
    demo = {spec.name for spec in SPECS}
    return any(name in demo or name.startswith("demo") for name in names)
