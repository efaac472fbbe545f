"""Evaluation calls (one model on one image), answered from a persistent cache before any compute.

Three layers, each usable alone:

* ``OutcomeCache`` — SQLite (WAL) store of *predictions* keyed by (model, weights_id, preprocess id,
  image content hash). Correctness is derived later from the label map, so relabelling never
  invalidates it; the same image bytes under two paths share one entry.
* ``PullTask`` / ``run_pull_task`` — a pure, picklable unit of compute (later shipped to Ray workers):
  decode + preprocess a few images, batched forward under ``torch.inference_mode()``.
* ``Evaluator`` / ``LiveEnvironment`` — cache first, compute only what is missing (one batch per
  transaction, so an interruption loses at most the batch in flight), with per-model accounting.

Energy: an ``EnergyMeter`` (``greenrunner_core.energy``; injected, default RAPL or a labelled estimate)
measures every computed batch; the per-call share is stored with each outcome, so a run answered from
the cache still reports what its evaluations cost.
"""
from __future__ import annotations

import functools
import gc
import io
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import torch
from PIL import Image
from torchvision.io import ImageReadMode
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from greenrunner_core.energy import CarbonIntensity, EnergyLedger, EnergyMeter, EnergyReading, default_meter
from greenrunner_core.environment import Accounting, ModelFailedError
from greenrunner_core.errors import DatasetError, GreenRunnerError
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.card import ModelCard, Preprocess

if TYPE_CHECKING:  # data.py is only needed for type hints; the evaluator uses its documented attributes
    from greenrunner_core.data import TargetDataset, TargetImage

__all__ = [
    "CacheStats",
    "Evaluator",
    "LiveEnvironment",
    "Outcome",
    "OutcomeCache",
    "PullResult",
    "PullTask",
    "release_models",
    "run_pull_task",
]


# --------------------------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class Outcome:
    """What one evaluation call produced: the model's top-1 class index, its probability, its cost."""

    prediction: int
    prob: float
    seconds: float        # compute seconds of this call when it was first computed
    joules: float | None = None      # energy of this call (its batch's / batch size); None = not recorded
    energy_kind: str | None = None   # how ``joules`` was obtained, e.g. "measured (RAPL)", "estimated (time x W)"


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
    PRIMARY KEY (model, weights_id, preprocess_id, image_id)
) WITHOUT ROWID
"""
# columns added after the first release: (name, SQL type); older caches get them (NULL) on open
_MIGRATIONS = (("joules", "REAL"), ("energy_kind", "TEXT"))
_COLUMNS = ("model", "weights_id", "preprocess_id", "image_id", "prediction", "prob", "seconds", "created",
            "joules", "energy_kind")
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
                    "SELECT image_id, prediction, prob, seconds, joules, energy_kind FROM outcomes "
                    f"WHERE model=? AND weights_id=? AND preprocess_id=? AND image_id IN ({marks})",
                    (model, weights_id, preprocess_id, *chunk))
                for image_id, prediction, prob, seconds, joules, kind in rows:
                    out[image_id] = Outcome(int(prediction), float(prob), float(seconds),
                                            None if joules is None else float(joules), kind)
        return out

    def put_many(self, model: str, weights_id: str, preprocess_id: str,
                 outcomes: Mapping[str, Outcome]) -> None:
        """Store outcomes (image id -> Outcome) in one committed transaction."""
        if not outcomes:
            return
        now = time.time()
        rows = [(model, weights_id, preprocess_id, image_id, int(o.prediction), float(o.prob),
                 float(o.seconds), now, None if o.joules is None else float(o.joules), o.energy_kind)
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

    def stats(self) -> CacheStats:
        with self._lock:
            (rows,) = self._conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()
        return CacheStats(rows=int(rows), path=str(self.path))


# ------------------------------------------------------------------------------------- pull (compute)


@dataclass(frozen=True)
class PullTask:
    """One model on a few images: everything a worker process needs, nothing it cannot unpickle."""

    source: ModelSource                      # picklable (plain dataclass holding paths/settings)
    card: ModelCard
    dataset_root: str
    images: tuple[tuple[str, str], ...]      # (image_id, path relative to dataset_root)
    batch_size: int = 64
    meter: EnergyMeter | None = None         # measures each batch (and a model load); picklable

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"PullTask batch_size must be >= 1 (got {self.batch_size})")


@dataclass(frozen=True)
class PullResult:
    """Top-1 predictions for the task's images, in order, and what they cost."""

    image_ids: tuple[str, ...]
    predictions: list[int]
    probs: list[float]
    seconds: float                            # decode + preprocess + forward, all images (no model load)
    call_seconds: list[float] = field(default_factory=list)   # per image: its batch's seconds / batch size
    load_seconds: float = 0.0                 # model load time paid by this task (0 when already loaded)
    call_joules: list[float | None] = field(default_factory=list)   # per image: its batch's joules / batch size
    load_joules: float = 0.0                  # energy of the model load paid by this task
    energy_kind: str | None = None            # the meter's kind (None: no meter)

    @property
    def joules(self) -> float:
        """Energy of the batches (no model load); 0 when nothing was measured."""
        return float(sum(j for j in self.call_joules if j is not None))

    def outcomes(self) -> dict[str, Outcome]:
        joules = self.call_joules or [None] * len(self.image_ids)
        return {i: Outcome(p, q, s, j, self.energy_kind if j is not None else None) for i, p, q, s, j in
                zip(self.image_ids, self.predictions, self.probs, self.call_seconds, joules, strict=True)}


