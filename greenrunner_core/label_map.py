"""Label maps: which model labels count as correct for each dataset class (JSON file or dict), and name matching."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from greenrunner_core.dataset_scan import TargetImage, ValidationIssue
from greenrunner_core.errors import DatasetError

__all__ = ["LABEL_MAP_FORMAT", "apply_label_map", "check_label_map", "is_index", "load_label_map", "normalize_label"]

LABEL_MAP_FORMAT = ('A label map is a JSON object mapping each dataset class (folder name) to a LIST of model '
                     'labels counted as correct, e.g. {"chair": ["folding chair", "rocking chair"], '
                     '"cup": ["cup", "968"]} (entries are label names or class indices as strings).')


_SIGNED_INT = re.compile(r"^[+-]?\d+$")


def is_index(entry: str) -> bool:
    """A label-map entry naming a class index ("281") rather than a label name."""
    return entry.isdigit()


def normalize_label(text: str) -> str:
    """Case-insensitive, '_' / '-' / ' ' equivalent form used to match class names to model labels."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


def load_label_map(spec: str | Path | Mapping) -> dict[str, frozenset[str]]:
    if isinstance(spec, (str, Path)):
        p = Path(spec).expanduser()
        if not p.is_file():
            raise DatasetError(f"label map file {p} not found. {LABEL_MAP_FORMAT}")
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DatasetError(f"label map {p} is not valid JSON ({e}). {LABEL_MAP_FORMAT}") from e
        where = str(p)
    elif isinstance(spec, Mapping):
        raw, where = spec, "label map"
    else:
        raise DatasetError(f"label_map must be a JSON file path or a dict, got {type(spec).__name__}. "
                           f"{LABEL_MAP_FORMAT}")
    if not isinstance(raw, Mapping) or not raw:
        raise DatasetError(f"{where} must be a non-empty JSON object, got {_short(raw)}. {LABEL_MAP_FORMAT}")
    out: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip():
            raise DatasetError(f"{where}: class names must be non-empty strings, got {key!r}. {LABEL_MAP_FORMAT}")
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise DatasetError(f"{where}: entry {key!r} must be a list of model labels, got {_short(value)}. "
                               f"{LABEL_MAP_FORMAT}")
        entries = set()
        for e in value:
            if isinstance(e, bool) or not isinstance(e, (str, int)):
                raise DatasetError(f"{where}: entry {key!r} holds {e!r}; each item must be a model label name "
                                   f"or a class index. {LABEL_MAP_FORMAT}")
            text = str(e).strip()
            if _SIGNED_INT.match(text) and int(text) < 0:
                raise DatasetError(f"{where}: entry {key!r} holds the class index {text}; class indices count from 0 "
                                   f"(0 .. number of model labels - 1). {LABEL_MAP_FORMAT}")
            if not text:
                raise DatasetError(f"{where}: entry {key!r} holds an empty label. {LABEL_MAP_FORMAT}")
            entries.add(text.lstrip("+") if _SIGNED_INT.match(text) else text)
        out[key] = frozenset(entries)
    return out


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def apply_label_map(images: list[TargetImage], mapping: dict[str, frozenset[str]], spec: object
                     ) -> tuple[list[TargetImage], dict[str, frozenset[str]], list[ValidationIssue]]:
    """Match dataset classes to map keys (exactly, else by normalised name); unmatched classes are unmapped."""
    by_norm: dict[str, str] = {}
    for key in mapping:
        other = by_norm.setdefault(normalize_label(key), key)
        if other != key:
            raise DatasetError(f"label map keys {other!r} and {key!r} name the same class (case, '_', '-' and "
                               f"spaces are ignored when matching folder names); keep one")
    classes = sorted({im.class_name for im in images})
    resolved: dict[str, frozenset[str]] = {}
    for c in classes:
        key = c if c in mapping else by_norm.get(normalize_label(c))
        if key is not None:
            resolved[c] = mapping[key]
    where = str(spec) if isinstance(spec, (str, Path)) else "the label map"
    if images and not resolved:
        raise DatasetError(f"no dataset class is in {where}: dataset classes are {', '.join(classes)}; map keys "
                           f"are {', '.join(sorted(mapping)[:10])}. Use the folder names as keys. {LABEL_MAP_FORMAT}")
    issues = [ValidationIssue(im.path, "unmapped_class", f"class {im.class_name!r} is not in {where}")
              for im in images if im.class_name not in resolved]
    kept = [im for im in images if im.class_name in resolved]
    return kept, resolved, issues


def check_label_map(mapping: Mapping[str, frozenset[str]], label_spaces: Sequence[Sequence[str]]) -> None:
    """Refuse entries that can never match: an index out of range of every label space, a name in none of them.

    Raised before any evaluation, with the valid range and examples, so a typo is not scored as "always wrong".
    """
    spaces = [tuple(s) for s in label_spaces if s]
    if not spaces:
        return
    names = {normalize_label(label) for space in spaces for label in space}
    largest = max(len(s) for s in spaces)
    sizes = sorted({len(s) for s in spaces})
    for key, entries in mapping.items():
        for entry in sorted(entries):
            if is_index(entry):
                if int(entry) >= largest:
                    ranges = " or ".join(f"0..{n - 1}" for n in sizes)
                    raise DatasetError(f"label map entry {key!r}: class index {entry} is out of range; the candidate "
                                       f"models' labels are indexed {ranges}. Use an index in range or a label name")
            elif normalize_label(entry) not in names:
                close = suggest_labels(entry, names)
                hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
                example = ", ".join(repr(x) for x in spaces[0][:3])
                raise DatasetError(f"label map entry {key!r}: {entry!r} is not a label of any candidate model; "
                                   f"{hint}labels look like {example} (or use a class index 0..{largest - 1})")


def suggest_labels(entry: str, names: set[str], n: int = 3) -> list[str]:
    import difflib
    return difflib.get_close_matches(normalize_label(entry), sorted(names), n=n, cutoff=0.6)
