"""Small JSON files shared by processes: read leniently, merge with what is on disk, replace atomically.

``filelock`` serialises writers (read-merge-write is not atomic on its own); the temp file + ``os.replace``
means a reader never sees a half-written file, even one without the lock.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = ["JsonEntries", "merge_json", "read_json_object", "write_json_atomic"]

_log = logging.getLogger(__name__)


def read_json_object(path: Path, what: str = "JSON file") -> dict[str, Any]:
    """The JSON object in ``path``; {} when the file is missing, unreadable or not an object (logged)."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        _log.warning("ignoring unreadable %s %s (%s); it will be rewritten", what, path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temp file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def merge_json(path: Path, entries: Mapping[str, Any], what: str = "JSON file") -> dict[str, Any]:
    """Add ``entries`` to the JSON object in ``path`` (theirs win), under a lock; returns the merged object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock")):
        merged = read_json_object(path, what)
        merged.update(entries)
        write_json_atomic(path, merged)
    return merged


class JsonEntries:
    """String-keyed JSON entries in memory and, with a ``path``, in a file shared by processes.

    Every ``put`` merges with the file, so concurrent processes at worst compute an entry twice.
    """

    def __init__(self, path: str | os.PathLike[str] | None, what: str) -> None:
        self.path = Path(path) if path is not None else None
        self.what = what
        self._entries: dict[str, Any] = read_json_object(self.path, what) if self.path is not None else {}

    def get(self, key: str) -> Any:
        return self._entries.get(key)

    def put(self, key: str, entry: Any) -> None:
        self._entries[key] = entry
        if self.path is not None:
            self._entries = merge_json(self.path, self._entries, self.what)

    def __len__(self) -> int:
        return len(self._entries)
