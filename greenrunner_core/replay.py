"""Run strategies on a recorded outcome matrix (models x images) instead of live models.

A matrix is recorded from a brute-force run (``greenrunner record``) or generated for benchmarks; it
holds per-call correctness, the model cards and the seconds each call cost when it was computed.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from greenrunner_core.environment import Accounting
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard, Preprocess

FORMAT_VERSION = 1


@dataclass
class OutcomeMatrix:
    cards: list[ModelCard]
    image_ids: list[str]
    correct: np.ndarray                       # bool (n_models, n_images)
    seconds_per_call: np.ndarray | None = None  # float (n_models,)
    name: str = "recorded"

    def __post_init__(self) -> None:
        self.correct = np.asarray(self.correct, dtype=bool)
        expected = (len(self.cards), len(self.image_ids))
        if self.correct.shape != expected:
            raise GreenRunnerError(f"outcome matrix has shape {self.correct.shape}, expected (models, images) = {expected}")
        if self.seconds_per_call is None:
            self.seconds_per_call = np.zeros(len(self.cards))

    @property
    def accuracy(self) -> np.ndarray:
        return self.correct.mean(axis=1)

    def subset(self, models: Sequence[int] | None = None, images: Sequence[int] | None = None) -> OutcomeMatrix:
        m = np.arange(len(self.cards)) if models is None else np.asarray(models)
        i = np.arange(len(self.image_ids)) if images is None else np.asarray(images)
        return OutcomeMatrix([self.cards[k] for k in m], [self.image_ids[k] for k in i], self.correct[np.ix_(m, i)],
                             self.seconds_per_call[m], self.name)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"version": FORMAT_VERSION, "name": self.name, "image_ids": self.image_ids,
                "cards": [_card_to_json(c) for c in self.cards]}
        np.savez_compressed(path, correct=np.packbits(self.correct, axis=1), n_images=len(self.image_ids),
                            seconds_per_call=self.seconds_per_call, meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path: str | Path) -> OutcomeMatrix:
        path = Path(path)
        if not path.exists():
            raise GreenRunnerError(f"outcome matrix {str(path)!r} does not exist; record one with `greenrunner record`")
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                n_images = int(data["n_images"])
                correct = np.unpackbits(data["correct"], axis=1, count=n_images).astype(bool)
                seconds = np.asarray(data["seconds_per_call"], dtype=float)
        except (OSError, KeyError, ValueError) as err:
            raise GreenRunnerError(f"{str(path)!r} is not a GreenRunner outcome matrix ({err}); make one with "
                                   "`greenrunner record --out FILE.npz`, or give the models' table of an outcomes "
                                   ".npz with `greenrunner replay FILE.npz --table CSV`") from None
        if meta.get("version") != FORMAT_VERSION:
            raise GreenRunnerError(f"{str(path)!r} has format version {meta.get('version')}, expected {FORMAT_VERSION}")
        cards = [_card_from_json(c) for c in meta["cards"]]
        return cls(cards, list(meta["image_ids"]), correct, seconds, meta.get("name", path.stem))


def _card_to_json(card: ModelCard) -> dict:
    data = asdict(card)
    data["metrics"] = dict(card.metrics)
    return data


def _card_from_json(data: dict) -> ModelCard:
    data = dict(data)
    pre = data.pop("preprocess")
    if pre is not None:
        pre["crop"] = tuple(pre["crop"])
        pre["mean"] = tuple(pre["mean"])
        pre["std"] = tuple(pre["std"])
    data["preprocess"] = None if pre is None else Preprocess(**pre)
    data["class_labels"] = tuple(data["class_labels"])
    data["metrics"] = tuple(sorted(dict(data.get("metrics") or {}).items()))
    data["shifted_accuracy"] = tuple((str(k), float(v)) for k, v in data.get("shifted_accuracy") or ())
    return ModelCard(**data)


TABLE_COLUMNS = {"name": "name", "family": "family", "params": "params", "macs": "macs", "size_mb": "file_mb",
                 "benchmark_accuracy": "imagenet_val_top1"}


def cards_from_table(path: str | Path, *, columns: Mapping[str, str] | None = None, source: str = "table",
                     benchmark_dataset: str | None = None) -> list[ModelCard]:
    """Replay-only model cards from a metadata CSV (one row per model).

    ``columns`` maps card fields (name, family, params, macs, size_mb, benchmark_accuracy) to CSV headers;
    the defaults read ``name, family, params, macs, file_mb, imagenet_val_top1``. Preprocessing and class
    labels are not invented: the cards have none (a replay needs neither) and cannot be evaluated live.
    """
    cols = {**TABLE_COLUMNS, **dict(columns or {})}
    path = Path(path)
    if not path.exists():
        raise GreenRunnerError(f"model table {str(path)!r} does not exist")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = [c for f, c in cols.items() if f != "family" and rows and c not in rows[0]]
    if not rows or missing:
        raise GreenRunnerError(f"model table {str(path)!r} lacks columns {missing or list(cols.values())}; map them with "
                               "columns={'size_mb': '<header>', ...}")
    out = []
    for row in rows:
        bench = row.get(cols["benchmark_accuracy"], "")
        out.append(ModelCard(name=row[cols["name"]], source=source, family=row.get(cols["family"], "") or "",
                             params=int(float(row[cols["params"]])), size_mb=float(row[cols["size_mb"]]),
                             macs=int(float(row[cols["macs"]])), preprocess=None, class_labels=(),
                             weights_id=f"{source}:{row[cols['name']]}",
                             benchmark_accuracy=float(bench) if bench not in ("", None) else None,
                             benchmark_dataset=benchmark_dataset))
    return out


def matrix_from_table(table: str | Path, outcomes: str | Path, *, columns: Mapping[str, str] | None = None,
                      name: str | None = None, benchmark_dataset: str | None = None) -> OutcomeMatrix:
    """An OutcomeMatrix from a metadata CSV plus an ``.npz`` of per-image correctness.

    The npz holds ``models`` (names, any order), ``correct`` (bool (models, images), or packed with
    ``np.packbits(axis=1)`` plus ``n_images``) and optionally ``image_ids``; rows are matched to the
    table by name, and a table model without outcomes is an error naming it.
    """
    cards = cards_from_table(table, columns=columns, source=Path(table).stem, benchmark_dataset=benchmark_dataset)
    path = Path(outcomes)
    if not path.exists():
        raise GreenRunnerError(f"outcomes file {str(path)!r} does not exist")
    with np.load(path, allow_pickle=False) as data:
        models = [str(m) for m in data["models"]]
        raw = data["correct"]
        if "n_images" in data.files:
            n_images = int(data["n_images"])
            correct = np.unpackbits(raw, axis=1, count=n_images).astype(bool) if raw.dtype == np.uint8 and \
                raw.shape[1] != n_images else raw.astype(bool)
        else:
            correct = raw.astype(bool)
        ids = [str(i) for i in data["image_ids"]] if "image_ids" in data.files else \
            [f"img{j}" for j in range(correct.shape[1])]
    row_of = {m: i for i, m in enumerate(models)}
    absent = [c.name for c in cards if c.name not in row_of]
    if absent:
        raise GreenRunnerError(f"no outcomes in {str(path)!r} for {', '.join(absent[:5])}; the table and the npz "
                               "must name the same models")
    rows = [row_of[c.name] for c in cards]
    return OutcomeMatrix(cards, ids, correct[rows], np.zeros(len(cards)), name=name or path.stem)


class ReplayEnvironment:
    """The Environment protocol over an OutcomeMatrix: pulls are lookups, costs are the recorded ones."""

    def __init__(self, matrix: OutcomeMatrix) -> None:
        self.matrix = matrix
        self.cards = matrix.cards
        self.image_ids = matrix.image_ids
        self.accounting = Accounting()

    def pull(self, model_index: int, image_indices: Sequence[int]) -> np.ndarray:
        idx = np.asarray(image_indices, dtype=np.int64)
        card = self.cards[model_index]
        account = self.accounting.account(card.name)
        account.calls += idx.size
        account.cache_hits += idx.size
        account.macs += idx.size * card.macs
        account.compute_seconds += idx.size * float(self.matrix.seconds_per_call[model_index])
        return self.matrix.correct[model_index, idx]
