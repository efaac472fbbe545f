"""Latency as a metric: median and p90 ms per image at batch 1 and at the evaluation batch size.

Measured once per model on the machine at hand (warm-up runs excluded) and cached on disk under the
model's weights id, its preprocess and a hardware fingerprint (CPU model, torch version, threads), so
a different machine or thread count measures again. The reward's "latency" metric is the batch-1 median.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from greenrunner_core.energy import EnergyMeter
from greenrunner_core.energy_kind import NOT_MEASURED
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.json_store import JsonEntries
from greenrunner_core.latency_stats import LatencyStats
from greenrunner_core.notes import BusyWhileTiming, LatencyMeasured, RunNote
from greenrunner_core.registry.card import ModelCard

__all__ = ["LatencyCache", "LatencyStats", "cpu_model", "hardware_fingerprint", "latency_notes", "measure_latency"]

WARMUP = 3
MIN_REPEATS = 10               # timed runs per setting, at least ...
MAX_REPEATS = 200              # ... and at most
TARGET_SECONDS = 0.3           # fast models repeat until this much was timed (stabler medians) ...
SECONDS_PER_SETTING = 3.0      # ... slow ones stop after this long once MIN_REPEATS // 2 runs are in


@functools.cache
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def hardware_fingerprint() -> dict[str, Any]:
    """What a latency figure depends on besides the model: CPU model, core count, torch version and threads."""
    return {"cpu": cpu_model(), "cores": os.cpu_count() or 0, "torch": torch.__version__,
            "threads": torch.get_num_threads(), "device": "cpu"}


def _fingerprint_id(fp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:12]


def _describe(fp: dict[str, Any]) -> str:
    return f"{fp['cpu']} ({fp['cores']} cores), {fp['threads']} torch threads, torch {fp['torch']}"


def _timings(model: nn.Module, x: torch.Tensor, warmup: int, max_repeats: int, budget_s: float) -> list[float]:
    """Timed runs after ``warmup`` untimed ones: at least MIN_REPEATS (fewer only past ``budget_s``), and more
    while less than TARGET_SECONDS was timed, up to ``max_repeats``."""
    floor = max(1, min(MIN_REPEATS // 2, max_repeats))
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times: list[float] = []
        spent = 0.0
        while len(times) < max_repeats:
            n = len(times)
            if n >= floor and spent >= budget_s:
                break
            if n >= MIN_REPEATS and spent >= TARGET_SECONDS:
                break
            start = time.perf_counter()
            model(x)
            took = time.perf_counter() - start
            times.append(took)
            spent += took
    return times


def measure_latency(model: nn.Module, input_size: tuple[int, ...], batch_size: int, *, warmup: int = WARMUP,
                    repeats: int = MAX_REPEATS, seconds_per_setting: float = SECONDS_PER_SETTING,
                    generator: torch.Generator | None = None, meter: EnergyMeter | None = None) -> LatencyStats:
    """Time ``model`` on random inputs of ``input_size`` at batch 1 and at ``batch_size`` (warm-up excluded).

    Inputs come from ``generator`` (seeded 0 when omitted): latency of these classifiers does not depend
    on pixel values, and a seeded input keeps runs comparable.
    """
    if batch_size < 1:
        raise GreenRunnerError(f"latency batch_size must be >= 1 (got {batch_size})")
    if warmup < 0 or repeats < 1:
        raise GreenRunnerError(f"latency needs warmup >= 0 and repeats >= 1 (got {warmup}, {repeats})")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    fp = hardware_fingerprint()
    if meter is not None:
        meter.start()
    results: dict[int, np.ndarray] = {}
    for b in dict.fromkeys((1, batch_size)):
        x = torch.randn((b, *input_size), generator=gen)
        times = _timings(model, x, warmup, repeats, seconds_per_setting)
        results[b] = np.asarray(times) * 1000.0 / b
    reading = meter.stop() if meter is not None else None
    try:
        load_avg: float | None = os.getloadavg()[0]
    except (AttributeError, OSError):          # not on every platform
        load_avg = None
    one, many = results[1], results[batch_size]
    return LatencyStats(median_ms=float(np.median(one)), p90_ms=float(np.percentile(one, 90)), batch_size=batch_size,
                        batch_median_ms=float(np.median(many)), batch_p90_ms=float(np.percentile(many, 90)),
                        repeats=int(min(len(one), len(many))), hardware=_describe(fp), hardware_id=_fingerprint_id(fp),
                        joules=None if reading is None else reading.joules,
                        energy_kind=NOT_MEASURED if reading is None else reading.kind, load_avg=load_avg)


class LatencyCache:
    """JSON file of ``LatencyStats`` keyed by weights id + preprocess id + batch size + hardware fingerprint.

    ``path=None`` keeps it in memory. Writes merge with the file and replace it atomically, so concurrent
    processes at worst measure a model twice.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = JsonEntries(path, "latency cache")
        self.path = self._store.path

    @staticmethod
    def key(card: ModelCard, batch_size: int, hardware_id: str | None = None) -> str:
        hw = hardware_id or _fingerprint_id(hardware_fingerprint())
        return f"{card.weights_id}|{card.preprocess.id}|b{int(batch_size)}|{hw}"

    def get(self, card: ModelCard, batch_size: int) -> LatencyStats | None:
        entry = self._store.get(self.key(card, batch_size))
        if entry is None:
            return None
        try:
            return LatencyStats.from_dict(entry)
        except (TypeError, ValueError):
            return None

    def put(self, card: ModelCard, batch_size: int, stats: LatencyStats) -> None:
        self._store.put(self.key(card, batch_size, stats.hardware_id), asdict(stats))

    def measure(self, card: ModelCard, load: Callable[[], nn.Module], batch_size: int,
                meter: EnergyMeter | None = None) -> tuple[LatencyStats, bool]:
        """(stats, came from the cache) for this card on this machine; loads and times the model on a miss."""
        cached = self.get(card, batch_size)
        if cached is not None:
            return cached, True
        model = load()
        model.eval()
        stats = measure_latency(model, card.input_size, batch_size, meter=meter)
        self.put(card, batch_size, stats)
        return stats, False

    def __len__(self) -> int:
        return len(self._store)


def latency_notes(stats: dict[str, LatencyStats]) -> list[RunNote]:
    """What a run's notes say about its latency figures: where and how they were measured, and what it cost."""
    if not stats:
        return []
    one = next(iter(stats.values()))
    metered = [s.joules for s in stats.values() if s.joules is not None]
    notes: list[RunNote] = [LatencyMeasured(one.hardware, min(s.repeats for s in stats.values()),
                                            sum(metered) if metered else None, one.energy_kind)]
    busy = tuple(sorted(n for n, s in stats.items() if s.busy))
    if busy:
        notes.append(BusyWhileTiming(max(s.load_avg or 0.0 for s in stats.values()), busy))
    return notes
