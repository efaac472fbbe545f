"""Filter and sort model cards on what is known before any evaluation (one query for the CLI and the tools)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard

_MISSING_LAST = float("inf")
# sort key -> (value of a card, True when larger is better); cards without the value sort last
SORTS: dict[str, tuple[Callable[[ModelCard], float | str | None], bool]] = {
    "top1": (lambda c: c.benchmark_accuracy, True),
    "shifted": (lambda c: c.shifted_top1, True),
    "macs": (lambda c: c.macs, False),
    "size": (lambda c: c.size_mb, False),
    "params": (lambda c: c.params, False),
    "name": (lambda c: c.name, False),
}


@dataclass(frozen=True)
class CardQuery:
    """Filters (all optional, combined with AND) and a sort order. MACs and params are plain counts."""

    source: str | None = None
    family: str | None = None
    max_params: float | None = None
    max_macs: float | None = None
    max_size_mb: float | None = None
    min_top1: float | None = None            # published benchmark top-1 in [0, 1]
    min_shifted_top1: float | None = None    # mean published top-1 on shifted test sets in [0, 1]
    pretraining: str | None = None           # e.g. in1k, in22k, laion2b (substring match)
    sort: str = "size"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise GreenRunnerError(f"unknown sort {self.sort!r}; sort by one of {', '.join(SORTS)}")


def run_query(cards: Iterable[ModelCard], query: CardQuery) -> list[ModelCard]:
    """The cards that pass every filter, sorted (ties by size, then name)."""
    out = []
    for c in cards:
        if query.source and c.source != query.source:
            continue
        if query.family and c.family.lower() != query.family.lower():
            continue
        if query.max_params is not None and c.params > query.max_params:
            continue
        if query.max_macs is not None and c.macs > query.max_macs:
            continue
        if query.max_size_mb is not None and c.size_mb > query.max_size_mb:
            continue
        if query.min_top1 is not None and (c.benchmark_accuracy or 0.0) < query.min_top1:
            continue
        if query.min_shifted_top1 is not None and (c.shifted_top1 or 0.0) < query.min_shifted_top1:
            continue
        if query.pretraining and query.pretraining.lower() not in (c.pretraining_data or "").lower():
            continue
        out.append(c)
    value, larger_better = SORTS[query.sort]

    def key(c: ModelCard) -> tuple:
        v = value(c)
        if v is None:
            return (1, 0.0, c.size_mb, c.name)
        if isinstance(v, str):
            return (0, v, c.size_mb, c.name)
        return (0, -v if larger_better else v, c.size_mb, c.name)

    return sorted(out, key=key)


_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)\s*$", re.IGNORECASE)


def parse_count(text: str | float) -> float:
    """``"1e9"``, ``"600M"``, ``"1.5G"``, ``"25k"`` -> a plain number (MACs, parameters)."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _COUNT.match(str(text))
    if not match:
        raise GreenRunnerError(f"cannot read {text!r} as a count; write e.g. 1e9, 600M or 1.5G")
    scale = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[match.group(2).lower()]
    return float(match.group(1)) * scale
