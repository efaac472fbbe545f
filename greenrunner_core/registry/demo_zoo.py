"""The offline demo zoo: a dozen small models really trained on scikit-learn's digits, plus a shifted target set.

It lets ``make run`` (and the tests) do model selection without any network: on first use it trains every
model deterministically (well under a minute on 2 CPU cores), saves the weights and a manifest under
``<cache>/demo_zoo/<version>/`` and writes two ImageFolders of 16x16 grayscale PNGs:

* ``clean_test/<digit>/<idx>.png`` - the held-out benchmark split (the cards' ``benchmark_accuracy``);
* ``target/<digit>/<idx>.png``     - the target pool seen through a seeded "new camera" (affine, blur,
  noise, brightness/contrast), where some models trained with augmentation hold up and others do not,
  so the clean-accuracy ranking does not predict the target ranking.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import itertools
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageFilter
from torch import nn

from greenrunner_core.errors import GreenRunnerError, UnknownModelError, WeightsUnavailableError
from greenrunner_core.registry.card import ModelCard, Preprocess

VERSION = "v1"                         # layout of the build dir; the code fingerprint below also keys it
SPLIT_SEED = 20240611
TARGET_SEED = 7
IMAGE_SIZE = 16
CLASS_LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))
PREPROCESS = Preprocess(crop=(IMAGE_SIZE, IMAGE_SIZE), mean=(0.5,), std=(0.5,), channels=1)
BENCHMARK_DATASET = "digits-clean"
TRAIN_FRACTION, BENCHMARK_FRACTION = 0.60, 0.15     # the rest (~25 %, ~450 images) is the target pool

Progress = Callable[[str, int, int], None]


# ----------------------------------------------------------------------------------------------------------
# Architectures (all take (B, 1, 16, 16) in [-1, 1] and return (B, 10) logits)
# ----------------------------------------------------------------------------------------------------------

def _mlp(*widths: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    dims = [IMAGE_SIZE * IMAGE_SIZE, *widths]
    for a, b in itertools.pairwise(dims):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(dims[-1], 10))
    return nn.Sequential(*layers)


def _linear() -> nn.Module:
    return _mlp()


def _mlp_tiny() -> nn.Module:
    return _mlp(24)


def _mlp_medium() -> nn.Module:
    return _mlp(128, 64)


def _mlp_wide() -> nn.Module:
    return _mlp(512, 512)


def _lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),          # 8x8
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),                    # 4x4 -> 2x2
        nn.Flatten(), nn.Linear(16 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, 10))


def _conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def _cnn_small() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 16), nn.MaxPool2d(2),                                  # 8x8
        *_conv_bn(16, 32), nn.MaxPool2d(2),                                 # 4x4
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10))


def _vgg() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 16), *_conv_bn(16, 16), nn.MaxPool2d(2),               # 8x8
        *_conv_bn(16, 32), *_conv_bn(32, 32), nn.MaxPool2d(2),              # 4x4
        *_conv_bn(32, 64), nn.MaxPool2d(2),                                 # 2x2
        nn.Flatten(), nn.Linear(64 * 4, 256), nn.ReLU(), nn.Linear(256, 10))


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(cin, cout, 3, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.skip = (nn.Identity() if stride == 1 and cin == cout else
                     nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


def _resnet() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 8), _Residual(8, 8, 1), _Residual(8, 16, 2), _Residual(16, 32, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def _separable(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [*_conv_bn(cin, cin, 3, stride, groups=cin), *_conv_bn(cin, cout, 1)]


def _mobilenet() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 16, 3, 2), *_separable(16, 32, 1), *_separable(32, 64, 2), *_separable(64, 64, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


class _ShuffleUnit(nn.Module):
    """ShuffleNet unit: grouped 1x1 -> channel shuffle -> depthwise 3x3 -> grouped 1x1, residual."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        mid = channels // 2
        self.reduce = nn.Sequential(*_conv_bn(channels, mid, 1, groups=groups))
        self.depthwise = nn.Sequential(nn.Conv2d(mid, mid, 3, 1, 1, groups=mid, bias=False), nn.BatchNorm2d(mid))
        self.expand = nn.Sequential(nn.Conv2d(mid, channels, 1, groups=groups, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.reduce(x)
        b, c, h, w = y.shape
        y = y.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)
        return F.relu(x + self.expand(self.depthwise(y)))


def _shufflenet() -> nn.Module:
    return nn.Sequential(
        *_conv_bn(1, 24, 3, 2), _ShuffleUnit(24, 4), _ShuffleUnit(24, 4),                    # 8x8
        *_conv_bn(24, 48, 3, 2), _ShuffleUnit(48, 4),                                       # 4x4
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(48, 10))


class _Fire(nn.Module):
    """SqueezeNet fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated."""

    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(*_conv_bn(cin, squeeze, 1))
        self.e1 = nn.Conv2d(squeeze, expand, 1)
        self.e3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return F.relu(torch.cat([self.e1(s), self.e3(s)], 1))


def _squeezenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, 2, 1), nn.ReLU(),                                               # 8x8
        _Fire(32, 8, 16), _Fire(32, 8, 16), nn.MaxPool2d(2),                                # 4x4
        _Fire(32, 16, 32), nn.Conv2d(64, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())


