"""Every pretrained timm classifier (``timm:arch.tag``) as a candidate, described offline from a shipped catalog.

Cards come from ``registry/data/timm_catalog.json`` (built by ``bench/build_timm_catalog.py`` from timm's pretrained
configs and its published results, Apache-2.0, attribution inside the file): input size, mean/std, interpolation and
crop; params, GMACs, ImageNet top-1 and top-1 on ImageNetV2 / Sketch / R / A; pretraining data. Listing imports
neither timm nor the network. ``load`` builds the model with ``timm.create_model(name, pretrained=True)`` from the
weights file in the Hugging Face cache (downloaded when allowed and online).
"""
from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from torch import nn

from greenrunner_core.errors import UnknownModelError, WeightsUnavailableError
from greenrunner_core.notes import SourceNote
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.hub_cache import HUB_DEFAULTS, HubSettings, cached_revision, fetch_file
from greenrunner_core.registry.label_sets import label_names

PREFIX = "timm:"
CATALOG_FILE = "timm_catalog.json"
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
SHIFTED_SETS = ("imagenetv2", "sketch", "imagenet-r", "imagenet-a")
_MIB = float(2 ** 20)


@dataclass(frozen=True)
class TimmEntry:
    """One row of the shipped catalog: what timm's config and published results say about a pretrained tag."""

    name: str                      # arch.tag
    family: str
    hf_hub_id: str
    url: str
    label_set: str
    input_size: tuple[int, int, int]
    crop_pct: float
    crop_mode: str
    interpolation: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    params_m: float
    gmacs: float
    gmacs_note: str
    top1: float | None
    top5: float | None
    shifted: tuple[tuple[str, float], ...]
    pretrain: str
    license: str


@functools.cache
def load_catalog() -> tuple[TimmEntry, ...]:
    """The shipped catalog, parsed once per process (~1,400 rows; a few ms)."""
    text = resources.files("greenrunner_core.registry").joinpath("data", CATALOG_FILE).read_text()
    data = json.loads(text)
    columns = data["columns"]
    entries = []
    for values in data["rows"]:
        row: dict[str, Any] = dict(zip(columns, values))
        shifted = tuple((k, row[k] / 100.0) for k in SHIFTED_SETS if row.get(k) is not None)
        entries.append(TimmEntry(
            name=row["name"], family=row["family"], hf_hub_id=row["hf_hub_id"], url=row["url"],
            label_set=row["label_set"], input_size=tuple(row["input_size"]), crop_pct=float(row["crop_pct"]),
            crop_mode=row["crop_mode"], interpolation=row["interpolation"], mean=tuple(row["mean"]),
            std=tuple(row["std"]), params_m=float(row["params_m"]), gmacs=float(row["gmacs"]),
            gmacs_note=row["gmacs_note"], top1=row["top1"], top5=row["top5"], shifted=shifted,
            pretrain=row["pretrain"], license=row["license"]))
    return tuple(entries)


def catalog_about() -> str:
    """The attribution and licence note shipped with the catalog."""
    text = resources.files("greenrunner_core.registry").joinpath("data", CATALOG_FILE).read_text()
    return json.loads(text)["about"]


def default_tag(arch: str) -> str | None:
    """``timm:arch`` -> the best-published ImageNet-1k tag of that architecture in the catalog (None if unknown)."""
    arch = arch.removeprefix(PREFIX)
    tags = [e for e in load_catalog() if e.name.split(".", 1)[0] == arch]
    if not tags:
        return None
    return PREFIX + max(tags, key=lambda e: (e.label_set == "imagenet-1k", e.top1 or 0.0)).name


def preprocess_of(entry: TimmEntry) -> Preprocess:
    """timm's eval transform: resize the shorter side to floor(size / crop_pct), centre crop, normalise.

    ``squash`` crop mode (resize both sides, then crop) is approximated by the centre crop; the card says so.
    """
    channels, height, width = entry.input_size
    resize = math.floor(max(height, width) / entry.crop_pct) if entry.crop_pct else None
    return Preprocess(crop=(height, width), mean=entry.mean, std=entry.std, channels=channels,
                      resize=resize, interpolation=entry.interpolation)


