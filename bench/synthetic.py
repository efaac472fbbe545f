"""Synthetic but realistic replay instances: torchvision's real model metadata, correlated per-image outcomes.

Sizes, parameter counts and MACs are the real ones of torchvision's ImageNet classifiers (read offline
from ``get_model_weights(name).DEFAULT.meta``). Target accuracies follow each model's ImageNet top-1
minus a domain shift plus noise; per-image outcomes come from an item-response model
P(correct) = sigmoid(ability_model - difficulty_image), so easy images are easy for every model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.replay import OutcomeMatrix

IMAGENET_PRE = Preprocess(crop=(224, 224), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize=232)
CPU_MACS_PER_SECOND = 4e10   # only to give replayed calls a plausible cost in seconds


@dataclass(frozen=True)
class TorchvisionMeta:
    name: str
    params: int
    gmacs: float
    size_mb: float
    imagenet_top1: float


def torchvision_metadata() -> list[TorchvisionMeta]:
    """Every torchvision ImageNet classifier with its published metadata (no download)."""
    import torchvision
    from torchvision.models import get_model_weights, list_models

    out = []
    for name in sorted(list_models(module=torchvision.models)):
        meta = get_model_weights(name).DEFAULT.meta
        top1 = meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
        if top1 is None or not meta.get("_ops") or not meta.get("_file_size"):
            continue
        out.append(TorchvisionMeta(name, int(meta["num_params"]), float(meta["_ops"]), float(meta["_file_size"]),
                                   float(top1) / 100.0))
    return out


def _abilities(target_acc: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
    """Solve mean_j sigmoid(a - d_j) = target for each model by bisection (vectorised)."""
    lo = np.full(target_acc.shape, -12.0)
    hi = np.full(target_acc.shape, 12.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        acc = (1.0 / (1.0 + np.exp(-(mid[:, None] - difficulty[None, :])))).mean(axis=1)
        lo = np.where(acc < target_acc, mid, lo)
        hi = np.where(acc >= target_acc, mid, hi)
    return (lo + hi) / 2


def synthetic_instance(n_models: int, n_images: int, seed: int, *, shift: float = 0.12, noise_sd: float = 0.03,
                       difficulty_sd: float = 1.6, name: str | None = None) -> OutcomeMatrix:
    """``n_models`` torchvision models (a seeded sample when fewer than all) on ``n_images`` target images."""
    rng = np.random.default_rng(seed)
    meta = torchvision_metadata()
    if not 2 <= n_models <= len(meta):
        raise ValueError(f"n_models={n_models} must be in [2, {len(meta)}] (torchvision has {len(meta)} classifiers)")
    chosen = sorted(rng.choice(len(meta), size=n_models, replace=False)) if n_models < len(meta) else range(len(meta))
    meta = [meta[i] for i in chosen]
    top1 = np.array([m.imagenet_top1 for m in meta])
    target = np.clip(top1 - shift + rng.normal(0.0, noise_sd, n_models), 0.05, 0.98)
    difficulty = rng.normal(0.0, difficulty_sd, n_images)
    ability = _abilities(target, difficulty)
    p = 1.0 / (1.0 + np.exp(-(ability[:, None] - difficulty[None, :])))
    correct = rng.random((n_models, n_images)) < p
    cards = [ModelCard(name=m.name, source="torchvision-meta", family=m.name.rstrip("0123456789_").split("_")[0],
                       params=m.params, size_mb=m.size_mb, macs=int(m.gmacs * 1e9), preprocess=IMAGENET_PRE,
                       class_labels=tuple(f"c{i}" for i in range(10)), weights_id=f"synthetic:{m.name}",
                       benchmark_accuracy=m.imagenet_top1, benchmark_dataset="ImageNet-1K")
             for m in meta]
    seconds = np.array([m.gmacs * 1e9 / CPU_MACS_PER_SECOND for m in meta])
    label = name or f"synthetic-{n_models}x{n_images}"
    return OutcomeMatrix(cards, [f"img{j:05d}" for j in range(n_images)], correct, seconds, name=label)
