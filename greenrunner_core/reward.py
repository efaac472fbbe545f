"""Eq. 1 of GreenRunnerGPT, generalised to any set of metrics with a direction.

    reward = acc*w_acc − lognorm(size)*w_size − lognorm(complexity)*w_cx
    lognorm(x) = (log x − log min) / (log max − log min)   over the candidate set

A metric whose direction is "higher" adds ``w * norm(x)``; "lower" subtracts it. Accuracy is the
only metric learned from evaluations; every other metric (size, MACs, later latency) is known per
model before the first evaluation, so its part of the reward is a fixed offset per model.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Literal

import numpy as np

from greenrunner_core.errors import InvalidWeightsError, suggest

Normalisation = Literal["log_minmax", "minmax", "identity"]


class Direction(str, Enum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class Metric:
    """A quality indicator: how to read it off a card and how it enters the reward."""

    name: str
    direction: Direction
    normalisation: Normalisation
    learned: bool = False
    aliases: tuple[str, ...] = ()
    unit: str = ""
    description: str = ""


ACCURACY = Metric("accuracy", Direction.HIGHER, "identity", learned=True, aliases=("acc", "accuracy_target"),
                  description="top-1 accuracy on the user's target images (learned by evaluation)")
SIZE = Metric("size", Direction.LOWER, "log_minmax", aliases=("size_mb", "memory", "model_size"), unit="MB",
              description="serialized weights size")
COMPLEXITY = Metric("complexity", Direction.LOWER, "log_minmax", aliases=("macs", "cx", "flops", "compute"),
                    unit="MACs", description="multiply-accumulates per image (fvcore)")
LATENCY = Metric("latency", Direction.LOWER, "log_minmax", aliases=("latency_ms", "speed"), unit="ms",
                 description="median ms per image at batch 1 on this machine")

BUILTIN_METRICS: Mapping[str, Metric] = MappingProxyType({m.name: m for m in (ACCURACY, SIZE, COMPLEXITY, LATENCY)})


def resolve_metric(name: str, metrics: Mapping[str, Metric] = BUILTIN_METRICS) -> Metric:
    """Find a metric by name or alias; raise with close names when unknown."""
    key = name.strip().lower()
    for metric in metrics.values():
        if key == metric.name or key in metric.aliases:
            return metric
    names = list(metrics) + [a for m in metrics.values() for a in m.aliases]
    close = suggest(key, names)
    hint = f"did you mean {', '.join(close)}?" if close else f"known metrics: {', '.join(metrics)}"
    raise InvalidWeightsError(f"unknown metric {name!r} in the weights — {hint}")


@dataclass(frozen=True)
class Weights:
    """Validated reward weights: finite, >= 0, not all zero. They need not sum to 1."""

    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean: dict[str, float] = {}
        for name, raw in dict(self.values).items():
            metric = resolve_metric(name)
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidWeightsError(f"weight for {metric.name!r} is {raw!r}, not a number; use e.g. {metric.name}=0.3") from None
            if not math.isfinite(value):
                raise InvalidWeightsError(f"weight for {metric.name!r} is {value}; weights must be finite numbers >= 0")
            if value < 0:
                raise InvalidWeightsError(
                    f"weight for {metric.name!r} is {value}; weights must be >= 0 (the metric's direction already "
                    f"says whether more is better — use 0 to ignore it)")
            if metric.name in clean:
                raise InvalidWeightsError(f"metric {metric.name!r} is given twice in the weights; give it once")
            clean[metric.name] = value
        if not clean or all(v == 0 for v in clean.values()):
            raise InvalidWeightsError(
                f"all weights are zero ({self._fmt(clean) or 'none given'}); give at least one metric a weight > 0, "
                "e.g. accuracy=1")
        object.__setattr__(self, "values", MappingProxyType(clean))

    @staticmethod
    def _fmt(values: Mapping[str, float]) -> str:
        return ", ".join(f"{k}={v:g}" for k, v in values.items())

    @classmethod
    def parse(cls, text: str) -> Weights:
        """Parse ``"acc=0.63,size=0.25,complexity=0.21"``."""
        values: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            if "=" not in part:
                raise InvalidWeightsError(f"cannot read weight {part!r}; write name=value, e.g. acc=0.6,size=0.2,complexity=0.2")
            name, value = part.split("=", 1)
            if "=" in value:
                pairs = ",".join(re.sub(r"\s*=\s*", "=", part).split())
                raise InvalidWeightsError(f"cannot read {part!r}: separate weights with commas, e.g. {pairs}")
            values[name.strip()] = value.strip()  # type: ignore[assignment]
        return cls(values)  # type: ignore[arg-type]

    def get(self, name: str) -> float:
        return self.values.get(name, 0.0)

    def __str__(self) -> str:
        return self._fmt(self.values)


def lognorm(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """(log x − log min) / (log max − log min); all zeros when every value is the same."""
    x = np.asarray(values, dtype=float)
    if x.size and (not np.all(np.isfinite(x)) or np.any(x <= 0)):
        bad = [float(v) for v in x if not (math.isfinite(v) and v > 0)]
        raise ValueError(f"log-normalisation needs finite values > 0, got {bad[:3]}")
    logs = np.log(x)
    return _minmax(logs)


def minmax(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return _minmax(np.asarray(values, dtype=float))


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(np.min(x)), float(np.max(x))
    if hi - lo <= 1e-12:
        return np.zeros_like(x)
    return (x - lo) / (hi - lo)


def normalise(metric: Metric, values: Sequence[float] | np.ndarray) -> np.ndarray:
    if metric.normalisation == "log_minmax":
        return lognorm(values)
    if metric.normalisation == "minmax":
        return minmax(values)
    return np.asarray(values, dtype=float)


class RewardModel:
    """Reward of each candidate as ``w_acc * accuracy + offset`` where the offset holds every known metric.

    ``known`` maps a metric name to one raw value per candidate (same order as ``names``).
    """

    def __init__(self, weights: Weights, names: Sequence[str], known: Mapping[str, Sequence[float]],
                 metrics: Mapping[str, Metric] = BUILTIN_METRICS) -> None:
        self.weights = weights
        self.names = list(names)
        self.accuracy_weight = weights.get(ACCURACY.name)
        self.offset = np.zeros(len(self.names))
        self.normalised: dict[str, np.ndarray] = {}
        self.parts: dict[str, np.ndarray] = {}     # metric -> its signed, weighted part of the offset
        for metric_name, w in weights.values.items():
            metric = metrics[metric_name]
            if metric.learned:
                continue
            if metric_name not in known:
                raise InvalidWeightsError(
                    f"metric {metric_name!r} has weight {w:g} but is not measured for these models; "
                    f"measured: {', '.join(known) or 'none'} — set its weight to 0 or measure it first")
            raw = np.asarray(known[metric_name], dtype=float)
            if raw.shape != (len(self.names),):
                raise ValueError(f"metric {metric_name!r} has {raw.size} values for {len(self.names)} models")
            norm = normalise(metric, raw)
            self.normalised[metric_name] = norm
            sign = 1.0 if metric.direction is Direction.HIGHER else -1.0
            self.parts[metric_name] = sign * w * norm
            self.offset += self.parts[metric_name]

    def reward(self, accuracy: np.ndarray | Sequence[float] | float, index: np.ndarray | int | None = None) -> np.ndarray:
        """Reward for accuracies; ``index`` selects models (default: all, in order)."""
        acc = np.asarray(accuracy, dtype=float)
        offset = self.offset if index is None else self.offset[index]
        return self.accuracy_weight * acc + offset

    def terms(self, accuracy: np.ndarray | Sequence[float]) -> dict[str, np.ndarray]:
        """Each weighted metric's signed part of every model's reward (they sum to ``reward``): why a model ranks."""
        return {ACCURACY.name: self.accuracy_weight * np.asarray(accuracy, dtype=float), **self.parts}

    def bounds(self, acc_low: np.ndarray, acc_high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reward interval from an accuracy interval (reward is increasing in accuracy)."""
        return self.reward(acc_low), self.reward(acc_high)

    @property
    def max_reward(self) -> np.ndarray:
        """Best reward each model could reach (accuracy 1.0)."""
        return self.reward(np.ones(len(self.names)))
