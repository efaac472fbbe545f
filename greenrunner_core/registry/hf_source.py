"""Hugging Face image classifiers by repo id (``hf:google/vit-base-patch16-224``) through ``transformers``.

The Hub holds far too many models to list, so this source describes the repos it is given: the card comes from
the repo's config (labels from ``id2label``; ImageNet-1k heads get the shared torchvision class names) and image
processor (size, crop, mean/std, resampling); params and MACs are counted once with fvcore on the architecture
built from the config (random init, no weights needed) and cached. Weights load with
``AutoModelForImageClassification.from_pretrained`` from the Hub cache; offline and not cached gives the same
``WeightsUnavailableError`` as the other hub sources. ``transformers`` is imported only here, on use.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenrunner_core.complexity import ComplexityCache
from greenrunner_core.errors import GreenRunnerError, UnknownModelError
from greenrunner_core.notes import SourceNote
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.hf_model_index import card_readme, readme_top1
from greenrunner_core.registry.hub_cache import HUB_DEFAULTS, HubSettings, unavailable
from greenrunner_core.registry.label_sets import IMAGENET_1K, labels_from_id2label
from greenrunner_core.registry.source_notes import ItemSkipped

PREFIX = "hf:"
_PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
_MIB = float(2 ** 20)


class LogitsOnly(nn.Module):
    """A transformers classifier as ``pixels -> logits`` (what the evaluator, fvcore and the tactics expect)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


def _size_value(size: Any, key: str) -> int | None:
    value = size.get(key) if isinstance(size, dict) else getattr(size, key, None)
    return int(value) if value else None


def preprocess_of(processor: Any, channels: int = 3) -> Preprocess:
    """The processor's eval transform as a ``Preprocess`` (resize shorter side, centre crop, normalise).

    A processor that resizes straight to (height, width) is approximated by a shorter-side resize and a centre
    crop, identical for square images.
    """
    size = getattr(processor, "size", None) or {}
    shortest = _size_value(size, "shortest_edge")
    height, width = _size_value(size, "height"), _size_value(size, "width")
    crop_pct = getattr(processor, "crop_pct", None)
    if shortest:
        crop = (shortest, shortest)
        resize = int(shortest / crop_pct) if crop_pct and shortest < 384 else shortest
    elif height and width:
        crop, resize = (height, width), max(height, width)
    else:
        raise GreenRunnerError(f"image processor {type(processor).__name__} has no usable size ({size}); "
                               "only processors with height/width or shortest_edge are supported")
    crop_size = getattr(processor, "crop_size", None)
    if getattr(processor, "do_center_crop", False) and crop_size and _size_value(crop_size, "height"):
        crop = (_size_value(crop_size, "height"), _size_value(crop_size, "width") or _size_value(crop_size, "height"))
    resample = getattr(processor, "resample", 2)
    interpolation = _PIL_RESAMPLE.get(int(getattr(resample, "value", resample)), "bilinear")
    mean = tuple(float(v) for v in (getattr(processor, "image_mean", None) or (0.5,) * channels))
    std = tuple(float(v) for v in (getattr(processor, "image_std", None) or (0.5,) * channels))
    return Preprocess(crop=crop, mean=mean, std=std, channels=channels, resize=resize, interpolation=interpolation)


