"""The HTML report of a run: one self-contained file (Plotly inlined) that opens offline, from a Jinja2 template
(``ui/templates/report.html.j2``, package data) with every value escaped."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from greenrunner_core.result import ExperimentResult
from tools.dataset_text import dataset_label
from tools.formatting import fmt_weights
from tools.notes_text import words
from tools.text import savings_lines
from ui.present.charts import reward_vs_macs_figure, selection_counts_figure
from ui.present.tables import green_sections, top_header, top_table_rows


def _template_environment() -> Environment:
    return Environment(loader=PackageLoader("ui", "templates"), autoescape=select_autoescape(["html", "j2"]))


def html_report(result: ExperimentResult, path: str | Path, weights_text: str = "") -> Path:
    """Write the report of ``result`` to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figs = [selection_counts_figure(result), reward_vs_macs_figure(result)]
    charts = "".join(f.to_html(full_html=False, include_plotlyjs=("inline" if i == 0 else False))
                     for i, f in enumerate(figs))
    tables = [("Top 3", top_header(result), top_table_rows(result)), *green_sections(result)]
    page = _template_environment().get_template("report.html.j2").render(
        result=result, weights_text=weights_text or fmt_weights(result.weights), budget=f"{result.budget:,}",
        dataset=dataset_label(result.dataset), tables=tables, savings=savings_lines(result), charts=charts,
        notes=words(result.notes))
    path.write_text(page, encoding="utf-8")
    return path
