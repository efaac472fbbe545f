"""The rows and headers of a result's tables (top 3, latency and energy per model, optimised variants), shared by the
terminal, markdown and HTML forms, and the aligned plain-text table (``tabulate``) of the terminal and Slack.

Energy figures carry their kind, brute-force figures are labelled extrapolated, and optimised variants
(``--tactics``) are shown beside their base model.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from greenrunner_core.result import ExperimentResult
from tools.energy_text import kind_words
from tools.formatting import fmt_acc, fmt_co2, fmt_joules, fmt_macs, fmt_score, fmt_seconds
from tools.text import TOP_HEADER, execution_text

Section = tuple[str, list[str], list[list[str]]]   # (title, header, rows)


def aligned_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their width with a dashed rule under the header, text as given (no number parsing).

    The header goes in as a row: tabulate widens headed columns by two spaces, which Slack code blocks cannot spare.
    """
    cells = [[str(c) for c in header], *([str(c) for c in r] for r in rows)]
    body = tabulate(cells, tablefmt="plain", disable_numparse=True, stralign="left").splitlines()
    rule = "  ".join("-" * max(len(c) for c in column) for column in zip(*cells))
    return "\n".join([body[0].rstrip(), rule, *(line.rstrip() for line in body[1:])])


def green_header(result: ExperimentResult) -> list[str]:
    """Extra columns when measured: latency (batch 1) and energy per evaluation call."""
    head = []
    if result.latency:
        head.append("latency ms (b1, p90)")
    if result.energy_measured:
        head.append("energy / call")
    return head


def top_header(result: ExperimentResult) -> list[str]:
    return list(TOP_HEADER) + green_header(result)


def top_table_rows(result: ExperimentResult, *, bold_first: bool = False) -> list[list[str]]:
    """The top 3: rank, model, target accuracy ± CI, size, MACs, reward, images evaluated (+ latency, energy)."""
    return [[str(r.rank), f"**{r.name}**" if bold_first and i == 0 else r.name, fmt_acc(r), f"{r.size_mb:.3g}",
             fmt_macs(r.macs), fmt_score(r.est_reward), f"{r.pulls:,}"] + green_cells(result, r.name)
            for i, r in enumerate(result.top3)]


def fmt_latency(result: ExperimentResult, name: str) -> str:
    stats = result.latency.get(name)
    return f"{stats.median_ms:.3g} ({stats.p90_ms:.3g})" if stats else "-"


def fmt_batch_latency(result: ExperimentResult, name: str) -> str:
    stats = result.latency.get(name)
    return f"{stats.batch_median_ms:.3g}" if stats else "-"


def joules_per_call(result: ExperimentResult, name: str) -> float | None:
    cost = result.per_model.get(name)
    if cost is None or not cost.calls or not cost.joules:
        return None
    return cost.joules / cost.calls


def fmt_joules_per_call(result: ExperimentResult, name: str) -> str:
    j = joules_per_call(result, name)
    return fmt_joules(j) if j is not None else "-"


def green_cells(result: ExperimentResult, name: str) -> list[str]:
    cells = []
    if result.latency:
        cells.append(fmt_latency(result, name))
    if result.energy_measured:
        cells.append(fmt_joules_per_call(result, name))
    return cells


def per_model_header(result: ExperimentResult) -> list[str]:
    batch = next(iter(result.latency.values())).batch_size if result.latency else None
    head = ["#", "model", "target accuracy"]
    if result.latency:
        head += ["latency ms b1 (p90)", f"ms/image at batch {batch}"]
    if result.energy_measured:
        head += ["energy / call", "CO2 / call"]
    return head + ["evaluated on"]


def per_model_title(result: ExperimentResult) -> str:
    """The per-model table's title names only what it shows: latency, energy (with how it was got), or both."""
    shown = " and ".join(w for w, has in (("latency", bool(result.latency)), ("energy", result.energy_measured)) if has)
    label = f" — energy {kind_words(result.energy_kind)}" if result.energy_measured else ""
    return f"{shown.capitalize()} per model{label}"


def per_model_rows(result: ExperimentResult) -> list[list[str]]:
    """Every model that was evaluated or timed, in ranking order."""
    rows = []
    for r in result.ranking:
        if r.pulls == 0 and r.name not in result.latency:
            continue
        row = [str(r.rank), r.name, fmt_acc(r) if r.excluded is None else "excluded"]
        if result.latency:
            row += [fmt_latency(result, r.name), fmt_batch_latency(result, r.name)]
        if result.energy_measured:
            j = joules_per_call(result, r.name)
            row += [fmt_joules(j) if j is not None else "-", fmt_co2(result.co2_g(j)) if j is not None else "-"]
        rows.append(row + [f"{r.pulls:,}"])
    return rows


VARIANT_HEADER = ["model", "tactic", "target accuracy", "Δ accuracy (same images)", "size MB", "MACs",
                  "latency ms b1 (p90)", "energy / call"]


def variant_rows(result: ExperimentResult) -> list[list[str]]:
    """Each base model followed by its optimised variants (accuracy change against the base)."""
    if not result.variants:
        return []
    by_name = {r.name: r for r in result.ranking}
    bases: dict[str, list[str]] = {}
    for variant, info in result.variants.items():
        bases.setdefault(info.base, []).append(variant)
    rows = []
    for base, variants in bases.items():
        b = by_name.get(base)
        for name in [base, *variants]:
            r = by_name.get(name)
            if r is None:
                continue
            delta = "-"                  # only on the same images (every arm reads the shared order from the start)
            if (name != base and b is not None and r.est_accuracy is not None and b.est_accuracy is not None
                    and r.pulls == b.pulls):
                delta = f"{r.est_accuracy - b.est_accuracy:+.3f}"
            tactic = "base" if name == base else result.variants[name].tactic
            rows.append([name, tactic, fmt_acc(r) if r.excluded is None else f"excluded: {r.excluded}", delta,
                         f"{r.size_mb:.3g}", fmt_macs(r.macs), fmt_latency(result, name),
                         fmt_joules_per_call(result, name)])
    return rows


def green_sections(result: ExperimentResult) -> list[Section]:
    """(title, header, rows) of the latency/energy table and the variants table, when there is something to show."""
    out = []
    rows = per_model_rows(result)
    if rows and (result.latency or result.energy_measured):
        out.append((per_model_title(result), per_model_header(result), rows))
    rows = variant_rows(result)
    if rows:
        out.append(("Optimised variants beside their base model (MACs unchanged by these tactics)", VARIANT_HEADER,
                    rows))
    if any(w != "local" for w in result.workers):
        rows = [[w, f"{a.tasks:,}", f"{a.evaluations:,}", fmt_seconds(a.seconds), fmt_joules(a.joules),
                 ", ".join(a.models)] for w, a in sorted(result.workers.items())]
        out.append((f"Where evaluations ran — {execution_text(result.execution)}", WORKER_HEADER, rows))
    return out


WORKER_HEADER = ["worker", "tasks", "evaluations", "compute", "energy", "models computed there"]
