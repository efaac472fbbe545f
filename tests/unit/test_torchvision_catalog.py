"""TorchvisionSource: offline cards from weights metadata; loading never hangs and explains missing weights."""
from __future__ import annotations

import io
import pickle
from urllib.error import URLError

import pytest
import torch
from torchvision.models import get_model, get_weight

from greenrunner_core.errors import WeightsUnavailableError
from greenrunner_core.registry import torchvision_catalog
from greenrunner_core.registry.base import ModelSource
from greenrunner_core.registry.torchvision_catalog import TorchvisionSource, checkpoint_path

SMALL = "squeezenet1_1"      # 1.2 M parameters: cheap to build in tests


@pytest.fixture(scope="module")
def source() -> TorchvisionSource:
    return TorchvisionSource()


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def _card(source: TorchvisionSource, name: str):
    return next(c for c in source.cards() if c.name == name)


def test_catalog_lists_every_classifier_once(source):
    cards = source.cards()
    assert isinstance(source, ModelSource)
    assert len(cards) > 70 and source.notes == []
    assert len({c.name for c in cards}) == len(cards)
    assert {"resnet18", "vit_b_16", "efficientnet_b0", "mobilenet_v3_small", "convnext_tiny"} <= {c.name for c in cards}
    assert source.cards()[0] is source.cards()[0]             # built once per instance


def test_metadata_is_read_from_the_weights_enum(source):
    card = _card(source, "resnet18")
    assert card.weights_id == "ResNet18_Weights.IMAGENET1K_V1"
    assert card.params == 11_689_512 and card.size_mb == pytest.approx(44.661)
    assert card.macs == 1_814_000_000
    assert card.benchmark_accuracy == pytest.approx(0.69758) and card.benchmark_dataset == "ImageNet-1K"
    assert card.family == "resnet" and card.source == "torchvision"
    assert card.preprocess.crop == (224, 224) and card.preprocess.resize == 256
    assert card.preprocess.mean == (0.485, 0.456, 0.406) and card.preprocess.interpolation == "bilinear"
    assert len(card.class_labels) == 1000 and card.class_labels[0] == "tench"
    assert _card(source, "efficientnet_b0").preprocess.interpolation == "bicubic"
    assert _card(source, "inception_v3").preprocess.crop == (299, 299)
    assert _card(source, "vit_b_16").family == "vision_transformer"


def test_every_card_is_sane(source):
    for card in source.cards():
        assert 0.4 < card.benchmark_accuracy < 0.95, card.name
        assert 1e6 < card.params < 1e9 and 1e7 < card.macs < 2e12, card.name
        # size_mb is in MiB and the file holds float32 parameters plus a few buffers
        # (googlenet's file also stores the auxiliary classifiers that num_params leaves out)
        upper = 2.0 if card.name == "googlenet" else 1.05
        assert 0.999 < card.size_mb * 2 ** 20 / (4 * card.params) < upper, card.name
        assert get_weight(card.weights_id).meta["num_params"] == card.params


def test_missing_weights_with_downloads_disabled(source, empty_cache):
    offline = TorchvisionSource(allow_download=False)
    with pytest.raises(WeightsUnavailableError) as info:
        offline.load(_card(source, SMALL))
    message = str(info.value)
    assert SMALL in message and str(empty_cache / "squeezenet1_1-b8a52dc0.pth") in message


def test_network_errors_become_a_clear_error(source, empty_cache, monkeypatch):
    def offline(*args, **kwargs):
        raise URLError("Name or service not known")

    monkeypatch.setattr(torchvision_catalog, "urlopen", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        source.load(_card(source, SMALL))
    message = str(info.value)
    assert SMALL in message and "checkpoints" in message and "Name or service not known" in message
    assert not any(empty_cache.glob("*")), "no partial download may be left behind"


def test_download_uses_a_timeout_and_verifies_the_hash(source, empty_cache, monkeypatch):
    seen = {}

    class Response(io.BytesIO):
        def __enter__(self):
            return self

    def fake_urlopen(request, timeout):
        seen["timeout"] = timeout
        return Response(b"not the published file")

    monkeypatch.setattr(torchvision_catalog, "urlopen", fake_urlopen)
    with pytest.raises(WeightsUnavailableError, match="expected b8a52dc0"):
        TorchvisionSource(download_timeout_s=3.0).load(_card(source, SMALL))
    assert seen["timeout"] == 3.0
    assert not any(empty_cache.glob("*"))


def test_cached_weights_load_offline(source, empty_cache, monkeypatch):
    card = _card(source, SMALL)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        reference = get_model(SMALL, weights=None).eval()
    path = checkpoint_path(get_weight(card.weights_id))
    assert path.parent == empty_cache
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)

    def no_network(*args, **kwargs):
        raise AssertionError("a cached file must not be downloaded again")

    monkeypatch.setattr(torchvision_catalog, "urlopen", no_network)
    model = pickle.loads(pickle.dumps(source)).load(card)
    assert not model.training
    x = torch.linspace(-1, 1, 3 * 64 * 64).view(1, 3, 64, 64)
    with torch.inference_mode():
        assert torch.allclose(model(x), reference(x))
