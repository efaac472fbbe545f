"""Target datasets: load an ImageFolder directory or zip safely, skip and report bad files, map classes to model labels.

``dataset_scan`` checks the files, ``label_map`` maps classes to model labels, ``zip_extract`` unpacks zips safely;
this module puts them together into a ``TargetDataset`` (and samples or restricts it).
"""
from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from greenrunner_core.dataset_scan import TargetImage, ValidationIssue, ValidationReport, content_id, scan, unwrap
from greenrunner_core.errors import DatasetError
from greenrunner_core.label_map import (
    LABEL_MAP_FORMAT,
    apply_label_map,
    check_label_map,
    is_index,
    load_label_map,
    normalize_label,
)
from greenrunner_core.zip_extract import DEFAULT_ZIP_LIMITS, ZipLimits, extract_zip

__all__ = ["TargetDataset", "TargetImage", "load_target"]


@dataclass
class TargetDataset:
    """Usable images of a target dataset (sorted by (class_name, path)) and how its classes map to model labels."""

    root: Path
    images: list[TargetImage]
    class_names: list[str]
    label_map: dict[str, frozenset[str]] | None
    report: ValidationReport
    _allowed_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.images)

    def load_image(self, image: TargetImage) -> Image.Image:
        """The image, opened lazily from memory (no open file handle); the caller converts it."""
        path = self.root / image.path
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DatasetError(f"cannot read {path} ({e}); was the dataset moved or deleted after loading?") from e
        if content_id(data) != image.id:
            raise DatasetError(f"{path} changed after the dataset was loaded (content hash differs); "
                               f"load the dataset again")
        return Image.open(io.BytesIO(data))

    def allowed_indices(self, class_name: str, class_labels: Sequence[str]) -> frozenset[int]:
        """Indices in ``class_labels`` counted as correct for dataset class ``class_name`` (empty = unmapped)."""
        key = (class_name, tuple(class_labels))
        cached = self._allowed_cache.get(key)
        if cached is not None:
            return cached
        if self.label_map is None:
            wanted = {normalize_label(class_name)}
        else:
            if class_name not in self.label_map:
                raise DatasetError(f"class {class_name!r} is not in this dataset's label map "
                                   f"(classes: {', '.join(sorted(self.label_map))})")
            wanted = {normalize_label(e) for e in self.label_map[class_name]}
        out = {i for i, label in enumerate(class_labels) if normalize_label(label) in wanted}
        if self.label_map is not None:
            out |= {int(e) for e in self.label_map[class_name] if is_index(e) and int(e) < len(class_labels)}
        result = frozenset(out)
        self._allowed_cache[key] = result
        return result

    def restrict_to(self, label_spaces: Sequence[Sequence[str]]) -> TargetDataset:
        """Drop images whose class is unmapped in ANY of ``label_spaces``, reporting them as ``unmapped_class``."""
        spaces = [tuple(s) for s in label_spaces]
        if self.label_map is not None:
            check_label_map(self.label_map, spaces)
        unmapped: dict[str, tuple[int, tuple[str, ...]]] = {}     # class -> the first label space it misses
        for c in self.class_names:
            for k, labels in enumerate(spaces):
                if not self.allowed_indices(c, labels):
                    unmapped[c] = (k, labels)
                    break
        if not unmapped:
            return self._derive(self.images, self.report)
        kept = [im for im in self.images if im.class_name not in unmapped]
        if not kept:
            example = _examples(spaces[0]) if spaces else ""
            how = ("edit the label map so each dataset class lists model labels" if self.label_map is not None
                   else "rename the class folders to model label names, or pass a JSON label map")
            raise DatasetError(
                f"none of the dataset classes ({', '.join(self.class_names)}) match the models' labels "
                f"({example}). Fix: {how}. {LABEL_MAP_FORMAT}")
        new_issues = [ValidationIssue(im.path, "unmapped_class", im.class_name, "class_unmatched",
                                      figures=(unmapped[im.class_name][0], len(unmapped[im.class_name][1])),
                                      labels=unmapped[im.class_name][1][:3])
                      for im in self.images if im.class_name in unmapped]
        classes = sorted({im.class_name for im in kept})
        report = ValidationReport(self.report.source, self.report.total_files, len(kept), classes,
                                  self.report.issues + new_issues)
        return self._derive(kept, report)

    def sample(self, n: int | None, seed: int) -> TargetDataset:
        """``n`` images chosen with ``np.random.default_rng(seed)``, stratified by class (None or >= len: all).

        The report is kept unchanged: it describes the validation of the source, not the sample.
        """
        if n is None or n >= len(self.images):
            return self._derive(self.images, self.report)
        if n <= 0:
            raise DatasetError(f"sample size must be a positive number of images (got {n}); "
                               f"use None to keep all {len(self.images)}")
        rng = np.random.default_rng(seed)
        by_class: dict[str, list[int]] = {}
        for i, im in enumerate(self.images):
            by_class.setdefault(im.class_name, []).append(i)
        # Each class's members get evenly spaced keys (rank + random offset) / class size in a random order, so
        # the n smallest keys take about n * size / total images of every class.
        keys = np.empty(len(self.images))
        for c in sorted(by_class):
            members = np.asarray(by_class[c])
            order = rng.permutation(len(members))
            keys[members[order]] = (np.arange(len(members)) + rng.random()) / len(members)
        chosen = np.sort(np.argsort(keys, kind="stable")[:n])
        return self._derive([self.images[i] for i in chosen], self.report)

    def _derive(self, images: list[TargetImage], report: ValidationReport) -> TargetDataset:
        classes = sorted({im.class_name for im in images})
        label_map = None if self.label_map is None else {c: self.label_map[c] for c in classes}
        return TargetDataset(self.root, list(images), classes, label_map, report)


