"""Answers from a finished run, without an LLM: why the leader leads (its reward split into the terms of each
weighted metric by ``RewardModel``), two models side by side, and the typed artifacts of earlier tool messages."""
from __future__ import annotations

from typing import Any

from agent.proposal import METRICS
from greenrunner_core.rerank import reward_terms
from greenrunner_core.result import ExperimentResult, RankedModel
from greenrunner_core.reward import Weights
from tools.formatting import fmt_acc, fmt_score, fmt_weights, markdown_table


def explain(ranking: list[RankedModel], weights: dict[str, float], run: ExperimentResult,
            reward_weights: Weights) -> str:
    """Why the leader leads: its reward split into the terms of each weighted metric (``RewardModel``), against #2."""
    seen = [r for r in ranking if r.est_reward is not None and not r.excluded]
    if not seen:
        return "No model was evaluated in the last run, so there is nothing to explain."
    parts = reward_terms(ranking, reward_weights)
    top = seen[0]
    terms = parts[top.name]
    lines = [(f"**{top.name}** ranks first with reward {fmt_score(top.est_reward)} under "
             f"{', '.join(f'{k}={v:g}' for k, v in weights.items() if k in METRICS)}:"),
             f"- accuracy {fmt_acc(top, images=True)} → {terms.get('accuracy', 0.0):+.3f}",
             (f"- size {top.size_mb:.3g} MB → {terms.get('size', 0.0):+.3f} (log-scaled between the smallest and the "
             "largest candidate)"),
             f"- complexity {top.macs:,} MACs → {terms.get('complexity', 0.0):+.3f}"]
    if "latency" in terms:
        lines.append(f"- latency {top.latency_ms:.3g} ms → {terms['latency']:+.3f}")
    if len(seen) > 1:
        second = seen[1]
        diff = {m: terms[m] - parts[second.name][m] for m in terms}
        best = max(diff, key=lambda m: diff[m])
        worst = min(diff, key=lambda m: diff[m])
        lines.append(f"\nAgainst #2 **{second.name}** (reward {fmt_score(second.est_reward)}): it wins mostly on "
                     f"{best} ({diff[best]:+.3f})" + (f", and loses on {worst} ({diff[worst]:+.3f})"
                                                        if diff[worst] < 0 else "") + ".")
        overlap = top.reward_low <= second.reward_high
        lines.append("Their reward intervals overlap, so #1 and #2 are close: more calls would separate them."
                     if overlap else "Their reward intervals do not overlap: the lead is clear at 95 % confidence.")
    lines.append(f"\nAll of this comes from the {run.n_images} target images of your run; ask \"what if "
                 "size matters more?\" to see how the order moves.")
    return "\n".join(lines)


def compare_text(models: list[RankedModel], weights: dict[str, float]) -> str:
    rows = [("rank", lambda m: str(m.rank)), ("target accuracy", lambda m: fmt_acc(m, images=True)),
            ("size MB", lambda m: f"{m.size_mb:.3g}"), ("MACs", lambda m: f"{m.macs:,}"),
            ("reward", lambda m: fmt_score(m.est_reward)),
            ("benchmark accuracy", lambda m: fmt_score(m.benchmark_accuracy))]
    table = markdown_table(["", *(m.name for m in models)], [[label, *(fn(m) for m in models)] for label, fn in rows])
    a, b = models[0], models[1]
    if a.est_reward is not None and b.est_reward is not None:
        winner = a if a.est_reward >= b.est_reward else b
        verdict = f"\n\nUnder the current weights ({fmt_weights(weights)}), **{winner.name}** is ahead."
    else:
        verdict = "\n\nOne of them was not evaluated on your images, so their rewards cannot be compared yet."
    return table + verdict


def revive(kind: Any, artifact: Any) -> Any:
    """A tool's typed artifact, also when read back from the checkpoint (stored form); None when absent."""
    try:
        return kind.revive(artifact) if artifact else None
    except (KeyError, TypeError, ValueError):        # a conversation stored by an older version
        return None
