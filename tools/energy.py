"""Energy meters the front doors inject into a Workspace: CodeCarbon's task API and NVML, plus grid intensities.

The core measures with RAPL or a labelled estimate (``greenrunner_core.energy``); CodeCarbon adds its own
power models (RAPL when readable, else CPU load x TDP, plus RAM) and per-country carbon intensities, and
NVML reads an NVIDIA GPU's energy counter. Both libraries are imported lazily, only when chosen.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from greenrunner_core.energy import (
    ESTIMATED,
    MEASURED_NVML,
    MEASURED_RAPL,
    CounterMeter,
    EnergyKind,
    EnergyMeter,
    EnergyReading,
    EnergyUnavailableError,
    EstimatedMeter,
    HardwarePart,
    MeterInfo,
    RaplMeter,
    default_meter,
)
from greenrunner_core.energy_ledger import WORLD_AVERAGE, CarbonIntensity
from greenrunner_core.errors import GreenRunnerError, suggest
from tools.energy_text import meter_line

METERS = ("auto", "codecarbon", "rapl", "estimate", "nvml")
_J_PER_KWH = 3.6e6


# ------------------------------------------------------------------------------------------- carbon intensity


def carbon_intensity_for(country_iso_code: str | None) -> CarbonIntensity:
    """The grid's g CO2/kWh for an ISO 3166 alpha-3 country code from CodeCarbon's energy-mix data (offline);
    the world average when no country is given."""
    if not country_iso_code:
        return WORLD_AVERAGE
    code = country_iso_code.strip().upper()
    try:
        from codecarbon.input import DataSource
        mix = DataSource().get_global_energy_mix_data()
    except ImportError as exc:
        raise GreenRunnerError(f"country carbon intensities come from CodeCarbon, which is not installed ({exc}); "
                               "pip install codecarbon, or leave the country out (world average)") from exc
    entry = mix.get(code)
    if entry is None or entry.get("carbon_intensity") is None:
        close = suggest(code, list(mix))
        hint = f"did you mean {', '.join(close)}?" if close else "use an ISO 3166 alpha-3 code such as FRA, USA, DEU"
        raise GreenRunnerError(f"unknown country code {country_iso_code!r} for the carbon intensity — {hint}")
    year = entry.get("year")
    return CarbonIntensity(float(entry["carbon_intensity"]),
                           f"{entry.get('country_name', code)} grid {float(entry['carbon_intensity']):.0f} g/kWh "
                           f"(CodeCarbon energy-mix data{f', {year}' if year else ''})")


# --------------------------------------------------------------------------------------------------- CodeCarbon


@dataclass
class CodeCarbonMeter:
    """CodeCarbon's ``OfflineEmissionsTracker`` task API: one task per measured span (no network, no files).

    ``kind`` follows CodeCarbon's CPU mode: ``MEASURED_RAPL`` when it reads RAPL, else ``ESTIMATED``
    (its CPU-load x TDP model; RAM is always a CodeCarbon estimate). The tracker is created lazily and is
    not pickled: a worker process makes its own.
    """

    country_iso_code: str = "USA"        # CodeCarbon needs one; grams of CO2 use the Workspace's intensity
    kind: EnergyKind = field(default=ESTIMATED, init=False)
    info: MeterInfo = field(default=MeterInfo("codecarbon"), init=False)
    _tracker: Any = field(default=None, init=False, repr=False)
    _task: int = field(default=0, init=False, repr=False)
    _t0: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._ensure()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_tracker"] = None
        return state

    def _ensure(self) -> Any:
        if self._tracker is not None:
            return self._tracker
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError as exc:
            raise EnergyUnavailableError(f"CodeCarbon is not installed ({exc}); pip install codecarbon or choose "
                                         "--energy-meter auto") from exc
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        self._tracker = OfflineEmissionsTracker(country_iso_code=self.country_iso_code, save_to_file=False,
                                                log_level="error", measure_power_secs=3600)
        self.kind, self.info = self._describe(self._tracker)
        return self._tracker

    @staticmethod
    def _describe(tracker: Any) -> tuple[EnergyKind, MeterInfo]:
        tracker._ensure_hardware_ready() if hasattr(tracker, "_ensure_hardware_ready") else None
        parts: list[HardwarePart] = []
        for hw in getattr(tracker, "_hardware", []) or []:
            hw_name = type(hw).__name__
            mode = getattr(hw, "_mode", None) if hw_name == "CPU" else None
            tdp = getattr(hw, "_tdp", None) if hw_name == "CPU" else None
            parts.append(HardwarePart(hw_name, None if mode is None else str(mode),
                                      float(tdp) if isinstance(tdp, int | float) and tdp else None))
        kind = MEASURED_RAPL if any(p.hardware == "CPU" and p.mode == "intel_rapl" for p in parts) else ESTIMATED
        return kind, MeterInfo("codecarbon", hardware=tuple(parts))

    def start(self) -> None:
        tracker = self._ensure()
        self._task += 1
        self._t0 = time.perf_counter()
        tracker.start_task(f"greenrunner-{self._task}")

    def stop(self) -> EnergyReading:
        tracker = self._ensure()
        data = tracker.stop_task()
        seconds = time.perf_counter() - self._t0
        if data is None:
            raise EnergyUnavailableError("CodeCarbon returned no measurement for the task")
        joules = float(data.energy_consumed) * _J_PER_KWH
        return EnergyReading(joules=joules, seconds=seconds, kind=self.kind, meter=self.info)


# --------------------------------------------------------------------------------------------------------- NVML


@dataclass
class NvmlMeter(CounterMeter):
    """Energy of NVIDIA GPUs from NVML's total-energy counter (mJ since the driver loaded), summed over ``devices``
    (default: all). Needs ``nvidia-ml-py`` and a Volta or newer GPU; raises saying so otherwise."""

    devices: tuple[int, ...] | None = None
    kind: EnergyKind = field(default=MEASURED_NVML, init=False)
    info: MeterInfo = field(default=MeterInfo("nvml"), init=False)
    _start: tuple[float, list[int]] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        nvml = self._nvml()
        count = nvml.nvmlDeviceGetCount()
        if count == 0:
            raise EnergyUnavailableError("NVML sees no GPU; use --energy-meter auto")
        self.devices = tuple(range(count)) if self.devices is None else tuple(self.devices)
        self.info = MeterInfo("nvml", counters=tuple(map(str, self.devices)))
        self._read()   # fails now (not mid-run) on GPUs without an energy counter

    @staticmethod
    def _nvml() -> Any:
        try:
            import pynvml
        except ImportError as exc:
            raise EnergyUnavailableError(f"NVML bindings are not installed ({exc}); pip install nvidia-ml-py") from exc
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # pynvml raises its own NVMLError subclasses
            raise EnergyUnavailableError(f"NVML cannot start (no NVIDIA driver?): {exc}") from exc
        return pynvml

    def _read(self) -> list[int]:
        nvml = self._nvml()
        try:
            return [int(nvml.nvmlDeviceGetTotalEnergyConsumption(nvml.nvmlDeviceGetHandleByIndex(i)))
                    for i in self.devices or ()]
        except Exception as exc:
            raise EnergyUnavailableError(f"this GPU has no NVML energy counter (Volta or newer needed): {exc}") from exc

    def _joules(self, before: list[int], after: list[int]) -> float:
        return sum(max(a - b, 0) for a, b in zip(after, before, strict=True)) / 1e3   # mJ -> J


# ------------------------------------------------------------------------------------------------------ choose


def meter_for(name: str = "auto", country_iso_code: str | None = None,
              watts_per_core: float | None = None) -> tuple[EnergyMeter, str]:
    """(meter, one line saying what it measures) for ``--energy-meter``: auto (RAPL, else estimate), codecarbon,
    rapl, estimate or nvml; the estimate at ``watts_per_core`` (default 10 W). A meter that cannot work here raises
    with the reason."""
    key = (name or "auto").strip().lower()
    if key not in METERS:
        close = suggest(key, list(METERS))
        raise GreenRunnerError(f"unknown energy meter {name!r} — "
                               + (f"did you mean {', '.join(close)}?" if close else f"choose one of {', '.join(METERS)}"))
    meter: EnergyMeter
    if key == "auto":
        meter = default_meter(watts_per_core=watts_per_core)
    elif key == "codecarbon":
        meter = CodeCarbonMeter(country_iso_code=(country_iso_code or "USA").upper())
    elif key == "rapl":
        meter = RaplMeter()
    elif key == "nvml":
        meter = NvmlMeter()
    else:
        meter = EstimatedMeter(watts_per_core=watts_per_core)
    return meter, meter_line(meter.kind, meter.info)
