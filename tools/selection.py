"""run_bandit, rerank and compare_baselines: model selection on the user's images, and answers from cached outcomes."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from greenrunner_core import metrics_protocol, user_metric_runs
from greenrunner_core.baselines import run_benchmark_card, run_brute_force
from greenrunner_core.cancel import CancelToken
from greenrunner_core.errors import GreenRunnerError, InvalidWeightsError, suggest
from greenrunner_core.metrics_protocol import MetricRun
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.rerank import rerank as core_rerank
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import BUILTIN_METRICS, Weights, resolve_metric
from greenrunner_core.selection_run import dataset_name
from greenrunner_core.strategies import DEFAULT_STRATEGY
from greenrunner_core.strategies.progress import ProgressCallback
from greenrunner_core.workspace import Workspace
from tools import constraints as limits
from tools import text
from tools.dataset_text import dataset_label
from tools.formatting import fmt_acc, fmt_macs, fmt_seconds, fmt_weights, markdown_table
from tools.notes_text import notes_lines
from tools.result import BaselinesArtifact, BruteForceBaseline, RerankArtifact, RunRecord, ToolResult
from tools.schemas import CompareBaselinesArgs, RerankArgs, RunBanditArgs
from tools.settings import ToolSettings, metrics_folder

ENERGY_WORDS = ("energy", "energy_j", "joules", "power")
ENERGY_AS_LATENCY = ("counted as latency: energy per image is estimated as measured latency × the CPU's power, and "
                     "at constant power that ranks models exactly as latency does (log-scaled)")
LATENCY_METRICS = ("latency", "latency_ms", "speed", *ENERGY_WORDS)


def needs_latency(weights: Mapping[str, float]) -> bool:
    """The weights count latency (or energy, which is estimated from it): every candidate must be timed first."""
    return any(float(v) > 0 and k.strip().lower() in LATENCY_METRICS for k, v in weights.items())


def split_weights(requested: Mapping[str, float], cards: Sequence[ModelCard],
                  metrics_dir: Path | None = None) -> tuple[Weights, dict[str, str]]:
    """The weights the reward can use on these cards, and a reason for every weight it must leave out.

    A typo of a known metric is an error (with suggestions); a metric GreenRunner does not measure (yet) is
    left out of the reward with the reason, never silently.
    """
    usable: dict[str, float] = {}
    excluded: dict[str, str] = {}
    user_files = {p.stem for p in metrics_dir.glob("*.py")} if metrics_dir and metrics_dir.is_dir() else set()
    enabled = set(metrics_protocol.enabled_metrics(metrics_dir)) if user_files else set()
    for raw_name, value in requested.items():
        name = raw_name.strip().lower()
        if name in ENERGY_WORDS and value:
            name = "latency"
            excluded["energy"] = ENERGY_AS_LATENCY
        try:
            metric = resolve_metric(name)
        except InvalidWeightsError:
            key = name.replace(" ", "_").replace("-", "_")
            if value == 0:
                continue
            if key in enabled:
                excluded[key] = (f"user metric {key!r} is enabled, but the reward does not combine user metrics yet; "
                                 "its values are reported next to the ranking")
            elif key in user_files:
                excluded[key] = (f"user metric {key!r} is a stub that is not enabled, so it is not measured; "
                                 "complete it and say 'enable metric " + key + "'")
            elif suggest(name, [*BUILTIN_METRICS, *(a for m in BUILTIN_METRICS.values() for a in m.aliases)]):
                resolve_metric(name)   # a typo: raise with the suggestions
            else:
                excluded[key] = (f"{key!r} is not a metric GreenRunner measures; ask for a metric stub "
                                 "(generate_metric_stub) to add it")
            continue
        if not metric.learned and any(metric.name not in c.known_metrics() for c in cards):
            if value:
                missing = [c.name for c in cards if metric.name not in c.known_metrics()]
                excluded[metric.name] = (f"{metric.name} is not measured for {len(missing)} of the {len(cards)} "
                                         f"candidates (e.g. {', '.join(missing[:3])})")
            continue
        usable[metric.name] = usable.get(metric.name, 0.0) + float(value)
    if not any(v > 0 for v in usable.values()):
        why = "; ".join(f"{k}: {r}" for k, r in excluded.items())
        raise InvalidWeightsError(
            f"no usable weight is > 0 ({fmt_weights(requested)}){' — ' + why if why else ''}; give accuracy, "
            "size or complexity a weight > 0, e.g. accuracy=1")
    return Weights(usable), excluded


def _excluded_lines(excluded: Mapping[str, str], requested: Mapping[str, float]) -> list[str]:
    return [f"- {name}={requested.get(name, 0):g} is "
            + (why if why == ENERGY_AS_LATENCY else f"left out of the reward: {why}") for name, why in excluded.items()]


def run_bandit(ws: Workspace, args: RunBanditArgs, settings: ToolSettings | None = None,
               progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> ToolResult:
    """Budgeted selection; the full ExperimentResult is the artifact, the top 3 and savings the text."""
    settings = settings or ToolSettings()
    strategy = args.strategy or DEFAULT_STRATEGY
    if not args.models:    # the user's own images and no models named: the hub shortlist (published figures)
        from tools.shortlist import with_shortlist
        args = args.model_copy(update={"models": with_shortlist(ws, args.models, args.dataset, args.weights,
                                                                args.constraints)})
    cards = ws.candidates(args.models, args.dataset)
    if needs_latency(args.weights):
        cards = ws.with_latency(cards)     # once per model and machine (cached); the user approved the run
    weights, excluded = split_weights(args.weights, cards, metrics_folder(settings))
    sample = args.sample or settings.default_sample
    constraints = limits.from_args(args.constraints)
    result, dataset = ws.select(weights, models=args.models, data=args.dataset, strategy=strategy, budget=args.budget,
                                seed=args.seed, sample=sample, label_map=args.label_map, use_case=args.use_case,
                                constraints=constraints, progress=progress, cancel=cancel)
    # the budget as asked (None = the default cap, worked out again for the next run's candidates and images)
    run_args = args.model_copy(update={"strategy": result.strategy, "sample": sample,
                                       "constraints": constraints.to_dict() or None})
    metric_lines, metric_runs = measure_enabled_user_metrics(ws, result, dataset, settings)
    lines = [(f"**Top 3** — {result.strategy}, {result.n_models} models × {result.n_images} target images "
             f"({dataset_label(result.dataset)}), budget {result.budget:,} calls, seed {args.seed}"),
             f"Weights in the reward: {fmt_weights(weights.values)}"]
    lines += _excluded_lines(excluded, args.weights)
    lines += limits.constraint_lines(constraints, result.removed_by_constraints)
    lines += [f"**{note}**" for note in [text.excluded_models_line(result)] if note]
    lines += ["", text.top3_table(result.top3), "", "**Against brute force**"]
    lines += ["- " + s for s in text.savings_lines(result)]
    lines += ["", *notes_lines(result.notes)] if result.notes else []
    if metric_lines:
        lines += ["", "**User metrics (not in the reward)**"] + metric_lines
    record = RunRecord(result=result, args=run_args, excluded_weights=excluded, user_metrics=metric_runs)
    updates = {"last_run": record, "weights": dict(args.weights), "evaluations": result.spent.new_evaluations}
    return ToolResult("\n".join(lines), record, updates)


def measure_enabled_user_metrics(ws: Workspace, result: ExperimentResult, dataset: Any,
                                 settings: ToolSettings) -> tuple[list[str], list[MetricRun]]:
    """Enabled user metrics on the top 3, each with a timeout; errors are reported, not raised."""
    folder = metrics_folder(settings)
    try:
        names = metrics_protocol.enabled_metrics(folder)
    except GreenRunnerError as err:
        return [f"- user metrics skipped: {err}"], []
    if not names or not result.top3:
        return [], []
    from tools.user_metrics import metric_inputs
    loaded, load_errors = user_metric_runs.load_enabled_metrics(folder, settings.user_metric_timeout)
    lines = [f"- {name}: could not be loaded — {err}" for name, err in load_errors.items()]
    runs = []
    top = [ws.registry.get(r.name) for r in result.top3]
    for metric in loaded:
        run = user_metric_runs.measure_metric(
            metric, [(card, lambda card=card: ws.registry.load(card.name)) for card in top],
            lambda card: metric_inputs(card, dataset), settings.user_metric_timeout)
        values = ", ".join(f"{n}={v:.4g}" for n, v in run.values.items()) or "no value"
        lines.append(f"- {metric.name} ({metric.direction} is better): {values}")
        lines += [f"  - {n}: {e}" for n, e in run.errors.items()]
        runs.append(run)
    return lines, runs


def _last_run(last_run: RunRecord | None) -> tuple[ExperimentResult, RunBanditArgs | None]:
    if last_run is None:
        raise GreenRunnerError("there is no selection run in this conversation yet; describe your use case or say "
                               "'run it' first, then ask what-if questions")
    return last_run.result, last_run.args


def _shown(rerank: Any, n: int) -> list[Any]:
    return [r for r in rerank.ranking if r.excluded is None and r.pulls > 0][:n]


def rerank(ws: Workspace, args: RerankArgs, last_run: RunRecord | None,
           current_weights: Mapping[str, float] | None, settings: ToolSettings | None = None) -> ToolResult:
    """New weights -> new ranking from the last run's observations; says whether the cache settles it."""
    settings = settings or ToolSettings()
    result, run_args = _last_run(last_run)
    cards = limits.with_cached_latency(ws.registry.resolve(list(result.observations)), result)
    before_limits = limits.from_args(result.constraints)
    after_limits = before_limits.without(*args.lift_constraints).merged(limits.from_args(args.constraints))
    # the run evaluated only the models within its limits; a new limit narrows it further, a lifted one cannot
    # bring back models that were never evaluated (the reply says so)
    narrowed, kept, removed = limits.narrow_run(result, cards, after_limits)
    before_req = dict(current_weights or result.weights)
    after_req = before_req | dict(args.weights)
    folder = metrics_folder(settings)
    before_w, _ = split_weights(before_req, cards, folder)
    after_w, excluded = split_weights(after_req, kept, folder)
    before = core_rerank(result, cards, before_w)
    after = core_rerank(narrowed, kept, after_w)
    changed = [f"{k} {before_req.get(k, 0):g} → {v:g}" for k, v in after_req.items() if before_req.get(k, 0) != v]
    lines = [(f"Re-ranked from cached outcomes: **0 new evaluations** ({sum(p for p, _ in result.observations.values()):,} "
             f"outcomes of the last run reused)."),
             f"Weights: {fmt_weights(before_w.values)} → {fmt_weights(after_w.values)}"
             + (f" (changed: {', '.join(changed)})" if changed else " (no change)")]
    lines += _excluded_lines(excluded, after_req)
    if after_limits != before_limits or after_limits:
        lines.append(f"Limits: {limits.limit_text(before_limits)} → {limits.limit_text(after_limits)}; "
                     f"{len(removed)} model(s) of the last run are over them"
                     + (": " + "; ".join(f"{n} ({limits.removal_reason(r)})" for n, r in removed.items()) if removed
                        else "") + ".")
        lifted = set(before_limits.to_dict()) - set(after_limits.to_dict())
        if lifted and result.removed_by_constraints:
            lines.append("Models removed by a lifted limit were never evaluated, so they are not in this ranking; a "
                         "new run (approved first) would include them.")
    lines += ["", text.side_by_side(_shown(before, args.top_n), _shown(after, args.top_n), n=args.top_n), ""]
    same = text.names(before.top3) == text.names(after.top3)
    lines.append("The top 3 is unchanged." if same else "The top 3 changed.")
    if after.settled:
        lines.append("The cached outcomes settle this ranking: the leader's reward interval is above every other "
                     "model's, so no more calls are needed.")
    else:
        lines.append(f"Not settled by the cache: {after.top3[0].name if after.top3 else 'the leader'} overlaps with "
                     f"{', '.join(after.contenders[:5])}. About {after.calls_to_settle:,} more evaluation calls would "
                     "settle it; say 'spend them' to run them (you approve the run first).")
    artifact = RerankArtifact(before=before, after=after, run_args=run_args, excluded_weights=excluded,
                              constraints=after_limits, removed_by_constraints=removed)
    return ToolResult("\n".join(lines), artifact, {"weights": after_req})