def card_of(entry: TimmEntry, source: str = "timm", revision: str | None = None) -> ModelCard:
    """The card of a catalog row; ``revision`` (the cached Hub commit) makes other weights of a tag a new id."""
    notes = []
    if entry.top1 is not None:
        notes.append(f"ImageNet-1k top-1 {entry.top1:.1f}%")
    if entry.gmacs_note:
        notes.append(f"GMACs {entry.gmacs_note}")
    if entry.crop_mode != "center":
        notes.append(f"timm crops in '{entry.crop_mode}' mode; evaluated with a centre crop")
    params = round(entry.params_m * 1e6)
    return ModelCard(
        name=PREFIX + entry.name, source=source, family=entry.family, params=params,
        size_mb=params * 4 / _MIB,                          # fp32 weights
        macs=max(1, round(entry.gmacs * 1e9)), preprocess=preprocess_of(entry),
        class_labels=label_names(entry.label_set), weights_id=f"timm:{entry.hf_hub_id or entry.url}@{revision or 'main'}",
        benchmark_accuracy=None if entry.top1 is None else entry.top1 / 100.0,
        benchmark_dataset="ImageNet-1k val (timm results)" if entry.top1 is not None else None,
        description=f"timm {entry.name} ({entry.pretrain} pretraining{'; ' if notes else ''}{'; '.join(notes)})",
        shifted_accuracy=entry.shifted, pretraining_data=entry.pretrain, label_set=entry.label_set,
    )


@dataclass
class TimmSource:
    """A ``ModelSource`` over timm's pretrained classifiers.

    ``hub`` says where the Hugging Face Hub cache is and whether the hubs are offline; offline or with
    ``allow_download=False`` only cached weights load, others raise ``WeightsUnavailableError`` naming the cache.
    """

    name: str = "timm"
    hub: HubSettings = HUB_DEFAULTS
    allow_download: bool = True
    download_timeout_s: float = 20.0
    notes: list[SourceNote] = field(default_factory=list, init=False)
    _entries: dict[str, TimmEntry] | None = field(default=None, init=False, repr=False, compare=False)
    _cards: list[ModelCard] | None = field(default=None, init=False, repr=False, compare=False)

    def entries(self) -> dict[str, TimmEntry]:
        if self._entries is None:
            self._entries = {PREFIX + e.name: e for e in load_catalog()}
        return self._entries

    def cards(self) -> list[ModelCard]:
        if self._cards is None:
            hub = self.hub.hub_dir()
            self._cards = [card_of(e, self.name, cached_revision(hub, e.hf_hub_id)) for e in self.entries().values()]
        return list(self._cards)

    def load(self, card: ModelCard) -> nn.Module:
        entry = self.entries().get(card.name)
        if entry is None:
            raise UnknownModelError(card.name, self.entries())
        path = self.weights_file(entry)
        import timm

        model = timm.create_model(entry.name, pretrained=True, pretrained_cfg_overlay={"file": str(path)})
        return model.eval()

    def weights_file(self, entry: TimmEntry) -> Path:
        """The cached (or freshly downloaded) weights file of a pretrained tag."""
        hint = f"`python -c \"import timm; timm.create_model('{entry.name}', pretrained=True)\"`"
        if entry.hf_hub_id:
            return fetch_file(PREFIX + entry.name, entry.hf_hub_id, WEIGHTS_FILES, self.hub,
                              allow_download=self.allow_download, load_hint=hint, timeout_s=self.download_timeout_s)
        return self._url_file(entry, hint)

    def _url_file(self, entry: TimmEntry, hint: str) -> Path:
        """The few tags without a Hub repo load from a URL into torch.hub's checkpoint cache."""
        import torch

        path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(entry.url).path)
        if path.exists():
            return path
        why = ("HF_HUB_OFFLINE is set" if self.hub.is_offline() else "downloads are disabled" if not self.allow_download
               else "")
        if not why:
            from greenrunner_core.registry.torchvision_catalog import download_with_timeout
            try:
                download_with_timeout(entry.url, path, self.download_timeout_s)
                return path
            except OSError as exc:
                why = f"could not be downloaded ({getattr(exc, 'reason', exc)})"
        raise WeightsUnavailableError(
            f"weights for model {PREFIX + entry.name!r} are not cached at {path} and {why}; pre-download them once "
            f"with network access ({hint}) or copy {entry.url} there (TORCH_HOME sets the cache folder)")
