"""Per-call cost at the evaluation batch size, from calls computed in batches of other sizes.

A batch of ``k`` images costs a fixed overhead ``o`` (a Python call, a dispatch per layer, the decoder pool) plus
``r`` per image, so one call costs ``r + o / k``; and the first batch of each new size costs more again (the kernels
are set up per input shape: 2-30x on the demo zoo). Strategies read a model a few images at a time
(paired_elimination's rungs grow 4, 5, 6, 7, 9, ... images: pulls of 1-4 of ever new sizes), brute force in full
batches of one size: per-call seconds measured by a strategy are 4-9x those brute force pays (demo zoo, 2 cores).

So per model and batch size the typical per-call cost is taken (with 3 or more batches, their mean without the
dearest one, which carried the size's set-up; with fewer, the least: a size seen once or twice is mostly set-up), and:

* with 3 or more batches at the evaluation batch size, that size's figure is the rate;
* else ``r + o / k`` is fitted to the sizes (least squares, weighted by batches; only the sizes read twice or more
  when there are two such) and the rate is ``r + o / batch``;
* a model read at one size only, or whose fit is not physical (``o < 0`` or ``r <= 0``), takes the median ``o / r``
  of the fitted models (none: its figure as measured);
* never more than its least figure at a size up to ``batch`` (a call in a bigger batch does not cost more).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BatchCosts", "rates_at_batch"]

_TYPICAL = 3             # batches of one size from which their mean (less the dearest) is taken (fewer: the least)


@dataclass
class BatchCosts:
    """One model's per-call costs (seconds or joules), by the size of the batch that computed them."""

    by_size: dict[int, list[float]] = field(default_factory=dict)

    def add(self, batch: int, value: float) -> None:
        self.by_size.setdefault(int(batch), []).append(float(value))

    def typical(self) -> dict[int, tuple[float, int]]:
        """Per batch size: (typical per-call cost, number of batches)."""
        out = {}
        for k, values in self.by_size.items():
            batches = max(1, round(len(values) / k))
            # a batch's calls share one value: dropping the k dearest calls drops the dearest batch
            out[k] = (float(np.mean(sorted(values)[:-k])) if batches >= _TYPICAL else min(values), batches)
        return out

    def line(self) -> tuple[float, float] | None:
        """(r, o) of ``r + o / k`` fitted over the sizes; None with one size or a fit that is not physical."""
        points = self.typical()
        repeated = {k: p for k, p in points.items() if p[1] >= 2}
        points = repeated if len(repeated) >= 2 else points   # a size read once is mostly its set-up: leave it out
        if len(points) < 2:
            return None
        x = np.array([1.0 / k for k in points])
        y = np.array([v for v, _ in points.values()])
        w = np.array([n for _, n in points.values()], dtype=float)
        mx, my = np.average(x, weights=w), np.average(y, weights=w)
        var = np.average((x - mx) ** 2, weights=w)
        if var <= 0:
            return None
        o = float(np.average((x - mx) * (y - my), weights=w) / var)
        r = float(my - o * mx)
        return (r, o) if o >= 0 and r > 0 else None


def rates_at_batch(costs: Mapping[str, BatchCosts], batch: int) -> dict[str, float]:
    """Per-call cost of each model (with calls of known batch size) in batches of ``batch`` images."""
    lines = {name: line for name, c in costs.items() if c.by_size and (line := c.line()) is not None}
    ratio = float(np.median([o / r for r, o in lines.values()])) if lines else 0.0
    out: dict[str, float] = {}
    for name, c in costs.items():
        points = c.typical()
        if not points:
            continue
        if batch in points and points[batch][1] >= _TYPICAL:
            out[name] = points[batch][0]
        elif name in lines:
            r, o = lines[name]
            out[name] = r + o / batch
        else:
            # the size read most (ties: the largest), scaled to ``batch`` along r (1 + ratio / k)
            k = max(points, key=lambda size: (points[size][1], size))
            out[name] = points[k][0] * (1.0 + ratio / batch) / (1.0 + ratio / k)
        smaller = [v for k, (v, _) in points.items() if k <= batch]
        if smaller:          # a call in a bigger batch never costs more than in a smaller one
            out[name] = min(out[name], min(smaller))
    return out