class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(b, n, d))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), _Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _ViT(nn.Module):
    """Patch transformer: 4x4 patches (16 tokens) + a class token."""

    def __init__(self, dim: int = 32, depth: int = 2, heads: int = 4, patch: int = 4) -> None:
        super().__init__()
        tokens = (IMAGE_SIZE // patch) ** 2
        self.embed = nn.Conv2d(1, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[_Block(dim, heads, 2 * dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


class _MixerBlock(nn.Module):
    def __init__(self, tokens: int, dim: int) -> None:
        super().__init__()
        self.norm1, self.token_mlp = nn.LayerNorm(dim), nn.Sequential(nn.Linear(tokens, 32), nn.GELU(),
                                                                      nn.Linear(32, tokens))
        self.norm2, self.channel_mlp = nn.LayerNorm(dim), nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                                                        nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


def _mixer() -> nn.Module:
    dim, tokens = 32, 16
    return nn.Sequential(nn.Conv2d(1, dim, 4, 4), nn.Flatten(2), _Transpose(), _MixerBlock(tokens, dim),
                         _MixerBlock(tokens, dim), nn.LayerNorm(dim), _MeanTokens(), nn.Linear(dim, 10))


class _Transpose(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class _MeanTokens(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(1)


# ----------------------------------------------------------------------------------------------------------
# The zoo: architecture + training recipe per model
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    name: str
    family: str
    description: str
    build: Callable[[], nn.Module]
    epochs: int
    lr: float
    augment: str = "none"              # "none" | "light" | "strong"
    weight_decay: float = 0.0
    seed: int = 0

    def recipe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "epochs": self.epochs, "lr": self.lr,
                "augment": self.augment, "weight_decay": self.weight_decay, "seed": self.seed}


SPECS: tuple[_Spec, ...] = (
    _Spec("demo_linear", "linear", "softmax regression on raw pixels", _linear, 30, 0.01, seed=1),
    _Spec("demo_mlp_tiny", "mlp", "MLP 256-24-10", _mlp_tiny, 30, 0.01, "light", seed=2),
    _Spec("demo_mlp_medium", "mlp", "MLP 256-128-64-10", _mlp_medium, 20, 3e-3, seed=3),
    _Spec("demo_mlp_wide", "mlp", "wide MLP 256-512-512-10", _mlp_wide, 10, 1e-3, seed=4),
    _Spec("demo_lenet", "cnn", "LeNet-5-like CNN", _lenet, 15, 5e-3, "light", seed=5),
    _Spec("demo_cnn_small", "cnn", "two conv-BN blocks", _cnn_small, 8, 5e-3, "light", seed=6),
    _Spec("demo_vgg_m", "vgg", "VGG-style 5-conv CNN", _vgg, 6, 3e-3, seed=7),
    _Spec("demo_resnet_s", "resnet", "small ResNet (3 residual blocks)", _resnet, 8, 3e-3, seed=8),
    _Spec("demo_mobilenet_s", "mobilenet", "MobileNet-like depthwise-separable CNN", _mobilenet, 10, 5e-3,
          "strong", seed=9),
    _Spec("demo_shufflenet_s", "shufflenet", "ShuffleNet-like grouped convs + channel shuffle", _shufflenet,
          8, 5e-3, "light", seed=10),
    _Spec("demo_squeezenet_s", "squeezenet", "SqueezeNet-like fire modules", _squeezenet, 10, 5e-3, seed=11),
    _Spec("demo_vit_tiny", "vit", "tiny ViT: 4x4 patches, 2 blocks, 4 heads", _ViT, 15, 4e-3, "light",
          weight_decay=0.05, seed=12),
    _Spec("demo_mixer_tiny", "mixer", "tiny MLP-Mixer: 4x4 patches, 2 blocks", _mixer, 12, 4e-3, seed=13),
)
_SPEC_BY_NAME = {s.name: s for s in SPECS}


# ----------------------------------------------------------------------------------------------------------
# Data: digits, split, augmentation, the "new camera" shift
# ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoSplit:
    """How sklearn's digits were split (indices refer to ``sklearn.datasets.load_digits()``)."""

    seed: int
    train: tuple[int, ...]
    benchmark: tuple[int, ...]
    target: tuple[int, ...]
    dataset: str = "sklearn digits 8x8 upsampled to 16x16"

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "benchmark": len(self.benchmark), "target": len(self.target)}


def _digits16() -> tuple[np.ndarray, np.ndarray]:
    """All digits as (N, 16, 16) uint8 images and (N,) int64 labels; sklearn ships them, no download."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    small = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images = np.stack([np.asarray(Image.fromarray(im, "L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
                       for im in small])
    return images, digits.target.astype(np.int64)


def _split(n: int, seed: int = SPLIT_SEED) -> DemoSplit:
    perm = np.random.default_rng(seed).permutation(n)
    n_train, n_bench = round(TRAIN_FRACTION * n), round(BENCHMARK_FRACTION * n)
    parts = perm[:n_train], perm[n_train:n_train + n_bench], perm[n_train + n_bench:]
    return DemoSplit(seed, *(tuple(int(i) for i in np.sort(p)) for p in parts))


def _affine(image: Image.Image, angle: float, translate: tuple[float, float], scale: float) -> Image.Image:
    """Rotate by ``angle`` degrees and scale about the centre, then translate (pixels); black fill."""
    cx, cy = image.width / 2, image.height / 2
    theta = np.deg2rad(angle)
    # PIL maps each output pixel back to its input position: in = c + R(-theta) (out - c - t) / scale
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
    tx, ty = cx + translate[0], cy + translate[1]
    a, b, d, e = cos, sin, -sin, cos
    coeffs = (a, b, cx - a * tx - b * ty, d, e, cy - d * tx - e * ty)
    return image.transform(image.size, Image.AFFINE, data=coeffs, resample=Image.BILINEAR, fillcolor=0)


def _camera_shift(images: np.ndarray, seed: int = TARGET_SEED) -> np.ndarray:
    """The target pool through a "new camera": seeded affine, blur, noise, brightness/contrast (deterministic)."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        angle, scale = float(rng.uniform(-15, 15)), float(rng.uniform(0.85, 1.15))
        translate = (float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)))
        pil = _affine(Image.fromarray(image, "L"), angle, translate, scale)
        pil = pil.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.8))))
        arr = np.asarray(pil, dtype=np.float64)
        contrast, brightness = rng.uniform(0.55, 0.95), rng.uniform(10, 60)
        arr = arr * contrast + brightness + rng.normal(0.0, rng.uniform(6, 18), size=arr.shape)
        out[i] = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return out


