"""Weight proposals: the structured output the reasoning step produces, and the offline reasoner's way
of deriving one from a use-case text through the knowledge base in ``prompts/knowledge_base.json``."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from tools.text import weights_table
from tools.weight_rule import RANGE_TEXT, weight_ok

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
METRICS = ("accuracy", "size", "complexity")
PROPOSAL_METRICS = (*METRICS, "latency", "energy")
"""Every product metric a proposal may weigh (latency and energy need a measurement, which the staged run does)."""


class WeightProposal(BaseModel):
    """Reward weights for a use case, each justified, with the trade-offs they imply."""

    weights: dict[str, float] = Field(description="weight per metric (accuracy, size, complexity, latency, energy), "
                                                  "each in [0, 1]")
    justification: dict[str, str] = Field(description="one sentence per weight saying why it has that value")
    trade_offs: list[str] = Field(default_factory=list, description="what the user gives up with these weights")
    missing_metrics: list[str] = Field(default_factory=list,
                                       description="metrics the use case needs that GreenRunner does not measure yet")
    cues: list[str] = Field(default_factory=list, description="deployment cues recognised in the use case")
    constraints: dict[str, float | str | None] = Field(
        default_factory=dict, description="hard limits stated in the use case, removing models before any evaluation: "
        "max_size_mb, max_macs, max_latency_ms (with latency_hardware naming the device), max_params")
    constraint_justification: dict[str, str] = Field(
        default_factory=dict, description="per constraint, the user's phrase it comes from")
    notes: list[str] = Field(default_factory=list, description="readings chosen where the text was unclear, and "
                                                               "what to say to change them")

    @field_validator("weights")
    @classmethod
    def _weights_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        value = {str(k).strip().lower(): v for k, v in value.items()}
        for name, w in value.items():
            if name not in PROPOSAL_METRICS:
                raise ValueError(f"unknown metric {name!r}; use {', '.join(PROPOSAL_METRICS)}")
            if not weight_ok(float(w)):
                raise ValueError(f"weight {name}={w} must be in {RANGE_TEXT}")
        if not any(float(w) > 0 for w in value.values()):
            raise ValueError("at least one weight must be > 0")
        return {k: round(float(v), 3) for k, v in value.items()}

    @field_validator("constraints")
    @classmethod
    def _valid_constraints(cls, value: dict[str, Any]) -> dict[str, Any]:
        from greenrunner_core.constraints import Constraints
        return Constraints.from_mapping(value).to_dict()    # raises with the bad value and the rule


@lru_cache(maxsize=1)
def knowledge_base() -> dict[str, Any]:
    return json.loads((PROMPTS_DIR / "knowledge_base.json").read_text())


def propose_weights(use_case: str) -> WeightProposal:
    """Read the use case (negation, context, numbers; ``agent.reading``) and weigh it (``agent.weighing``)."""
    from agent.weighing import propose_from_text
    return propose_from_text(use_case)


def trade_offs(weights: dict[str, float]) -> list[str]:
    acc, size, cx = (weights.get(m, 0.0) for m in METRICS)
    cx += weights.get("latency", 0.0) + weights.get("energy", 0.0)
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
    base = {m: knowledge_base()["base"][m]["value"] for m in METRICS}
    none = "none (base weights)" if all(p.weights.get(m) == v for m, v in base.items()) else "none"
    lines = [f"Deployment cues found: {', '.join(p.cues) if p.cues else none}", "",
             weights_table(p.weights, p.justification)]
    if p.constraints:
        lines += ["", "Hard constraints (models over a limit are removed before any evaluation):"]
        lines += [f"- {constraint_label(k, v, p.constraints)} — {p.constraint_justification.get(k, '')}".rstrip(" —")
                  for k, v in p.constraints.items() if k != "latency_hardware"]
    if p.notes:
        lines += ["", "How I read it:"] + [f"- {n}" for n in p.notes]
    if p.trade_offs:
        lines += ["", "Trade-offs:"] + [f"- {t}" for t in p.trade_offs]
    if p.missing_metrics:
        described = knowledge_base().get("unimplemented_metrics", {})
        lines += ["", ("Your use case also needs metrics GreenRunner does not measure yet (left out of the reward; "
                  "MACs and size stand in; ask me for a metric stub to add one):")]
        lines += [f"- {m}: {described.get(m, '')}".rstrip(": ") for m in p.missing_metrics]
    return "\n".join(lines)


def constraint_label(name: str, value: Any, constraints: dict[str, Any] | None = None) -> str:
    """``max_latency_ms=20`` as "latency ≤ 20 ms (on the car's computer)"."""
    units = {"max_size_mb": ("size", "MB"), "max_macs": ("MACs", ""), "max_latency_ms": ("latency", "ms"),
             "max_params": ("parameters", "")}
    what, unit = units.get(name, (name, ""))
    number = f"{value:,.0f}" if isinstance(value, (int, float)) and value >= 1000 else f"{value:g}" \
        if isinstance(value, (int, float)) else str(value)
    where = ""
    if name == "max_latency_ms" and constraints and constraints.get("latency_hardware"):
        where = f" (stated for {constraints['latency_hardware']}; checked on this machine)"
    return f"{what} ≤ {number}{(' ' + unit) if unit else ''}{where}"


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


def cue_table() -> str:
    """The knowledge base as a compact table for the LLM's system prompt (same knowledge as the offline reasoner)."""
    kb = knowledge_base()
    lines = ["base: " + ", ".join(f"{m}={kb['base'][m]['value']:g}" for m in METRICS)]
    for cue in kb["cues"]:
        effects = ", ".join(f"{m} {d:+g}" for m, d in cue["effects"].items())
        lines.append(f"- {cue['id']} ({', '.join(cue['patterns'][:4])}): {effects}; needs "
                     f"{', '.join(cue.get('metrics', [])) or 'nothing extra'}")
    return "\n".join(lines)
