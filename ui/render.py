"""Turn an ExperimentResult into a terminal table, markdown (chat/Slack), Plotly figures and an HTML report."""
from __future__ import annotations

import html
import re
from pathlib import Path

import plotly.graph_objects as go

from greenrunner_core.experiment import ExperimentResult, RankedModel


def fmt_macs(macs: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if macs >= scale:
            return f"{macs / scale:.3g} {unit}"
    return f"{macs:.0f}"


def fmt_acc(r: RankedModel) -> str:
    if r.est_accuracy is None:
        return "not evaluated"
    if r.exact:
        return f"{r.est_accuracy:.3f} (exact)"
    return f"{r.est_accuracy:.3f} ± {(r.acc_high - r.acc_low) / 2:.3f}"


def fmt_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def top_table_rows(result: ExperimentResult, n: int = 3) -> list[list[str]]:
    rows = []
    for r in result.top3[:n]:
        rows.append([str(r.rank), r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs),
                     f"{r.est_reward:.3f}" if r.est_reward is not None else "-", str(r.pulls)])
    return rows


TOP_HEADER = ["#", "model", "target accuracy", "size MB", "MACs", "reward", "evaluated on"]


def savings_lines(result: ExperimentResult) -> list[str]:
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return [
        f"calls:   {sp.calls:,} of {bf.calls:,} brute force ({sv.calls_pct:.1f} %), saved {sv.calls_saved:,}",
        f"MACs:    {fmt_macs(sp.macs)} of {fmt_macs(bf.macs)} ({sv.macs_pct:.1f} %)",
        f"seconds: {fmt_seconds(sp.compute_seconds)} of {fmt_seconds(bf.compute_seconds)} extrapolated "
        f"({sv.seconds_pct:.1f} %)",
        f"new model evaluations this run: {sp.new_evaluations:,} (answered from cache: {sp.cache_hits:,})",
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def terminal_report(result: ExperimentResult) -> str:
    parts = [f"Top 3 ({result.strategy}, {result.n_models} models, {result.n_images} target images):",
             _table(TOP_HEADER, top_table_rows(result)), "", "Against brute force:"]
    parts += ["  " + s for s in savings_lines(result)]
    if result.notes:
        parts += ["", "Notes:"] + ["  - " + n for n in result.notes]
    return "\n".join(parts)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def markdown_report(result: ExperimentResult) -> str:
    parts = [f"**Top 3** ({result.strategy}, {result.n_models} models, {result.n_images} target images)", "",
             markdown_table(TOP_HEADER, top_table_rows(result)), "", "**Against brute force**"]
    parts += ["- " + s for s in savings_lines(result)]
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
    head = "".join(f"<th>{html.escape(h)}</th>" for h in TOP_HEADER)
    savings = "".join(f"<li>{html.escape(s)}</li>" for s in savings_lines(result))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    path.write_text(f"""<!doctype html><html><head><meta charset="utf-8"><title>GreenRunner report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head><body>
<h1>GreenRunner report</h1><p><b>Use case:</b> {html.escape(result.use_case or '-')}<br>
<b>Weights:</b> {html.escape(weights_text or ', '.join(f'{k}={v:g}' for k, v in result.weights.items()))}<br>
<b>Strategy:</b> {html.escape(result.strategy)} · budget {result.budget:,} calls · dataset {html.escape(result.dataset)}</p>
<h2>Top 3</h2><table><tr>{head}</tr>{rows}</table><h2>Against brute force</h2><ul>{savings}</ul>
{charts}<h2>Notes</h2><ul>{notes or '<li>none</li>'}</ul></body></html>""")
    return path


# ---- the web app and Slack ---------------------------------------------------------------------------------------

RESULT_HEADER = ["#", "model", "target accuracy (± 95 % CI)", "size MB", "MACs", "reward", "selection count"]


def top3_markdown(result: ExperimentResult, title: str = "Top 3") -> str:
    """The top 3 with target accuracy ± its uncertainty, size, MACs, reward and selection count (images evaluated)."""
    rows = [[str(r.rank), f"**{r.name}**" if i == 0 else r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs),
             f"{r.est_reward:.3f}" if r.est_reward is not None else "-", f"{r.pulls:,}"]
            for i, r in enumerate(result.top3)]
    head = (f"**{title}** — {result.strategy}, {result.n_models} models × {result.n_images:,} target images, "
            f"weights {', '.join(f'{k}={v:g}' for k, v in result.weights.items())}")
    if not rows:
        return head + "\n\nNo model was evaluated, so there is no ranking yet."
    return head + "\n\n" + markdown_table(RESULT_HEADER, rows)


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
    lines = ["**Savings against brute force**", "", markdown_table(["", "this run", "brute force", "saved"], rows), "",
             f"New evaluations in this run: {sp.new_evaluations:,}; answered from the cache: {sp.cache_hits:,}. "
             "Energy in joules is shown once it is measured."]
    if result.interrupted:
        lines.append(f"Stopped early ({result.stop_reason}): the ranking uses the evaluations made so far.")
    return "\n".join(lines)


def progress_markdown(event: dict) -> str:
    """Live progress of a selection run: calls spent of the budget, the current leader, calls per model."""
    spent, budget = int(event.get("spent", 0)), int(event.get("budget", 0)) or 1
    counts = {k: int(v) for k, v in (event.get("counts") or {}).items()}
    seen = sorted(((n, c) for n, c in counts.items() if c), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"**{spent:,} / {budget:,} evaluation calls** ({100 * spent / budget:.0f} %) · current leader: "
             f"**{event.get('leader') or '-'}** · last batch: {event.get('model', '-')} ({event.get('batch_calls', 0)} "
             "calls)", "", markdown_table(["model", "calls"], [[n, f"{c:,}"] for n, c in seen])]
    waiting = len(counts) - len(seen)
    if waiting:
        lines += ["", f"{waiting} model(s) not evaluated yet."]
    return "\n".join(lines)


def reranked(result: ExperimentResult, after: dict) -> ExperimentResult:
    """The last run seen under new weights (a ``rerank`` artifact's "after"): for the tables and charts."""
    import dataclasses
    ranking = [RankedModel(**r) for r in after.get("ranking") or []]
    return dataclasses.replace(result, ranking=ranking, weights=dict(after.get("weights") or result.weights))


def figures_png(figures: list[go.Figure], width: int = 900, height: int = 460) -> list[bytes]:
    """Plotly figures as PNG through kaleido, which drives a local Chrome/Chromium (found on PATH, or set
    BROWSER_PATH=/usr/bin/chromium); raises RuntimeError saying so when none is available."""
    import tempfile

    import plotly.io as pio
    with tempfile.TemporaryDirectory(prefix="greenrunner-png-") as tmp:
        paths = [Path(tmp) / f"figure{i}.png" for i in range(len(figures))]
        try:
            pio.write_images(figures, paths, format="png", width=width, height=height)
        except Exception as err:  # noqa: BLE001 - kaleido raises several types when Chrome is missing or fails
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
