"""A shortlist before any evaluation: K candidates out of the hubs' thousands, from published figures alone.

1,400 timm models cannot all be evaluated on the user's images. Each card with a published accuracy gets a proxy
reward, Eq. 1 with the benchmark top-1 standing in for accuracy on the target and the card's known metrics (size,
MACs, measured latency) log-normalised over the pool. The shortlist keeps (1) the best proxy rewards, (2) points
spread along the Pareto fronts of published accuracy vs MACs and vs size (so a cheaper or a more accurate model is
always on the list), (3) the most robust models on shifted test sets, then (4) fills up by proxy reward with at most
a few models per family. Hard constraints remove models first. Every kept model carries why it was kept (codes; the
front doors word them).

Published accuracy does not predict accuracy on the user's images (the engine measures that), so models with none
(most Hugging Face repos) are not left out: up to ``max(1, k // 6)`` of the ``k``, more when the published pool
cannot fill ``k``, are such models (``Shortlist.unpublished``, ``Evidence.NONE``), ranked by what is known before
evaluation (size, MACs, measured latency under the weights), one per architecture. Models the user named (``pinned``)
are always kept, whatever their figures or label set, unless a hard constraint removes them.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from greenrunner_core.constraints import Constraints, Removal, split_cards
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.reward import Weights, normalise, resolve_metric

DEFAULT_K = 30
UNPUBLISHED_SHARE = 6   # models without a published accuracy: up to k // 6 (at least 1) of the k
UNPUBLISHED_SOURCES = frozenset({"hf"})   # sources that publish no results table (the Hugging Face Hub's repos)
FAMILY_CAP = 2          # models per family added by the final fill (the other rules are not capped)
NOT_CANDIDATES = ("timm:test_",)   # timm's test_* tags: toy CI fixtures at 160 px, not models to deploy


class Reason(str, Enum):
    TOP_REWARD = "top_reward"                    # among the best proxy rewards under the run's weights
    PARETO_MACS = "pareto_accuracy_macs"         # no other model is both more accurate and cheaper in MACs
    PARETO_SIZE = "pareto_accuracy_size"         # no other model is both more accurate and smaller
    ROBUST = "robust_shifted"                    # among the best mean top-1 on shifted test sets
    FILL = "next_best_reward"                    # next by proxy reward, keeping families varied
    NAMED = "named_by_you"                       # the user named it: always considered
    UNPUBLISHED = "no_published_accuracy"        # no published accuracy: ranked by size/MACs, measured on the images


class Evidence(str, Enum):
    """Where a shortlisted model's accuracy figure comes from before evaluation."""

    PUBLISHED = "published"        # a results table (timm's results, torchvision's weights metadata)
    MODEL_CARD = "model_card"      # the repo's own model card (Hugging Face model-index): self-reported
    NONE = "none"                  # no published accuracy: only the run on the user's images will tell


def evidence_of(card: ModelCard) -> Evidence:
    if card.benchmark_accuracy is None:
        return Evidence.NONE
    return Evidence.MODEL_CARD if card.benchmark_self_reported else Evidence.PUBLISHED


@dataclass(frozen=True)
class ShortlistEntry:
    card: ModelCard
    proxy_reward: float | None                   # None: no published accuracy, so no proxy reward
    reasons: tuple[Reason, ...]
    known_reward: float = 0.0                    # the weighted known metrics alone (size, MACs, latency; no accuracy)

    @property
    def evidence(self) -> Evidence:
        return evidence_of(self.card)


@dataclass(frozen=True)
class Shortlist:
    """Kept entries (best proxy reward first), the extra models without a published accuracy, and what was left out
    before choosing."""

    entries: tuple[ShortlistEntry, ...]
    k: int
    weights: Weights
    pool_size: int                               # cards that were ranked (published accuracy, within constraints)
    removed: tuple[Removal, ...] = ()            # cut by the hard constraints
    unranked: tuple[str, ...] = ()               # no published accuracy (or another label set): not ranked
    ignored_weights: tuple[str, ...] = ()        # weighted metrics no card knows before evaluation
    filters: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    unpublished: tuple[ShortlistEntry, ...] = ()  # no published accuracy: measured on the user's images
    unpublished_pool: int = 0                    # such models within the constraints (of the label set)

    @property
    def all_entries(self) -> tuple[ShortlistEntry, ...]:
        return self.entries + self.unpublished

    @property
    def names(self) -> list[str]:
        return [e.card.name for e in self.all_entries]


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


def proxy_rewards(cards: Sequence[ModelCard], weights: Weights, *,
                  with_accuracy: bool = True) -> tuple[np.ndarray, tuple[str, ...]]:
    """Eq. 1 per card with published top-1 as accuracy (``with_accuracy=False``: the known metrics alone); weighted
    metrics unknown on some card are ignored."""
    total = np.zeros(len(cards))
    ignored = []
    for name, w in weights.values.items():
        if w == 0:
            continue
        metric = resolve_metric(name)
        if metric.name == "accuracy":
            if not with_accuracy:
                continue
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


