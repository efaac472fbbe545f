"""Turn an ExperimentResult into a terminal table, markdown (chat/Slack), Plotly figures and an HTML report.

Energy figures always carry their kind ("measured (RAPL)" / "estimated (time x W)"), brute-force figures are
labelled extrapolated, and optimised variants (``--tactics``) are shown beside their base model.
"""
from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import plotly.graph_objects as go

from greenrunner_core.energy import fmt_co2, fmt_joules
from greenrunner_core.result import ExperimentResult, Rerank
from greenrunner_core.strategies.base import ProgressEvent
from tools.formatting import fmt_acc, fmt_macs
from tools.text import energy_lines


def fmt_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def top_table_rows(result: ExperimentResult, n: int = 3) -> list[list[str]]:
    rows = []
    for r in result.top3[:n]:
        rows.append([str(r.rank), r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs),
                     f"{r.est_reward:.3f}" if r.est_reward is not None else "-", str(r.pulls)]
                    + _green_cells(result, r.name))
    return rows


TOP_HEADER = ["#", "model", "target accuracy", "size MB", "MACs", "reward", "evaluated on"]


def _green_header(result: ExperimentResult) -> list[str]:
    """Extra columns when measured: latency (batch 1) and energy per evaluation call."""
    head = []
    if result.latency:
        head.append("latency ms (b1, p90)")
    if result.energy_measured:
        head.append("energy / call")
    return head


def top_header(result: ExperimentResult) -> list[str]:
    return TOP_HEADER + _green_header(result)


def fmt_latency(result: ExperimentResult, name: str) -> str:
    stats = result.latency.get(name)
    if not stats:
        return "-"
    return f"{stats['median_ms']:.3g} ({stats['p90_ms']:.3g})"


def fmt_batch_latency(result: ExperimentResult, name: str) -> str:
    stats = result.latency.get(name)
    return f"{stats['batch_median_ms']:.3g}" if stats else "-"


def joules_per_call(result: ExperimentResult, name: str) -> float | None:
    cost = result.per_model.get(name)
    if cost is None or not cost.calls or not cost.joules:
        return None
    return cost.joules / cost.calls


def fmt_joules_per_call(result: ExperimentResult, name: str) -> str:
    j = joules_per_call(result, name)
    return fmt_joules(j) if j is not None else "-"


def _green_cells(result: ExperimentResult, name: str) -> list[str]:
    cells = []
    if result.latency:
        cells.append(fmt_latency(result, name))
    if result.energy_measured:
        cells.append(fmt_joules_per_call(result, name))
    return cells


def savings_lines(result: ExperimentResult) -> list[str]:
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return [
        f"calls:   {sp.calls:,} of {bf.calls:,} brute force ({sv.calls_pct:.1f} %), saved {sv.calls_saved:,}",
        f"MACs:    {fmt_macs(sp.macs)} of {fmt_macs(bf.macs)} ({sv.macs_pct:.1f} %)",
        f"seconds: {fmt_seconds(sp.compute_seconds)} of {fmt_seconds(bf.compute_seconds)} extrapolated "
        f"({sv.seconds_pct:.1f} %)",
        f"new model evaluations this run: {sp.new_evaluations:,} (answered from cache: {sp.cache_hits:,})",
    ] + energy_lines(result)


# ---- latency, energy and variants per model ----------------------------------------------------------------------

def per_model_header(result: ExperimentResult) -> list[str]:
    batch = next(iter(result.latency.values()))["batch_size"] if result.latency else None
    head = ["#", "model", "target accuracy"]
    if result.latency:
        head += ["latency ms b1 (p90)", f"ms/image at batch {batch}"]
    if result.energy_measured:
        head += ["energy / call", "CO2 / call"]
    return head + ["evaluated on"]


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
        bases.setdefault(info["base"], []).append(variant)
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
            tactic = "base" if name == base else result.variants[name]["tactic"]
            rows.append([name, tactic, fmt_acc(r) if r.excluded is None else f"excluded: {r.excluded}", delta,
                         f"{r.size_mb:.3g}", fmt_macs(r.macs), fmt_latency(result, name),
                         fmt_joules_per_call(result, name)])
    return rows


