"""The terminal forms of the CLI: a run's report and the model catalogue, as aligned plain-text tables."""
from __future__ import annotations

from collections.abc import Sequence

from greenrunner_core.notes import Stopped
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import ExperimentResult
from tools.notes_text import notes_lines, stop_words
from tools.text import CARD_HEADER, card_rows, excluded_models_line, savings_lines
from ui.present.tables import aligned_table, green_sections, top_header, top_table_rows


def terminal_report(result: ExperimentResult) -> str:
    excluded = excluded_models_line(result)
    parts = ([excluded, ""] if excluded else []) + [
             f"Top 3 ({result.strategy}, {result.n_models} models, {result.n_images:,} target images):",
             aligned_table(top_header(result), top_table_rows(result)), *_stop_line(result), "", "Against brute force:"]
    parts += ["  " + s for s in savings_lines(result)]
    for title, header, rows in green_sections(result):
        parts += ["", f"{title}:", aligned_table(header, rows)]
    notes = [n for n in result.notes if n != result.stop_reason]          # the stop is shown under the top 3
    if notes:
        parts += ["", *notes_lines(notes, title="Notes:", bullet="  - ")]
    return "\n".join(parts)


def _stop_line(result: ExperimentResult) -> list[str]:
    """Why the run stopped, under the top 3; an interruption says the ranking is partial, a spent budget how to get
    a surer pick."""
    words = stop_words(result.stop_reason)
    if not words:
        return []
    line = words if words.startswith(("stopped", "interrupted")) else f"stopped: {words}"
    if result.interrupted:
        line += " — the ranking above uses only the evaluations made before it"
    if result.stop_reason == Stopped("budget_spent") and any(not r.exact for r in result.ranking[:3]):
        line += " (a larger --budget narrows the ± intervals and can change the order)"
    return [line[0].upper() + line[1:]]


def weights_line(weights: object, why: str) -> str:
    """"Weights: ... (how they were chosen)", the justification lines under it (not inside the parentheses)."""
    head, _, rest = why.partition("\n")
    return f"Weights: {weights}  ({head})" + (f"\n{rest}" if rest else "")


def cards_table(cards: Sequence[ModelCard]) -> str:
    return aligned_table(CARD_HEADER, card_rows(cards))
