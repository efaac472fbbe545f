"""From a reading of the use case to a weight proposal: base weights plus each cue's effect, dismissed metrics lowered,
constraints quoted, and every justification citing the words it came from."""
from __future__ import annotations

from typing import Any

from agent.priorities import apply_priorities, conflict_note
from agent.proposal import METRICS, WeightProposal, knowledge_base, trade_offs
from agent.reading import UseCaseReading, read_use_case, reading_knowledge
from greenrunner_core.errors import GreenRunnerError

__all__ = ["NotEnglishError", "constraint_sentence", "propose_from_reading", "propose_from_text"]


class NotEnglishError(GreenRunnerError):
    """The offline reasoner reads English only."""


def propose_from_text(use_case: str) -> WeightProposal:
    reading = read_use_case(use_case)
    if not reading.english:
        raise NotEnglishError(reading_knowledge()["non_english"])
    return propose_from_reading(reading)


def _cue(cue_id: str) -> dict[str, Any]:
    return next(c for c in knowledge_base()["cues"] if c["id"] == cue_id)


def constraint_sentence(name: str, quote: str, reading: UseCaseReading) -> str:
    kb = reading_knowledge()
    text = f"from “{quote}”: a hard limit, models over it are removed before any evaluation"
    if name == "max_latency_ms":
        from greenrunner_core.latency import cpu_model
        where = reading.constraints.latency_hardware or "your device"
        text += ". " + kb["ambiguous"]["latency_hardware"].format(here=cpu_model(), hardware=where)
    return text if text.endswith(".") else text + "."


def propose_from_reading(reading: UseCaseReading) -> WeightProposal:
    kb = knowledge_base()
    effect = reading_knowledge()["dismissal_effect"]
    weights = {m: float(kb["base"][m]["value"]) for m in METRICS}
    reasons: dict[str, list[str]] = {m: [] for m in METRICS}
    for cue_id in reading.cues:
        cue = _cue(cue_id)
        quote = reading.quote(cue_id)
        for metric, delta in cue["effects"].items():
            if metric in reading.dismissed or (delta < 0 and metric in reading.emphasis):
                continue
            if delta < 0 and metric in reading.kept:        # what the user says of a metric beats a cue's default
                kept = reading_knowledge()["priorities"]["keep_note"].format(phrase=reading.kept[metric], metric=metric)
                reasons[metric] += [] if kept in reasons[metric] else [kept]
                continue
            weights[metric] += delta
            reasons[metric].append(f"{cue['why'][metric]} (“{quote}”)")
    for metric, phrase in reading.dismissed.items():
        weights[metric] = kb["base"][metric]["value"] + effect
        reasons[metric] = [f"You say “{phrase}”, so {metric} counts less than by default."]
    apply_priorities(weights, reasons, reading)
    weights = {m: min(1.0, max(0.0, round(w, 3))) for m, w in weights.items()}
    if not any(weights.values()):
        weights["accuracy"] = kb["base"]["accuracy"]["value"]
    justification = {m: " ".join(reasons[m]) if reasons[m] else kb["base"][m]["why"] for m in METRICS}
    missing: list[str] = []
    for cue_id in reading.cues:
        for metric in _cue(cue_id).get("metrics", []):
            if metric not in missing:
                missing.append(metric)
    notes = [f"I read “{q}” as negated: that cue does not apply." for q in reading.negated]
    notes += [f"I read “{q}” as where the model is trained, not where it runs." for q in reading.training_only]
    notes += list(reading.notes)
    if conflict := conflict_note(reading, weights):
        notes.append(conflict)
    read_anything = reading.cues or reading.dismissed or reading.emphasis or reading.rankings
    if not read_anything and reading.text.strip():
        notes.append(reading_knowledge()["ambiguous"]["no_cues"])
    constraints = reading.constraints.to_dict()
    return WeightProposal(
        weights=weights, justification=justification, trade_offs=trade_offs(weights), missing_metrics=missing,
        cues=reading.cues, constraints=constraints,
        constraint_justification={k: constraint_sentence(k, q, reading) for k, q in reading.constraint_quotes.items()},
        notes=notes)
