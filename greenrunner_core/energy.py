"""Energy of evaluation calls: RAPL counters when readable, else time x device power — always labelled.

Every figure carries a typed ``EnergyKind`` (``energy_kind.py``) saying how it was obtained: ``MEASURED_RAPL`` (the
CPU package counters under ``/sys/class/powercap``), ``MEASURED_NVML`` (an NVIDIA GPU's energy counter, from a meter
the front doors inject) or ``ESTIMATED`` (process CPU seconds x a per-core power); ``tools/energy_text.py`` words it.
What the energy of a run adds up to, and its grams of CO2, is ``energy_ledger``.

Meters are small picklable objects (they travel with pull tasks to worker processes) that measure one
span at a time: ``start()`` then ``stop() -> EnergyReading``. Each describes itself as data (``MeterInfo``: its source,
the counters it reads, the watts it assumes); ``tools/energy_text.py`` words it.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from greenrunner_core.energy_kind import (
    ESTIMATED,
    MEASURED_NVML,
    MEASURED_RAPL,
    NOT_MEASURED,
    EnergyKind,
    EnergyMethod,
    combine_kinds,
    is_estimated,
)
from greenrunner_core.errors import GreenRunnerError

__all__ = [
    "ENERGY_KINDS",
    "ESTIMATED",
    "MEASURED_NVML",
    "MEASURED_RAPL",
    "NOT_MEASURED",
    "POWERCAP",
    "CounterMeter",
    "EnergyKind",
    "EnergyMeter",
    "EnergyMethod",
    "EnergyReading",
    "EnergyUnavailableError",
    "EstimatedMeter",
    "HardwarePart",
    "MeterInfo",
    "RaplDomain",
    "RaplMeter",
    "combine_kinds",
    "default_meter",
    "is_estimated",
    "rapl_delta_uj",
    "rapl_domains",
]

ENERGY_KINDS = (MEASURED_RAPL, MEASURED_NVML, ESTIMATED)

POWERCAP = "/sys/class/powercap"
# Per busy core: TDP / cores of current x86 parts is about 4-12 W (server) and 10-15 W (desktop); 10 W is a
# mid-range figure. Set GREENRUNNER_CPU_WATTS_PER_CORE to your machine's figure.
DEFAULT_WATTS_PER_CORE = 10.0
WATTS_ENV = "GREENRUNNER_CPU_WATTS_PER_CORE"   # read by the front doors' settings (agent/settings.py), named in hints


class EnergyUnavailableError(GreenRunnerError):
    """The requested energy meter cannot measure on this machine (the message says why and what to do)."""


@dataclass(frozen=True)
class HardwarePart:
    """One device a library meter (CodeCarbon) accounts for: ``hardware`` ("CPU", "GPU", "RAM" or the library's own
    name), its power ``mode`` (CodeCarbon's CPU mode, e.g. "intel_rapl" = measured) and the TDP it assumes."""

    hardware: str
    mode: str | None = None
    tdp_watts: float | None = None


@dataclass(frozen=True)
class MeterInfo:
    """How a meter obtains its figures, as data (``tools/energy_text.meter_words`` says it in words).

    ``source``: "rapl", "estimate", "nvml", "codecarbon" (or another meter's own name). ``counters``: the RAPL package
    zones or NVML GPUs read. An estimate has its ``watts_per_core`` (``default_watts`` when nobody set it) and, when it
    stands in for RAPL, the folder without readable counters (``no_rapl_under``). ``saved_text``: a description saved
    as words before meters described themselves as data.
    """

    source: str = ""
    counters: tuple[str, ...] = ()
    watts_per_core: float | None = None
    default_watts: bool = False
    no_rapl_under: str | None = None
    hardware: tuple[HardwarePart, ...] = ()
    saved_text: str = ""

    def __post_init__(self) -> None:
        # JSON and the checkpointer give lists (and dicts) back: keep one shape
        object.__setattr__(self, "counters", tuple(str(c) for c in self.counters))
        object.__setattr__(self, "hardware", tuple(h if isinstance(h, HardwarePart) else HardwarePart(**h)
                                                   for h in self.hardware))

    @classmethod
    def revive(cls, value: MeterInfo | Mapping[str, Any] | str | None) -> MeterInfo | None:
        """The info itself, read back from its stored fields, or from a sentence saved before it was data
        ("" / None = no meter)."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(saved_text=value) if value else None
        return cls(**{k: v for k, v in dict(value).items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one measured span (joules), how long it took, and how the figure was obtained."""

    joules: float
    seconds: float
    kind: EnergyKind
    meter: MeterInfo | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EnergyKind.revive(self.kind))


@runtime_checkable
class EnergyMeter(Protocol):
    """Measures one span at a time. ``kind`` says how its figures are obtained (one of ``ENERGY_KINDS``); ``info``
    says how the meter works."""

    kind: EnergyKind
    info: MeterInfo

    def start(self) -> None: ...

    def stop(self) -> EnergyReading: ...


