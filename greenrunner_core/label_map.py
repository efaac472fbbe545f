"""Label maps: which model labels count as correct for each dataset class (JSON file or dict), and name matching."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from greenrunner_core.dataset_scan import TargetImage, ValidationIssue
from greenrunner_core.errors import DatasetError

__all__ = ["LABEL_MAP_FORMAT", "apply_label_map", "load_label_map", "normalize_label"]

LABEL_MAP_FORMAT = ('A label map is a JSON object mapping each dataset class (folder name) to a LIST of model '
                     'labels counted as correct, e.g. {"chair": ["folding chair", "rocking chair"], '
                     '"cup": ["cup", "968"]} (entries are label names or class indices as strings).')


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
            if isinstance(e, bool) or not isinstance(e, (str, int)) or (isinstance(e, int) and e < 0):
                raise DatasetError(f"{where}: entry {key!r} holds {e!r}; each item must be a model label name "
                                   f"or a class index. {LABEL_MAP_FORMAT}")
            entries.add(str(e).strip())
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
