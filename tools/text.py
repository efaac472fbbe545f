"""Compact markdown the LLM (and the chat) reads: tables of models, the top 3, savings, before/after rankings.

The sentences on savings and energy are here (not in ``ui/``) because the tools' summaries need them and ``ui/``
reuses them; the numbers in them come from ``tools/formatting.py``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from greenrunner_core.execution import ExecutionPlace
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import Cost, ExperimentResult, RankedModel
from greenrunner_core.selection_run import DEFAULT_BUDGET_FRACTION
from tools.energy_text import ONE_TIME_LABEL, kind_words
from tools.formatting import fmt_acc, fmt_co2, fmt_joules, fmt_macs, fmt_score, fmt_seconds, markdown_table

DEFAULT_BUDGET_TEXT = f"{DEFAULT_BUDGET_FRACTION * 100:.0f} % of brute force"   # the default budget, in words
TOP_HEADER = ("#", "model", "target accuracy", "size MB", "MACs", "reward", "evaluated on")
CARD_HEADER = ("model", "source", "family", "params", "size MB", "MACs", "benchmark acc", "shifted acc", "pretrained on")


def weights_table(weights: Mapping[str, float], justification: Mapping[str, str]) -> str:
    """Each weight with the reason for it (a proposal, and the run waiting for approval)."""
    return markdown_table(("metric", "weight", "why"), [(m, f"{w:g}", justification.get(m, "")) for m, w in weights.items()])


def ranked_rows(models: Sequence[RankedModel]) -> list[list[str]]:
    return [[str(r.rank), r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs), fmt_score(r.est_reward),
             f"{r.pulls} images"] for r in models]


def top3_table(models: Sequence[RankedModel]) -> str:
    return markdown_table(TOP_HEADER, ranked_rows(models[:3]))


def excluded_models_line(result: ExperimentResult) -> str | None:
    """Said above a ranking when some candidates could not be evaluated (None when every one was)."""
    if not result.excluded:
        return None
    why = "; ".join(f"{name}: {reason}" for name, reason in result.excluded.items())
    return (f"{len(result.excluded)} of {result.n_models} candidate models could not be evaluated and are not "
            f"ranked — {why}")


def energy_lines(result: ExperimentResult) -> list[str]:
    """Energy and CO2 spent and saved against brute force, with their kind (empty when energy was not measured)."""
    if not result.energy_measured:
        return []
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return [
        (f"energy: {fmt_joules(sp.joules)} of {fmt_joules(bf.joules)} for brute force, extrapolated "
         f"({sv.joules_pct:.1f} %), {fmt_joules(sv.joules_saved)} saved — {kind_words(result.energy_kind)}"),
        (f"CO2: {fmt_co2(result.co2_g(sp.joules))} of {fmt_co2(result.co2_g(bf.joules))} for brute force, "
         f"{fmt_co2(sv.co2_saved_g)} saved — at {result.carbon_g_per_kwh:g} g/kWh ({result.carbon_source})"),
        (f"energy spent computing in this run: {fmt_joules(sp.spent_joules)} (model loads included; "
         "cached calls cost nothing now)"),
    ]


def savings_lines(result: ExperimentResult) -> list[str]:
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return [
        f"calls: {sp.calls:,} of {bf.calls:,} for brute force ({sv.calls_pct:.1f} %), {sv.calls_saved:,} saved",
        f"MACs: {fmt_macs(sp.macs)} of {fmt_macs(bf.macs)} ({sv.macs_pct:.1f} %)",
        (f"compute time: {fmt_seconds(sp.compute_seconds)} of {fmt_seconds(bf.compute_seconds)} "
         f"for brute force, extrapolated ({sv.seconds_pct:.1f} %)" if bf.compute_seconds > 0 else
         "compute time: not recorded (the outcomes carry no timings)"),
        *one_time_lines(result),
        (f"new model evaluations in this run: {sp.new_evaluations:,} (answered from the cache: {sp.cache_hits:,})"
         if result.energy_measured or sp.new_evaluations else "no model was run: every outcome is a recorded one"),
    ] + energy_lines(result)


ONE_TIME_NOT_COMPARED = "one-time, not in the comparison: brute force is priced per call"


def one_time_lines(result: ExperimentResult) -> list[str]:
    """The one-time seconds (model loads, warm-up) of this run, on their own line: the compute times above are per
    call, so run time = compute time of the new evaluations + these (empty when no model was loaded)."""
    seconds = result.spent.one_time_seconds
    return [f"{ONE_TIME_LABEL}: {fmt_seconds(seconds)} in this run ({ONE_TIME_NOT_COMPARED})"] if seconds > 0 else []


def cost_line(cost: Cost) -> str:
    return (f"{cost.calls:,} calls, {fmt_macs(cost.macs)} MACs, {fmt_seconds(cost.compute_seconds)} compute "
            f"({cost.new_evaluations:,} new evaluations, {cost.cache_hits:,} from the cache)")


def card_rows(cards: Sequence[ModelCard]) -> list[list[str]]:
    return [[c.name, c.source, c.family, f"{c.params / 1e6:.3g} M", f"{c.size_mb:.3g}", fmt_macs(c.macs),
             fmt_score(c.benchmark_accuracy), fmt_score(c.shifted_top1), c.pretraining_data or "-"] for c in cards]


def side_by_side(before: Sequence[RankedModel], after: Sequence[RankedModel], n: int = 3) -> str:
    """Old and new top ``n`` in one table, one row per rank."""
    rows = []
    for i in range(n):
        b = before[i] if i < len(before) else None
        a = after[i] if i < len(after) else None
        rows.append([str(i + 1),
                     f"{b.name} ({fmt_score(b.est_reward)})" if b and b.est_reward is not None else "-",
                     f"{a.name} ({fmt_score(a.est_reward)})" if a and a.est_reward is not None else "-"])
    return markdown_table(("#", "before (reward)", "after (reward)"), rows)


def names(models: Sequence[RankedModel]) -> list[str]:
    return [m.name for m in models]


def execution_text(place: ExecutionPlace | None) -> str:
    """Where a run's evaluations ran: "in process", "Ray: 2 worker(s) on the cluster at HOST:PORT" (asked for), or
    "Ray: 2 worker(s) (cpu) on 1 node(s) (10.0.0.5) of the cluster at HOST:PORT" (the workers that ran)."""
    if place is None:
        return "not recorded"
    if place.saved_text:
        return place.saved_text
    if not place.ray:
        return "in process"
    if place.started:
        where = f"the cluster at {place.ray_address}" if place.ray_address else "a local Ray runtime"
        return (f"Ray: {place.workers} worker(s) ({'/'.join(place.devices)}) on {len(place.nodes)} node(s) "
                f"({', '.join(place.nodes)}) of {where}")
    where = f"cluster at {place.ray_address}" if place.ray_address else "local Ray runtime"
    count = f"{place.workers} worker(s)" if place.workers else "one worker per free CPU"
    gpus = f", {place.num_gpus:g} GPU each" if place.num_gpus else ""
    return f"Ray: {count} on the {where}{gpus}"


@dataclass(frozen=True)
class StepWords:
    """What a tool does, in the user's words: while it runs (the browser's live step label), once it has finished,
    and as the subject of a failure ("The selection run failed: ...", the running words unless said otherwise)."""
    doing: str
    done: str
    failure_subject: str = ""

    @property
    def failed(self) -> str:
        return self.failure_subject or self.doing


# what each tool does, in the user's words: a failure or a live step names the step, not the function behind it
TOOL_STEPS: dict[str, StepWords] = {
    "propose_weights": StepWords("Proposing weights", "Proposed weights"),
    "list_models": StepWords("Listing models", "Listed models"),
    "shortlist_models": StepWords("Shortlisting models", "Shortlisted models"),
    "compute_complexity": StepWords("Measuring model complexity", "Measured model complexity"),
    "run_bandit": StepWords("Running the selection", "Ran the selection", "The selection run"),
    "rerank": StepWords("Re-ranking", "Re-ranked"),
    "compare_baselines": StepWords("Comparing with the baselines", "Compared with the baselines"),
    "generate_metric_stub": StepWords("Writing the metric stub", "Wrote the metric stub"),
    "enable_metric": StepWords("Enabling the metric", "Enabled the metric"),
}


def tool_step(tool: str) -> StepWords:
    """A tool's step in words; an unknown name (e.g. one an LLM made up) says it is a step, in words too."""
    if tool in TOOL_STEPS:
        return TOOL_STEPS[tool]
    words = tool.replace("_", " ").strip() or "unnamed"
    return StepWords(f"Running the step {words}", f"Ran the step {words}", f"The step {words}")


def step_words(tool: str) -> str:
    """A tool's step as the subject of a failure ("list_models" -> "Listing models", "run_bandit" -> "The selection
    run"); an unknown name says it is a step."""
    return tool_step(tool).failed
