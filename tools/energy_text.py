"""An energy meter and a run's energy in words: an ``EnergyKind`` ("measured (RAPL)", "mixed: ..."), the meter's
``MeterInfo`` as a sentence, and the energy block of the JSON report (the core keeps joules, kinds and the meter as
data; the sentences are here, once).
"""
from __future__ import annotations

import json
from typing import Any

from greenrunner_core.energy import DEFAULT_WATTS_PER_CORE, WATTS_ENV, HardwarePart, MeterInfo
from greenrunner_core.energy_kind import EnergyKind, EnergyMethod
from greenrunner_core.result import ExperimentResult

__all__ = ["BRUTE_FORCE_ENERGY_LABEL", "ONE_TIME_LABEL", "energy_summary", "kind_words", "meter_line", "meter_words",
           "one_time_summary", "report_dict", "report_json"]

BRUTE_FORCE_ENERGY_LABEL = "extrapolated from measured per-call energy"
ONE_TIME_LABEL = "model loads and warm-up"
METHOD_WORDS = {EnergyMethod.RAPL: "measured (RAPL)", EnergyMethod.NVML: "measured (NVML)",
                EnergyMethod.ESTIMATE: "estimated (time x W)"}


def kind_words(kind: EnergyKind | str | None) -> str:
    """How a figure was obtained: "measured (RAPL)", "estimated (time x W)", "mixed: measured (RAPL) + estimated
    (time x W)" (estimated parts last); "" when energy was not measured; a kind saved as unknown words, as saved."""
    kind = EnergyKind.revive(kind)
    parts = [METHOD_WORDS[m] for m in kind.methods] + ([kind.saved_text] if kind.saved_text else [])
    return parts[0] if len(parts) == 1 else "mixed: " + " + ".join(parts) if parts else ""


def meter_words(info: MeterInfo | None) -> str:
    """How the meter works, in one phrase ("" when there is no meter, e.g. a replay)."""
    if info is None:
        return ""
    if info.saved_text:
        return info.saved_text
    if info.source == "rapl":
        return "CPU package counters: " + ", ".join(info.counters)
    if info.source == "estimate":
        watts = DEFAULT_WATTS_PER_CORE if info.watts_per_core is None else info.watts_per_core
        how = f"{watts:g} W per busy core" + (f" (default; set {WATTS_ENV} to your CPU's TDP / cores)"
                                               if info.default_watts else "")
        return f"CPU seconds x {how}" + (f"; no readable RAPL counters under {info.no_rapl_under}"
                                         if info.no_rapl_under else "")
    if info.source == "nvml":
        return f"NVML total energy of GPU(s) {', '.join(info.counters)}"
    if info.source == "codecarbon":
        return "CodeCarbon: " + (", ".join(_part_words(p) for p in info.hardware) or "hardware unknown")
    return info.source


def _part_words(part: HardwarePart) -> str:
    if part.hardware == "CPU":
        if part.mode == "intel_rapl":
            return "CPU from RAPL"
        return f"CPU estimated ({part.mode or 'constant'} model{f', TDP {part.tdp_watts:g} W' if part.tdp_watts else ''})"
    return {"GPU": "GPU from NVML", "RAM": "RAM estimated"}.get(part.hardware, part.hardware)


def meter_line(kind: EnergyKind, info: MeterInfo | None) -> str:
    """The one line a front door prints about the meter it chose."""
    return f"energy: {kind_words(kind)} — {meter_words(info)}"


def energy_summary(result: ExperimentResult) -> dict[str, Any]:
    """Energy spent and saved against brute force, in joules and grams CO2, with their labels (the JSON report's
    ``energy`` block)."""
    sp, bf, sv = result.spent, result.brute_force, result.savings
    return {"kind": kind_words(result.energy_kind), "estimated": result.energy_kind.estimated,
            "detail": meter_words(result.energy_detail),
            "spent_joules": sp.joules, "spent_now_joules": sp.spent_joules, "brute_force_joules": bf.joules,
            "brute_force_label": BRUTE_FORCE_ENERGY_LABEL, "saved_joules": sv.joules_saved,
            "spent_pct": sv.joules_pct, "spent_co2_g": result.co2_g(sp.joules),
            "brute_force_co2_g": result.co2_g(bf.joules), "saved_co2_g": sv.co2_saved_g,
            "carbon_g_per_kwh": result.carbon_g_per_kwh, "carbon_source": result.carbon_source}


def report_dict(result: ExperimentResult) -> dict[str, Any]:
    """The JSON report: the result's one serialisation (``to_dict``), its energy block in words and its one-time
    seconds (model loads, warm-up) labelled as left out of the brute-force comparison.
    ``ExperimentResult.from_dict`` reads it back (the blocks are derived and skipped)."""
    return {**result.to_dict(), "energy": energy_summary(result), "one_time": one_time_summary(result)}


def one_time_summary(result: ExperimentResult) -> dict[str, Any]:
    """The one-time seconds of this run (model loads, warm-up), which the brute-force comparison leaves out (the
    JSON report's ``one_time`` block)."""
    return {"seconds": result.spent.one_time_seconds, "label": ONE_TIME_LABEL, "in_brute_force_comparison": False}


def report_json(result: ExperimentResult, **kwargs: Any) -> str:
    return json.dumps(report_dict(result), **kwargs)