@dataclass
class HFSource:
    """A ``ModelSource`` over the given Hugging Face repos (image classification).

    Repos whose config cannot be read (offline and not cached, not an image classifier) are skipped with a note
    in ``notes`` and in ``skipped``; ``complexity_cache`` is a JSON path so MACs are counted once per architecture.
    """

    repo_ids: Sequence[str] = ()
    name: str = "hf"
    hub: HubSettings = HUB_DEFAULTS     # where the Hub cache is, and whether the hubs are offline
    complexity_cache: str | Path | None = None
    allow_download: bool = True
    notes: list[SourceNote] = field(default_factory=list, init=False)
    skipped: dict[str, str] = field(default_factory=dict, init=False)
    _cards: dict[str, ModelCard] | None = field(default=None, init=False, repr=False, compare=False)

    def cards(self) -> list[ModelCard]:
        if self._cards is None:
            self._cards = {}
            cache = ComplexityCache(self.complexity_cache)
            for repo in dict.fromkeys(r.removeprefix(PREFIX) for r in self.repo_ids):
                try:
                    card = self.card_for(repo, cache)
                except GreenRunnerError as exc:
                    self.skipped[PREFIX + repo] = str(exc)
                    self.notes.append(ItemSkipped(self.name, PREFIX + repo, str(exc)))
                    continue
                self._cards[card.name] = card
        return list(self._cards.values())

    def _local_only(self) -> bool:
        return self.hub.is_offline() or not self.allow_download

    def _hint(self, repo: str) -> str:
        return (f"`python -c \"from transformers import AutoModelForImageClassification as M; "
                f"M.from_pretrained('{repo}')\"`")

    def card_for(self, repo: str, cache: ComplexityCache) -> ModelCard:
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

        kwargs = {"cache_dir": str(self.hub.hub_dir()), "local_files_only": self._local_only()}
        try:
            config = AutoConfig.from_pretrained(repo, **kwargs)
            processor = AutoImageProcessor.from_pretrained(repo, **kwargs)
        except OSError as exc:
            why = "HF_HUB_OFFLINE is set" if self.hub.is_offline() else "downloads are disabled" if not self.allow_download \
                else f"could not be fetched ({str(exc).splitlines()[0][:200]})"
            raise unavailable(PREFIX + repo, repo, self.hub, why, self._hint(repo)) from None
        except ValueError as exc:
            raise GreenRunnerError(f"{repo} is not a transformers image classifier ({exc})") from None
        if not getattr(config, "id2label", None):
            raise GreenRunnerError(f"{repo} has no id2label in its config: not a classifier")
        labels, label_set = labels_from_id2label(config.id2label)
        channels = int(getattr(config, "num_channels", 3) or 3)
        preprocess = preprocess_of(processor, channels)
        arch_key = "hf-arch:" + hashlib.sha256(config.to_json_string(use_diff=False).encode()).hexdigest()[:16]
        complexity = cache.get(arch_key, preprocess.input_size)
        if complexity is None:
            with torch.device("cpu"):
                model = LogitsOnly(AutoModelForImageClassification.from_config(config)).eval()
            complexity = cache.measure(model, arch_key, preprocess.input_size)
        params = complexity.params
        revision = _snapshot_revision(repo, self.hub)
        top1 = readme_top1(card_readme(repo, self.hub, allow_download=self.allow_download)) \
            if label_set == IMAGENET_1K else None          # another label set's accuracy is not comparable
        return ModelCard(
            name=PREFIX + repo, source=self.name, family=str(getattr(config, "model_type", "hf")), params=params,
            size_mb=params * 4 / _MIB, macs=complexity.macs, preprocess=preprocess, class_labels=labels,
            weights_id=f"hf:{repo}@{revision}", label_set=label_set,
            pretraining_data=None, benchmark_accuracy=top1, benchmark_self_reported=top1 is not None,
            benchmark_dataset="ImageNet-1k (the repo's model card)" if top1 is not None else None,
            description=f"Hugging Face {repo} ({getattr(config, 'model_type', '?')}, "
                        f"{'ImageNet-1k labels' if label_set == IMAGENET_1K else label_set})",
        )

    def load(self, card: ModelCard) -> nn.Module:
        self.cards()
        if self._cards is None or card.name not in self._cards:
            raise UnknownModelError(card.name, self._cards or {})
        repo = card.name.removeprefix(PREFIX)
        from transformers import AutoModelForImageClassification

        try:
            model = AutoModelForImageClassification.from_pretrained(
                repo, cache_dir=str(self.hub.hub_dir()), local_files_only=self._local_only())
        except OSError as exc:
            why = "HF_HUB_OFFLINE is set" if self.hub.is_offline() else "downloads are disabled" if not self.allow_download \
                else f"could not be fetched ({str(exc).splitlines()[0][:200]})"
            raise unavailable(card.name, repo, self.hub, why, self._hint(repo)) from None
        return LogitsOnly(model).eval()


def _snapshot_revision(repo: str, hub: HubSettings) -> str:
    """The cached snapshot (commit) the config was read from, so changed weights get a new weights id."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "config.json", cache_dir=str(hub.hub_dir()))
    if isinstance(found, str):
        return Path(found).parent.name
    local = Path(repo)
    if (local / "config.json").exists():     # a local save_pretrained folder
        return hashlib.sha256((local / "config.json").read_bytes()).hexdigest()[:12]
    return "unknown"

