"""A shortlist before any evaluation: K candidates out of the hubs' thousands, from published figures alone.

1,400 timm models cannot all be evaluated on the user's images. Each card with a published accuracy gets a proxy
reward, Eq. 1 with the benchmark top-1 standing in for accuracy on the target and the card's known metrics (size,
MACs, measured latency) log-normalised over the pool. The shortlist keeps (1) the best proxy rewards, (2) points
spread along the Pareto fronts of published accuracy vs MACs and vs size (so a cheaper or a more accurate model is
always on the list), (3) the most robust models on shifted test sets, then (4) fills up by proxy reward with at most
a few models per family. Hard constraints remove models first. Every kept model carries why it was kept (codes; the
front doors word them).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from greenrunner_core.constraints import Constraints, Removal, split_cards
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.reward import Weights, normalise, resolve_metric

DEFAULT_K = 30
FAMILY_CAP = 2          # models per family added by the final fill (the other rules are not capped)
NOT_CANDIDATES = ("timm:test_",)   # timm's test_* tags: toy CI fixtures at 160 px, not models to deploy


class Reason(str, Enum):
    TOP_REWARD = "top_reward"                    # among the best proxy rewards under the run's weights
    PARETO_MACS = "pareto_accuracy_macs"         # no other model is both more accurate and cheaper in MACs
    PARETO_SIZE = "pareto_accuracy_size"         # no other model is both more accurate and smaller
    ROBUST = "robust_shifted"                    # among the best mean top-1 on shifted test sets
    FILL = "next_best_reward"                    # next by proxy reward, keeping families varied


@dataclass(frozen=True)
class ShortlistEntry:
    card: ModelCard
    proxy_reward: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Shortlist:
    """Kept entries (best proxy reward first) and what was left out before choosing."""

    entries: tuple[ShortlistEntry, ...]
    k: int
    weights: Weights
    pool_size: int                               # cards that were ranked (published accuracy, within constraints)
    removed: tuple[Removal, ...] = ()            # cut by the hard constraints
    unranked: tuple[str, ...] = ()               # no published accuracy (or another label set): not ranked
    ignored_weights: tuple[str, ...] = ()        # weighted metrics no card knows before evaluation
    filters: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        return [e.card.name for e in self.entries]


def pareto_front(accuracy: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats on both (higher accuracy, lower cost), cheapest first."""
    order = np.lexsort((-accuracy, cost))          # by cost, then best accuracy first among equal cost
    front, best = [], -math.inf
    for i in order:
        if accuracy[i] > best:
            front.append(int(i))
            best = float(accuracy[i])
    return np.asarray(front, dtype=int)


def spread(front: np.ndarray, cost: np.ndarray, n: int) -> list[int]:
    """``n`` points of a front spread evenly in log cost (all of them when the front is short)."""
    if n <= 0 or front.size == 0:
        return []
    if front.size <= n:
        return [int(i) for i in front]
    logs = np.log(cost[front])
    targets = np.linspace(logs.min(), logs.max(), n)
    picked: list[int] = []
    for t in targets:
        for j in np.argsort(np.abs(logs - t)):
            if int(front[j]) not in picked:
                picked.append(int(front[j]))
                break
    return picked


def _arch(card: ModelCard) -> str:
    """The architecture of a hub card (``timm:resnet50.a1_in1k`` -> ``timm:resnet50``)."""
    return card.name.split(".", 1)[0]


def proxy_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """The weights the proxy reward can use: those on metrics the core knows (user metrics are left out), by canonical
    name; accuracy alone when none of them is positive."""
    known: dict[str, float] = {}
    for name, value in weights.items():
        try:
            known[resolve_metric(name).name] = float(value)
        except GreenRunnerError:
            continue
    if not any(v > 0 for v in known.values()):
        known = {"accuracy": 1.0}
    return known