def _to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) -> normalised float (N, 1, H, W), exactly what ``PREPROCESS`` gives for the PNGs."""
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    return (x - PREPROCESS.mean[0]) / PREPROCESS.std[0]


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


def _init(spec: _Spec) -> nn.Module:
    """Fresh weights from the spec's seed; the global RNG is forked so callers see no side effect."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        return spec.build()


def _fit(spec: _Spec, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> nn.Module:
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


def _train_all(specs: Sequence[_Spec], x: torch.Tensor, y: torch.Tensor,
               on_done: Callable[[_Spec, float], None]) -> dict[str, nn.Module]:
    """Train every spec; one model per core in threads (torch ops release the GIL), one intra-op thread each."""
    models = {spec.name: _init(spec) for spec in specs}
    workers = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
                         (os.cpu_count() or 1)))

    def fit(spec: _Spec) -> tuple[_Spec, float]:
        t0 = time.perf_counter()
        _fit(spec, models[spec.name], x, y)
        return spec, time.perf_counter() - t0

    with _one_thread(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-zoo") as pool:
        for future in as_completed([pool.submit(fit, spec) for spec in reversed(specs)]):  # heavy ones first
            on_done(*future.result())
    return models


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(1) == y).float().mean())


def _count_macs(model: nn.Module) -> int:
    """MACs per image, counted by fvcore through the shared complexity helper (attention included)."""
    from greenrunner_core.complexity import count_macs
    return count_macs(model, PREPROCESS.input_size)


# ----------------------------------------------------------------------------------------------------------
# Cache: atomic build, lock, verification
# ----------------------------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _images_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.png")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _write_folder(root: Path, images: np.ndarray, labels: np.ndarray, ids: Sequence[int]) -> None:
    for image, label, idx in zip(images, labels, ids):
        folder = root / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "L").save(folder / f"{idx:04d}.png", format="PNG")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive inter-process lock (fcntl); where fcntl is missing the atomic rename still keeps builds whole."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.cache
