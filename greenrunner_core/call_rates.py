"""Per-call rates (seconds or joules per evaluation call) of every candidate, for the brute-force estimate.

A measured model keeps its measured rate. A model never evaluated gets, in this order:

* its measured latency (the card's "latency", ms per image at batch 1) times the median ratio of per-call rate to
  latency over the measured models that have one too (none: this way is not taken);
* a power law in MACs fitted on the measured models, ``rate = c * MACs ** k``. ``k`` is the median slope in log-log
  over the pairs of measured models whose MACs differ by at least ``MIN_MAC_RATIO`` (Theil-Sen), clipped to [0, 1];
  with no such pair (e.g. one model measured) ``k = DEFAULT_EXPONENT``. ``c`` is the median of
  ``rate / MACs ** k`` over the measured models.

Why not seconds per MAC (``k = 1``): on small inputs per-call cost is mostly overhead (decode, preprocess, one
dispatch per layer) that does not grow with MACs, so a small model's seconds per MAC overstate a large model's
hundredfold (the demo: 31 s estimated for a 7 s brute force; 6.5 min for 1 s from one measured model). Where
compute dominates (CIFAR ResNets) the fitted ``k`` comes out near 1 and the fit is the old scaling.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from greenrunner_core.registry.card import ModelCard

__all__ = ["DEFAULT_EXPONENT", "MIN_MAC_RATIO", "RateBasis", "call_rates"]

MIN_MAC_RATIO = 1.5      # pairs closer in MACs than this say nothing reliable about the slope
DEFAULT_EXPONENT = 0.5   # halfway between overhead-bound (0) and compute-bound (1) when the slope cannot be fitted


@dataclass(frozen=True)
class RateBasis:
    """What the rates rest on: ``measured`` models' own rates, ``from_latency`` scaled from measured latency,
    ``by_macs`` from the power law with exponent ``mac_exponent`` (``fitted``: on the measured models)."""

    measured: int
    from_latency: int
    by_macs: int
    mac_exponent: float
    fitted: bool


def _exponent(points: Sequence[tuple[float, float]]) -> tuple[float, bool]:
    """Theil-Sen slope of log rate over log MACs, clipped to [0, 1]; (DEFAULT_EXPONENT, False) with no usable pair."""
    slopes = [(math.log(r2) - math.log(r1)) / (math.log(m2) - math.log(m1))
              for i, (m1, r1) in enumerate(points) for m2, r2 in points[i + 1:]
              if max(m1, m2) >= MIN_MAC_RATIO * min(m1, m2)]
    if not slopes:
        return DEFAULT_EXPONENT, False
    return float(np.clip(np.median(slopes), 0.0, 1.0)), True


def call_rates(cards: Sequence[ModelCard], measured: Mapping[str, float]) -> tuple[dict[str, float], RateBasis]:
    """A rate for every card: ``measured`` (name -> rate > 0) where known, else extrapolated (see the module doc).
    Without any measured rate every card gets 0."""
    known = {c.name: float(measured[c.name]) for c in cards if measured.get(c.name, 0.0) > 0}
    if not known:
        return {c.name: 0.0 for c in cards}, RateBasis(0, 0, 0, DEFAULT_EXPONENT, False)
    by_name = {c.name: c for c in cards}
    latency = {c.name: float(lat) for c in cards if (lat := c.known_metrics().get("latency")) is not None and lat > 0}
    ratios = [known[n] / latency[n] for n in known if n in latency]
    per_latency = float(np.median(ratios)) if ratios else None
    points = [(float(by_name[n].macs), r) for n, r in known.items()]
    k, fitted = _exponent(points)
    scale = float(np.median([r / m ** k for m, r in points]))
    rates: dict[str, float] = {}
    from_latency = by_macs = 0
    for c in cards:
        if c.name in known:
            rates[c.name] = known[c.name]
        elif per_latency is not None and c.name in latency:
            rates[c.name] = per_latency * latency[c.name]
            from_latency += 1
        else:
            rates[c.name] = scale * float(c.macs) ** k
            by_macs += 1
    return rates, RateBasis(len(known), from_latency, by_macs, k if by_macs else DEFAULT_EXPONENT,
                            fitted and by_macs > 0)
