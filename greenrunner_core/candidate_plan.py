"""Which models can be evaluated on a target dataset, decided before anything is approved or run.

The pool is the models the user named; else their own checkpoints; else the ImageNet catalog (plus the demo zoo for
digit data). Each model is kept or excluded with the reason as data (``Verdict``; ``tools/candidate_text.py`` says why
and the fix): its labels must cover every class the
automatic label map could map (``labels.auto_label_map``), and its weights must be loadable (cached, or downloadable
when online). The plan carries the reviewed label map, so the run scores exactly what staging showed.
"""
from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from greenrunner_core.data import load_target
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.label_map import check_label_map, load_label_map
from greenrunner_core.labels import AutoLabelMap, ClassMatch, auto_label_map, is_imagenet_1k
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.hub_cache import HubSettings

__all__ = ["CandidatePlan", "Verdict", "VerdictReason", "plan_candidates", "weights_online"]

DIGITS = frozenset("0123456789")
MAX_CATALOG_CANDIDATES = 6


VerdictReason = Literal["fits", "labels_match_none", "labels_miss_classes", "weights_offline"]
MATCH_ORDER = ("exact", "synonym", "hierarchy", "nearest")    # how the automatic label map matched, surest first


@dataclass(frozen=True)
class Verdict:
    """One model, kept (``reason`` "fits") or excluded, with what the words of why and the fix need (as data; words in
    ``tools/candidate_text.py``). Kept: the pool it came from (``pool``: "checkpoints", "named", "demo", "catalog"),
    its ``n_labels`` and how its labels matched the classes (``matched_by``, surest first). "labels_match_none": its
    first labels (``examples``) and the ``classes``; "labels_miss_classes": the classes ``covered`` and ``missing``;
    "weights_offline": where its weights would go (``weights_file``, else by its ``source``: "timm" = the Hub cache)."""

    name: str
    reason: VerdictReason = "fits"
    weights_cached: bool = True
    pool: str = ""
    n_labels: int = 0
    matched_by: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    covered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    source: str = ""
    weights_file: str = ""

    @property
    def kept(self) -> bool:
        return self.reason == "fits"


@dataclass(frozen=True)
class CandidatePlan:
    dataset: str
    classes: tuple[str, ...]
    n_images: int
    pool: str                                    # "named", "checkpoints", "catalog" or "demo"
    kept: tuple[Verdict, ...]
    excluded: tuple[Verdict, ...]
    auto_map: AutoLabelMap
    overrides: dict[str, tuple[str, ...]]        # the user's own entries (chat or JSON), replacing the automatic ones

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.kept]

    @property
    def runnable(self) -> bool:
        """At least two models can be evaluated and at least one class is mapped."""
        return len(self.kept) >= 2 and bool(self.mapped_classes())

    def questions(self) -> tuple[ClassMatch, ...]:
        return tuple(m for m in self.auto_map.questions() if m.dataset_class not in self.overrides)

    def mapped_classes(self) -> list[str]:
        return [c for c in self.classes if c in self.label_map_dict() or
                (self.auto_map.get(c) is not None and self.auto_map.get(c).how == "exact")]

    def label_map_dict(self) -> dict[str, list[str]]:
        return self.auto_map.mapping() | {k: list(v) for k, v in self.overrides.items()}

    def label_map(self) -> dict[str, list[str]] | None:
        """The label map the run uses (None when every class is a label of the same name and nothing was edited)."""
        if self.auto_map.is_identity() and not self.overrides:
            return None
        return self.label_map_dict()