_MAX_MODELS = 2
_models: OrderedDict[tuple[str, str, str], torch.nn.Module] = OrderedDict()
_models_lock = threading.Lock()
_decoder: tuple[int, ThreadPoolExecutor] | None = None   # (owning pid, pool): a forked child makes its own


def _model_key(source: ModelSource, card: ModelCard) -> tuple[str, str, str]:
    return (source.name, card.name, card.weights_id)


def _get_model(source: ModelSource, card: ModelCard) -> tuple[torch.nn.Module, float]:
    """The loaded model from the process-local LRU (at most two), loading it on a miss."""
    key = _model_key(source, card)
    with _models_lock:
        if key in _models:
            _models.move_to_end(key)
            return _models[key], 0.0
    start = time.perf_counter()
    model = source.load(card)
    model.eval()
    seconds = time.perf_counter() - start
    with _models_lock:
        _models[key] = model
        _models.move_to_end(key)
        while len(_models) > _MAX_MODELS:
            _models.popitem(last=False)
    return model, seconds


def release_models(source: ModelSource | None = None, card: ModelCard | None = None) -> None:
    """Drop loaded models from this process: one (source + card) or all (no arguments)."""
    with _models_lock:
        if source is not None and card is not None:
            dropped = _models.pop(_model_key(source, card), None) is not None
        else:
            dropped = bool(_models)
            _models.clear()
    if dropped:
        gc.collect()


def _decode_pool() -> ThreadPoolExecutor:
    # torchvision's decode ops and PIL release the GIL while decoding/resizing: threads overlap file reads + decodes
    global _decoder
    with _models_lock:
        if _decoder is None or _decoder[0] != os.getpid():
            _decoder = (os.getpid(), ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)),
                                                        thread_name_prefix="greenrunner-decode"))
        return _decoder[1]


def _interpolation(name: str) -> InterpolationMode:
    try:
        return InterpolationMode(name.lower())
    except ValueError:
        choices = ", ".join(m.value for m in InterpolationMode)
        raise ValueError(f"unknown interpolation {name!r} in a model card; use one of: {choices}") from None


_TENSOR_INTERPOLATIONS = frozenset({InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                                    InterpolationMode.BILINEAR, InterpolationMode.BICUBIC})
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_LARGE_JPEG_BYTES = 256 * 1024   # above this, PIL's reduced-scale JPEG decoding (draft) beats a full decode


