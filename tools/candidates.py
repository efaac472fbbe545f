"""Before a run is staged: which candidates fit the user's images, the label map to review, and what it will cost.

``stage_run`` fills a staged ``run_bandit`` call (dataset, candidates, label map) from the core's ``CandidatePlan``
and returns the lines staging shows, or says why nothing can run, so no approved run fails for a reason staging
could have known. Plans are kept per workspace (the stage node runs again when the user answers).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenrunner_core.candidate_plan import CandidatePlan, plan_candidates
from greenrunner_core.errors import DatasetError, GreenRunnerError
from greenrunner_core.selection_run import DEMO_DATASET
from greenrunner_core.workspace import Workspace
from tools.candidate_text import OFFLINE_FIX_GROUPED, verdict_fix, verdict_why
from tools.dataset_text import error_text, upload_name
from tools.run_cost import cost_lines
from tools.settings import ToolSettings, workspace_for

__all__ = ["StagedRun", "auto_label_map_for", "class_name_lines", "cost_lines", "label_map_lines", "plan_for_cli",
           "plan_lines", "stage_run"]

_SHOWN = 8
NO_PUBLISHED = "; no published accuracy: measured on your images"


@dataclass
class StagedRun:
    """The staged call's arguments after planning, what staging shows about them, and whether Run may be offered."""

    args: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    runnable: bool = True
    label_map: dict[str, list[str]] | None = None


def _overrides(settings: ToolSettings) -> dict[str, list[str]] | None:
    path = getattr(settings, "label_map_file", None)
    if not path or not Path(path).is_file():
        return None
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return data or None


def _shortlister(weights: dict[str, float], constraints: dict[str, Any]) -> Any:
    """Catalog models that cover the classes -> the hub shortlist of them under the run's weights and limits."""
    from greenrunner_core.constraints import Constraints
    from greenrunner_core.reward import Weights
    from greenrunner_core.shortlist import proxy_weights, shortlist
    known = proxy_weights(weights)
    limits = {k: v for k, v in constraints.items() if k != "latency_hardware"}

    def pick(cards: list) -> list[str]:
        return shortlist(cards, Weights(known), Constraints.from_mapping(limits)).names
    pick.key = (json.dumps(known, sort_keys=True), json.dumps(limits, sort_keys=True, default=str))  # type: ignore
    return pick


def _plan(ws: Workspace, data: str, models: list[str] | None, overrides: Mapping | None,
          shortlister: Any = None) -> CandidatePlan:
    if not models:                     # the catalog pool: the Hugging Face classifiers found are candidates too
        ws.discover_hub()
    path = Path(data)
    stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
    key = (str(path), stamp, tuple(models or ()), json.dumps(overrides, sort_keys=True), tuple(ws.checkpoints),
           getattr(shortlister, "key", None))
    cache = ws.plans
    if key not in cache:
        cache[key] = plan_candidates(ws, data, models, overrides, shortlister=shortlister)
    return cache[key]


def stage_run(args: Mapping[str, Any], settings: ToolSettings | None,
              proposal: Mapping[str, Any] | None = None, last_run: Mapping[str, float] | None = None) -> StagedRun:
    """Fill dataset / models / label map of a staged run on the user's data; the demo data passes unchanged. The cost
    line counts the staged sample, budget and strategy, with ``last_run``'s measured seconds per call."""
    settings = settings if isinstance(settings, ToolSettings) else ToolSettings()
    out = dict(args)
    data = out.get("dataset") or getattr(settings, "uploaded_dataset", None)
    if not data or data == DEMO_DATASET:
        return StagedRun(out)
    out["dataset"] = data
    ws = workspace_for(settings)
    try:
        constraints = {**dict((proposal or {}).get("constraints") or {}), **dict(out.get("constraints") or {})}
        plan = _plan(ws, str(data), out.get("models"), _overrides(settings),
                     _shortlister(dict(out.get("weights") or {}), constraints))
    except GreenRunnerError as err:
        return StagedRun(out, [f"Nothing can run on `{upload_name(data)}`: {error_text(err)}"], runnable=False)
    lines = plan_lines(plan, ws, sample=out.get("sample") or getattr(settings, "default_sample", None),
                       budget=out.get("budget"), strategy=out.get("strategy"), last_run=last_run)
    if not plan.runnable:
        why = ("fewer than 2 candidate models can be evaluated on it" if len(plan.kept) < 2
               else "none of its classes could be mapped to the models' labels")
        return StagedRun(out, [f"**Nothing can run on your images yet**: {why}.", *lines], runnable=False)
    within = _within_limits(ws, plan.names, constraints)
    if within is not None:
        return StagedRun(out, [within, *lines], runnable=False)
    out["models"] = plan.names
    label_map = plan.label_map()
    if label_map is not None:
        out["label_map"] = label_map
    return StagedRun(out, lines, True, label_map)