def proxy_rewards(cards: Sequence[ModelCard], weights: Weights) -> tuple[np.ndarray, tuple[str, ...]]:
    """Eq. 1 per card with published top-1 as accuracy; weighted metrics unknown on some card are ignored."""
    total = np.zeros(len(cards))
    ignored = []
    for name, w in weights.values.items():
        if w == 0:
            continue
        metric = resolve_metric(name)
        if metric.name == "accuracy":
            values = np.array([c.benchmark_accuracy for c in cards], dtype=float)
        else:
            raw = [c.known_metrics().get(metric.name) for c in cards]
            if any(v is None for v in raw):
                ignored.append(metric.name)
                continue
            values = np.asarray(raw, dtype=float)
        sign = 1.0 if metric.direction.value == "higher" else -1.0
        total += sign * w * normalise(metric, values)
    return total, tuple(ignored)


def shortlist(cards: Iterable[ModelCard], weights: Weights, constraints: Constraints | None = None, *,
              k: int = DEFAULT_K, label_set: str | None = "imagenet-1k") -> Shortlist:
    """Up to ``k`` candidates spanning the accuracy-vs-cost fronts under ``weights`` and ``constraints``.

    Only cards with a published accuracy and (unless ``label_set`` is None) of that label set are ranked: published
    figures of different label sets or benchmarks are not comparable.
    """
    if k < 1:
        raise GreenRunnerError(f"shortlist size k={k} must be at least 1")
    cards = list(cards)
    ranked = [c for c in cards if c.benchmark_accuracy is not None and (label_set is None or c.label_set == label_set)
              and not c.name.startswith(NOT_CANDIDATES)]
    unranked = tuple(c.name for c in cards if c not in ranked)
    split = split_cards(ranked, constraints or Constraints())
    pool = list(split.kept)
    if not pool:
        if split.removed:
            split.require_some(constraints or Constraints())
        raise GreenRunnerError(f"no model with a published accuracy{f' for {label_set} labels' if label_set else ''} "
                               f"to shortlist among {len(cards)} cards; add the timm or torchvision catalog")
    reward, ignored = proxy_rewards(pool, weights)
    accuracy = np.array([c.benchmark_accuracy for c in pool], dtype=float)
    macs = np.array([c.macs for c in pool], dtype=float)
    size = np.array([c.size_mb for c in pool], dtype=float)
    chosen: dict[int, list[Reason]] = {}

    def keep(indices: Iterable[int], reason: Reason) -> None:
        for i in indices:
            if len(chosen) >= k and i not in chosen:
                return
            chosen.setdefault(int(i), [])
            if reason not in chosen[int(i)]:
                chosen[int(i)].append(reason)

    order = [int(i) for i in np.argsort(-reward, kind="stable")]
    seen_arch: set[str] = set()
    by_reward = [i for i in order if not (_arch(pool[i]) in seen_arch or seen_arch.add(_arch(pool[i])))]
    keep(by_reward[:max(1, k // 3)], Reason.TOP_REWARD)    # one pretrained tag per architecture
    room = k - len(chosen)
    keep(spread(pareto_front(accuracy, macs), macs, max(1, room // 2)), Reason.PARETO_MACS)
    keep(spread(pareto_front(accuracy, size), size, max(1, (k - len(chosen)) // 2)), Reason.PARETO_SIZE)
    shifted = [(c.shifted_top1, i) for i, c in enumerate(pool) if c.shifted_top1 is not None]
    keep([i for _, i in sorted(shifted, reverse=True)[:max(1, k // 10)]], Reason.ROBUST)
    families: dict[str, int] = {}
    for i in chosen:
        families[pool[i].family] = families.get(pool[i].family, 0) + 1
    for i in by_reward:
        if len(chosen) >= k:
            break
        if i in chosen or families.get(pool[i].family, 0) >= FAMILY_CAP:
            continue
        families[pool[i].family] = families.get(pool[i].family, 0) + 1
        keep([i], Reason.FILL)
    for i in order:                                   # small pools or few families: fill without the caps
        if len(chosen) >= k:
            break
        keep([i], Reason.FILL)
    entries = tuple(ShortlistEntry(pool[i], float(reward[i]), tuple(chosen[i]))
                    for i in sorted(chosen, key=lambda i: -reward[i]))
    filters = (("label_set", label_set),) if label_set else ()
    return Shortlist(entries, k, weights, len(pool), split.removed, unranked, ignored, filters)
