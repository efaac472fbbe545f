"""One label space across sources, and refusing models whose labels do not fit a target dataset.

ImageNet-1k classifiers from torchvision, timm and Hugging Face all predict the 1,000 classes in the same (synset)
order; here they all carry torchvision's class names, so a dataset's class folders and label maps resolve to the
same indices whichever source a model comes from. Other label sets (ImageNet-12k/22k, CIFAR-10, a fine-tuned
head...) keep their own names; a model whose labels cover fewer of the dataset's classes than another candidate's
is refused for that dataset, with the reason.
"""
from __future__ import annotations

import functools
import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from greenrunner_core.notes import LabelsDoNotFit
from greenrunner_core.registry.card import ModelCard

if TYPE_CHECKING:
    from greenrunner_core.data import TargetDataset

IMAGENET_1K = "imagenet-1k"
TIMM_LABEL_FILES = {"imagenet-12k": "imagenet12k_synsets.txt", "imagenet-22k": "imagenet22k_synsets.txt",
                    "imagenet-21k-goog": "imagenet21k_goog_synsets.txt"}


@functools.cache
def imagenet1k_labels() -> tuple[str, ...]:
    """The 1,000 ImageNet-1k class names in index order (torchvision's names; timm and HF use the same order)."""
    from torchvision.models import ResNet18_Weights
    return tuple(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def is_imagenet1k(labels: Sequence[str]) -> bool:
    """True for a 1,000-class head in ImageNet order, however its classes are spelled (HF: "tench, Tinca tinca")."""
    if len(labels) != 1000:
        return False
    reference = imagenet1k_labels()
    probes = (0, 1, 207, 281, 999)           # tench, goldfish, golden retriever, tabby, toilet tissue
    return all(reference[i].lower() in str(labels[i]).lower() for i in probes)


def _timm_info_dir() -> Path:
    """timm's label files, found without importing timm (importing it takes seconds)."""
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("timm is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "_info"


@functools.cache
def label_names(label_set: str) -> tuple[str, ...]:
    """Class names of a named label set: torchvision's for ImageNet-1k, timm's synset lemmas for 12k/22k."""
    if label_set == IMAGENET_1K:
        return imagenet1k_labels()
    if label_set not in TIMM_LABEL_FILES:
        raise ValueError(f"unknown label set {label_set!r}; known: {IMAGENET_1K}, {', '.join(TIMM_LABEL_FILES)}")
    lemmas = _synset_lemmas()
    synsets = (_timm_info_dir() / TIMM_LABEL_FILES[label_set]).read_text().split()
    return tuple(lemmas.get(s, s) for s in synsets)


@functools.cache
def _synset_lemmas() -> dict[str, str]:
    """WordNet synset -> its first lemma ("n02123045" -> "tabby"), from timm's label files."""
    lemmas: dict[str, str] = {}
    for line in (_timm_info_dir() / "imagenet_synset_to_lemma.txt").read_text().splitlines():
        synset, _, lemma = line.partition("\t")
        lemmas[synset] = lemma.split(",")[0].strip()
    return lemmas


def labels_from_id2label(id2label: Mapping[int | str, str]) -> tuple[tuple[str, ...], str]:
    """(class names, label set) of a Hugging Face config; ImageNet-1k heads get the shared torchvision names."""
    ordered = [str(id2label[k]) for k in sorted(id2label, key=int)]
    if is_imagenet1k(ordered):
        return imagenet1k_labels(), IMAGENET_1K
    return tuple(ordered), f"{len(ordered)} classes ({', '.join(ordered[:3])}{', ...' if len(ordered) > 3 else ''})"


def fit_to_dataset(cards: Sequence[ModelCard], dataset: TargetDataset
                   ) -> tuple[list[ModelCard], dict[str, LabelsDoNotFit]]:
    """Candidates whose labels cover the most dataset classes, and why each model refused does not fit (a note; its
    words, with the fix, in ``tools/note_words.toml``).

    A model is refused when its label set maps fewer of the dataset's classes than the best-fitting candidate's
    (e.g. an ImageNet-22k head among ImageNet-1k models for a folder named after ImageNet-1k classes). When no
    model maps any class, nothing is refused here: the dataset check then explains how to map the classes.
    """
    coverage: dict[str, frozenset[str]] = {}
    by_labels: dict[tuple[str, ...], frozenset[str]] = {}
    for card in cards:
        labels = tuple(card.class_labels)
        if labels not in by_labels:
            by_labels[labels] = frozenset(c for c in dataset.class_names if dataset.allowed_indices(c, labels))
        coverage[card.name] = by_labels[labels]
    best = max((len(v) for v in coverage.values()), default=0)
    if best == 0:
        return list(cards), {}
    kept, refused = [], {}
    for card in cards:
        covered = coverage[card.name]
        if len(covered) == best:
            kept.append(card)
            continue
        missing = tuple(sorted(set(dataset.class_names) - covered))
        refused[card.name] = LabelsDoNotFit(card.name, card.label_set or "", len(card.class_labels), len(covered),
                                            len(dataset.class_names), missing, best)
    return kept, refused
