"""What a latency measurement found for one model (a light module: the result and the checkpointer import it
without torch; ``greenrunner_core/latency.py`` measures)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind

__all__ = ["LatencyStats"]


@dataclass(frozen=True)
class LatencyStats:
    """Per-image latency in ms: at batch 1 and at the evaluation batch size (per image = batch time / size)."""

    median_ms: float               # batch 1 (the reward's "latency")
    p90_ms: float
    batch_size: int
    batch_median_ms: float         # per image at ``batch_size``
    batch_p90_ms: float
    repeats: int                   # timed runs of the setting with fewer (warm-up excluded)
    hardware: str                  # human-readable machine description
    hardware_id: str
    joules: float | None = None    # energy the measurement itself took (None: not metered)
    energy_kind: EnergyKind = NOT_MEASURED
    load_avg: float | None = None  # 1-minute system load when timed (above the core count: figures are inflated)

    def __post_init__(self) -> None:
        # the latency cache (JSON) and the checkpointer give the kind back as its fields; older entries as words
        object.__setattr__(self, "energy_kind", EnergyKind.revive(self.energy_kind))

    @property
    def busy(self) -> bool:
        """The machine was oversubscribed while timing (other processes competed for the cores)."""
        return self.load_avg is not None and self.load_avg > (os.cpu_count() or 1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyStats:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