def green_sections(result: ExperimentResult) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the latency/energy table and the variants table, when there is something to show."""
    out = []
    rows = per_model_rows(result)
    if rows and (result.latency or result.energy_measured):
        label = f" — energy {result.energy_kind}" if result.energy_measured else ""
        out.append((f"Latency and energy per model{label}", per_model_header(result), rows))
    rows = variant_rows(result)
    if rows:
        out.append(("Optimised variants beside their base model (MACs unchanged by these tactics)", VARIANT_HEADER,
                    rows))
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def terminal_report(result: ExperimentResult) -> str:
    parts = [f"Top 3 ({result.strategy}, {result.n_models} models, {result.n_images} target images):",
             _table(top_header(result), top_table_rows(result)), "", "Against brute force:"]
    parts += ["  " + s for s in savings_lines(result)]
    for title, header, rows in green_sections(result):
        parts += ["", f"{title}:", _table(header, rows)]
    if result.notes:
        parts += ["", "Notes:"] + ["  - " + n for n in result.notes]
    return "\n".join(parts)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def markdown_report(result: ExperimentResult) -> str:
    parts = [f"**Top 3** ({result.strategy}, {result.n_models} models, {result.n_images} target images)", "",
             markdown_table(top_header(result), top_table_rows(result)), "", "**Against brute force**"]
    parts += ["- " + s for s in savings_lines(result)]
    for title, header, rows in green_sections(result):
        parts += ["", f"**{title}**", "", markdown_table(header, rows)]
    if result.notes:
        parts += ["", "**Notes**"] + ["- " + n for n in result.notes]
    return "\n".join(parts)


def selection_counts_figure(result: ExperimentResult) -> go.Figure:
    ranked = [r for r in result.ranking if r.excluded is None]
    top = {r.name for r in result.top3}
    fig = go.Figure(go.Bar(
        x=[r.name for r in ranked], y=[r.pulls for r in ranked],
        marker_color=["#2e7d32" if r.name in top else "#9e9e9e" for r in ranked],
        hovertext=[fmt_acc(r) for r in ranked]))
    fig.update_layout(title="Selection counts (images evaluated per model; top 3 in green)",
                      xaxis_title="model (ranked best first)", yaxis_title="evaluation calls", height=420)
    return fig


def reward_vs_macs_figure(result: ExperimentResult) -> go.Figure:
    seen = [r for r in result.ranking if r.est_reward is not None and r.excluded is None]
    top = [r.name for r in result.top3]
    fig = go.Figure()
    for label, group, color, size in (("other models", [r for r in seen if r.name not in top], "#607d8b", 9),
                                      ("top 3", [r for r in seen if r.name in top], "#2e7d32", 15)):
        fig.add_trace(go.Scatter(
            x=[r.macs for r in group], y=[r.est_reward for r in group], mode="markers+text", name=label,
            text=[r.name for r in group], textposition="top center", marker={"size": size, "color": color},
            error_y={"type": "data", "symmetric": False,
                     "array": [r.reward_high - r.est_reward for r in group],
                     "arrayminus": [r.est_reward - r.reward_low for r in group]}))
    fig.update_layout(title="Estimated reward vs MACs per image (bars: 95 % interval)", xaxis_type="log",
                      xaxis_title="MACs per image (log)", yaxis_title="estimated reward (Eq. 1)", height=460)
    return fig


def html_report(result: ExperimentResult, path: str | Path, weights_text: str = "") -> Path:
    """A self-contained HTML file (Plotly inlined) that opens offline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figs = [selection_counts_figure(result), reward_vs_macs_figure(result)]
    charts = "".join(f.to_html(full_html=False, include_plotlyjs=("inline" if i == 0 else False))
                     for i, f in enumerate(figs))
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in top_table_rows(result))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in top_header(result))
    savings = "".join(f"<li>{html.escape(s)}</li>" for s in savings_lines(result))
    green = "".join(
        f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
        + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in table_rows)
        + "</table>" for title, header, table_rows in green_sections(result))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>GreenRunner report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head><body>