def _code_fingerprint() -> str:
    """Hash of this file: any change to data, shift, architectures or training gets a fresh build directory
    (an unchanged recipe rebuilds to the same bytes, so weights ids - and evaluation caches - survive)."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _default_cache_dir() -> Path:
    from greenrunner_core.paths import cache_dir
    return cache_dir()


@dataclass
class DemoZooSource:
    """ModelSource of the offline demo zoo (picklable: only paths and settings; state is re-read from disk).

    ``models`` restricts the zoo to a subset (tests, quick demos); a subset is built in its own directory.
    """

    cache_dir: Path | str | None = None
    name: str = "demo"
    models: tuple[str, ...] | None = None
    _manifest: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir).expanduser() if self.cache_dir is not None else _default_cache_dir()
        if self.models is not None:
            unknown = [m for m in self.models if m not in _SPEC_BY_NAME]
            if unknown:
                raise UnknownModelError(unknown[0], _SPEC_BY_NAME)
            if not self.models:
                raise GreenRunnerError("DemoZooSource(models=()) selects no model; pass None for the whole zoo")
            self.models = tuple(dict.fromkeys(self.models))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_manifest"] = None            # re-verified lazily in the receiving process
        return state

    # -- locations -----------------------------------------------------------------------------------------
    @property
    def _specs(self) -> tuple[_Spec, ...]:
        return SPECS if self.models is None else tuple(_SPEC_BY_NAME[m] for m in self.models)

    @property
    def version(self) -> str:
        recipe = json.dumps([s.recipe() for s in self._specs] + [SPLIT_SEED, TARGET_SEED, _code_fingerprint()],
                            sort_keys=True)
        return f"{VERSION}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"

    @property
    def root(self) -> Path:
        """Directory of this build (may not exist yet; ``ensure_built`` creates it)."""
        assert isinstance(self.cache_dir, Path)
        return self.cache_dir / "demo_zoo" / self.version

    @property
    def target_dir(self) -> Path:
        """ImageFolder of the shifted target pool (builds the zoo on first use)."""
        return self.ensure_built() / "target"

    @property
    def clean_test_dir(self) -> Path:
        """ImageFolder of the unshifted benchmark split (builds the zoo on first use)."""
        return self.ensure_built() / "clean_test"

    @property
    def benchmark_split(self) -> DemoSplit:
        split = self._ensure_manifest()["split"]
        return DemoSplit(split["seed"], tuple(split["train"]), tuple(split["benchmark"]), tuple(split["target"]))

    @property
    def manifest(self) -> dict[str, Any]:
        """The build manifest (per model: family, params, macs, clean accuracy, sha256; reference target
        accuracy for demos and tests - never put on cards, strategies must not see it)."""
        return self._ensure_manifest()

    # -- ModelSource ---------------------------------------------------------------------------------------
    def cards(self, progress: Progress | None = None) -> list[ModelCard]:
        manifest = self._ensure_manifest(progress)
        cards = []
        for entry in manifest["models"]:
            cards.append(ModelCard(
                name=entry["name"], source=self.name, family=entry["family"], params=entry["params"],
                size_mb=entry["size_bytes"] / 2**20, macs=entry["macs"], preprocess=PREPROCESS,
                class_labels=CLASS_LABELS, weights_id=entry["sha256"],
                benchmark_accuracy=entry["clean_accuracy"], benchmark_dataset=BENCHMARK_DATASET,
                description=entry["description"]))
        return cards

    def load(self, card: ModelCard) -> nn.Module:
        spec = _SPEC_BY_NAME.get(card.name)
        if spec is None or spec not in self._specs:
            raise WeightsUnavailableError(f"model {card.name!r} is not in the demo zoo {self.root}; "
                                          f"it provides {', '.join(s.name for s in self._specs)}")
        path = self.ensure_built() / "weights" / f"{card.name}.pt"
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != card.weights_id:
            self._manifest = None                     # damaged since it was verified: rebuild, then re-check
            path = self.ensure_built() / "weights" / f"{card.name}.pt"
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != card.weights_id:
                raise WeightsUnavailableError(
                    f"demo model {card.name!r}: weights at {path} do not match the card (weights_id "
                    f"{card.weights_id[:12]}...); the zoo was rebuilt with different weights - list the models "
                    "again to get fresh cards")
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model = spec.build()
        model.load_state_dict(state, strict=True)
        return model.eval()

    # -- building ------------------------------------------------------------------------------------------
    def ensure_built(self, progress: Progress | None = None) -> Path:
        """Build (train + write images) unless a verified build exists; returns the build directory."""
        self._ensure_manifest(progress)
        return self.root

    def _ensure_manifest(self, progress: Progress | None = None) -> dict[str, Any]:
        if self._manifest is not None:
            return self._manifest
        manifest = self._verified_manifest()
        if manifest is None:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock(self.root.parent / f"{self.version}.lock"):
                manifest = self._verified_manifest()     # another process may have built it meanwhile
                if manifest is None:
                    self._remove_leftovers()
                    manifest = self._build(progress)
        self._manifest = manifest
        return manifest

    def _verified_manifest(self) -> dict[str, Any] | None:
        """The manifest when the build on disk is complete and intact (sha256 of every file), else None."""
        try:
            manifest = json.loads((self.root / "manifest.json").read_text())
            if manifest.get("version") != self.version:
                return None
            names = [m["name"] for m in manifest["models"]]
            if names != [s.name for s in self._specs]:
                return None
            for entry in manifest["models"]:
                if _sha256(self.root / "weights" / f"{entry['name']}.pt") != entry["sha256"]:
                    return None
            for folder in ("target", "clean_test"):
                if _images_digest(self.root / folder) != manifest["images"][folder]:
                    return None
            return manifest
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _build(self, progress: Progress | None) -> dict[str, Any]:
        specs = self._specs
        total = len(specs) + 2
        report = progress or (lambda step, done, total: None)
        started = time.perf_counter()
        report("preparing digits data", 0, total)
        images, labels = _digits16()
        split = _split(len(images))
        parent = self.root.parent
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.version}-", dir=parent))
        try:
            tr, be, ta = (np.asarray(ix, dtype=np.int64) for ix in (split.train, split.benchmark, split.target))
            shifted = _camera_shift(images[ta])
            _write_folder(tmp / "clean_test", images[be], labels[be], split.benchmark)
            _write_folder(tmp / "target", shifted, labels[ta], split.target)
            report("wrote clean and target images", 1, total)
            x_train, y_train = _to_tensor(images[tr]), torch.from_numpy(labels[tr])
            x_bench, y_bench = _to_tensor(images[be]), torch.from_numpy(labels[be])
            x_target, y_target = _to_tensor(shifted), torch.from_numpy(labels[ta])
            (tmp / "weights").mkdir()
            seconds: dict[str, float] = {}

            def trained(spec: _Spec, took: float) -> None:
                seconds[spec.name] = took
                report(f"trained {spec.name}", 1 + len(seconds), total)

            models = _train_all(specs, x_train, y_train, trained)
            entries = []
            for spec in specs:
                model = models[spec.name]
                path = tmp / "weights" / f"{spec.name}.pt"
                torch.save(model.state_dict(), path)
                entries.append({
                    "name": spec.name, "family": spec.family, "description": spec.description,
                    "params": sum(p.numel() for p in model.parameters()), "macs": _count_macs(model),
                    "size_bytes": path.stat().st_size, "sha256": _sha256(path),
                    "clean_accuracy": round(_accuracy(model, x_bench, y_bench), 6),
                    "target_accuracy_reference": round(_accuracy(model, x_target, y_target), 6),
                    "augment": spec.augment, "train_seconds": round(seconds[spec.name], 3)})
            manifest = {
                "version": self.version, "models": entries,
                "split": {"seed": split.seed, "train": list(split.train), "benchmark": list(split.benchmark),
                          "target": list(split.target)},
                "images": {folder: _images_digest(tmp / folder) for folder in ("target", "clean_test")},
                "build_seconds": round(time.perf_counter() - started, 3), "torch": torch.__version__}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
            self._replace_root(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        report("demo zoo ready", total, total)
        return manifest

    def _remove_leftovers(self) -> None:
        """Delete temp/trash dirs of builds that were killed midway (we hold the lock: none is running)."""
        for pattern in (f".tmp-{self.version}-*", f".trash-{self.version}-*"):
            for path in self.root.parent.glob(pattern):
                shutil.rmtree(path, ignore_errors=True)

    def _replace_root(self, tmp: Path) -> None:
        """Atomically move a finished build into place, discarding a damaged previous one."""
        if self.root.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".trash-{self.version}-", dir=self.root.parent))
            os.replace(self.root, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, self.root)
        except OSError:
            if self._verified_manifest() is None:    # a concurrent builder (no fcntl) won only if its build is whole
                raise
