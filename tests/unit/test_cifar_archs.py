"""CIFAR architectures: registry behaviour, shapes and sizes, and strict loading of the published checkpoints."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from greenrunner_core.errors import GreenRunnerError, UnknownModelError
from greenrunner_core.registry import archs, cifar_archs
from greenrunner_core.registry.archs import arch_names, build_arch, get_arch, register_arch
from greenrunner_core.registry.cifar_archs import (
    AKAMASTER_PREPROCESS,
    CHENYAOFO_PREPROCESS,
    CIFAR10_CLASSES,
    ZeroPadShortcut,
)

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10" / "models"

# Parameter counts published with the checkpoints (../shared/data/README.md), in millions.
PUBLISHED_PARAMS_M = {
    "cifar_resnet20_akamaster": 0.27, "cifar_resnet32_akamaster": 0.46, "cifar_resnet44_akamaster": 0.66,
    "cifar_resnet56_akamaster": 0.85, "cifar_resnet20_chenyaofo": 0.27, "cifar_resnet56_chenyaofo": 0.86,
    "cifar_shufflenetv2_x0_5": 0.35,
}
CHECKPOINTS = {
    "akamaster_resnet20-12fca82f.th": "cifar_resnet20_akamaster",
    "akamaster_resnet32-d509ac18.th": "cifar_resnet32_akamaster",
    "akamaster_resnet44-014dd654.th": "cifar_resnet44_akamaster",
    "akamaster_resnet56-4bfd9763.th": "cifar_resnet56_akamaster",
    "chenyaofo_cifar10_resnet20-4118986f.pt": "cifar_resnet20_chenyaofo",
    "chenyaofo_cifar10_resnet56-187c023a.pt": "cifar_resnet56_chenyaofo",
    "chenyaofo_cifar10_shufflenetv2_x0_5-1308b4e9.pt": "cifar_shufflenetv2_x0_5",
}


def test_registry_lists_both_layouts_for_every_depth():
    names = set(arch_names())
    for depth in (20, 32, 44, 56):
        assert {f"cifar_resnet{depth}_akamaster", f"cifar_resnet{depth}_chenyaofo"} <= names
    assert "cifar_shufflenetv2_x0_5" in names


def test_duplicate_registration_is_refused():
    with pytest.raises(GreenRunnerError, match="already registered"):
        register_arch("cifar_resnet20_akamaster", family="resnet", preprocess=AKAMASTER_PREPROCESS,
                      class_labels=CIFAR10_CLASSES)(lambda: nn.Identity())
    assert get_arch("cifar_resnet20_akamaster").builder is not None


def test_new_architectures_can_be_registered(monkeypatch):
    monkeypatch.setattr(archs, "ARCHITECTURES", archs.ARCHITECTURES.copy())   # keep the global registry clean

    @register_arch("tiny_linear", family="linear", preprocess=CHENYAOFO_PREPROCESS, class_labels=("a", "b"))
    def tiny() -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 2))

    assert isinstance(build_arch("tiny_linear"), nn.Sequential)
    assert get_arch("tiny_linear").class_labels == ("a", "b")


def test_unknown_name_suggests_close_ones():
    with pytest.raises(UnknownModelError) as info:
        get_arch("cifar_resnet20_akamastr")
    assert "cifar_resnet20_akamaster" in info.value.suggestions


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS_M))
def test_forward_shape_and_published_size(name):
    spec = get_arch(name)
    model = spec.build().eval()
    with torch.inference_mode():
        out = model(torch.zeros(2, *spec.preprocess.input_size))
    assert out.shape == (2, 10)
    params = sum(p.numel() for p in model.parameters())
    assert round(params / 1e6, 2) == PUBLISHED_PARAMS_M[name]
    assert spec.class_labels == CIFAR10_CLASSES and spec.preprocess.crop == (32, 32)


def test_layouts_differ_where_the_checkpoints_do():
    aka = build_arch("cifar_resnet20_akamaster").state_dict()
    chen = build_arch("cifar_resnet20_chenyaofo").state_dict()
    assert "linear.weight" in aka and "fc.weight" not in aka
    assert not any("downsample" in k for k in aka)                     # option A has no parameters
    assert "fc.weight" in chen and "layer2.0.downsample.0.weight" in chen
    assert get_arch("cifar_resnet20_akamaster").preprocess.mean == (0.485, 0.456, 0.406)
    assert get_arch("cifar_resnet20_chenyaofo").preprocess.mean == (0.4914, 0.4822, 0.4465)


def test_zero_pad_shortcut_subsamples_and_pads_channels():
    x = torch.arange(2 * 16 * 8 * 8, dtype=torch.float32).view(2, 16, 8, 8)
    y = ZeroPadShortcut(32)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2])
    assert y[:, :8].abs().sum() == 0 and y[:, 24:].abs().sum() == 0


def test_shufflenet_cifar_stem_keeps_resolution():
    model = build_arch("cifar_shufflenetv2_x0_5")
    assert model.conv1[0].stride == (1, 1) and isinstance(model.maxpool, nn.Identity)
    assert model.stage2(model.conv1(torch.zeros(1, 3, 32, 32))).shape[-1] == 16


def test_depth_must_be_6n_plus_2():
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_archs.CifarResNet(21, shortcut="A")


@pytest.mark.integration
@pytest.mark.parametrize("file_name", sorted(CHECKPOINTS))
def test_published_checkpoints_load_strictly(file_name):
    path = MODELS / file_name
    if not path.exists():
        pytest.skip(f"shared checkpoint {path} not found")
    obj = torch.load(path, map_location="cpu", weights_only=True)
    state = obj.get("state_dict", obj)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = build_arch(CHECKPOINTS[file_name])
    model.load_state_dict(state, strict=True)
    assert torch.equal(next(iter(model.parameters())), next(iter(state.values())))
