"""The one formatter of each number GreenRunner shows (MACs, seconds, accuracy ± CI, weights, joules, CO2) and the
one markdown table.

Why here and not in ``ui/``: the tools write short summaries the LLM reads, and ``ui/`` renders the same numbers for
people; the layering (ui -> agent -> tools -> core) lets both reach ``tools/`` but never lets ``tools/`` import
``ui/``. So a number is formatted by the function below wherever it appears (joules and CO2 included: the core keeps
them as numbers).

Markdown tables are not built with ``tabulate``: its pipe format pads every cell to its column's width, which costs
LLM tokens and chat width for nothing (markdown renderers align the columns). Aligned plain-text tables (terminal,
Slack code blocks) use ``tabulate`` (``ui/present/text_table.py``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from greenrunner_core.energy_ledger import J_PER_KWH
from greenrunner_core.result import RankedModel

__all__ = ["fmt_acc", "fmt_co2", "fmt_joules", "fmt_macs", "fmt_score", "fmt_seconds", "fmt_weights",
           "markdown_table"]


def fmt_macs(macs: float) -> str:
    for unit, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if macs >= scale:
            return f"{macs / scale:.3g} {unit}"
    return f"{macs:.0f}"


def fmt_seconds(s: float) -> str:
    return f"{s:.2g} s" if s < 10 else (f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min")


def fmt_joules(joules: float) -> str:
    """Energy in the largest unit that keeps it >= 1 (mJ, J, kJ, kWh), 3 significant digits."""
    j = abs(joules)
    if j >= J_PER_KWH:
        return f"{joules / J_PER_KWH:.3g} kWh"
    if j >= 1e3:
        return f"{joules / 1e3:.3g} kJ"
    if j >= 1.0 or j == 0:
        return f"{joules:.3g} J"
    return f"{joules * 1e3:.3g} mJ"


def fmt_co2(grams: float) -> str:
    """Grams of CO2-equivalent in the largest unit that keeps it >= 1 (µg, mg, g, kg), 3 significant digits."""
    g = abs(grams)
    if g >= 1e3:
        return f"{grams / 1e3:.3g} kg CO2e"
    if g >= 1.0 or g == 0:
        return f"{grams:.3g} g CO2e"
    if g >= 1e-3:
        return f"{grams * 1e3:.3g} mg CO2e"
    return f"{grams * 1e6:.3g} µg CO2e"


def fmt_weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in weights.items()) or "none"


def fmt_acc(r: RankedModel, *, images: bool = False) -> str:
    """Accuracy on the target images with its 95 % half-width (``images``: say on how many images)."""
    if r.est_accuracy is None:
        return "not evaluated"
    if r.exact:
        return f"{r.est_accuracy:.3f} (exact, all images)" if images else f"{r.est_accuracy:.3f} (exact)"
    text = f"{r.est_accuracy:.3f} ± {(r.acc_high - r.acc_low) / 2:.3f}"
    return f"{text} on {r.pulls} images" if images else text


def fmt_score(value: float | None) -> str:
    """A reward or a published accuracy: three decimals, "-" when unknown."""
    return f"{value:.3f}" if value is not None else "-"


def markdown_table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(str(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
