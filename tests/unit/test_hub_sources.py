"""timm and Hugging Face sources load tiny locally built models from a Hub cache with HF_HUB_OFFLINE=1, agree on
ImageNet-1k class indices with torchvision, and fail clearly when weights are not cached."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agent.settings import EnvSettings
from greenrunner_core.errors import WeightsUnavailableError
from greenrunner_core.registry.hf_source import HFSource
from greenrunner_core.registry.label_sets import IMAGENET_1K, fit_to_dataset, imagenet1k_labels
from greenrunner_core.registry.source_notes import ItemSkipped
from greenrunner_core.registry.timm_source import TimmSource
from tests.unit.hub_models import tiny_hf_vit, tiny_timm
from tools.notes_text import word

CIFAR_LABELS = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _env_hub():
    """The Hub settings a front door reads from the environment the fixture set (the core reads none itself)."""
    return EnvSettings().hub()


def _card(source, name):
    return next(c for c in source.cards() if c.name == name)


def test_timm_model_loads_from_the_hub_cache_offline(hub: Path, tmp_path: Path):
    built = tiny_timm(hub, "test_vit.r160_in1k", seed=0, work=tmp_path / "work")
    source = TimmSource(hub=_env_hub())
    card = _card(source, "timm:test_vit.r160_in1k")
    commit = (hub / "models--timm--test_vit.r160_in1k" / "refs" / "main").read_text()
    assert card.weights_id == f"timm:timm/test_vit.r160_in1k@{commit}"      # other weights, another id
    loaded = source.load(card)
    x = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(loaded(x), built(x))


def test_uncached_timm_weights_offline_raise_a_clear_error(hub: Path):
    source = TimmSource(hub=_env_hub())
    with pytest.raises(WeightsUnavailableError) as err:
        source.load(_card(source, "timm:resnet18.a1_in1k"))
    message = str(err.value)
    assert "'timm:resnet18.a1_in1k'" in message and str(hub) in message
    assert "hf download timm/resnet18.a1_in1k" in message and "HF_HUB_OFFLINE" in message


def test_hf_card_from_config_and_processor_and_load(hub: Path, tmp_path: Path):
    built = tiny_hf_vit(hub, "greenrunner-test/tiny-vit", seed=1, work=tmp_path / "work")
    complexity = tmp_path / "complexity.json"
    source = HFSource(repo_ids=["hf:greenrunner-test/tiny-vit"], hub=_env_hub(), complexity_cache=complexity)
    (card,) = source.cards()
    assert card.name == "hf:greenrunner-test/tiny-vit" and card.family == "vit"
    assert card.label_set == IMAGENET_1K and card.class_labels == imagenet1k_labels()
    assert card.preprocess.crop == (32, 32) and card.preprocess.mean == (0.5, 0.5, 0.5)
    assert card.params == sum(p.numel() for p in built.parameters())
    assert card.macs > 0 and card.size_mb == pytest.approx(card.params * 4 / 2 ** 20)
    assert len(json.loads(complexity.read_text())) == 1                  # MACs counted once, cached
    snapshot = next((hub / "models--greenrunner-test--tiny-vit" / "snapshots").iterdir())
    assert card.weights_id == f"hf:greenrunner-test/tiny-vit@{snapshot.name}"     # the cached commit
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(source.load(card)(x), built(pixel_values=x).logits)


def test_uncached_hf_repo_is_skipped_with_a_note(hub: Path):
    source = HFSource(repo_ids=["hf:google/vit-base-patch16-224"], hub=_env_hub())
    assert source.cards() == []
    reason = source.skipped["hf:google/vit-base-patch16-224"]
    assert "not in the Hub cache" in reason and "hf download google/vit-base-patch16-224" in reason
    assert source.notes == [ItemSkipped("hf", "hf:google/vit-base-patch16-224", reason)]
    assert "google/vit-base-patch16-224" in word(source.notes[0])


def test_same_image_same_class_id_from_torchvision_and_timm(hub: Path, tmp_path: Path, monkeypatch):
    """resnet18 with one set of random weights, served once by torchvision and once by timm (resnet18.tv_in1k)."""
    from safetensors.torch import save_file
    from torchvision.models import ResNet18_Weights, resnet18

    from greenrunner_core.registry.torchvision_catalog import TorchvisionSource, checkpoint_path
    from tests.unit.hub_models import write_to_hub_cache

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with torch.random.fork_rng():
        torch.manual_seed(3)
        reference = resnet18().eval()
    state = reference.state_dict()
    path = checkpoint_path(ResNet18_Weights.DEFAULT)
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "rn18.safetensors"))
    write_to_hub_cache(hub, "timm/resnet18.tv_in1k", {"model.safetensors": tmp_path / "rn18.safetensors"})

    tv, timm_source = TorchvisionSource(allow_download=False), TimmSource(hub=_env_hub())
    tv_card, timm_card = _card(tv, "resnet18"), _card(timm_source, "timm:resnet18.tv_in1k")
    assert tv_card.class_labels == timm_card.class_labels                 # one label space
    images = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        tv_ids = tv.load(tv_card)(images).argmax(1)
        timm_ids = timm_source.load(timm_card)(images).argmax(1)
    assert torch.equal(tv_ids, timm_ids)


def test_models_with_another_label_set_are_refused_for_the_dataset(hub: Path, tmp_path: Path):
    from PIL import Image

    from greenrunner_core.data import load_target

    for k, cls in enumerate(("cat", "dog")):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 90, 20 + 100 * k, 40)).save(tmp_path / "data" / cls / f"{i}.png")
    tiny_hf_vit(hub, "greenrunner-test/cifar-vit", seed=2, work=tmp_path / "work", id2label=dict(enumerate(CIFAR_LABELS)))
    tiny_hf_vit(hub, "greenrunner-test/imagenet-vit", seed=3, work=tmp_path / "work")
    cifar, imagenet = HFSource(repo_ids=["greenrunner-test/cifar-vit", "greenrunner-test/imagenet-vit"],
                               hub=_env_hub()).cards()
    assert cifar.label_set.startswith("10 classes") and cifar.class_labels == CIFAR_LABELS
    label_map = {"cat": ["tabby", "tiger cat"], "dog": ["golden retriever"]}
    mapped = load_target(tmp_path / "data", label_map=label_map)
    kept, refused = fit_to_dataset([cifar, imagenet], mapped)
    assert kept == [imagenet] and "map 0 of the dataset's 2 classes" in word(refused[cifar.name])
    plain = load_target(tmp_path / "data")                                # folder names are CIFAR labels
    kept, refused = fit_to_dataset([cifar, imagenet], plain)
    assert kept == [cifar] and imagenet.name in refused


def test_processor_transforms_become_the_card_preprocess():
    from transformers import ConvNextImageProcessor, ViTImageProcessor

    from greenrunner_core.registry.hf_source import preprocess_of
    convnext = preprocess_of(ConvNextImageProcessor(size={"shortest_edge": 224}, crop_pct=0.875,
                                                    image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]))
    assert convnext.crop == (224, 224) and convnext.resize == 256 and convnext.interpolation == "bicubic"
    assert convnext.mean == pytest.approx((0.485, 0.456, 0.406))
    vit = preprocess_of(ViTImageProcessor(size={"height": 384, "width": 384}, image_mean=[0.5] * 3))
    assert vit.crop == (384, 384) and vit.resize == 384 and vit.interpolation == "bilinear"