def _examples(labels: Sequence[str], k: int = 3) -> str:
    shown = ", ".join(repr(x) for x in labels[:k])
    return f"{len(labels)} labels, e.g. {shown}" if labels else "no labels"


def load_target(path: str | Path, *, label_map: str | Path | Mapping | None = None,
                cache_dir: Path | None = None, zip_limits: ZipLimits = DEFAULT_ZIP_LIMITS,
                max_zip_entries: int | None = None, max_zip_bytes: int | None = None) -> TargetDataset:
    """Load an ImageFolder directory (``root/<class>/<image>``) or a .zip of one, validating every file.

    A single top-level folder wrapping the class folders (``mydata/cat/1.jpg``) is unwrapped, in folders and zips
    alike; ``__MACOSX`` and dotfiles are ignored; images inside sub-folders of a class folder belong to that class. Corrupt, zero-byte, non-image, unreadable, duplicate and unmapped files are skipped and
    listed in ``report``. Raises ``DatasetError`` when the path is missing or nothing usable remains, or when a zip
    crosses ``zip_limits`` (``max_zip_entries`` / ``max_zip_bytes`` override its entry count and total size).
    """
    src = Path(path).expanduser()
    if not src.exists():
        raise DatasetError(f"target dataset {src} does not exist; pass a folder with one sub-folder per class "
                           f"(e.g. data/cat/1.jpg, data/dog/2.jpg) or a .zip of such a folder")
    src = src.resolve()
    zip_issues: list[ValidationIssue] = []
    if src.is_dir():
        base = src
    elif src.is_file():
        if not zipfile.is_zipfile(src):
            raise DatasetError(f"target dataset {src} is a file but not a zip archive; pass a folder with one "
                               f"sub-folder per class or a .zip of such a folder")
        limits = replace(zip_limits, max_entries=max_zip_entries or zip_limits.max_entries,
                         max_total_bytes=max_zip_bytes or zip_limits.max_total_bytes)
        base, zip_issues = extract_zip(src, cache_dir if cache_dir is not None else _default_cache_dir(), limits)
    else:
        raise DatasetError(f"target dataset {src} is neither a folder nor a zip file")

    root = unwrap(base)
    mapping = load_label_map(label_map) if label_map is not None else None
    images, issues, checked = scan(root)
    issues = zip_issues + issues
    total = checked + len(zip_issues)

    dataset_label_map: dict[str, frozenset[str]] | None = None
    if mapping is not None:
        images, dataset_label_map, unmapped = apply_label_map(images, mapping, label_map)
        issues += unmapped

    classes = sorted({im.class_name for im in images})
    report = ValidationReport(str(src), total, len(images), classes, issues)
    if not images:
        if checked == 0 and not zip_issues:
            raise DatasetError(f"no images found in {src}; expected one sub-folder per class holding the images "
                               f"(e.g. {src.name}/cat/1.jpg, {src.name}/dog/2.jpg)")
        skipped = [i.path for i in issues]
        raise DatasetError(f"no usable images in {src}: all {len(skipped)} files checked were skipped "
                           f"({', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''})", report)
    return TargetDataset(root, images, classes, dataset_label_map, report)


def _default_cache_dir() -> Path:
    """Where zips are extracted: ``<greenrunner cache>/datasets``."""
    from greenrunner_core.paths import cache_dir
    return cache_dir() / "datasets"
