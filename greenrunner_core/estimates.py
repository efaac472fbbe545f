"""Accuracy estimates over a finite target set, shared by strategies, results and re-ranking.

Normal interval on a smoothed proportion ((s+1)/(n+2), so 0/n and n/n still have width) with the
finite-population correction sqrt((N − n)/(N − 1)): sampling is without replacement, and a model
evaluated on every one of the N target images is known exactly (zero width).
"""
from __future__ import annotations

import numpy as np

Z_95 = 1.959963984540054


def accuracy_interval(pulls: np.ndarray, successes: np.ndarray, n_images: int,
                      z: float = Z_95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimate, low, high) per model; estimate is NaN, interval [0, 1] where nothing was seen."""
    n = np.asarray(pulls, dtype=float)
    s = np.asarray(successes, dtype=float)
    p_smooth = (s + 1.0) / (n + 2.0)
    fpc = np.sqrt(np.clip((n_images - n) / max(n_images - 1, 1), 0.0, 1.0))
    half = z * np.sqrt(p_smooth * (1 - p_smooth) / np.maximum(n, 1.0)) * fpc
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(n > 0, s / np.maximum(n, 1.0), np.nan)
    low = np.where(n > 0, np.clip(acc - half, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(acc + half, 0.0, 1.0), 1.0)
    return acc, low, high