class CounterMeter:
    """A meter over a cumulative counter: ``start`` reads it, ``stop`` turns the difference into joules.

    Subclasses are dataclasses with ``kind``, ``info`` and a ``_start`` field (None when idle); they say how to
    read their counter (``_read``) and what a difference between two readings is in joules (``_joules``).
    """

    kind: EnergyKind     # annotations only (a plain class): the dataclass subclasses declare the fields
    info: MeterInfo
    _start: tuple[float, Any] | None

    def _read(self) -> Any:
        raise NotImplementedError

    def _joules(self, before: Any, after: Any) -> float:
        raise NotImplementedError

    def start(self) -> None:
        self._start = (time.perf_counter(), self._read())

    def stop(self) -> EnergyReading:
        if self._start is None:
            raise RuntimeError(f"{type(self).__name__}.stop() called before start()")
        t0, before = self._start
        self._start = None
        joules = self._joules(before, self._read())
        return EnergyReading(joules=joules, seconds=time.perf_counter() - t0, kind=self.kind, meter=self.info)


# ---------------------------------------------------------------------------------------------------- RAPL


@dataclass(frozen=True)
class RaplDomain:
    """One top-level RAPL zone (a CPU package): its counter file and the counter's range."""

    name: str
    energy_file: Path
    max_range_uj: int

    def read_uj(self) -> int:
        return int(self.energy_file.read_text().strip())


def rapl_domains(root: str | os.PathLike[str] = POWERCAP) -> list[RaplDomain]:
    """Readable package zones (``intel-rapl:N``; sub-zones ``intel-rapl:N:M`` are inside them and skipped).

    Linux exposes AMD Zen's RAPL counters through the same ``intel-rapl`` powercap driver.
    """
    base = Path(root)
    out: list[RaplDomain] = []
    try:
        zones = sorted(p for p in base.glob("intel-rapl:*") if p.name.count(":") == 1)
    except OSError:
        return out
    for zone in zones:
        energy = zone / "energy_uj"
        try:
            int(energy.read_text().strip())
            max_range = int((zone / "max_energy_range_uj").read_text().strip())
        except (OSError, ValueError):
            continue                      # not readable (root-only since 2020 on most distributions)
        try:
            name = (zone / "name").read_text().strip() or zone.name
        except OSError:
            name = zone.name
        out.append(RaplDomain(name=name, energy_file=energy, max_range_uj=max_range))
    return out


def rapl_delta_uj(start: int, end: int, max_range_uj: int) -> int:
    """Microjoules between two readings of a counter that wraps to 0 after ``max_range_uj``.

    One wrap per span at most: at 200 W a 2^32-ish µJ range lasts about 20 minutes, far longer than a batch.
    """
    if end >= start:
        return end - start
    return max_range_uj - start + end


@dataclass
class RaplMeter(CounterMeter):
    """CPU package energy from the RAPL counters (all packages summed). Raises at construction when none is
    readable, saying how to allow it."""

    root: str = POWERCAP
    kind: EnergyKind = field(default=MEASURED_RAPL, init=False)
    info: MeterInfo = field(default=MeterInfo("rapl"), init=False)
    _domains: list[RaplDomain] = field(default_factory=list, init=False, repr=False)
    _start: tuple[float, list[int]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._domains = rapl_domains(self.root)
        if not self._domains:
            raise EnergyUnavailableError(
                f"no readable RAPL energy counters under {self.root} (missing, or readable by root only: "
                "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj`); energy will be estimated instead")
        self.info = MeterInfo("rapl", counters=tuple(d.name for d in self._domains))

    def _read(self) -> list[int]:
        return [d.read_uj() for d in self._domains]

    def _joules(self, before: list[int], after: list[int]) -> float:
        return sum(rapl_delta_uj(s, e, d.max_range_uj) for s, e, d in zip(before, after, self._domains, strict=True)) / 1e6


# ----------------------------------------------------------------------------------------------- estimate


@dataclass
class EstimatedMeter(CounterMeter):
    """Energy = CPU seconds of this process (all its threads) x watts per busy core, of kind ``ESTIMATED``.

    CPU seconds rather than wall seconds: a one-thread stretch of Python costs one core, a batched
    forward on every core costs them all. ``watts_per_core=None`` uses 10 W; front doors pass the user's figure
    (``GREENRUNNER_CPU_WATTS_PER_CORE``, read by their settings).
    """

    watts_per_core: float | None = None
    no_rapl_under: str | None = None   # the estimate stands in for RAPL: no readable counters under this folder
    kind: EnergyKind = field(default=ESTIMATED, init=False)
    info: MeterInfo = field(default=MeterInfo("estimate"), init=False)
    _start: tuple[float, float] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        default = self.watts_per_core is None
        if self.watts_per_core is None:
            self.watts_per_core = DEFAULT_WATTS_PER_CORE
        elif not (math.isfinite(self.watts_per_core) and self.watts_per_core > 0):
            raise EnergyUnavailableError(f"watts_per_core={self.watts_per_core!r} must be a power in watts > 0")
        self.info = MeterInfo("estimate", watts_per_core=self.watts_per_core, default_watts=default,
                              no_rapl_under=self.no_rapl_under)

    def _read(self) -> float:
        return time.process_time()

    def _joules(self, before: float, after: float) -> float:
        assert self.watts_per_core is not None
        return max(after - before, 0.0) * self.watts_per_core


def default_meter(root: str | os.PathLike[str] = POWERCAP, watts_per_core: float | None = None) -> EnergyMeter:
    """RAPL when its counters are readable here, else the labelled time x power estimate (``watts_per_core``, default
    10 W) with the reason."""
    try:
        return RaplMeter(str(root))
    except EnergyUnavailableError:
        return EstimatedMeter(watts_per_core=watts_per_core, no_rapl_under=str(root))