@dataclass(frozen=True)
class _Prep:
    """Preprocess resolved once per task (modes, target sizes, normalisation tensors)."""

    channels: int
    pil_mode: str
    read_mode: ImageReadMode
    short_side: int
    crop: tuple[int, int]
    interpolation: InterpolationMode
    tensor_resize: bool        # torchvision resizes uint8 tensors with this interpolation (else PIL does)
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def of(cls, p: Preprocess) -> _Prep:
        if p.channels not in (1, 3):
            raise ValueError(f"preprocess channels must be 1 or 3 (got {p.channels})")
        if len(p.mean) != p.channels or len(p.std) != p.channels:
            raise ValueError(f"preprocess mean/std need {p.channels} values (got {p.mean}, {p.std})")
        crop = (int(p.crop[0]), int(p.crop[1]))
        # resize=None: shorter side to the crop's larger side, so the centre crop keeps the aspect ratio
        short = int(p.resize) if p.resize else max(crop)
        interpolation = _interpolation(p.interpolation)
        shape = (1, p.channels, 1, 1)
        return cls(channels=p.channels, pil_mode="L" if p.channels == 1 else "RGB",
                   read_mode=ImageReadMode.GRAY if p.channels == 1 else ImageReadMode.RGB,
                   short_side=short, crop=crop, interpolation=interpolation,
                   tensor_resize=interpolation in _TENSOR_INTERPOLATIONS,
                   mean=torch.tensor(p.mean, dtype=torch.float32).view(shape),
                   std=torch.tensor(p.std, dtype=torch.float32).view(shape))


@functools.cache
def _tv_decoders() -> tuple[Any, Any] | None:
    """torchvision's libjpeg-turbo / libpng decode ops, called directly.

    The public ``torchvision.io.decode_*`` wrappers (deprecated since torchvision 0.29 in favour of
    TorchCodec) add a warning and argument parsing per call that cost as much as decoding a small
    image. None when the ops are unavailable: PIL then decodes everything.
    """
    try:
        import torchvision.io  # noqa: F401  (loads the image extension that registers the ops)
        return torch.ops.image.decode_jpeg, torch.ops.image.decode_png
    except (ImportError, AttributeError, RuntimeError):
        return None


def _fast_decode(data: bytearray, prep: _Prep) -> torch.Tensor | None:
    """JPEG/PNG straight to a uint8 CHW tensor (libjpeg-turbo / libpng); None when PIL should decode it."""
    is_jpeg = data[:3] == _JPEG_MAGIC
    if not prep.tensor_resize or not (is_jpeg or data[:8] == _PNG_MAGIC):
        return None
    if is_jpeg and len(data) > _LARGE_JPEG_BYTES:
        return None
    decoders = _tv_decoders()
    if decoders is None:
        return None
    raw = torch.frombuffer(data, dtype=torch.uint8)
    try:
        x = decoders[0 if is_jpeg else 1](raw, prep.read_mode.value, False)   # (data, mode, exif orientation)
    except RuntimeError:          # unusual variant (e.g. some CMYK/16-bit files): PIL decodes it
        return None
    if x.dtype != torch.uint8:
        x = TF.to_dtype(x, torch.uint8, scale=True)
    return x if x.ndim == 3 and x.shape[0] == prep.channels else None


def _pil_decode(data: bytearray, prep: _Prep) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is that much larger than
        # needed (never below the resize target) — the main decode cost for large photos
        img.draft(None, (prep.short_side, prep.short_side))
        return img.convert(prep.pil_mode)


def _load_one(path: Path, prep: _Prep) -> torch.Tensor:
    """Decode + resize (shorter side) + centre crop -> uint8 CHW tensor."""
    try:
        data = bytearray(path.read_bytes())
        x = _fast_decode(data, prep)
        img = _pil_decode(data, prep) if x is None else None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"cannot read image {str(path)!r}: {exc}; remove or replace the file") from exc
    if img is not None:
        if prep.tensor_resize:
            x = TF.pil_to_tensor(img)
        else:                     # PIL-only filters (box, hamming, lanczos)
            if min(img.size) != prep.short_side:
                img = TF.resize(img, [prep.short_side], interpolation=prep.interpolation, antialias=True)
            return TF.pil_to_tensor(TF.center_crop(img, list(prep.crop)))
    assert x is not None
    if min(x.shape[-2:]) != prep.short_side:
        x = TF.resize(x, [prep.short_side], interpolation=prep.interpolation, antialias=True)
    if tuple(x.shape[-2:]) != prep.crop:
        x = TF.center_crop(x, list(prep.crop))
    return x


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _logits(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)           # e.g. HF-style output objects
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]                                 # e.g. (logits, aux)
    raise TypeError(f"model returned {type(output).__name__}, expected a (batch, classes) tensor of scores")


