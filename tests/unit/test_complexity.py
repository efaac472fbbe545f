"""MACs, parameters and size: fvcore agrees with torchvision's published numbers; the cache runs fvcore once."""
from __future__ import annotations

import io
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import get_model, get_model_weights

from greenrunner_core.complexity import Complexity, ComplexityCache, count_macs, count_params, serialized_size_mb


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "regnet_x_400mf",
                                  "shufflenet_v2_x0_5", "vit_b_16"])
def test_macs_match_torchvision_published_ops(name):
    weights = get_model_weights(name).DEFAULT
    crop = weights.transforms().crop_size[0]
    model = get_model(name, weights=None).eval()          # architecture only: no download
    macs = count_macs(model, (3, crop, crop))
    published = weights.meta["_ops"] * 1e9
    assert macs == pytest.approx(published, rel=0.05), f"{name}: fvcore {macs / 1e9:.3f} G vs {published / 1e9:.3f} G"
    assert count_params(model) == weights.meta["num_params"]


class _SDPA(nn.Module):
    """q (1,3,5,8), k (1,3,7,8), v (1,3,7,4) carved out of one input without any arithmetic."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = x[:, :3, :5, :], x[:, 3:, :, :], x[:, 3:, :, :4]
        return F.scaled_dot_product_attention(q, k, v)


def test_sdpa_handle_counts_qk_and_av_exactly():
    # batch*heads * (L*S*E + L*S*Ev) = 1*3 * (5*7*8 + 5*7*4)
    assert count_macs(_SDPA(), (6, 7, 8)) == 3 * (5 * 7 * 8 + 5 * 7 * 4)


class _SelfAttention(nn.Module):
    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(embed, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


def test_frozen_multihead_attention_is_counted_through_the_traceable_path():
    model = _SelfAttention(16, 4).eval().requires_grad_(False)    # eligible for the fused fast path
    length, embed = 10, 16
    expected = 3 * length * embed * embed + 2 * length * length * embed + length * embed * embed
    assert count_macs(model, (length, embed)) == expected
    assert torch.backends.mha.get_fastpath_enabled()               # the switch is restored


class _Untraceable(nn.Module):
    """Stands in for code jit tracing cannot follow (fvcore traces; torch's dispatch counter does not)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing():
            raise RuntimeError("this model cannot be traced")
        return self.fc(x.flatten(1))


def test_models_fvcore_cannot_trace_still_get_counted():
    assert count_macs(_Untraceable(), (3, 2, 2)) == 12 * 5


def test_params_and_serialized_size():
    model = nn.Sequential(nn.Linear(100, 50), nn.BatchNorm1d(50))
    assert count_params(model) == 100 * 50 + 50 + 50 + 50          # BN running stats are buffers, not params
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert serialized_size_mb(model) == pytest.approx(buffer.tell() / 2 ** 20)
    assert serialized_size_mb(model) > (5200 * 4) / 2 ** 20


def test_cache_measures_once_and_persists(tmp_path):
    path = tmp_path / "nested" / "complexity.json"
    small, big = nn.Linear(8, 4), nn.Linear(8, 400)
    cache = ComplexityCache(path)
    first = cache.measure(small, "weights-a", (8,))
    assert first == Complexity(macs=32, params=36, size_mb=serialized_size_mb(small))
    # Same key -> the stored value, even though this model would measure differently.
    assert cache.measure(big, "weights-a", (8,)) == first
    # Survives a new instance (another process); a different input size is a different entry.
    reopened = ComplexityCache(path)
    assert reopened.get("weights-a", (8,)) == first
    assert reopened.get("weights-a", (16,)) is None
    assert json.loads(path.read_text())[ComplexityCache.key("weights-a", (8,))]["macs"] == 32


def test_cache_merges_concurrent_writers_and_survives_corruption(tmp_path):
    path = tmp_path / "c.json"
    one, two = ComplexityCache(path), ComplexityCache(path)
    one.measure(nn.Linear(2, 2), "a", (2,))
    two.measure(nn.Linear(2, 3), "b", (2,))
    assert ComplexityCache(path).get("a", (2,)) is not None and len(ComplexityCache(path)) == 2
    path.write_text("{not json")
    broken = ComplexityCache(path)
    assert len(broken) == 0
    assert broken.measure(nn.Linear(2, 2), "a", (2,)).macs == 4
    assert ComplexityCache(path).get("a", (2,)).macs == 4


def test_cache_in_memory_and_key_from_card():
    from greenrunner_core.registry.card import ModelCard, Preprocess

    card = ModelCard(name="m", source="t", family="f", params=1, size_mb=1.0, macs=1,
                     preprocess=Preprocess(crop=(2, 2), mean=(0.0,), std=(1.0,), channels=1),
                     class_labels=("a",), weights_id="sha-xyz")
    cache = ComplexityCache(None)
    cache.measure(nn.Sequential(nn.Flatten(), nn.Linear(4, 1)), card, (1, 2, 2))
    assert cache.get("sha-xyz", (1, 2, 2)) is not None
    with pytest.raises(ValueError):
        ComplexityCache.key("", (1,))
