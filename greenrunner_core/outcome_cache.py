"""Persistent outcome cache: (model, weights_id, preprocess id, image content hash) -> top-1 prediction.

It stores *predictions*, not correctness: correctness is derived later from the label map, so relabelling never
invalidates it, and the same image bytes under two paths share one entry. SQLite in WAL mode (stdlib, no
server) lets several processes read and write the same file safely.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from greenrunner_core.energy_kind import NOT_MEASURED, EnergyKind
from greenrunner_core.errors import GreenRunnerError

__all__ = ["CacheStats", "Outcome", "OutcomeCache"]


@dataclass(frozen=True)
class Outcome:
    """What one evaluation call produced: the model's top-1 class index, its probability, its cost."""

    prediction: int
    prob: float
    seconds: float        # compute seconds of this call when it was first computed
    joules: float | None = None      # energy of this call (its batch's / batch size); None = not recorded
    energy_kind: EnergyKind = NOT_MEASURED   # how ``joules`` was obtained (stored as its code; old rows: words)
    batch: int | None = None         # images in the batch that computed it (None: not recorded, older rows)

    def __post_init__(self) -> None:
        if not isinstance(self.energy_kind, EnergyKind):
            object.__setattr__(self, "energy_kind", EnergyKind.revive(self.energy_kind))


@dataclass(frozen=True)
class CacheStats:
    rows: int
    path: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    model         TEXT    NOT NULL,
    weights_id    TEXT    NOT NULL,
    preprocess_id TEXT    NOT NULL,
    image_id      TEXT    NOT NULL,
    prediction    INTEGER NOT NULL,
    prob          REAL    NOT NULL,
    seconds       REAL    NOT NULL,
    created       REAL    NOT NULL,
    joules        REAL,
    energy_kind   TEXT,
    batch         INTEGER,
    PRIMARY KEY (model, weights_id, preprocess_id, image_id)
) WITHOUT ROWID
"""
# columns added after the first release: (name, SQL type); older caches get them (NULL) on open
_MIGRATIONS = (("joules", "REAL"), ("energy_kind", "TEXT"), ("batch", "INTEGER"))
_COLUMNS = ("model", "weights_id", "preprocess_id", "image_id", "prediction", "prob", "seconds", "created",
            "joules", "energy_kind", "batch")
_IN_CHUNK = 500          # SQLite host parameters per IN list (well under every SQLite build's limit)
_BUSY_TIMEOUT_MS = 30_000


class OutcomeCache:
    """Persistent (model, weights, preprocess, image bytes) -> prediction store, shared by processes.

    WAL journal + ``synchronous=NORMAL`` + a busy timeout make concurrent readers and writers in
    several processes safe; every ``put_many`` is its own committed transaction.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=_BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise GreenRunnerError(f"cannot open the outcome cache at {str(self.path)!r}: {exc}; "
                                   "pass a writable cache path") from exc
        self._conn = conn
        self._lock = threading.Lock()
        conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise GreenRunnerError(f"the outcome cache at {str(self.path)!r} cannot use WAL mode "
                                   f"(got {mode!r}); put it on a local filesystem")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the nullable columns newer versions store (energy) to a cache written by an older version."""
        def columns() -> set[str]:
            return {row[1] for row in self._conn.execute("PRAGMA table_info(outcomes)")}

        for name, sql_type in _MIGRATIONS:
            if name in columns():
                continue
            try:
                self._conn.execute(f"ALTER TABLE outcomes ADD COLUMN {name} {sql_type}")
            except sqlite3.OperationalError:
                if name not in columns():       # another process added it meanwhile: fine; anything else is not
                    raise

    # pickling reopens the same file (a connection itself cannot cross processes)
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (OutcomeCache, (str(self.path),))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get_many(self, model: str, weights_id: str, preprocess_id: str,
                 image_ids: Sequence[str]) -> dict[str, Outcome]:
        """Cached outcomes for those images (missing ones are absent), one query per 500 ids."""
        unique = list(dict.fromkeys(image_ids))
        out: dict[str, Outcome] = {}
        with self._lock:
            for start in range(0, len(unique), _IN_CHUNK):
                chunk = unique[start:start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    "SELECT image_id, prediction, prob, seconds, joules, energy_kind, batch FROM outcomes "
                    f"WHERE model=? AND weights_id=? AND preprocess_id=? AND image_id IN ({marks})",
                    (model, weights_id, preprocess_id, *chunk))
                for image_id, prediction, prob, seconds, joules, kind, batch in rows:
                    out[image_id] = Outcome(int(prediction), float(prob), float(seconds),
                                            None if joules is None else float(joules), EnergyKind.revive(kind),
                                            None if batch is None else int(batch))
        return out

    def put_many(self, model: str, weights_id: str, preprocess_id: str,
                 outcomes: Mapping[str, Outcome]) -> None:
        """Store outcomes (image id -> Outcome) in one committed transaction."""
        if not outcomes:
            return
        now = time.time()
        rows = [(model, weights_id, preprocess_id, image_id, int(o.prediction), float(o.prob),
                 float(o.seconds), now, None if o.joules is None else float(o.joules), o.energy_kind.to_code() or None,
                 None if o.batch is None else int(o.batch))
                for image_id, o in outcomes.items()]
        insert = (f"INSERT OR REPLACE INTO outcomes ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_COLUMNS))})")
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")   # take the write lock up front: no upgrade deadlock in WAL
                conn.executemany(insert, rows)
                conn.execute("COMMIT")
            except BaseException:            # includes KeyboardInterrupt: never leave a transaction open
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def mean_seconds(self, model: str, weights_id: str, preprocess_id: str) -> tuple[float, int] | None:
        """The mean compute seconds per call of this model's cached outcomes and how many there are (None: none),
        for time estimates measured on this machine rather than scaled from MACs."""
        with self._lock:
            mean, count = self._conn.execute(
                "SELECT AVG(seconds), COUNT(*) FROM outcomes WHERE model=? AND weights_id=? AND preprocess_id=?",
                (model, weights_id, preprocess_id)).fetchone()
        return (float(mean), int(count)) if count else None

    def stats(self) -> CacheStats:
        with self._lock:
            (rows,) = self._conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()
        return CacheStats(rows=int(rows), path=str(self.path))