def _meter_start(meter: EnergyMeter | None) -> bool:
    if meter is None:
        return False
    try:
        meter.start()
        return True
    except (OSError, ValueError, GreenRunnerError):   # a counter that vanished must not fail the evaluation
        return False


def _meter_stop(meter: EnergyMeter | None, started: bool) -> EnergyReading | None:
    if meter is None or not started:
        return None
    try:
        return meter.stop()
    except (OSError, ValueError, GreenRunnerError):
        return None


def run_pull_task(task: PullTask) -> PullResult:
    """Top-1 prediction of ``task.card`` on each of ``task.images`` (pure; safe in a worker process).

    With ``task.meter``, each batch's energy (decode + preprocess + forward, the same span as its
    seconds) is split evenly over its images; a model load is measured on its own.
    """
    prep = _Prep.of(task.card.preprocess)
    n_classes = len(task.card.class_labels)
    meter = task.meter
    started = _meter_start(meter)
    model, load_seconds = _get_model(task.source, task.card)
    load_reading = _meter_stop(meter, started)
    load_joules = load_reading.joules if load_reading is not None and load_seconds > 0 else 0.0
    root = Path(task.dataset_root)
    pool = _decode_pool()
    predictions: list[int] = []
    probs: list[float] = []
    call_seconds: list[float] = []
    call_joules: list[float | None] = []
    kind: str | None = None
    total = 0.0
    for batch in _batches(task.images, task.batch_size):
        started = _meter_start(meter)
        start = time.perf_counter()
        tensors = list(pool.map(lambda item: _load_one(root / item[1], prep), batch))
        x = torch.stack(tensors).to(torch.float32).mul_(1.0 / 255.0).sub_(prep.mean).div_(prep.std)
        with torch.inference_mode():
            scores = _logits(model(x))
            if scores.ndim != 2 or scores.shape[0] != len(batch) or scores.shape[1] != n_classes:
                raise ValueError(f"model {task.card.name!r} returned scores of shape {tuple(scores.shape)}; "
                                 f"expected ({len(batch)}, {n_classes}) to match its {n_classes} class labels")
            top_prob, top_idx = torch.softmax(scores.float(), dim=1).max(dim=1)
        seconds = time.perf_counter() - start
        reading = _meter_stop(meter, started)
        total += seconds
        predictions.extend(int(i) for i in top_idx.tolist())
        probs.extend(float(p) for p in top_prob.tolist())
        call_seconds.extend([seconds / len(batch)] * len(batch))
        call_joules.extend([None if reading is None else reading.joules / len(batch)] * len(batch))
        if reading is not None:
            kind = reading.kind
    return PullResult(image_ids=tuple(i for i, _ in task.images), predictions=predictions, probs=probs,
                      seconds=total, call_seconds=call_seconds, load_seconds=load_seconds,
                      call_joules=call_joules if meter is not None else [], load_joules=load_joules,
                      energy_kind=kind if kind is not None else (load_reading.kind if load_reading else None))


# ------------------------------------------------------------------------------------------ evaluator


def _failure_reason(exc: Exception) -> str:
    # our own errors are already actionable sentences; others keep their type for diagnosis
    return str(exc) if isinstance(exc, GreenRunnerError) else f"{type(exc).__name__}: {exc}"


