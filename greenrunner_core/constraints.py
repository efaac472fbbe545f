"""Hard constraints: limits a model must meet to be a candidate at all, applied before any evaluation.

A weight trades metrics against each other; a constraint does not trade: a 97 MB model is out when the app must
stay under 50 MB, whatever its accuracy. ``split_cards`` keeps the cards within every limit and returns each
removed card with the limits it breaks (data, so every front door words it its own way). Latency is a property of
the machine: a latency limit names the hardware it was stated for, and a card whose latency was not measured is
kept and listed as ``unmeasured`` rather than guessed about.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard

__all__ = ["LIMITS", "ConstraintError", "Constraints", "Limit", "Removal", "Split", "Violation", "short_number",
           "split_cards"]


class ConstraintError(GreenRunnerError):
    """A limit that is not a finite positive number, an unknown limit name, or limits no candidate meets."""


@dataclass(frozen=True)
class Limit:
    """One kind of limit: the ``Constraints`` field, the card metric it bounds and its unit."""

    field: str
    metric: str            # the reward metric it bounds ("size", "complexity", "latency", "params")
    unit: str
    aliases: tuple[str, ...] = ()


LIMITS: tuple[Limit, ...] = (
    Limit("max_size_mb", "size", "MB", ("size", "max_size", "size_mb", "model_size", "storage", "memory")),
    Limit("max_macs", "complexity", "MACs", ("macs", "max_macs", "complexity", "compute", "flops")),
    Limit("max_latency_ms", "latency", "ms", ("latency", "max_latency", "latency_ms", "time")),
    Limit("max_params", "params", "parameters", ("params", "max_params", "parameters")),
)


def _limit_for(name: str) -> Limit:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    for limit in LIMITS:
        if key == limit.field or key in limit.aliases:
            return limit
    known = ", ".join(limit.field for limit in LIMITS)
    raise ConstraintError(f"unknown constraint {name!r} — known constraints: {known}")


@dataclass(frozen=True)
class Constraints:
    """Upper limits a candidate must meet; ``None`` = no limit. ``latency_hardware`` names the machine a latency
    limit holds for (the tools fill it with this machine's description when the user did not name one)."""

    max_size_mb: float | None = None
    max_macs: float | None = None
    max_latency_ms: float | None = None
    max_params: float | None = None
    latency_hardware: str | None = None

    def __post_init__(self) -> None:
        for limit in LIMITS:
            raw = getattr(self, limit.field)
            if raw is None:
                continue
            if isinstance(raw, bool):
                raise ConstraintError(f"{limit.field}={raw!r} is not a number; give a limit in {limit.unit}")
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise ConstraintError(f"{limit.field}={raw!r} is not a number; give a limit in {limit.unit}") from None
            if not math.isfinite(value) or value <= 0:
                raise ConstraintError(f"{limit.field}={raw!r} must be a finite number > 0 ({limit.unit}); "
                                      f"leave it unset for no limit")
            object.__setattr__(self, limit.field, value)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Constraints:
        """Build from a mapping keyed by field or alias (``{"size": 50}``, ``{"max_latency_ms": 20}``);
        ``None`` values mean no limit."""
        values: dict[str, Any] = {}
        for name, raw in dict(data or {}).items():
            if name == "latency_hardware":
                values[name] = str(raw) if raw else None
                continue
            limit = _limit_for(str(name))
            if raw is not None:
                values[limit.field] = raw
        return cls(**values)

    def merged(self, other: Constraints) -> Constraints:
        """These limits with ``other``'s set limits replacing them (a follow-up "what if the limit is 50 MB?")."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update({f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None})
        return Constraints(**values)

    def without(self, *names: str) -> Constraints:
        """These limits with the named ones lifted."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in names:
            values[_limit_for(name).field] = None
        if values["max_latency_ms"] is None:
            values["latency_hardware"] = None
        return Constraints(**values)

    def active(self) -> tuple[tuple[Limit, float], ...]:
        """The set limits, in ``LIMITS`` order."""
        return tuple((limit, getattr(self, limit.field)) for limit in LIMITS if getattr(self, limit.field) is not None)

    def short_text(self) -> str:
        """"max_size_mb=20, max_macs=600M": the set limits for an error message (not a dict's repr)."""
        return ", ".join(f"{limit.field}={short_number(value)}" for limit, value in self.active())

    def __bool__(self) -> bool:
        return bool(self.active())

    @property
    def needs_latency(self) -> bool:
        return self.max_latency_ms is not None

    def to_dict(self) -> dict[str, Any]:
        """Only the set values (JSON-friendly)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Violation:
    """One broken limit: the card's value against the limit."""

    field: str
    metric: str
    value: float
    limit: float
    unit: str


@dataclass(frozen=True)
class Removal:
    """A card the constraints removed: every limit it breaks, or (``unmeasured``) why its latency, which a latency
    limit needs, could not be measured. ``saved_text`` holds the words a run saved before removals were typed.
    Worded by ``tools/constraints.removal_reason``."""

    name: str
    violations: tuple[Violation, ...] = ()
    unmeasured: str | None = None
    saved_text: str = ""

    def __post_init__(self) -> None:
        # a checkpointer and JSON give lists (of dicts) back: keep one shape
        object.__setattr__(self, "violations", tuple(v if isinstance(v, Violation) else Violation(**v)
                                                     for v in self.violations))

    @classmethod
    def revive(cls, name: str, value: Removal | Mapping[str, Any] | str) -> Removal:
        """The removal itself, its stored form (JSON, checkpoint), or the reason text of an older saved run."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(name, saved_text=value)
        return cls(str(value.get("name") or name), tuple(value.get("violations") or ()), value.get("unmeasured"),
                   str(value.get("saved_text") or ""))


@dataclass(frozen=True)
class Split:
    """The outcome of applying constraints: kept cards (order preserved), removed ones with the reason, and kept
    cards whose latency is unknown while a latency limit is set."""

    kept: tuple[ModelCard, ...]
    removed: tuple[Removal, ...]
    unmeasured: tuple[str, ...] = ()

    @property
    def kept_names(self) -> tuple[str, ...]:
        return tuple(card.name for card in self.kept)

    def require_some(self, constraints: Constraints) -> Split:
        """Raise a ``ConstraintError`` naming what to relax when the constraints remove every candidate."""
        if self.kept:
            return self
        hints = []
        for limit, value in constraints.active():
            smallest = [v.value for r in self.removed for v in r.violations if v.field == limit.field]
            if smallest:
                hints.append(f"{limit.field}={short_number(value)} (the smallest candidate has "
                             f"{short_number(min(smallest))} {limit.unit})")
        raise ConstraintError(f"the constraints remove all {len(self.removed)} candidate models: "
                              f"{'; '.join(hints) or constraints.to_dict()} — raise or drop a limit")


def card_value(card: ModelCard, metric: str) -> float | None:
    """The card's value for a limit's metric, or None when not known before evaluation (latency not measured)."""
    if metric == "params":
        return float(card.params)
    return card.known_metrics().get(metric)


def split_cards(cards: Iterable[ModelCard], constraints: Constraints) -> Split:
    """Keep the cards within every limit; each removed card comes back with the limits it breaks."""
    kept: list[ModelCard] = []
    removed: list[Removal] = []
    unmeasured: list[str] = []
    active = constraints.active()
    for card in cards:
        broken: list[Violation] = []
        for limit, bound in active:
            value = card_value(card, limit.metric)
            if value is None:
                unmeasured.append(card.name)
                continue
            if value > bound:
                broken.append(Violation(limit.field, limit.metric, float(value), bound, limit.unit))
        if broken:
            removed.append(Removal(card.name, tuple(broken)))
        else:
            kept.append(card)
    return Split(tuple(kept), tuple(removed), tuple(dict.fromkeys(unmeasured)))


def short_number(value: float) -> str:
    """Short number for a limit (3 significant digits, thousands as k/M/G): the errors here and the words of a
    removal (``tools/constraints.py``) show limits alike."""
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"