def _pick_published(pool: list[ModelCard], reward: np.ndarray, k: int) -> dict[int, list[Reason]]:
    """Up to ``k`` of ``pool`` (published accuracy): best rewards, the two Pareto fronts, the most robust, then a
    fill by reward with varied families."""
    accuracy = np.array([c.benchmark_accuracy for c in pool], dtype=float)
    macs = np.array([c.macs for c in pool], dtype=float)
    size = np.array([c.size_mb for c in pool], dtype=float)
    chosen: dict[int, list[Reason]] = {}
    if k < 1 or not pool:
        return chosen

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
    return chosen


def _pick_unpublished(pool: list[ModelCard], known: np.ndarray, n: int) -> list[int]:
    """``n`` of ``pool`` (no published accuracy) by known reward (then fewer MACs), one per architecture, taking the
    sources in turn so one hub cannot crowd out the other."""
    order = sorted(range(len(pool)), key=lambda i: (-known[i], pool[i].macs, pool[i].name))
    by_source: dict[str, list[int]] = {}
    seen: set[str] = set()
    for i in order:
        if _arch(pool[i]) not in seen:
            seen.add(_arch(pool[i]))
            by_source.setdefault(pool[i].source, []).append(i)
    rest = [i for i in order if not any(i in picks for picks in by_source.values())]
    queues = [list(v) for _, v in sorted(by_source.items())]
    picked: list[int] = []
    while len(picked) < n and any(queues):
        for queue in queues:
            if queue and len(picked) < n:
                picked.append(queue.pop(0))
    return picked + rest[:max(0, n - len(picked))]


def shortlist(cards: Iterable[ModelCard], weights: Weights, constraints: Constraints | None = None, *,
              k: int = DEFAULT_K, label_set: str | None = "imagenet-1k", pinned: Sequence[str] = (),
              unpublished: int | None = None, unpublished_sources: Collection[str] = UNPUBLISHED_SOURCES) -> Shortlist:
    """``k`` candidates under ``weights`` and ``constraints``: every ``pinned`` name (the user's, within the
    constraints), up to ``unpublished`` (default ``max(1, k // 6)``) models of ``unpublished_sources`` without a
    published accuracy, and the rest spanning the published accuracy-vs-cost fronts; when the published pool cannot
    fill its share, more models without a figure do.

    Only cards of ``label_set`` (unless None or pinned) are considered: figures of different label sets or benchmarks
    are not comparable, and another label set's head does not predict the same classes. A timm or torchvision model
    without a figure is missing from its own source's results table and stays unranked, as before.
    """
    if k < 1:
        raise GreenRunnerError(f"shortlist size k={k} must be at least 1")
    cards = list(cards)
    wanted = set(pinned)
    eligible = [c for c in cards if c.name in wanted or (
        (label_set is None or c.label_set == label_set) and not c.name.startswith(NOT_CANDIDATES)
        and (c.benchmark_accuracy is not None or c.source in unpublished_sources))]
    eligible_names = {c.name for c in eligible}
    unranked = tuple(c.name for c in cards if c.benchmark_accuracy is None or c.name not in eligible_names)
    limits = constraints or Constraints()
    split = split_cards(eligible, limits)
    within = list(split.kept)
    if not within:
        if split.removed:
            split.require_some(limits)
        raise GreenRunnerError(f"no model{f' with {label_set} labels' if label_set else ''} to shortlist among "
                               f"{len(cards)} cards; add the timm or torchvision catalog, or name hub models "
                               "(hf:<repo>, timm:<arch>)")
    pool = [c for c in within if c.benchmark_accuracy is not None]
    bare = [c for c in within if c.benchmark_accuracy is None]
    reward, ignored = proxy_rewards(pool, weights) if pool else (np.zeros(0), ())
    known, ignored_known = proxy_rewards(within, weights, with_accuracy=False)
    known_of = {c.name: float(v) for c, v in zip(within, known)}
    named = [c for c in within if c.name in wanted]
    others = [c for c in bare if c.name not in wanted]
    others_known = np.array([known_of[c.name] for c in others])
    quota = max(1, k // UNPUBLISHED_SHARE) if unpublished is None else unpublished
    picked = _pick_unpublished(others, others_known, min(quota, len(others), max(0, k - len(named))))
    rest_pub = [i for i, c in enumerate(pool) if c.name not in wanted]
    chosen = _pick_published([pool[i] for i in rest_pub], reward[rest_pub], max(0, k - len(named) - len(picked)))
    short = k - len(named) - len(picked) - len(chosen)
    if short > 0 and unpublished is None:              # the published pool cannot fill k: models without figures can
        picked = _pick_unpublished(others, others_known, min(len(others), len(picked) + short))
    picks = {rest_pub[i]: why for i, why in chosen.items()} | \
        {i: [Reason.NAMED] for i, c in enumerate(pool) if c.name in wanted}
    entries = tuple(ShortlistEntry(pool[i], float(reward[i]), tuple(picks[i]), known_of[pool[i].name])
                    for i in sorted(picks, key=lambda i: -reward[i]))
    extra = tuple(ShortlistEntry(c, None, (Reason.NAMED,), known_of[c.name]) for c in bare if c.name in wanted) + \
        tuple(ShortlistEntry(others[i], None, (Reason.UNPUBLISHED,), known_of[others[i].name]) for i in picked)
    filters = (("label_set", label_set),) if label_set else ()
    return Shortlist(entries, k, weights, len(pool), split.removed, unranked,
                     tuple(dict.fromkeys(ignored + ignored_known)), filters, extra, len(bare))
