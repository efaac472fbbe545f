"""The automatic label map: each dataset class -> the model labels counted as correct, with how it was found.

Order of evidence: the exact label name; an everyday synonym (``synonyms.json``: "cat" means the domestic cat); the
WordNet hierarchy for ImageNet-1k label spaces (a class covers every ImageNet class under its synset: ``dog`` -> the
118 breeds); the nearest classes when ImageNet has none of that kind (shown for review). A word with several
readings that lead to different classes (``bike``: bicycle or motorcycle) is ``ambiguous`` and a word with no match
is ``unmapped``: both are asked about, never guessed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from greenrunner_core.label_map import normalize_label
from greenrunner_core.labels.imagenet import ImageNetHierarchy, imagenet_hierarchy, is_imagenet_1k, synonym_table

__all__ = ["HOW", "AutoLabelMap", "ClassMatch", "auto_label_map"]

How = Literal["exact", "synonym", "hierarchy", "nearest", "ambiguous", "unmapped"]
HOW: tuple[How, ...] = ("exact", "synonym", "hierarchy", "nearest", "ambiguous", "unmapped")


@dataclass(frozen=True)
class ClassMatch:
    """One dataset class: the labels counted as correct (names as the models spell them), how, and via what."""

    dataset_class: str
    how: How
    labels: tuple[str, ...] = ()
    via: str = ""
    options: tuple[tuple[str, tuple[str, ...]], ...] = ()   # ambiguous: (reading, its labels) to choose from

    @property
    def needs_answer(self) -> bool:
        """Ambiguous or unmapped: the user must say what the class means before it can be scored."""
        return self.how in ("ambiguous", "unmapped")

    @property
    def needs_review(self) -> bool:
        return self.how in ("nearest", "ambiguous", "unmapped")


@dataclass(frozen=True)
class AutoLabelMap:
    matches: tuple[ClassMatch, ...]

    def mapping(self) -> dict[str, list[str]]:
        """The label map of the classes that could be mapped (the format ``load_label_map`` reads)."""
        return {m.dataset_class: list(m.labels) for m in self.matches if m.labels and not m.needs_answer}

    def questions(self) -> tuple[ClassMatch, ...]:
        return tuple(m for m in self.matches if m.needs_answer)

    def is_identity(self) -> bool:
        """Every class is a model label of the same name: no label map is needed."""
        return all(m.how == "exact" for m in self.matches)

    def get(self, dataset_class: str) -> ClassMatch | None:
        return next((m for m in self.matches if m.dataset_class == dataset_class), None)


def auto_label_map(class_names: Sequence[str], label_spaces: Sequence[Sequence[str]]) -> AutoLabelMap:
    """Map each dataset class onto the union of ``label_spaces`` (one per distinct model label set)."""
    spaces = list(dict.fromkeys(tuple(s) for s in label_spaces if s))
    out = []
    for name in class_names:
        per_space = [_match(name, space) for space in spaces] or [ClassMatch(name, "unmapped", via="no model labels")]
        worst = max(per_space, key=lambda m: HOW.index(m.how))
        labels = tuple(dict.fromkeys(label for m in per_space for label in m.labels))
        if worst.needs_answer:
            out.append(worst)
        else:
            out.append(ClassMatch(name, worst.how, labels, worst.via))
    return AutoLabelMap(tuple(out))


def _forms(word: str) -> list[str]:
    norm = normalize_label(word)
    forms = [norm]
    if norm.endswith("es") and len(norm) > 4:
        forms.append(norm[:-2])
    if norm.endswith("s") and len(norm) > 3:
        forms.append(norm[:-1])
    return forms


def _match(name: str, space: tuple[str, ...]) -> ClassMatch:
    norm_labels = [normalize_label(label) for label in space]
    imagenet = is_imagenet_1k(space)
    for form in _forms(name):
        exact = [i for i, label in enumerate(norm_labels) if label == form]
        if exact:
            found = _exact(name, space, exact)
            if imagenet and not found.needs_answer:
                return _unless_everyday_meaning_differs(found, _imagenet(name, space, imagenet_hierarchy()))
            return found
    if imagenet:
        return _imagenet(name, space, imagenet_hierarchy())
    return _by_lemmas(name, space, norm_labels)


def _unless_everyday_meaning_differs(exact: ClassMatch, meaning: ClassMatch) -> ClassMatch:
    """ImageNet's ``plane`` is the carpenter's tool and its ``crane`` the machine: when the everyday meaning or
    another WordNet reading of the word leads elsewhere, ask."""
    if meaning.how == "ambiguous":
        if any(set(labels) == set(exact.labels) for _, labels in meaning.options):
            return ClassMatch(exact.dataset_class, "ambiguous", via=f"the word has several readings ({meaning.via})",
                              options=meaning.options)
        return exact
    if meaning.how != "synonym" or set(exact.labels) <= set(meaning.labels):
        return exact
    return ClassMatch(exact.dataset_class, "ambiguous", via="the ImageNet class of that name is not its everyday "
                      "meaning", options=((f"the ImageNet class {exact.labels[0]!r}", exact.labels),
                                          (meaning.via, meaning.labels)))


def _exact(name: str, space: tuple[str, ...], hits: list[int]) -> ClassMatch:
    if len(hits) > 1 and is_imagenet_1k(space):
        h = imagenet_hierarchy()
        options = tuple((f"{space[i]} = {h.describe(h.classes[i])}", (str(i),)) for i in hits)
        return ClassMatch(name, "ambiguous", via=f"{len(hits)} ImageNet classes are named {space[hits[0]]!r}",
                          options=options)
    return ClassMatch(name, "exact", _label_refs(space, hits), via="same label name")


def _label_refs(space: tuple[str, ...], indices: Sequence[int]) -> tuple[str, ...]:
    """Label names, or the index where a name is used twice in the space (ImageNet's two 'crane's)."""
    counts: dict[str, int] = {}
    for label in space:
        counts[normalize_label(label)] = counts.get(normalize_label(label), 0) + 1
    return tuple(space[i] if counts[normalize_label(space[i])] == 1 else str(i) for i in sorted(set(indices)))


def _wanted_synsets(name: str, h: ImageNetHierarchy) -> tuple[How, tuple[str, ...], str]:
    synonyms, nearest = synonym_table()
    for form in _forms(name):
        if form in synonyms:
            return "synonym", synonyms[form], "everyday meaning"
        if form in nearest:
            wnids, why = nearest[form]
            return "nearest", wnids, why
    for form in _forms(name):
        found = h.synsets_named(form)
        if found:
            return "hierarchy", found, "WordNet"
    return "unmapped", (), ""


def _imagenet(name: str, space: tuple[str, ...], h: ImageNetHierarchy) -> ClassMatch:
    how, wnids, why = _wanted_synsets(name, h)
    if how == "unmapped":
        return ClassMatch(name, "unmapped", via="no ImageNet class or WordNet synset above one has this name")
    readings: dict[tuple[int, ...], list[str]] = {}
    for wnid in wnids:
        under = h.classes_under(wnid)
        if under:
            readings.setdefault(under, []).append(wnid)
    if not readings:
        return ClassMatch(name, "unmapped", via=f"WordNet {', '.join(h.describe(w) for w in wnids)} has no "
                                                "ImageNet class under it")
    if how in ("nearest", "synonym"):                # a curated meaning: its synsets together
        indices = sorted({i for under in readings for i in under})
        named = ", ".join(h.describe(w) for ws in readings.values() for w in ws)
        via = why if how == "nearest" else f"{why}: {named} and their {len(indices)} ImageNet hyponyms"
        return ClassMatch(name, how, _label_refs(space, indices), via=via)
    if len(readings) > 1:
        options = tuple((f"{h.describe(ws[0])}: {len(under)} classes", _label_refs(space, under))
                        for under, ws in readings.items())
        return ClassMatch(name, "ambiguous", via=f"{len(readings)} WordNet readings lead to different classes",
                          options=options)
    (under, ws), = readings.items()
    kind = "hyponyms" if len(under) > 1 or h.classes[under[0]] not in ws else "class"
    return ClassMatch(name, "hierarchy", _label_refs(space, under),
                      via=f"{why}: {h.describe(ws[0])} and its {len(under)} ImageNet {kind}")


def _by_lemmas(name: str, space: tuple[str, ...], norm_labels: list[str]) -> ClassMatch:
    """A small label space (e.g. CIFAR-10): labels that are a synonym of the class, else its nearest hypernym."""
    h = imagenet_hierarchy()
    how, wnids, _ = _wanted_synsets(name, h)
    if how in ("unmapped", "nearest"):
        return ClassMatch(name, "unmapped", via="no model label has this name or a synonym of it")
    if how == "hierarchy" and len(wnids) > 1:         # several WordNet readings: ask when they lead apart
        readings = {w: _by_lemmas_from(name, space, norm_labels, h, (w,)) for w in wnids}
        found = {w: m for w, m in readings.items() if m.labels}
        if len({m.labels for m in found.values()}) > 1:
            options = tuple((h.describe(w), m.labels) for w, m in found.items())
            return ClassMatch(name, "ambiguous", via=f"{len(found)} WordNet readings lead to different labels",
                              options=options)
    return _by_lemmas_from(name, space, norm_labels, h, wnids)


def _by_lemmas_from(name: str, space: tuple[str, ...], norm_labels: list[str], h: ImageNetHierarchy,
                    wnids: Sequence[str]) -> ClassMatch:
    level = set(wnids)
    seen: set[str] = set()
    for depth in range(4):
        words = {normalize_label(w) for wnid in level for w in h.lemmas.get(wnid, ())}
        hits = [i for i, label in enumerate(norm_labels) if label in words]
        if hits:
            via = "a WordNet synonym" if depth == 0 else f"WordNet hypernym ({depth} level{'s' if depth > 1 else ''} up)"
            return ClassMatch(name, "synonym" if depth == 0 else "hierarchy", _label_refs(space, hits), via=via)
        seen |= level
        level = {p for wnid in level for p in h.parents.get(wnid, ()) if p not in seen}
    return ClassMatch(name, "unmapped", via="no model label has this name or a synonym of it")


