"""What a run reports after every pull, for live progress in the front doors."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class ProgressEvent:
    """Sent after every pull (UIs show it live)."""

    spent: int
    budget: int
    model: str
    batch_calls: int
    leader: str | None
    counts: dict[str, int]


ProgressCallback = Callable[[ProgressEvent], None]
