"""Demo zoo architectures (registered in ``registry.archs``) and training recipes: 13 small models, each
(B, 1, 16, 16) in [-1, 1] -> (B, 10) logits."""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from greenrunner_core.registry.archs import ARCHITECTURES, ArchSpec, register_arch
from greenrunner_core.registry.demo_zoo.data import CLASS_LABELS, IMAGE_SIZE, PREPROCESS

__all__ = ["SPECS", "SPEC_BY_NAME", "ZooSpec"]


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


@dataclass(frozen=True)
class ZooSpec:
    """How one zoo model is trained; its architecture is registered under the same name (``registry.archs``)."""

    name: str
    epochs: int
    lr: float
    augment: str = "none"              # "none" | "light" | "strong"
    weight_decay: float = 0.0
    seed: int = 0

    @property
    def arch(self) -> ArchSpec:
        return ARCHITECTURES[self.name]

    @property
    def family(self) -> str:
        return self.arch.family

    @property
    def description(self) -> str:
        return self.arch.description

    def build(self) -> nn.Module:
        return self.arch.build()

    def recipe(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "epochs": self.epochs, "lr": self.lr,
                "augment": self.augment, "weight_decay": self.weight_decay, "seed": self.seed}


def _zoo(name: str, family: str, description: str, builder: Callable[[], nn.Module], epochs: int, lr: float,
         augment: str = "none", *, weight_decay: float = 0.0, seed: int) -> ZooSpec:
    """Register the architecture (one table for the zoo and for checkpoints) and return its training recipe."""
    register_arch(name, family=family, preprocess=PREPROCESS, class_labels=CLASS_LABELS,
                  description=description)(builder)
    return ZooSpec(name, epochs, lr, augment, weight_decay, seed)


SPECS: tuple[ZooSpec, ...] = (
    _zoo("demo_linear", "linear", "softmax regression on raw pixels", _linear, 30, 0.01, seed=1),
    _zoo("demo_mlp_tiny", "mlp", "MLP 256-24-10", _mlp_tiny, 30, 0.01, "light", seed=2),
    _zoo("demo_mlp_medium", "mlp", "MLP 256-128-64-10", _mlp_medium, 20, 3e-3, seed=3),
    _zoo("demo_mlp_wide", "mlp", "wide MLP 256-512-512-10", _mlp_wide, 10, 1e-3, seed=4),
    _zoo("demo_lenet", "cnn", "LeNet-5-like CNN", _lenet, 15, 5e-3, "light", seed=5),
    _zoo("demo_cnn_small", "cnn", "two conv-BN blocks", _cnn_small, 8, 5e-3, "light", seed=6),
    _zoo("demo_vgg_m", "vgg", "VGG-style 5-conv CNN", _vgg, 6, 3e-3, seed=7),
    _zoo("demo_resnet_s", "resnet", "small ResNet (3 residual blocks)", _resnet, 8, 3e-3, seed=8),
    _zoo("demo_mobilenet_s", "mobilenet", "MobileNet-like depthwise-separable CNN", _mobilenet, 10, 5e-3,
         "strong", seed=9),
    _zoo("demo_shufflenet_s", "shufflenet", "ShuffleNet-like grouped convs + channel shuffle", _shufflenet,
         8, 5e-3, "light", seed=10),
    _zoo("demo_squeezenet_s", "squeezenet", "SqueezeNet-like fire modules", _squeezenet, 10, 5e-3, seed=11),
    _zoo("demo_vit_tiny", "vit", "tiny ViT: 4x4 patches, 2 blocks, 4 heads", _ViT, 15, 4e-3, "light",
         weight_decay=0.05, seed=12),
    _zoo("demo_mixer_tiny", "mixer", "tiny MLP-Mixer: 4x4 patches, 2 blocks", _mixer, 12, 4e-3, seed=13),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}   # the zoo's recipes by name (architectures: ``ARCHITECTURES``)
