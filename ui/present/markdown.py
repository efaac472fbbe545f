"""Markdown for the chat (web app; Slack converts it with ``slack.py``): the report of a run, its top 3 with
uncertainty and selection counts, the savings panel against brute force, and live progress."""
from __future__ import annotations

from itertools import pairwise

from greenrunner_core.result import ExperimentResult
from greenrunner_core.strategies.progress import ProgressEvent
from tools.energy_text import kind_words, meter_words
from tools.formatting import fmt_co2, fmt_joules, fmt_weights, markdown_table
from tools.notes_text import notes_lines, stop_words
from tools.text import excluded_models_line, savings_lines
from ui.present.tables import green_header, green_sections, top_header, top_table_rows

RESULT_HEADER = ["#", "model", "target accuracy (± 95 % CI)", "size MB", "MACs", "reward", "selection count"]


def _sections(result: ExperimentResult) -> list[str]:
    return [f"**{title}**\n\n" + markdown_table(header, rows) for title, header, rows in green_sections(result)]


def markdown_report(result: ExperimentResult) -> str:
    parts = [f"**Top 3** ({result.strategy}, {result.n_models} models, {result.n_images:,} target images)",
             markdown_table(top_header(result), top_table_rows(result)),
             "**Against brute force**\n" + "\n".join("- " + s for s in savings_lines(result)), *_sections(result)]
    if result.constraints:
        parts.insert(1, constraints_markdown(result))
    if result.notes:
        parts.append("\n".join(notes_lines(result.notes)))
    return "\n\n".join(parts)


def constraints_markdown(result: ExperimentResult) -> str:
    """The hard limits the run honoured and each model they removed before evaluation ("" without limits)."""
    if not result.constraints:
        return ""
    from tools.constraints import constraint_lines
    return "\n".join(constraint_lines(result.constraints, result.removed_by_constraints,
                                      title="**Hard constraints**"))


def top3_markdown(result: ExperimentResult, title: str = "Top 3") -> str:
    """The top 3 with target accuracy ± its uncertainty, size, MACs, reward and selection count (images evaluated)."""
    head = (f"**{title}** — {result.strategy}, budget {result.budget:,} calls, {result.n_models} models × "
            f"{result.n_images:,} target images, weights {fmt_weights(result.weights)}")
    limits = constraints_markdown(result)
    head = head + ("\n\n" + limits if limits else "")
    rows = top_table_rows(result, bold_first=True)
    excluded = excluded_models_line(result)
    head += f"\n\n**{excluded}**" if excluded else ""
    order = order_note(result)
    head += f"\n\n{order}" if order else ""
    if not rows:
        return head + "\n\nNo model was evaluated, so there is no ranking yet."
    return "\n\n".join([head, markdown_table(RESULT_HEADER + green_header(result), rows), *_sections(result)])


def order_note(result: ExperimentResult) -> str:
    """Why the top 3 is not in the order of its reward column, when it is not ("" when it is): a strategy may rank by
    another rule (Thompson sampling recommends the most-evaluated model), and a lower row with a higher reward read as
    a wrong ranking."""
    top = [r for r in result.top3 if r.est_reward is not None]
    swap = next(((a, b) for a, b in pairwise(top) if b.est_reward > a.est_reward), None)  # type: ignore[operator]
    if swap is None:
        return ""
    seen = [r for r in result.ranking if r.excluded is None]
    by_count = all(a.pulls >= b.pulls for a, b in pairwise(seen))
    how = (f"by selection count (images evaluated): {result.strategy} recommends the most-evaluated model" if by_count
           else f"by {result.strategy}'s own estimates")
    a, b = swap
    return (f"_Ranked {how}, not by the reward column: #{b.rank} {b.name} has a higher estimated reward "
            f"({b.est_reward:.3f}) than #{a.rank} {a.name} ({a.est_reward:.3f}). Say “use paired_elimination” to rank "
            "by reward._")


def _saved(part: float, whole: float, fmt) -> str:
    """The "saved" cell: what this run saved against brute force and its share; when this run spent more (an
    extrapolated brute force can come out below a run whose per-call time was measured on a busy machine), it says
    so instead of a negative share beside a saving of 0."""
    if not whole:
        return "-"
    if part > whole:
        return f"none: {fmt(part - whole)} more ({100.0 * (part - whole) / whole:.1f} % more)"
    return f"{fmt(whole - part)} ({100.0 * (whole - part) / whole:.1f} %)"


def savings_markdown(result: ExperimentResult) -> str:
    """The savings panel: this run against brute force (every model on every image) in calls, MMACs and seconds."""
    sp, bf = result.spent, result.brute_force
    rows = [["evaluation calls", f"{sp.calls:,}", f"{bf.calls:,}", _saved(sp.calls, bf.calls, "{:,}".format)],
            ["MMACs", f"{sp.macs / 1e6:,.1f}", f"{bf.macs / 1e6:,.1f}",
             _saved(sp.macs, bf.macs, lambda v: f"{v / 1e6:,.1f}")],
            ["compute seconds", f"{sp.compute_seconds:,.1f}", f"{bf.compute_seconds:,.1f} (extrapolated)",
             _saved(sp.compute_seconds, bf.compute_seconds, lambda v: f"{v:,.1f}" if v >= 1 else f"{v:.2g}")]]
    if result.energy_measured:
        rows += [["energy", fmt_joules(sp.joules), f"{fmt_joules(bf.joules)} (extrapolated)",
                  _saved(sp.joules, bf.joules, fmt_joules)],
                 ["CO2", fmt_co2(result.co2_g(sp.joules)), f"{fmt_co2(result.co2_g(bf.joules))} (extrapolated)",
                  _saved(sp.joules, bf.joules, lambda j: fmt_co2(result.co2_g(j)))]]
        energy_note = (f"Energy is {kind_words(result.energy_kind)} ({meter_words(result.energy_detail)}); CO2 at {result.carbon_g_per_kwh:g} "
                       f"g/kWh ({result.carbon_source}). Energy spent computing in this run: "
                       f"{fmt_joules(sp.spent_joules)}, model loads included.")
    else:
        energy_note = "Energy was not measured for this run (a replay of recorded outcomes)."
    lines = ["**Savings against brute force**", "", markdown_table(["", "this run", "brute force", "saved"], rows), "",
             f"New evaluations in this run: {sp.new_evaluations:,}; answered from the cache: {sp.cache_hits:,}. "
             + energy_note]
    if result.interrupted:
        lines.append(f"Stopped early ({stop_words(result.stop_reason)}): the ranking uses the evaluations made so far.")
    return "\n".join(lines)


def progress_markdown(event: ProgressEvent, finished: bool = False) -> str:
    """Live progress of a selection run: calls spent of the budget, the current leader, calls per model.
    ``finished``: the run is over, so a model without calls was left out (the answer's notes say why), not "yet"."""
    spent, budget = event.spent, event.budget or 1
    seen = sorted(((n, c) for n, c in event.counts.items() if c), key=lambda kv: (-kv[1], kv[0]))
    head = (f"**{spent:,} / {budget:,} evaluation calls** ({100 * spent / budget:.0f} %) · current leader: "
            f"**{event.leader or '-'}** · last batch: {event.model or '-'} ({event.batch_calls} calls)")
    lines = [head, "", markdown_table(["model", "calls"], [[n, f"{c:,}"] for n, c in seen])]
    waiting = len(event.counts) - len(seen)
    if waiting:
        lines += ["", f"{waiting} model(s) never evaluated: dropped or stopped before any call (the notes of the "
                      "answer say why)." if finished else f"{waiting} model(s) not evaluated yet."]
    return "\n".join(lines)
