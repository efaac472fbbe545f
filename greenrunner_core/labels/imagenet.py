"""The WordNet 3.0 hierarchy above the ImageNet-1k classes, read from the data file shipped with the package.

``imagenet_hierarchy.json`` is built once by ``scripts/build_imagenet_hierarchy.py`` (see its docstring); nothing
here needs WordNet or nltk. ``ImageNetHierarchy`` answers: which ImageNet classes lie under a synset, and which
synsets a word names.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from greenrunner_core.label_map import normalize_label

__all__ = ["ImageNetHierarchy", "imagenet_hierarchy", "is_imagenet_1k", "synonym_table"]


@dataclass(frozen=True, eq=False)
class ImageNetHierarchy:
    classes: tuple[str, ...]                       # wnid of class index i
    names: tuple[str, ...]                         # torchvision's display name of class index i
    lemmas: dict[str, tuple[str, ...]]             # wnid -> lemmas, for the classes and every synset above them
    parents: dict[str, tuple[str, ...]]            # wnid -> hypernym wnids
    class_ancestors: tuple[frozenset[str], ...]    # class index -> its synset and every synset above it
    by_lemma: dict[str, tuple[str, ...]]           # normalised lemma -> synsets carrying it

    def ancestors(self, wnid: str) -> frozenset[str]:
        """``wnid`` and every synset above it."""
        return _closure(wnid, self.parents)

    def classes_under(self, wnid: str) -> tuple[int, ...]:
        """Indices of the ImageNet classes that are ``wnid`` or one of its hyponyms."""
        return tuple(i for i, anc in enumerate(self.class_ancestors) if wnid in anc)

    def synsets_named(self, word: str) -> tuple[str, ...]:
        """Synsets (in or above the 1000 classes) one of whose lemmas is ``word`` (normalised)."""
        return self.by_lemma.get(normalize_label(word), ())

    def describe(self, wnid: str) -> str:
        return f"{', '.join(self.lemmas.get(wnid, (wnid,))[:3])} ({wnid})"


def _read(name: str) -> dict:
    return json.loads(resources.files("greenrunner_core.labels").joinpath(name).read_text(encoding="utf-8"))


@cache
def imagenet_hierarchy() -> ImageNetHierarchy:
    data = _read("imagenet_hierarchy.json")
    lemmas = {k: tuple(v) for k, v in data["lemmas"].items()}
    parents = {k: tuple(v) for k, v in data["parents"].items()}
    by_lemma: dict[str, list[str]] = {}
    for wnid, words in lemmas.items():
        for word in words:
            by_lemma.setdefault(normalize_label(word), []).append(wnid)
    ancestors = tuple(_closure(w, parents) for w in data["classes"])
    return ImageNetHierarchy(tuple(data["classes"]), tuple(data["names"]), lemmas, parents, ancestors,
                             {k: tuple(v) for k, v in by_lemma.items()})


def _closure(wnid: str, parents: dict[str, tuple[str, ...]]) -> frozenset[str]:
    seen: set[str] = set()
    todo = [wnid]
    while todo:
        w = todo.pop()
        if w not in seen:
            seen.add(w)
            todo.extend(parents.get(w, ()))
    return frozenset(seen)


@cache
def synonym_table() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[tuple[str, ...], str]]]:
    """(word -> wnids it usually means, word -> (nearest ImageNet wnids, why)) from ``synonyms.json``."""
    data = _read("synonyms.json")
    synonyms = {normalize_label(k): tuple(v) for k, v in data["synonyms"].items()}
    nearest = {normalize_label(k): (tuple(v["wnids"]), v["why"]) for k, v in data["nearest"].items()}
    return synonyms, nearest


def is_imagenet_1k(labels: Sequence[str]) -> bool:
    """1000 labels, most of which are ImageNet-1k's names in its class order (torchvision, timm or WordNet names)."""
    if len(labels) != 1000:
        return False
    h = imagenet_hierarchy()
    same = 0
    for i, label in enumerate(labels):
        norm = normalize_label(label.split(",")[0])
        if norm == normalize_label(h.names[i]) or norm in {normalize_label(x) for x in h.lemmas[h.classes[i]]}:
            same += 1
    return same >= 900