<h1>GreenRunner report</h1><p><b>Use case:</b> {html.escape(result.use_case or '-')}<br>
<b>Weights:</b> {html.escape(weights_text or ', '.join(f'{k}={v:g}' for k, v in result.weights.items()))}<br>
<b>Strategy:</b> {html.escape(result.strategy)} · budget {result.budget:,} calls · dataset {html.escape(result.dataset)}</p>
<h2>Top 3</h2><table><tr>{head}</tr>{rows}</table><h2>Against brute force</h2><ul>{savings}</ul>
{green}{charts}<h2>Notes</h2><ul>{notes or '<li>none</li>'}</ul></body></html>""")
    return path


# ---- the web app and Slack ---------------------------------------------------------------------------------------

RESULT_HEADER = ["#", "model", "target accuracy (± 95 % CI)", "size MB", "MACs", "reward", "selection count"]


def top3_markdown(result: ExperimentResult, title: str = "Top 3") -> str:
    """The top 3 with target accuracy ± its uncertainty, size, MACs, reward and selection count (images evaluated)."""
    rows = [[str(r.rank), f"**{r.name}**" if i == 0 else r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs),
             f"{r.est_reward:.3f}" if r.est_reward is not None else "-", f"{r.pulls:,}"] + _green_cells(result, r.name)
            for i, r in enumerate(result.top3)]
    head = (f"**{title}** — {result.strategy}, budget {result.budget:,} calls, {result.n_models} models × "
            f"{result.n_images:,} target images, weights {', '.join(f'{k}={v:g}' for k, v in result.weights.items())}")
    if not rows:
        return head + "\n\nNo model was evaluated, so there is no ranking yet."
    out = head + "\n\n" + markdown_table(RESULT_HEADER + _green_header(result), rows)
    for section_title, header, section_rows in green_sections(result):
        out += f"\n\n**{section_title}**\n\n" + markdown_table(header, section_rows)
    return out


def _saved(part: float, whole: float) -> str:
    return f"{100.0 * (whole - part) / whole:.1f} %" if whole else "-"


def savings_markdown(result: ExperimentResult) -> str:
    """The savings panel: this run against brute force (every model on every image) in calls, MMACs and seconds."""
    sp, bf = result.spent, result.brute_force
    rows = [["evaluation calls", f"{sp.calls:,}", f"{bf.calls:,}", f"{bf.calls - sp.calls:,} ({_saved(sp.calls, bf.calls)})"],
            ["MMACs", f"{sp.macs / 1e6:,.1f}", f"{bf.macs / 1e6:,.1f}",
             f"{(bf.macs - sp.macs) / 1e6:,.1f} ({_saved(sp.macs, bf.macs)})"],
            ["compute seconds", f"{sp.compute_seconds:,.1f}", f"{bf.compute_seconds:,.1f} (extrapolated)",
             f"{max(bf.compute_seconds - sp.compute_seconds, 0):,.1f} ({_saved(sp.compute_seconds, bf.compute_seconds)})"]]
    if result.energy_measured:
        sv = result.savings
        rows += [["energy", fmt_joules(sp.joules), f"{fmt_joules(bf.joules)} (extrapolated)",
                  f"{fmt_joules(sv.joules_saved)} ({_saved(sp.joules, bf.joules)})"],
                 ["CO2", fmt_co2(result.co2_g(sp.joules)), f"{fmt_co2(result.co2_g(bf.joules))} (extrapolated)",
                  f"{fmt_co2(sv.co2_saved_g)} ({_saved(sp.joules, bf.joules)})"]]
        energy_note = (f"Energy is {result.energy_kind} ({result.energy_detail}); CO2 at {result.carbon_g_per_kwh:g} "
                       f"g/kWh ({result.carbon_source}). Energy spent computing in this run: "
                       f"{fmt_joules(sp.spent_joules)}, model loads included.")
    else:
        energy_note = "Energy was not measured for this run (a replay of recorded outcomes)."
    lines = ["**Savings against brute force**", "", markdown_table(["", "this run", "brute force", "saved"], rows), "",
             f"New evaluations in this run: {sp.new_evaluations:,}; answered from the cache: {sp.cache_hits:,}. "
             + energy_note]
    if result.interrupted:
        lines.append(f"Stopped early ({result.stop_reason}): the ranking uses the evaluations made so far.")
    return "\n".join(lines)


def progress_markdown(event: ProgressEvent) -> str:
    """Live progress of a selection run: calls spent of the budget, the current leader, calls per model."""
    spent, budget = event.spent, event.budget or 1
    counts = dict(event.counts)
    seen = sorted(((n, c) for n, c in counts.items() if c), key=lambda kv: (-kv[1], kv[0]))
    head = (f"**{spent:,} / {budget:,} evaluation calls** ({100 * spent / budget:.0f} %) · current leader: "
            f"**{event.leader or '-'}** · last batch: {event.model or '-'} ({event.batch_calls} calls)")
    lines = [head, "", markdown_table(["model", "calls"], [[n, f"{c:,}"] for n, c in seen])]
    waiting = len(counts) - len(seen)
    if waiting:
        lines += ["", f"{waiting} model(s) not evaluated yet."]
    return "\n".join(lines)


def reranked(result: ExperimentResult, after: Rerank) -> ExperimentResult:
    """The last run seen under new weights (a re-rank of it): for the tables and charts."""
    return dataclasses.replace(result, ranking=list(after.ranking), weights=dict(after.weights))


def figures_png(figures: list[go.Figure], width: int = 900, height: int = 460) -> list[bytes]:
    """Plotly figures as PNG through kaleido, which drives a local Chrome/Chromium (found on PATH, or set
    BROWSER_PATH=/usr/bin/chromium); raises RuntimeError saying so when none is available."""
    import tempfile

    import plotly.io as pio
    with tempfile.TemporaryDirectory(prefix="greenrunner-png-") as tmp:
        paths = [Path(tmp) / f"figure{i}.png" for i in range(len(figures))]
        try:
            pio.write_images(figures, paths, format="png", width=width, height=height)
        except Exception as err:  # kaleido raises several types when Chrome is missing or fails
            raise RuntimeError(f"charts could not be rendered as PNG ({type(err).__name__}: {err}); install Chromium "
                               "(apt-get install chromium) or set BROWSER_PATH to a Chrome binary") from err
        return [p.read_bytes() for p in paths]


# ---- Slack mrkdwn ------------------------------------------------------------------------------------------------

def _plain(cell: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", cell.strip()).replace("`", "")


def _table_block(lines: list[str]) -> str:
    rows = [[_plain(c) for c in line.strip().strip("|").split("|")] for line in lines
            if not re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line.strip())]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    sizes = [max(len(r[i]) for r in rows) for i in range(width)]
    out = ["  ".join(c.ljust(s) for c, s in zip(r, sizes)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * s for s in sizes))
    return "```\n" + "\n".join(out) + "\n```"


def _inline(line: str) -> str:
    line = re.sub(r"\*\*(.+?)\*\*", r"*\1*", line)
    line = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", line)
    line = re.sub(r"^#{1,6}\s+(.*)$", r"*\1*", line)
    return re.sub(r"^(\s*)[-*]\s+", r"\1• ", line)


def slack_mrkdwn(markdown: str) -> str:
    """Chat markdown as Slack mrkdwn: tables become aligned code blocks, **bold** becomes *bold*, links <url|text>."""
    out: list[str] = []
    lines = markdown.splitlines()
    i, in_code = 0, False
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_code = not in_code
            out.append(line)
        elif in_code:
            out.append(line)
        elif line.strip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_table_block(block))
            continue
        else:
            out.append(_inline(line))
        i += 1
    return "\n".join(out)


def split_message(text: str, limit: int = 2900) -> list[str]:
    """Pieces of at most ``limit`` characters (Slack refuses longer text blocks), cut between paragraphs and never
    inside a code block unless a single block is longer than the limit."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        current.append(line)
        if not in_code and not line.strip():
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    pieces: list[str] = []
    buf = ""
    for para in paragraphs:
        while len(para) > limit:                      # one huge block: cut it at line ends
            cut = para.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            if buf:
                pieces.append(buf.rstrip())
                buf = ""
            pieces.append(para[:cut].rstrip())
            para = para[cut:].lstrip("\n")
        if len(buf) + len(para) + 1 > limit and buf:
            pieces.append(buf.rstrip())
            buf = ""
        buf += para + "\n"
    if buf.strip():
        pieces.append(buf.rstrip())
    return [p for p in pieces if p.strip()]