def weights_online(timeout_s: float = 1.5, *, offline: bool = False) -> bool:
    """Whether torchvision's download host answers (weights not cached can then be fetched on first use); never when
    ``offline`` (the hubs' offline switch, ``HF_HUB_OFFLINE``, as the workspace's ``HubSettings`` hold it)."""
    if offline:
        return False
    try:
        with socket.create_connection(("download.pytorch.org", 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def plan_candidates(ws: object, data: str | Path, models: Sequence[str] | None = None,
                    overrides: Mapping[str, Sequence[str]] | str | Path | None = None,
                    online: Callable[[], bool] | None = None,
                    shortlister: Callable[[list[ModelCard]], list[str]] | None = None) -> CandidatePlan:
    """The candidates for ``data`` (a Workspace ``ws``), each kept or excluded with the reason, and the label map."""
    dataset = load_target(Path(str(data)).expanduser(), cache_dir=Path(ws.cache_dir) / "datasets",
                          zip_limits=ws.zip_limits)
    classes = tuple(dataset.class_names)
    user = {k: tuple(v) for k, v in load_label_map(overrides).items()} if overrides else {}
    pool_name, pool = _pool(ws, classes, models)
    if online is None:                  # the workspace knows whether the hubs are offline
        online = lambda: weights_online(offline=ws.hub.is_offline())
    kept, excluded = _judge(pool, pool_name, classes, user, online, shortlister, own=frozenset(ws.local_models),
                            hub=ws.hub)
    if pool_name == "checkpoints" and len(kept) < 2:      # one checkpoint of yours: ImageNet models to compare with
        catalog = _catalog(ws)
        if catalog:
            more, more_excluded = _judge(catalog, "catalog", classes, user, online, shortlister, hub=ws.hub)
            kept, excluded, pool = kept + more, excluded + more_excluded, pool + catalog
    spaces = [c.class_labels for c in pool if c.name in {v.name for v in kept}]
    if user and spaces:
        check_label_map({k: frozenset(v) for k, v in user.items()}, spaces)
    auto_map = auto_label_map(classes, spaces) if spaces else auto_label_map(classes, [])
    return CandidatePlan(str(data), classes, len(dataset), pool_name, tuple(kept), tuple(excluded), auto_map, user)


def _judge(pool: list[ModelCard], pool_name: str, classes: tuple[str, ...], user: dict[str, tuple[str, ...]],
           online: Callable[[], bool] | None, shortlister: Callable[[list[ModelCard]], list[str]] | None,
           own: frozenset[str] = frozenset(), hub: HubSettings | None = None) -> tuple[list[Verdict], list[Verdict]]:
    """Each model of ``pool`` kept (labels cover every mappable class, weights loadable) or excluded with the fix;
    ``own``: the user's checkpoints, called so also when named (a follow-up run names the last run's candidates)."""
    auto_by_space = {space: auto_label_map(classes, [space]) for space in {c.class_labels for c in pool}}
    mappable = {c for auto in auto_by_space.values() for c in auto.mapping()} | set(user)
    kept, excluded = [], []
    is_online: bool | None = None
    for card in pool:
        auto = auto_by_space[card.class_labels]
        covered = set(auto.mapping()) | set(user)
        missing = sorted(mappable - covered)
        if not covered:
            excluded.append(Verdict(card.name, "labels_match_none", n_labels=len(card.class_labels),
                                    examples=tuple(card.class_labels[:3]), classes=classes))
            continue
        if missing:
            excluded.append(Verdict(card.name, "labels_miss_classes", covered=tuple(sorted(covered)),
                                    missing=tuple(missing)))
            continue
        cached = _weights_cached(card, hub)
        if not cached:
            if is_online is None:
                is_online = (online or weights_online)()
            if not is_online:
                excluded.append(Verdict(card.name, "weights_offline", False, source=card.source,
                                        weights_file=_weights_file(card)))
                continue
        source = "checkpoints" if pool_name == "named" and card.name in own else pool_name
        how = {m.how for m in auto.matches if m.labels}
        kept.append(Verdict(card.name, "fits", cached, pool=source, n_labels=len(card.class_labels),
                            matched_by=tuple(h for h in MATCH_ORDER if h in how)))
    if pool_name == "catalog":
        kept = _shortlist(kept, {c.name: c for c in pool}, shortlister)
    return kept, excluded


def _catalog(ws: object) -> list[ModelCard]:
    return [c for c in ws.registry.cards() if is_imagenet_1k(c.class_labels) and c.source != ws.demo.name
            and c.name not in ws.local_models]


def _pool(ws: object, classes: tuple[str, ...], models: Sequence[str] | None) -> tuple[str, list[ModelCard]]:
    if models:
        return "named", ws.registry.resolve(list(models))
    own = ws.checkpoint_cards()
    if own:
        return "checkpoints", own
    if set(classes) <= DIGITS:
        return "demo", ws.demo_cards()
    catalog = _catalog(ws)
    if not catalog:
        raise GreenRunnerError("no candidate models for your images: upload checkpoints trained on your classes, or "
                               "enable an ImageNet catalog (torchvision)")
    return "catalog", catalog


def _weights_file(card: ModelCard) -> str:
    """Where torchvision keeps the weights file of ``card`` ("" for other sources: their cache is named by source)."""
    if card.source != "torchvision":
        return ""
    from torchvision.models import get_weight

    from greenrunner_core.registry.torchvision_catalog import checkpoint_path
    return str(checkpoint_path(get_weight(card.weights_id)))


def _weights_cached(card: ModelCard, hub: HubSettings | None = None) -> bool:
    if card.source == "hf" and hub is not None:            # its config may be cached without its weights
        from greenrunner_core.registry.hf_discovery import WEIGHTS_FILES
        from greenrunner_core.registry.hub_cache import cached_file
        repo = card.name.removeprefix("hf:")
        return Path(repo).is_dir() or cached_file(repo, WEIGHTS_FILES, hub) is not None
    if card.source == "timm":
        return not card.weights_id.endswith("@main")          # the cached Hub revision is in the weights id
    if card.source != "torchvision":
        return True
    return Path(_weights_file(card)).exists()


def _shortlist(kept: list[Verdict], cards: dict[str, ModelCard],
               shortlister: Callable[[list[ModelCard]], list[str]] | None) -> list[Verdict]:
    """Catalog models: the hub shortlist of those that fit (published figures under the run's weights); without one,
    those with cached weights first, then the accuracy-vs-MACs Pareto front, smallest first."""
    by_name = {v.name: v for v in kept}
    if shortlister is not None and kept:
        try:
            picked = shortlister([cards[v.name] for v in kept])
        except GreenRunnerError:
            picked = []
        if len(picked) >= 2:
            return [by_name[n] for n in picked if n in by_name]
    cached = [v for v in kept if v.weights_cached]
    rest = sorted((v for v in kept if not v.weights_cached), key=lambda v: cards[v.name].macs)
    front, best = [], -1.0
    for v in rest:
        acc = cards[v.name].benchmark_accuracy or 0.0
        if acc > best:
            front.append(v)
            best = acc
    return (cached + front)[:MAX_CATALOG_CANDIDATES] if len(cached) < 2 else cached[:MAX_CATALOG_CANDIDATES]
