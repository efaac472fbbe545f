"""JSON files shared by processes: writers merge instead of overwriting, a damaged file is ignored, writes are atomic."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from greenrunner_core.json_store import JsonEntries, merge_json, read_json_object, write_json_atomic


def test_two_writers_merge_instead_of_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.json"
    a, b = JsonEntries(path, "test cache"), JsonEntries(path, "test cache")
    a.put("x", {"v": 1})
    b.put("y", {"v": 2})                       # b never saw "x": it must keep it anyway
    assert json.loads(path.read_text()) == {"x": {"v": 1}, "y": {"v": 2}}
    assert len(JsonEntries(path, "test cache")) == 2 and len(b) == 2
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_damaged_or_foreign_file_reads_as_empty_and_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.write_text("{not json")
    assert read_json_object(path) == {}
    path.write_text("[1, 2]")
    store = JsonEntries(path, "test cache")
    assert len(store) == 0
    store.put("k", 3)
    assert read_json_object(path) == {"k": 3}


def test_in_memory_store_writes_nothing(tmp_path: Path) -> None:
    store = JsonEntries(None, "test cache")
    store.put("k", 1)
    assert store.get("k") == 1 and list(tmp_path.iterdir()) == []


def _add_many(path: str, worker: int) -> None:
    for i in range(20):
        merge_json(Path(path), {f"{worker}-{i}": i})


def test_concurrent_processes_lose_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    write_json_atomic(path, {})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_many, args=(str(path), w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert len(read_json_object(path)) == 60
