"""Architectures for weights-only checkpoints, by name, so a state_dict file can become a model.

Holds the CIFAR-10 ResNet-20/32/44/56 of He et al. (2016) in the two published key layouts
(akamaster/pytorch_resnet_cifar10: option-A zero-padding shortcut, head ``linear``;
chenyaofo/pytorch-cifar-models: 1x1-conv shortcut, head ``fc``) and chenyaofo's ShuffleNetV2 with a
CIFAR stem. Blocks are torchvision's own (``BasicBlock``, ``ShuffleNetV2``), so only the CIFAR-specific
stems, shortcuts and heads are written here; they register in ``registry.archs`` under their names.
"""
from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock
from torchvision.models.shufflenetv2 import ShuffleNetV2

from greenrunner_core.registry.archs import register_arch
from greenrunner_core.registry.card import Preprocess

CIFAR10_CLASSES: tuple[str, ...] = ("airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck")
AKAMASTER_PREPROCESS = Preprocess(crop=(32, 32), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
CHENYAOFO_PREPROCESS = Preprocess(crop=(32, 32), mean=(0.4914, 0.4822, 0.4465), std=(0.2023, 0.1994, 0.2010))


# --- ResNet for CIFAR (3 stages of 16/32/64 channels, n = (depth - 2) / 6 blocks each) -----------------

class ZeroPadShortcut(nn.Module):
    """He et al.'s option-A shortcut: subsample by 2 and zero-pad the new channels (no parameters)."""

    def __init__(self, planes: int) -> None:
        super().__init__()
        self.pad = planes // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0.0)


def _conv1x1_bn(inplanes: int, planes: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
                         nn.BatchNorm2d(planes))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs. ``shortcut`` "A" (zero-pad, akamaster) or "B" (1x1 conv, chenyaofo).

    Subclasses only rename the classifier head so the published state_dict keys match exactly.
    """

    head_name = "fc"

    def __init__(self, depth: int, shortcut: str, num_classes: int = 10) -> None:
        super().__init__()
        if (depth - 2) % 6 != 0 or depth < 8:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2 (20, 32, 44, 56, ...), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' (zero-padding) or 'B' (1x1 conv), got {shortcut!r}")
        blocks = (depth - 2) // 6
        self.shortcut = shortcut
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, blocks, stride=1)
        self.layer2 = self._make_layer(32, blocks, stride=2)
        self.layer3 = self._make_layer(64, blocks, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        setattr(self, self.head_name, nn.Linear(64, num_classes))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        downsample: nn.Module | None = None
        if stride != 1 or self.inplanes != planes:
            downsample = (ZeroPadShortcut(planes) if self.shortcut == "A"
                          else _conv1x1_bn(self.inplanes, planes, stride))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return getattr(self, self.head_name)(x)


class AkamasterResNet(CifarResNet):
    head_name = "linear"


def _akamaster_resnet(depth: int) -> nn.Module:
    return AkamasterResNet(depth, shortcut="A")


def _chenyaofo_resnet(depth: int) -> nn.Module:
    return CifarResNet(depth, shortcut="B")


for _depth in (20, 32, 44, 56):
    register_arch(f"cifar_resnet{_depth}_akamaster", family="resnet", preprocess=AKAMASTER_PREPROCESS,
                  class_labels=CIFAR10_CLASSES,
                  description=f"ResNet-{_depth} for CIFAR-10 (He et al. 2016, option-A shortcut; "
                              "akamaster/pytorch_resnet_cifar10 layout)")(partial(_akamaster_resnet, _depth))
    register_arch(f"cifar_resnet{_depth}_chenyaofo", family="resnet", preprocess=CHENYAOFO_PREPROCESS,
                  class_labels=CIFAR10_CLASSES,
                  description=f"ResNet-{_depth} for CIFAR-10 (1x1-conv shortcut; "
                              "chenyaofo/pytorch-cifar-models layout)")(partial(_chenyaofo_resnet, _depth))


# --- ShuffleNetV2 with a CIFAR stem (3x3 stride-1 first conv, no max-pool) -----------------------------

class CifarShuffleNetV2(ShuffleNetV2):
    """torchvision's ShuffleNetV2 with chenyaofo's CIFAR stem; state_dict keys are torchvision's."""

    def __init__(self, stages_out_channels: list[int], num_classes: int = 10) -> None:
        super().__init__(stages_repeats=[4, 8, 4], stages_out_channels=stages_out_channels,
                         num_classes=num_classes)
        stem = stages_out_channels[0]
        self.conv1[0] = nn.Conv2d(3, stem, kernel_size=3, stride=1, padding=1, bias=False)
        self.maxpool = nn.Identity()


@register_arch("cifar_shufflenetv2_x0_5", family="shufflenet", preprocess=CHENYAOFO_PREPROCESS,
               class_labels=CIFAR10_CLASSES,
               description="ShuffleNetV2 x0.5 for CIFAR-10 (stride-1 stem, no max-pool; "
                           "chenyaofo/pytorch-cifar-models layout)")
def cifar_shufflenetv2_x0_5() -> nn.Module:
    return CifarShuffleNetV2([24, 48, 96, 192, 1024])
