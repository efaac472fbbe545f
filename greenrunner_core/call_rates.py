"""Per-call rates (seconds or joules per evaluation call) of every candidate, for the brute-force estimate.

A measured model keeps its measured rate. A model never evaluated gets, in this order:

* its measured latency (the card's "latency", ms per image at batch 1) times the median ratio of per-call rate to
  latency over the measured models that have one too (none: this way is not taken);
* a power law in MACs fitted on the measured models, ``rate = c * MACs ** k``. ``k`` is the median slope in log-log
  over the pairs of measured models whose MACs differ by at least ``MIN_MAC_RATIO`` (Theil-Sen), clipped to [0, 1];
  ``c`` is the median of ``rate / MACs ** k`` over the measured models;
* with no such pair (e.g. the benchmark card measures one model) the slope cannot be fitted: ``rate = a + b * MACs``
  with ``b`` the measured cost per MAC but at most ``1 / REFERENCE_MACS_PER_SECOND`` (a small model's cost is
  mostly overhead, not MACs) and ``a`` what is left of the measured rate.

Why not seconds per MAC (``k = 1``): on small inputs per-call cost is mostly overhead (decode, preprocess, one
dispatch per layer) that does not grow with MACs, so a small model's seconds per MAC overstate a large model's
hundredfold (the demo: 31 s estimated for a 7 s brute force; 6.5 min for 1 s from one measured model). Where
compute dominates (CIFAR ResNets) the fitted ``k`` comes out near 1 and the fit is the old scaling.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from greenrunner_core.registry.card import ModelCard

__all__ = ["MIN_MAC_RATIO", "REFERENCE_MACS_PER_SECOND", "RateBasis", "call_rates"]

MIN_MAC_RATIO = 1.5      # pairs closer in MACs than this say nothing reliable about the slope
# a conservative throughput for the per-MAC part when it cannot be fitted: two laptop cores run small conv nets at
# 10-40 GMAC/s (CIFAR ResNets, 1 thread here: 38 GMAC/s); a faster device only makes the true cost lower
REFERENCE_MACS_PER_SECOND = 1e10


@dataclass(frozen=True)
class RateBasis:
    """What the rates rest on: ``measured`` models' own rates, ``from_latency`` scaled from measured latency,
    ``by_macs`` from the power law with exponent ``mac_exponent`` fitted on the measured models (``fitted``), or,
    not fitted, from the measured rate plus their extra MACs at ``macs_per_second`` at most."""

    measured: int
    from_latency: int
    by_macs: int
    mac_exponent: float
    fitted: bool
    macs_per_second: float = 0.0
    via_seconds: bool = False      # energy: the unmeasured models' joules = their seconds x the measured power


def _exponent(points: Sequence[tuple[float, float]]) -> float | None:
    """Theil-Sen slope of log rate over log MACs, clipped to [0, 1]; None with no usable pair."""
    slopes = [(math.log(r2) - math.log(r1)) / (math.log(m2) - math.log(m1))
              for i, (m1, r1) in enumerate(points) for m2, r2 in points[i + 1:]
              if max(m1, m2) >= MIN_MAC_RATIO * min(m1, m2)]
    return float(np.clip(np.median(slopes), 0.0, 1.0)) if slopes else None


def _by_macs(points: Sequence[tuple[float, float]], throughput: float | None
             ) -> tuple[Callable[[float], float], float | None, float]:
    """The rate of a model of ``m`` MACs, the fitted exponent (None: not fitted) and the per-MAC throughput used
    (``throughput``: MACs per unit of the rate at least; None: the measured rate per MAC as is)."""
    k = _exponent(points)
    if k is not None:
        c = float(np.median([r / m ** k for m, r in points]))
        return (lambda m: c * m ** k), k, 0.0
    per_mac = float(np.median([r / m for m, r in points]))
    per_mac = min(per_mac, 1.0 / throughput) if throughput else per_mac
    a = float(np.median([max(r - per_mac * m, 0.0) for m, r in points]))
    return (lambda m: a + per_mac * m), None, 1.0 / per_mac


def call_rates(cards: Sequence[ModelCard], measured: Mapping[str, float],
               throughput: float | None = REFERENCE_MACS_PER_SECOND) -> tuple[dict[str, float], RateBasis]:
    """A rate for every card: ``measured`` (name -> rate > 0) where known, else extrapolated (see the module doc).
    ``throughput`` bounds the per-MAC part when it cannot be fitted (seconds: REFERENCE_MACS_PER_SECOND; None for
    other units). Without any measured rate every card gets 0."""
    known = {c.name: float(measured[c.name]) for c in cards if measured.get(c.name, 0.0) > 0}
    if not known:
        return {c.name: 0.0 for c in cards}, RateBasis(0, 0, 0, 1.0, False)
    by_name = {c.name: c for c in cards}
    latency = {c.name: float(lat) for c in cards if (lat := c.known_metrics().get("latency")) is not None and lat > 0}
    ratios = [known[n] / latency[n] for n in known if n in latency]
    per_latency = float(np.median(ratios)) if ratios else None
    points = [(float(by_name[n].macs), r) for n, r in known.items()]
    rate_of, k, used = _by_macs(points, throughput)
    rates: dict[str, float] = {}
    from_latency = by_macs = 0
    for c in cards:
        if c.name in known:
            rates[c.name] = known[c.name]
        elif per_latency is not None and c.name in latency:
            rates[c.name] = per_latency * latency[c.name]
            from_latency += 1
        else:
            rates[c.name] = rate_of(float(c.macs))
            by_macs += 1
    if not by_macs:
        return rates, RateBasis(len(known), from_latency, 0, 1.0, False)
    return rates, RateBasis(len(known), from_latency, by_macs, 1.0 if k is None else k, k is not None,
                            used if k is None else 0.0)
