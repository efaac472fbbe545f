"""Demo zoo training: seeded, augmentation per recipe, one model per core in threads, no global RNG touched."""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import torch
import torch.nn.functional as F
from torch import nn

from greenrunner_core.registry.demo_zoo.archs import ZooSpec
from greenrunner_core.registry.demo_zoo.data import PREPROCESS

__all__ = ["accuracy", "count_macs", "train_all"]


def _augment(x: torch.Tensor, strength: str, gen: torch.Generator) -> torch.Tensor:
    """Random affine (+ noise, + brightness/contrast when strong) on a normalised batch."""
    if strength == "none":
        return x
    b = x.shape[0]
    max_deg, max_shift, scale_range, noise = (10.0, 0.15, 0.08, 0.15) if strength == "light" else (15.0, 0.25,
                                                                                                      0.15, 0.3)
    angle = (torch.rand(b, generator=gen) * 2 - 1) * max_deg * torch.pi / 180
    scale = 1 + (torch.rand(b, generator=gen) * 2 - 1) * scale_range
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * max_shift
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # pad with the background value (-1 after normalisation): sample (x + 1) with zeros padding, then shift back
    x = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    if strength == "strong":
        contrast = 0.5 + torch.rand(b, 1, 1, 1, generator=gen) * 0.5
        brightness = torch.rand(b, 1, 1, 1, generator=gen) * 0.5
        x = (x + 1) * contrast - 1 + brightness
        x = F.avg_pool2d(x, 3, 1, 1, count_include_pad=False) if torch.rand(1, generator=gen).item() < 0.5 else x
    return x + torch.randn(x.shape, generator=gen) * noise * torch.rand(b, 1, 1, 1, generator=gen)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Train with one intra-op thread: these tensors are tiny, so thread sync would dominate (10x slower on a
    busy machine), and results then do not depend on the core count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _init(spec: ZooSpec) -> nn.Module:
    """Fresh weights from the spec's seed; the global RNG is forked so callers see no side effect."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        return spec.build()


def _fit(spec: ZooSpec, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
    """Train in place with an explicit generator only (no global RNG), so models can train in parallel threads."""
    gen = torch.Generator().manual_seed(spec.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, fused=True)
    batch = 64
    steps = spec.epochs * -(-len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=steps)
    model.train()
    for _ in range(spec.epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            loss = F.cross_entropy(model(_augment(x[idx], spec.augment, gen)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


def train_all(specs: Sequence[ZooSpec], x: torch.Tensor, y: torch.Tensor,
               on_done: Callable[[ZooSpec, float], None]) -> dict[str, nn.Module]:
    """Train every spec; one model per core in threads (torch ops release the GIL), one intra-op thread each."""
    models = {spec.name: _init(spec) for spec in specs}
    workers = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                         (os.cpu_count() or 1)))

    def fit(spec: ZooSpec) -> tuple[ZooSpec, float]:
        t0 = time.perf_counter()
        _fit(spec, models[spec.name], x, y)
        return spec, time.perf_counter() - t0

    with _one_thread(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-zoo") as pool:
        for future in as_completed([pool.submit(fit, spec) for spec in reversed(specs)]):  # heavy ones first
            on_done(*future.result())
    return models


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def count_macs(model: nn.Module) -> int:
    """MACs per image, counted by fvcore through the shared complexity helper (attention included)."""
    from greenrunner_core.complexity import count_macs
    return count_macs(model, PREPROCESS.input_size)
