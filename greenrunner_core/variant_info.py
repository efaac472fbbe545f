"""Which base model and tactic an optimised variant comes from (a light module: the result and the checkpointer
import it without torch; ``greenrunner_core/tactic_source.py`` builds the variants)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["VariantInfo"]


@dataclass(frozen=True)
class VariantInfo:
    """A variant's base model, the tactic applied to it, and what the tactic did (e.g. the layers it quantised)."""

    base: str
    tactic: str
    note: str = ""