def _uncached_calls(ws: Workspace, cards: Sequence[ModelCard], image_ids: Sequence[str]) -> int:
    cache = ws.outcome_cache
    return sum(len(image_ids) - len(cache.get_many(c.name, c.weights_id, c.preprocess.id, image_ids)) for c in cards)


def _benchmark_pick(cards: Sequence[ModelCard], weights: Weights) -> str | None:
    """The model the benchmark-card baseline picks (published accuracy + known metrics), without evaluating it."""
    from greenrunner_core.experiment import reward_model_for
    scored = [i for i, c in enumerate(cards) if c.benchmark_accuracy is not None]
    if not scored:
        return None
    model = reward_model_for(cards, weights)
    reward = model.reward(np.array([cards[i].benchmark_accuracy for i in scored]), np.array(scored))
    return cards[scored[int(np.argmax(reward))]].name


def compare_baselines(ws: Workspace, args: CompareBaselinesArgs, last_run: RunRecord | None,
                      current_weights: Mapping[str, float] | None, settings: ToolSettings | None = None,
                      progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> ToolResult:
    """Bandit pick vs brute force vs benchmark card; brute force only within the allowed number of new calls."""
    settings = settings or ToolSettings()
    result: ExperimentResult | None = None
    last: RunBanditArgs | None = None         # the last run's arguments fill what the call leaves out
    if last_run:
        result, last = _last_run(last_run)
    models = args.models if args.models is not None else (last.models if last else None)
    data = args.dataset if args.dataset is not None else (last.dataset if last else None)
    sample = args.sample if args.sample is not None else ((last.sample if last else None) or settings.default_sample)
    seed = args.seed if args.seed is not None else (last.seed if last else 0)
    requested = dict(args.weights or current_weights or (result.weights if result else {}) or {})
    if not requested:
        raise GreenRunnerError("no weights yet: describe your use case or give weights, e.g. accuracy=0.6, size=0.2")
    cards = ws.candidates(models, data)
    if result is not None and result.constraints:      # the baselines honour the run's hard limits too
        cards = limits.within(cards, result)
    weights, excluded = split_weights(requested, cards, metrics_folder(settings))
    dataset = ws.dataset(data, cards, label_map=last.label_map if last else None, sample=sample, seed=seed)
    image_ids = [img.id for img in dataset.images]
    total = len(cards) * len(image_ids)
    uncached = _uncached_calls(ws, cards, image_ids)
    limit = settings.max_brute_force_calls if args.max_new_calls is None else args.max_new_calls
    rows: list[list[str]] = []
    lines = [(f"Baselines on {dataset_label(data)}: {len(cards)} models × {len(image_ids)} images, weights "
             f"{fmt_weights(weights.values)}")]
    lines += _excluded_lines(excluded, requested)
    artifact = BaselinesArtifact(weights=dict(weights.values), n_models=len(cards), n_images=len(image_ids),
                                 brute_force_calls=total, brute_force_uncached_calls=uncached)
    new_evaluations = 0
    bandit_pick = None
    if result is not None and set(result.observations) == {c.name for c in cards}:
        # the bandit's observations re-ranked under the weights compared here (0 evaluations)
        current = core_rerank(result, cards, weights)
        bandit_pick = current.top3[0] if current.top3 else None
        reweighted = " (re-ranked for these weights)" if dict(weights.values) != dict(result.weights) else ""
        rows.append([f"bandit ({result.strategy}){reweighted}", bandit_pick.name if bandit_pick else "-",
                     fmt_acc(bandit_pick) if bandit_pick else "-", f"{result.spent.calls:,}",
                     f"{result.spent.new_evaluations:,}"])
    bf: ExperimentResult | None = None
    if "brute_force" in args.baselines:
        if uncached > limit:
            lines.append(f"Brute force was not run: it takes {total:,} evaluation calls, {uncached:,} of them not "
                         f"cached yet, and this answer may spend at most {limit:,} new ones. Say 'run brute force' "
                         "to spend them.")
            artifact.brute_force = BruteForceBaseline(run=False, calls=total, new_calls_needed=uncached, limit=limit)
        else:
            env = ws.environment(cards, dataset, cancel=cancel)
            bf = run_brute_force(env, weights, dataset=dataset_name(data), progress=progress)
            new_evaluations += bf.spent.new_evaluations
            pick = bf.best
            rows.append(["brute force", pick.name if pick else "-", fmt_acc(pick) if pick else "-",
                         f"{bf.spent.calls:,}", f"{bf.spent.new_evaluations:,}"])
            lines.append(f"Brute force cost: {text.cost_line(bf.spent)}.")
            artifact.brute_force = BruteForceBaseline(run=True, calls=total, limit=limit, result=bf)
    if "benchmark_card" in args.baselines:
        pick_name = _benchmark_pick(cards, weights)
        needed = _uncached_calls(ws, [c for c in cards if c.name == pick_name], image_ids) if pick_name else 0
        if pick_name is None:
            lines.append("Benchmark-card baseline not available: no candidate publishes a benchmark accuracy.")
        elif needed > limit - new_evaluations:
            rows.append(["benchmark card", pick_name, f"not evaluated ({needed:,} new calls needed)", "0", "0"])
            lines.append(f"The benchmark card picks {pick_name} by its published accuracy (no evaluation needed for "
                         f"the pick); its accuracy on your images needs {needed:,} new evaluation calls. Say 'run the "
                         "baselines' to spend them (you approve first).")
        else:
            env = ws.environment(cards, dataset)
            try:
                bc = run_benchmark_card(env, weights, dataset=dataset_name(data))
            except GreenRunnerError as err:
                lines.append(f"Benchmark-card baseline not available: {err}")
            else:
                new_evaluations += bc.spent.new_evaluations
                pick = bc.best
                rows.append(["benchmark card", pick.name if pick else "-", fmt_acc(pick) if pick else "-",
                             f"{bc.spent.calls:,}", f"{bc.spent.new_evaluations:,}"])
                artifact.benchmark_card = bc
    lines += ["", markdown_table(("method", "pick", "target accuracy of the pick", "calls", "new evaluations"), rows)]
    if bandit_pick is not None and bf is not None and bf.ranking:
        truth = [r.name for r in bf.ranking if r.excluded is None]
        where = truth.index(bandit_pick.name) + 1 if bandit_pick.name in truth else None
        verdict = ("The bandit found the brute-force best" if where == 1
                   else f"The bandit's pick is #{where} for brute force (best: {truth[0]})")
        lines.append(f"\n{verdict}; the bandit spent {result.spent.calls:,} of {bf.spent.calls:,} calls "
                     f"({100 * result.spent.calls / max(bf.spent.calls, 1):.1f} %).")
        artifact.bandit_rank_in_brute_force = where
    elif result is not None and bf is None:
        b = result.brute_force
        lines.append(f"\nFrom the last run: brute force takes {b.calls:,} calls and {fmt_macs(b.macs)} MACs, about "
                     f"{fmt_seconds(b.compute_seconds)} of compute (extrapolated from the calls measured); the "
                     f"bandit spent {result.spent.calls:,} calls ({result.savings.calls_pct:.1f} %).")
    return ToolResult("\n".join(lines), artifact, {"evaluations": new_evaluations})

