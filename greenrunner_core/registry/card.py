"""Typed, frozen metadata for one candidate model, and how its inputs are prepared."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Preprocess:
    """How an image becomes the model's input tensor. ``id`` is part of every cache key."""

    crop: tuple[int, int]                 # (H, W) fed to the model
    mean: tuple[float, ...]
    std: tuple[float, ...]
    channels: int = 3                     # 1 = grayscale ("L"), 3 = RGB
    resize: int | None = None             # resize shorter side to this before a centre crop
    interpolation: str = "bilinear"

    @property
    def id(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def input_size(self) -> tuple[int, int, int]:
        return (self.channels, *self.crop)


@dataclass(frozen=True)
class ModelCard:
    """Everything known about a candidate before evaluating it on the target."""

    name: str
    source: str                           # "torchvision" | "local" | "cifar10" | "demo" | ...
    family: str
    params: int
    size_mb: float
    macs: int                             # multiply-accumulates per image
    preprocess: Preprocess | None         # None: a replay-only card (outcomes recorded elsewhere; cannot run live)
    class_labels: tuple[str, ...]         # () when unknown (replay-only cards need none)
    weights_id: str                       # changes whenever the weights change (hash or enum id)
    benchmark_accuracy: float | None = None   # published / clean-test top-1 in [0, 1]
    benchmark_dataset: str | None = None
    description: str = ""
    metrics: tuple[tuple[str, float], ...] = field(default_factory=tuple)  # extra measured metrics
    shifted_accuracy: tuple[tuple[str, float], ...] = ()  # published top-1 on shifted test sets, e.g. ("sketch", 0.31)
    pretraining_data: str | None = None   # e.g. "in1k", "in22k", "laion2b" (hub models)
    label_set: str | None = None          # e.g. "imagenet-1k": models of one label set agree on class indices
    benchmark_self_reported: bool = False  # the top-1 is the model card's own claim (Hub model-index), not a table

    def __post_init__(self) -> None:
        if self.params <= 0 or self.size_mb <= 0 or self.macs <= 0:
            raise ValueError(f"model card {self.name!r}: params, size_mb and macs must be > 0 "
                             f"(got {self.params}, {self.size_mb}, {self.macs})")
        if self.benchmark_accuracy is not None and not 0.0 <= self.benchmark_accuracy <= 1.0:
            raise ValueError(f"model card {self.name!r}: benchmark_accuracy {self.benchmark_accuracy} not in [0, 1]")

    @property
    def input_size(self) -> tuple[int, int, int]:
        if self.preprocess is None:
            raise ValueError(f"model card {self.name!r} is replay-only (no preprocessing known); it cannot be "
                             "evaluated live — replay its recorded outcomes instead")
        return self.preprocess.input_size

    @property
    def shifted_top1(self) -> float | None:
        """Mean published top-1 over the shifted test sets (ImageNetV2, Sketch, R, A), None when unpublished."""
        values = [v for _, v in self.shifted_accuracy]
        return sum(values) / len(values) if values else None

    def known_metrics(self) -> dict[str, float]:
        """Metrics known before any evaluation (reward names -> raw value)."""
        known = {"size": float(self.size_mb), "complexity": float(self.macs)}
        known.update(dict(self.metrics))
        return known

    def with_metrics(self, **metrics: float) -> ModelCard:
        merged = dict(self.metrics)
        merged.update(metrics)
        from dataclasses import replace
        return replace(self, metrics=tuple(sorted(merged.items())))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["metrics"] = dict(self.metrics)
        data["class_labels"] = list(self.class_labels) if len(self.class_labels) <= 20 else f"{len(self.class_labels)} classes"
        return data
