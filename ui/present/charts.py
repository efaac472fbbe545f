"""The charts of a run (Plotly): selection counts per model, and estimated reward against MACs with its interval."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import plotly.graph_objects as go

from greenrunner_core.result import ExperimentResult, Rerank
from tools.formatting import fmt_acc


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
            cliponaxis=False,                  # a name near the edge is drawn whole (it was cut at the plot border)
            error_y={"type": "data", "symmetric": False,
                     "array": [r.reward_high - r.est_reward for r in group],
                     "arrayminus": [r.est_reward - r.reward_low for r in group]}))
    fig.update_layout(title="Estimated reward vs MACs per image (bars: 95 % interval)", xaxis_type="log",
                      xaxis_title="MACs per image (log)", yaxis_title="estimated reward (Eq. 1)", height=460)
    return fig


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