def _within_limits(ws: Workspace, names: list[str], constraints: Mapping[str, Any]) -> str | None:
    """Why the hard limits would leave fewer than 2 of the candidates (known sizes and MACs; latency is measured
    at run time), or None."""
    from greenrunner_core.constraints import split_cards
    from tools.constraints import from_args, removal_reason
    if not constraints:
        return None
    try:
        limits = from_args(dict(constraints))
    except GreenRunnerError as err:
        return f"**The hard limits cannot be read**: {err}."
    if limits.needs_latency:
        return None
    split = split_cards([ws.registry.get(n) for n in names], limits)
    if len(split.kept) >= 2:
        return None
    removed = "; ".join(f"`{r.name}`: {removal_reason(r, ', ')}" for r in split.removed[:4])
    return (f"**Nothing can run on your images yet**: the hard limits leave {len(split.kept)} of the "
            f"{len(names)} candidates ({removed}). Raise or drop a limit.")


def plan_lines(plan: CandidatePlan, ws: Workspace, **run: Any) -> list[str]:
    """Candidates and why, the models left out with the reason and the fix, the label map, the estimated cost
    (``run``: the sample, budget and strategy of the run, see ``cost_lines``)."""
    name = upload_name(plan.dataset)
    own = plan.pool == "named" and plan.kept and all(v.name in ws.local_models for v in plan.kept)
    pool = {"checkpoints": "your checkpoints", "named": "the models you named", "demo": "the demo zoo (digit data)",
            "catalog": "ImageNet models whose labels cover your classes"}["checkpoints" if own else plan.pool]
    lines = [f"**Candidates** for `{name}` ({plan.n_images:,} images, classes {', '.join(plan.classes)}): {pool}."]
    lines += [f"- `{v.name}`: {verdict_why(v)}" + ("" if v.weights_cached else " (weights download on first use)")
              + (NO_PUBLISHED if plan.pool == "catalog" and ws.registry.get(v.name).benchmark_accuracy is None else "")
              for v in plan.kept]
    if plan.excluded:
        lines += ["", f"**Left out** ({len(plan.excluded)}), with the fix:"]
        by_reason: dict[tuple[str, str], list[str]] = {}
        for v in plan.excluded:
            fix = OFFLINE_FIX_GROUPED if v.reason == "weights_offline" else verdict_fix(v)
            by_reason.setdefault((verdict_why(v), fix), []).append(v.name)
        for (why, fix), names in list(by_reason.items())[:_SHOWN]:
            shown = ", ".join(f"`{n}`" for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            lines.append(f"- {shown}: {why}. Fix: {fix}.")
    if not plan.kept:
        return lines            # no label space to map onto, nothing to cost
    lines += ["", *label_map_lines(plan)]
    lines += ["", *cost_lines(plan, ws, **run)]
    return lines


def label_map_lines(plan: CandidatePlan) -> list[str]:
    """The automatic label map for review, the user's edits, and the classes asked about (never guessed)."""
    auto = plan.auto_map
    if auto.is_identity() and not plan.overrides:
        return ["**Label map**: every class is a model label of the same name."]
    lines = ["**Label map** (review it; say *map boat to canoe and speedboat* or upload a JSON to change it):"]
    for m in auto.matches:
        c = m.dataset_class
        if c in plan.overrides:
            lines.append(f"- {c} → {_labels(plan.overrides[c])} (your edit)")
        elif m.needs_answer:
            continue
        else:
            flag = " ⚠ please check" if m.needs_review else ""
            lines.append(f"- {c} → {_labels(m.labels)} ({m.how}: {m.via}){flag}")
    from greenrunner_core.label_map import normalize_label
    ours = {normalize_label(c) for c in plan.classes}
    stray = [k for k in plan.overrides if normalize_label(k) not in ours]
    if stray:                                   # a typo ('aeroplane') would otherwise be dropped without a word
        lines.append(f"- **{', '.join(stray)}**: not a class of your images, so this entry is not used (the classes "
                     f"are {', '.join(plan.classes)}).")
    for m in plan.questions():
        if m.how == "ambiguous":
            options = "; or ".join(f"{o} → {_labels(labs)}" for o, labs in m.options)
            lines.append(f"- **{m.dataset_class}: which did you mean?** {options}. Its images are left out until you "
                         f"say, e.g. *map {m.dataset_class} to {m.options[0][1][0]}*.")
        else:
            lines.append(f"- **{m.dataset_class}: no model label matches** ({m.via}); its images are left out until "
                         f"you say *map {m.dataset_class} to <label>*.")
    return lines


def _labels(labels: Any) -> str:
    labels = list(labels)
    shown = ", ".join(labels[:6])
    return shown + (f" … ({len(labels)} labels)" if len(labels) > 6 else "")


def class_name_lines(classes: list[str], settings: ToolSettings) -> list[str]:
    """Right after a dataset upload: do its class names match the labels of the models that could run on it?"""
    from greenrunner_core.labels import auto_label_map, is_imagenet_1k
    ws = workspace_for(settings)
    own = ws.checkpoint_cards()
    if own:
        spaces, what, one = [c.class_labels for c in own], "your models' labels", "label of your models"
    elif set(classes) <= set("0123456789"):
        return []
    else:
        spaces = [c.class_labels for c in ws.registry.cards() if is_imagenet_1k(c.class_labels)][:1]
        what, one = "ImageNet labels", "ImageNet label"
    if not spaces:
        return []
    auto = auto_label_map(classes, spaces)
    mapped = [m.dataset_class for m in auto.matches if not m.needs_answer]
    lines = []
    if mapped:
        lines.append(f"Class names {', '.join(mapped)} match {what} (the label map is shown for review before a run).")
    for m in auto.questions():
        if m.how == "ambiguous":
            lines.append(f"**{m.dataset_class}** is ambiguous ({m.via}): say *map {m.dataset_class} to <label>*, or "
                         "upload a label map JSON.")
        else:
            lines.append(f"**{m.dataset_class}** matches no {one}: say *map {m.dataset_class} to <label>*, "
                         "or upload a label map JSON ({\"class\": [\"label\", ...]}); otherwise its images are "
                         "left out.")
    return lines


def auto_label_map_for(ws: Workspace, data: str, models: list[str] | None) -> tuple[dict[str, list[str]] | None,
                                                                                  list[str]]:
    """The CLI's ``--auto-label-map``: the automatic map of ``data``'s classes onto the candidates' labels (None when
    every class is a label of the same name), and the lines that show it for review."""
    from greenrunner_core.data import load_target
    from greenrunner_core.labels import auto_label_map
    classes = load_target(Path(data).expanduser(), cache_dir=Path(ws.cache_dir) / "datasets",
                          zip_limits=ws.zip_limits).class_names
    cards = ws.candidates(models, data)
    auto = auto_label_map(classes, [c.class_labels for c in cards])
    if auto.is_identity():
        return None, []
    lines = ["Automatic label map (review it; pass --label-map FILE or --no-auto-label-map to change it):"]
    for m in auto.matches:
        if not m.needs_answer:
            flag = "  <- please check" if m.needs_review else ""
            lines.append(f"  {m.dataset_class} -> {_labels(m.labels)}  ({m.how}: {m.via}){flag}")
    for m in auto.questions():
        what = ("ambiguous: " + "; or ".join(f"{o} -> {_labels(labs)}" for o, labs in m.options)
                if m.how == "ambiguous" else f"no model label matches ({m.via})")
        lines.append(f"  {m.dataset_class}: {what}; its images are left out — name its labels with --label-map")
    return auto.mapping() or None, lines


def plan_for_cli(ws: Workspace, data: str, weights: dict[str, float], constraints: Mapping[str, Any],
                 label_map: str | None, **run: Any) -> tuple[list[str], dict[str, list[str]] | None, list[str], bool]:
    """``greenrunner select --data DIR`` without ``--models``: the planned candidates, the label map (the user's
    ``--label-map`` over the automatic one), the lines that show the plan (``run``: see ``cost_lines``), and whether
    anything can run. Data that cannot be read raises its own error, which names the fix."""
    try:
        ws.discover_hub()
        plan = plan_candidates(ws, data, None, label_map, shortlister=_shortlister(weights, dict(constraints)))
    except DatasetError:
        raise
    except GreenRunnerError as err:
        return [], None, [f"Nothing can run on {Path(data).name}: {error_text(err)}"], False
    lines = plan_lines(plan, ws, **run)
    within = _within_limits(ws, plan.names, constraints) if plan.runnable else None
    if within is not None:
        lines.insert(0, within)
    return plan.names, plan.label_map(), lines, plan.runnable and within is None