class Evaluator:
    """Answers evaluation calls from the cache first and computes only the missing ones, batch by batch."""

    def __init__(self, registry: Registry, dataset: TargetDataset, cache: OutcomeCache,
                 batch_size: int = 64, accounting: Accounting | None = None, *,
                 meter: EnergyMeter | None = None, energy: EnergyLedger | None = None) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1 (got {batch_size})")
        self.registry = registry
        self.dataset = dataset
        self.cache = cache
        self.batch_size = batch_size
        self.accounting = accounting if accounting is not None else Accounting()
        self.meter: EnergyMeter = meter if meter is not None else default_meter()
        self.energy = energy if energy is not None else EnergyLedger(kind=self.meter.kind, detail=self.meter.detail)

    def predict(self, card: ModelCard, images: Sequence[TargetImage]) -> list[Outcome]:
        """Outcomes (same order as ``images``) of ``card`` on those images.

        Raises ``ModelFailedError`` when the model cannot be loaded or run (batches finished before
        the failure stay cached); ``DatasetError`` for an unreadable image; ``KeyboardInterrupt``
        propagates untouched, after the batches already computed were committed.
        """
        account = self.accounting.account(card.name)
        energy = self.energy.account(card.name)
        key = (card.name, card.weights_id, card.preprocess.id)
        known = self.cache.get_many(*key, [img.id for img in images])
        missing: dict[str, str] = {}
        for img in images:
            if img.id not in known and img.id not in missing:
                missing[img.id] = img.path
        if missing:
            source = self.registry.source_of(card.name)
            todo = list(missing.items())
            for batch in _batches(todo, self.batch_size):
                task = PullTask(source=source, card=card, dataset_root=str(self.dataset.root),
                                images=tuple(batch), batch_size=self.batch_size, meter=self.meter)
                start = time.perf_counter()
                try:
                    result = run_pull_task(task)
                except DatasetError:
                    raise
                except Exception as exc:
                    release_models(source, card)
                    raise ModelFailedError(card.name, _failure_reason(exc)) from exc
                finally:
                    account.seconds += time.perf_counter() - start
                new = result.outcomes()
                self.cache.put_many(*key, new)
                known.update(new)
                account.new_evaluations += len(new)
                energy.spent_joules += result.joules + result.load_joules
                energy.load_joules += result.load_joules
        outcomes = [known[img.id] for img in images]
        account.calls += len(images)
        account.cache_hits += len(images) - len(missing)
        account.compute_seconds += sum(o.seconds for o in outcomes)
        account.macs += len(images) * card.macs
        for o in outcomes:
            if o.joules is not None:
                energy.joules += o.joules
                energy.known_calls += 1
                if o.energy_kind:
                    energy.kinds.add(o.energy_kind)
        return outcomes


class LiveEnvironment:
    """The ``Environment`` a strategy pulls from during a real run: correctness from live/cached predictions."""

    def __init__(self, registry: Registry, cards: Sequence[ModelCard], dataset: TargetDataset,
                 cache: OutcomeCache, batch_size: int = 64, *, meter: EnergyMeter | None = None,
                 carbon: CarbonIntensity | None = None) -> None:
        self.cards: list[ModelCard] = list(cards)
        self.dataset = dataset
        self.images: list[TargetImage] = list(dataset.images)
        self.image_ids: list[str] = [img.id for img in self.images]
        self.accounting = Accounting()
        meter = meter if meter is not None else default_meter()
        self.energy = EnergyLedger(kind=meter.kind, detail=meter.detail)
        if carbon is not None:
            self.energy.carbon = carbon
        self.evaluator = Evaluator(registry, dataset, cache, batch_size=batch_size, accounting=self.accounting,
                                   meter=meter, energy=self.energy)
        self._allowed: dict[tuple[str, ...], dict[str, frozenset[int]]] = {}

    def _allowed_for(self, card: ModelCard, class_name: str) -> frozenset[int]:
        per_class = self._allowed.setdefault(card.class_labels, {})
        allowed = per_class.get(class_name)
        if allowed is None:
            allowed = per_class[class_name] = frozenset(self.dataset.allowed_indices(class_name, card.class_labels))
        return allowed

    def pull(self, model_index: int, image_indices: Sequence[int]) -> np.ndarray:
        if not 0 <= model_index < len(self.cards):
            raise IndexError(f"model index {model_index} out of range: this environment has "
                             f"{len(self.cards)} models (0..{len(self.cards) - 1})")
        bad = [i for i in image_indices if not 0 <= i < len(self.images)]
        if bad:
            raise IndexError(f"image indices {bad[:5]} out of range: the dataset has "
                             f"{len(self.images)} images (0..{len(self.images) - 1})")
        card = self.cards[model_index]
        images = [self.images[i] for i in image_indices]
        outcomes = self.evaluator.predict(card, images)
        return np.fromiter((o.prediction in self._allowed_for(card, img.class_name)
                            for img, o in zip(images, outcomes, strict=True)), dtype=bool, count=len(images))
