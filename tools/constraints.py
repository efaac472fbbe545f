"""Hard constraints in the tools: from tool arguments to a ``Constraints`` with the hardware named, and a finished
run narrowed to the models within the limits (for re-ranking from the cache: 0 new evaluations)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from greenrunner_core.constraints import LIMITS, Constraints, Removal, Violation, short_number, split_cards
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import ExperimentResult

__all__ = ["constraint_lines", "from_args", "limit_text", "narrow_run", "removal_reason", "removal_text",
           "violation_text", "with_cached_latency", "within"]


def from_args(raw: Mapping[str, Any] | Constraints | None) -> Constraints:
    """Tool arguments (or a run's limits) -> Constraints; a latency limit without a named device is stated for this
    machine."""
    constraints = raw if isinstance(raw, Constraints) else Constraints.from_mapping(raw)
    if constraints.needs_latency and not constraints.latency_hardware:
        from greenrunner_core.latency import cpu_model
        constraints = Constraints.from_mapping({**constraints.to_dict(), "latency_hardware": f"this machine "
                                                                                           f"({cpu_model()})"})
    return constraints


def limit_text(constraints: Constraints) -> str:
    """"size ≤ 50 MB, latency ≤ 20 ms (measured on ...)" — the limits in words, or "none"."""
    parts = []
    for limit, value in constraints.active():
        number = f"{value:,.0f}" if value >= 1000 else f"{value:g}"
        text = f"{limit.metric} ≤ {number} {limit.unit}"
        if limit.field == "max_latency_ms" and constraints.latency_hardware:
            text += f" (stated for {constraints.latency_hardware}; checked with latency measured on this machine)"
        parts.append(text)
    return ", ".join(parts) or "none"


def violation_text(violation: Violation) -> str:
    """"size 97.8 MB > limit 50 MB"."""
    v = violation
    return f"{v.metric} {short_number(v.value)} {v.unit} > limit {short_number(v.limit)} {v.unit}"


def removal_reason(removal: Removal, sep: str = "; ") -> str:
    """Why a model was removed: the limits it breaks (joined by ``sep``), or why its latency is unknown."""
    if removal.saved_text:
        return removal.saved_text
    if removal.unmeasured is not None:
        return f"latency could not be measured ({removal.unmeasured})"
    return sep.join(violation_text(v) for v in removal.violations)


def removal_text(removal: Removal) -> str:
    """"big: size 97.8 MB > limit 50 MB; MACs ..." — the model and why it was removed."""
    return f"{removal.name}: {removal_reason(removal)}"


def constraint_lines(constraints: Constraints, removed: Mapping[str, Removal],
                     title: str = "Hard constraints") -> list[str]:
    """The limits and each model they removed before evaluation ([] without limits); the chat bolds ``title``."""
    if not constraints:
        return []
    lines = [f"{title}: {limit_text(constraints)} — {len(removed)} model(s) removed before evaluation"
             + (":" if removed else ".")]
    lines += [f"- {removal_text(r)}" for r in removed.values()]
    return lines


def with_cached_latency(cards: Sequence[ModelCard], result: ExperimentResult) -> list[ModelCard]:
    """Cards carrying the latency the run measured (also after a restart, when the registry's cards have none)."""
    out = []
    for card in cards:
        stats = result.latency.get(card.name)
        if "latency" not in card.known_metrics() and stats is not None and stats.median_ms is not None:
            card = card.with_metrics(latency=float(stats.median_ms))
        out.append(card)
    return out


def narrow_run(result: ExperimentResult, cards: Sequence[ModelCard], constraints: Constraints
               ) -> tuple[ExperimentResult, list[ModelCard], dict[str, Removal]]:
    """The last run restricted to the models within ``constraints`` (observations kept, nothing evaluated), the
    kept cards, and the removal of each removed model. A latency limit uses the latency the run measured; models without a
    measured latency cannot be judged from the cache, so that raises with what to do."""
    if not constraints:
        return result, list(cards), {}
    cards = with_cached_latency(cards, result)
    split = split_cards(cards, constraints).require_some(constraints)
    if split.unmeasured:
        raise GreenRunnerError(f"a latency limit needs the latency of every candidate, and the last run did not "
                               f"measure it for {len(split.unmeasured)} model(s) (e.g. "
                               f"{', '.join(split.unmeasured[:3])}); start a new run with this limit (it measures "
                               "latency once per model on this machine; you approve it first)")
    kept = {c.name for c in split.kept}
    if len(kept) < 2:
        raise GreenRunnerError(f"the limits {limit_text(constraints)} leave only {', '.join(kept) or 'no model'} of "
                               f"the last run's {len(cards)} models; raise or drop a limit")
    narrowed = replace(result, observations={k: v for k, v in result.observations.items() if k in kept},
                       excluded={k: v for k, v in result.excluded.items() if k in kept},
                       constraints=constraints, removed_by_constraints={r.name: r for r in split.removed})
    return narrowed, list(split.kept), dict(narrowed.removed_by_constraints)


def within(cards: Sequence[ModelCard], result: ExperimentResult) -> list[ModelCard]:
    """The cards within the run's limits (latency as the run measured it; unmeasured ones are out, as in the run)."""
    split = split_cards(with_cached_latency(cards, result), from_args(result.constraints))
    return [c for c in split.kept if c.name not in split.unmeasured]


FIELDS = tuple(limit.field for limit in LIMITS)
