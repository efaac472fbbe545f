"""What a run's evaluation calls cost in energy, per model, and the grams of CO2 that stand for it.

Grams of CO2 are joules x a grid carbon intensity that names its source (``CarbonIntensity``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from greenrunner_core.energy import MeterInfo
from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind
from greenrunner_core.errors import GreenRunnerError

__all__ = ["J_PER_KWH", "WORLD_AVERAGE", "CarbonIntensity", "EnergyAccount", "EnergyLedger", "grams_co2"]

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class CarbonIntensity:
    """Grid carbon intensity in g CO2-eq per kWh, and where the figure comes from."""

    g_per_kwh: float
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.g_per_kwh) and self.g_per_kwh >= 0):
            raise GreenRunnerError(f"carbon intensity {self.g_per_kwh!r} g/kWh must be a number >= 0")


WORLD_AVERAGE = CarbonIntensity(475.0, "world average 475 g/kWh (IEA 2019; CodeCarbon's default)")


def grams_co2(joules: float, intensity: CarbonIntensity = WORLD_AVERAGE) -> float:
    return joules / J_PER_KWH * intensity.g_per_kwh


# --------------------------------------------------------------------------------------------- accounting


@dataclass
class EnergyAccount:
    """Energy of one model's evaluation calls in one run."""

    joules: float = 0.0          # what the answered calls cost when computed (cache included), over known_calls
    known_calls: int = 0         # answered calls whose energy is known (cache rows from before energy was kept: none)
    spent_joules: float = 0.0    # energy spent now: forward passes + model loads (0 when the cache answered all)
    load_joules: float = 0.0     # of which model loading (incl. torch.compile for compiled variants)
    kinds: set[EnergyKind] = field(default_factory=set)

    @property
    def per_call(self) -> float | None:
        return self.joules / self.known_calls if self.known_calls else None


@dataclass
class EnergyLedger:
    """Per-model energy of a run, the meter's kind and the carbon intensity used for grams of CO2."""

    kind: EnergyKind = NOT_MEASURED
    meter: MeterInfo | None = None     # how the meter works
    carbon: CarbonIntensity = WORLD_AVERAGE
    per_model: dict[str, EnergyAccount] = field(default_factory=dict)

    def account(self, model: str) -> EnergyAccount:
        return self.per_model.setdefault(model, EnergyAccount())

    def kinds(self) -> set[EnergyKind]:
        out = {k for a in self.per_model.values() for k in a.kinds}
        return out or ({self.kind} if self.kind else set())
