"""Every torchvision ImageNet classifier as a candidate, described offline from its weights metadata.

Cards come from ``get_model_weights(name).DEFAULT.meta`` (no download). ``load`` uses torchvision's own
mechanism (the torch.hub checkpoint cache); when the file is not cached it downloads with a socket
timeout, so being offline gives a prompt ``WeightsUnavailableError`` instead of a hang.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

import torch
import torchvision
from torch import nn
from torchvision.models import get_model, get_model_builder, get_model_weights, get_weight, list_models

from greenrunner_core.errors import UnknownModelError, WeightsUnavailableError
from greenrunner_core.notes import SourceNote
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.label_sets import IMAGENET_1K
from greenrunner_core.registry.source_notes import ItemSkipped

_CHUNK = 1 << 20


def checkpoint_path(weights: torchvision.models.WeightsEnum) -> Path:
    """Where torchvision caches these weights: ``torch.hub.get_dir()/checkpoints/<file>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)


def download_with_timeout(url: str, destination: Path, timeout_s: float) -> None:
    """Download ``url`` to ``destination`` atomically, verifying torch.hub's ``-<sha256 prefix>.`` name."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    match = torch.hub.HASH_REGEX.search(destination.name)
    expected = match.group(1) if match else None
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=destination.name, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out, urlopen(Request(url, headers={"User-Agent": "torch.hub"}),
                                                 timeout=timeout_s) as response:
            while block := response.read(_CHUNK):
                out.write(block)
                digest.update(block)
        if expected and not digest.hexdigest().startswith(expected):
            raise OSError(f"downloaded file has sha256 {digest.hexdigest()[:12]}..., expected {expected}...")
        shutil.move(tmp, destination)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _family(name: str) -> str:
    """torchvision's module for the builder, e.g. resnet, vision_transformer, efficientnet."""
    return get_model_builder(name).__module__.rsplit(".", 1)[-1]


def _card(name: str, source: str) -> ModelCard:
    weights = get_model_weights(name).DEFAULT
    meta = weights.meta
    transform = weights.transforms()
    crop = int(transform.crop_size[0])
    resize = int(transform.resize_size[0]) if transform.resize_size else None
    acc = meta["_metrics"]["ImageNet-1K"]["acc@1"] / 100.0
    return ModelCard(
        name=name, source=source, family=_family(name),
        params=int(meta["num_params"]), size_mb=float(meta["_file_size"]),
        macs=round(float(meta["_ops"]) * 1e9),        # torchvision's "GFLOPS" count multiply-adds once
        preprocess=Preprocess(crop=(crop, crop), mean=tuple(transform.mean), std=tuple(transform.std),
                              resize=resize, interpolation=transform.interpolation.value),
        class_labels=tuple(meta["categories"]), weights_id=str(weights),
        benchmark_accuracy=acc, benchmark_dataset="ImageNet-1K", label_set=IMAGENET_1K,
        description=f"torchvision {name} with {weights} (ImageNet-1K top-1 {acc:.1%})",
    )


@dataclass
class TorchvisionSource:
    """A ``ModelSource`` over torchvision's classification models with their DEFAULT weights."""

    name: str = "torchvision"
    download_timeout_s: float = 20.0
    allow_download: bool = True
    notes: list[SourceNote] = field(default_factory=list, init=False)
    _cards: list[ModelCard] | None = field(default=None, init=False, repr=False, compare=False)

    def cards(self) -> list[ModelCard]:
        if self._cards is None:
            cards = []
            for model_name in list_models(module=torchvision.models):
                try:
                    cards.append(_card(model_name, self.name))
                except (KeyError, ValueError, AttributeError, TypeError) as exc:
                    self.notes.append(ItemSkipped(self.name, model_name, f"incomplete metadata ({exc})"))
            self._cards = cards
        return list(self._cards)

    def load(self, card: ModelCard) -> nn.Module:
        try:
            weights = get_weight(card.weights_id)
        except (ValueError, KeyError, AttributeError):
            raise UnknownModelError(card.name, [c.name for c in self.cards()]) from None
        path = checkpoint_path(weights)
        if not path.exists():
            self._fetch(card.name, weights, path)
        model = get_model(card.name, weights=weights)
        return model.eval()

    def _fetch(self, model_name: str, weights: torchvision.models.WeightsEnum, path: Path) -> None:
        unavailable = (f"weights for torchvision model {model_name!r} ({weights}) are not cached at {path} "
                       f"and could not be downloaded from {weights.url}")
        hint = ("; connect to the internet once, or copy the file there "
                "(set TORCH_HOME to use another cache folder)")
        if not self.allow_download:
            raise WeightsUnavailableError(f"{unavailable}: downloads are disabled{hint}")
        try:
            download_with_timeout(weights.url, path, self.download_timeout_s)
        except (URLError, OSError, ValueError) as exc:   # URLError, socket timeouts, DNS, disk, bad hash
            reason = getattr(exc, "reason", exc)
            raise WeightsUnavailableError(f"{unavailable}: {reason}{hint}") from None
