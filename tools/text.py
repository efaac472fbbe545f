"""Compact markdown the LLM (and the chat) reads: tables of models, top 3, savings, before/after rankings."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from greenrunner_core.experiment import Cost, ExperimentResult, RankedModel
from greenrunner_core.registry.card import ModelCard


def fmt_macs(macs: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if macs >= scale:
            return f"{macs / scale:.3g} {unit}"
    return f"{macs:.0f}"


def fmt_seconds(s: float) -> str:
    return f"{s:.2g} s" if s < 10 else (f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min")


def fmt_weights(weights: Mapping[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in weights.items()) or "none"


def fmt_acc(r: RankedModel) -> str:
    if r.est_accuracy is None:
        return "not evaluated"
    if r.exact:
        return f"{r.est_accuracy:.3f} (exact)"
    return f"{r.est_accuracy:.3f} ± {(r.acc_high - r.acc_low) / 2:.3f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


TOP_HEADER = ("#", "model", "target accuracy", "size MB", "MACs", "reward", "evaluated on")


def ranked_rows(models: Sequence[RankedModel]) -> list[list[str]]:
    return [[str(r.rank), r.name, fmt_acc(r), f"{r.size_mb:.3g}", fmt_macs(r.macs),
             f"{r.est_reward:.3f}" if r.est_reward is not None else "-", f"{r.pulls} images"] for r in models]


def top3_table(models: Sequence[RankedModel]) -> str:
    return table(TOP_HEADER, ranked_rows(models[:3]))


def savings_lines(result: ExperimentResult) -> list[str]:
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return [
        f"calls: {sp.calls:,} of {bf.calls:,} for brute force ({sv.calls_pct:.1f} %), {sv.calls_saved:,} saved",
        f"MACs: {fmt_macs(sp.macs)} of {fmt_macs(bf.macs)} ({sv.macs_pct:.1f} %)",
        (f"compute time: {fmt_seconds(sp.compute_seconds)} of {fmt_seconds(bf.compute_seconds)} "
        f"for brute force, extrapolated ({sv.seconds_pct:.1f} %)"),
        f"new model evaluations in this run: {sp.new_evaluations:,} (answered from the cache: {sp.cache_hits:,})",
    ] + result.energy_lines()


def cost_line(cost: Cost) -> str:
    return (f"{cost.calls:,} calls, {fmt_macs(cost.macs)} MACs, {fmt_seconds(cost.compute_seconds)} compute "
            f"({cost.new_evaluations:,} new evaluations, {cost.cache_hits:,} from the cache)")


def card_rows(cards: Sequence[ModelCard]) -> list[list[str]]:
    return [[c.name, c.source, c.family, f"{c.params / 1e6:.3g} M", f"{c.size_mb:.3g}", fmt_macs(c.macs),
             f"{c.benchmark_accuracy:.3f}" if c.benchmark_accuracy is not None else "-"] for c in cards]


CARD_HEADER = ("model", "source", "family", "params", "size MB", "MACs", "benchmark acc")


def side_by_side(before: Sequence[RankedModel], after: Sequence[RankedModel], n: int = 3) -> str:
    """Old and new top ``n`` in one table, one row per rank."""
    rows = []
    for i in range(n):
        b = before[i] if i < len(before) else None
        a = after[i] if i < len(after) else None
        rows.append([str(i + 1),
                     f"{b.name} ({b.est_reward:.3f})" if b and b.est_reward is not None else "-",
                     f"{a.name} ({a.est_reward:.3f})" if a and a.est_reward is not None else "-"])
    return table(("#", "before (reward)", "after (reward)"), rows)


def names(models: Sequence[RankedModel] | Sequence[Mapping[str, Any]]) -> list[str]:
    return [m["name"] if isinstance(m, Mapping) else m.name for m in models]
