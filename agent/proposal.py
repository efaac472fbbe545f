"""Weight proposals: the structured output the reasoning step produces, and the offline reasoner's way
of deriving one from a use-case text through the knowledge base in ``prompts/knowledge_base.json``."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
METRICS = ("accuracy", "size", "complexity")


class WeightProposal(BaseModel):
    """Reward weights for a use case, each justified, with the trade-offs they imply."""

    weights: dict[str, float] = Field(description="weight per metric (accuracy, size, complexity), each in [0, 1]")
    justification: dict[str, str] = Field(description="one sentence per weight saying why it has that value")
    trade_offs: list[str] = Field(default_factory=list, description="what the user gives up with these weights")
    missing_metrics: list[str] = Field(default_factory=list,
                                       description="metrics the use case needs that GreenRunner does not measure yet")
    cues: list[str] = Field(default_factory=list, description="deployment cues recognised in the use case")

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, w in value.items():
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r}; use {', '.join(METRICS)}")
            if not 0.0 <= float(w) <= 1.0:
                raise ValueError(f"weight {name}={w} must be in [0, 1]")
        if not any(float(w) > 0 for w in value.values()):
            raise ValueError("at least one weight must be > 0")
        return {k: round(float(v), 3) for k, v in value.items()}


@lru_cache(maxsize=1)
def knowledge_base() -> dict[str, Any]:
    return json.loads((PROMPTS_DIR / "knowledge_base.json").read_text())


def _matches(pattern: str, text: str) -> bool:
    return re.search(r"(?<![a-z])" + re.escape(pattern), text) is not None


def find_cues(use_case: str) -> list[dict[str, Any]]:
    text = use_case.lower()
    return [cue for cue in knowledge_base()["cues"] if any(_matches(p, text) for p in cue["patterns"])]


def propose_weights(use_case: str) -> WeightProposal:
    """Combine every cue found in the text: base weight + each cue's effect, clipped to [0, 1]."""
    kb = knowledge_base()
    cues = find_cues(use_case)
    weights = {m: kb["base"][m]["value"] for m in METRICS}
    reasons: dict[str, list[str]] = {m: [] for m in METRICS}
    for cue in cues:
        for metric, delta in cue["effects"].items():
            weights[metric] += delta
            reasons[metric].append(cue["why"][metric])
    weights = {m: min(1.0, max(0.0, round(w, 3))) for m, w in weights.items()}
    justification = {m: " ".join(reasons[m]) if reasons[m] else kb["base"][m]["why"] for m in METRICS}
    missing: list[str] = []
    for cue in cues:
        for metric in cue.get("metrics", []):
            if metric not in missing:
                missing.append(metric)
    return WeightProposal(weights=weights, justification=justification, trade_offs=trade_offs(weights),
                          missing_metrics=missing, cues=[c["id"] for c in cues])


def trade_offs(weights: dict[str, float]) -> list[str]:
    acc, size, cx = (weights.get(m, 0.0) for m in METRICS)
    out = []
    if size + cx > acc:
        out.append("Size and compute together outweigh accuracy: a small model may win even if a larger one is "
                   "several points more accurate on your images.")
    elif size + cx >= 0.5 * acc:
        out.append(f"Efficiency counts: a model must be clearly more accurate to justify being larger or slower "
                   f"(accuracy {acc:g} vs size {size:g} + complexity {cx:g}).")
    else:
        out.append("Accuracy dominates: larger, slower models are accepted when they are more accurate on your images.")
    if acc == 0:
        out.append("Accuracy has weight 0: the smallest/cheapest model wins regardless of how well it works.")
    if cx > 2 * size and cx > 0:
        out.append("Compute (MACs) weighs more than size: fast models beat merely small ones.")
    elif size > 2 * cx and size > 0:
        out.append("Size weighs more than compute: small downloads/memory beat fast inference.")
    return out


# ---- the proposal as the reasoning node's structured output, and follow-up adjustments ------------------------

class ProposeWeightsArgs(WeightProposal):
    """The ``propose_weights`` tool call: a WeightProposal for a use case (structured output of the reasoning node)."""

    use_case: str = Field(description="the user's use case, verbatim")

    @field_validator("justification")
    @classmethod
    def _justified(cls, value: dict[str, str], info: Any) -> dict[str, str]:
        weights = info.data.get("weights") or {}
        missing = [m for m in weights if not str(value.get(m, "")).strip()]
        if missing:
            raise ValueError(f"justification missing for {', '.join(missing)}: give one sentence per weight")
        return value


def proposal_markdown(p: WeightProposal) -> str:
    """The proposal as the user reads it: each weight with its reason, the trade-offs and what is not measured."""
    lines = [f"Deployment cues found: {', '.join(p.cues) if p.cues else 'none (base weights)'}", "",
             "| metric | weight | why |", "|---|---|---|"]
    lines += [f"| {m} | {w:g} | {p.justification.get(m, '')} |" for m, w in p.weights.items()]
    if p.trade_offs:
        lines += ["", "Trade-offs:"] + [f"- {t}" for t in p.trade_offs]
    if p.missing_metrics:
        described = knowledge_base().get("unimplemented_metrics", {})
        lines += ["", ("Your use case also needs metrics GreenRunner does not measure yet (left out of the reward; "
                  "MACs and size stand in; ask me for a metric stub to add one):")]
        lines += [f"- {m}: {described.get(m, '')}".rstrip(": ") for m in p.missing_metrics]
    return "\n".join(lines)


def follow_up_step() -> float:
    return float(knowledge_base().get("follow_up", {}).get("step", 0.15))


def adjust_weight(weights: dict[str, float], metric: str, direction: int) -> tuple[dict[str, float], str]:
    """Raise (direction > 0) or lower one weight by the knowledge base's fixed step, kept in [0, 1]; say so."""
    step = follow_up_step()
    old = float(weights.get(metric, 0.0))
    new = round(min(1.0, max(0.0, old + step * (1 if direction > 0 else -1))), 3)
    verb = "raised" if direction > 0 else "lowered"
    bound = ""
    if new == old:
        bound = f" — it is already at the {'top' if direction > 0 else 'bottom'} of [0, 1], so nothing changes"
    elif abs(abs(new - old) - step) > 1e-9:
        bound = f" (kept in [0, 1], so by {abs(new - old):g} instead of {step:g})"
    sentence = f"I {verb} the {metric} weight from {old:g} to {new:g}, the fixed step of {step:g}{bound}."
    return {**weights, metric: new}, sentence


def metric_for_word(text: str) -> str | None:
    """The built-in metric a word or phrase refers to ("memory" -> size, "speed" -> complexity)."""
    text = text.strip().lower()
    for metric, words in knowledge_base().get("metric_words", {}).items():
        if text in words or text == metric:
            return metric
    return None


def cue_table() -> str:
    """The knowledge base as a compact table for the LLM's system prompt (same knowledge as the offline reasoner)."""
    kb = knowledge_base()
    lines = ["base: " + ", ".join(f"{m}={kb['base'][m]['value']:g}" for m in METRICS)]
    for cue in kb["cues"]:
        effects = ", ".join(f"{m} {d:+g}" for m, d in cue["effects"].items())
        lines.append(f"- {cue['id']} ({', '.join(cue['patterns'][:4])}): {effects}; needs "
                     f"{', '.join(cue.get('metrics', [])) or 'nothing extra'}")
    return "\n".join(lines)
