"""Optimisation tactics as candidates: dynamic int8 quantization, torch.compile (or a clear skip), FP16/BF16 only on GPUs;
variants are arms of their own with their own weights id and size, shown beside their base, and a quantized demo model
stays within a stated accuracy tolerance of its base."""
from __future__ import annotations

import pickle
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from greenrunner_core import tactics
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.notes import TacticSkipped
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.reward import Weights
from greenrunner_core.tactic_source import TacticSource, variants_beside_bases
from greenrunner_core.tactics import parse_tactics, quantize_dynamic_int8, serialized_mb, variant_name
from greenrunner_core.variant_info import VariantInfo
from greenrunner_core.workspace import Workspace
from tools.notes_text import word, words
from ui.present.tables import variant_rows
from ui.present.terminal import terminal_report

PRE = Preprocess(crop=(8, 8), mean=(0.5,), std=(0.5,), channels=1)
DEMO_TOLERANCE = 0.02      # |accuracy(int8) - accuracy(fp32)| on the whole demo target set (449 images)


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).eval()


def _convnet() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


@dataclass
class ToySource:
    """Picklable source of an MLP and a conv-only net."""

    name: str = "toy"

    def cards(self) -> list[ModelCard]:
        return [ModelCard(name=n, source=self.name, family="toy", params=1000, size_mb=serialized_mb(build()),
                          macs=9000, preprocess=PRE, class_labels=tuple("0123456789"), weights_id=f"{n}-sha",
                          benchmark_accuracy=0.9, metrics=(("latency", 1.0),))
                for n, build in (("mlp", _mlp), ("conv", _convnet))]

    def load(self, card: ModelCard) -> nn.Module:
        return _mlp() if card.name == "mlp" else _convnet()


def test_tactic_names_aliases_and_unknown_ones():
    assert parse_tactics("quantize,compile") == ("quantize", "compile")
    assert parse_tactics(["int8", "torch-compile", "half", "INT8"]) == ("quantize", "compile", "fp16")
    assert parse_tactics(None) == () and parse_tactics("") == ()
    with pytest.raises(GreenRunnerError, match="did you mean quantize"):
        parse_tactics("quantise")
    with pytest.raises(GreenRunnerError, match="pruning is left out"):
        parse_tactics("prune")
    assert variant_name("demo_mlp_wide", "quantize") == "demo_mlp_wide+int8"


def test_dynamic_quantization_replaces_linear_layers_and_keeps_outputs_close():
    model = _mlp()
    quantized, layers, share = quantize_dynamic_int8(model)
    assert layers == 2 and share == pytest.approx(1.0)
    assert isinstance(model[1], nn.Linear)                             # the base model is untouched
    assert type(quantized[1]).__name__ == "Linear" and "quantized" in type(quantized[1]).__module__
    x = torch.randn(32, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        ref, out = model(x), quantized(x)
    assert (out - ref).abs().max() < 0.05 * ref.abs().max()
    assert (out.argmax(1) == ref.argmax(1)).float().mean() >= 0.9
    assert serialized_mb(quantized) < 0.5 * serialized_mb(model)       # int8 weights: about a quarter


def test_tactic_source_builds_variants_with_their_own_identity(monkeypatch):
    monkeypatch.setattr(tactics, "compile_support", lambda: None)
    source = TacticSource(bases=tuple((ToySource(), c) for c in ToySource().cards()), tactics=("quantize", "compile"))
    cards = {c.name: c for c in source.cards()}
    assert set(cards) == {"mlp+int8", "mlp+compiled", "conv+compiled"}
    assert source.skipped["conv+int8"].variant == "conv+int8" and source.skipped["conv+int8"] in source.notes
    assert "conv+int8 skipped: no Linear/LSTM/GRU layer to quantize" in " ".join(words(source.notes))
    base = ToySource().cards()[0]
    q = cards["mlp+int8"]
    assert q.weights_id.startswith(base.weights_id + "+int8-dynamic-") and q.weights_id != base.weights_id
    assert q.size_mb < base.size_mb and q.macs == base.macs and q.params == base.params
    assert q.benchmark_accuracy is None and "latency" not in q.known_metrics()   # measured per variant, not inherited
    assert "MACs as the base" in q.description
    c = cards["mlp+compiled"]
    assert c.size_mb == base.size_mb and c.weights_id != base.weights_id
    assert source.info["mlp+int8"] == VariantInfo("mlp", "quantize", source.info["mlp+int8"].note)
    loaded = source.load(q)
    assert "quantized" in type(loaded[1]).__module__
    clone = pickle.loads(pickle.dumps(source))                          # ships to worker processes
    assert [x.name for x in clone.cards()] == [x.name for x in source.cards()]
    ordered = variants_beside_bases([*ToySource().cards(), *source.cards()], source.info)
    assert [x.name for x in ordered] == ["mlp", "mlp+int8", "mlp+compiled", "conv", "conv+compiled"]


def test_compile_is_skipped_with_its_reason_where_the_platform_cannot(monkeypatch):
    monkeypatch.setattr(tactics, "compile_support", lambda: "torch.compile needs a C++ compiler (test)")
    source = TacticSource(bases=((ToySource(), ToySource().cards()[0]),), tactics=("compile",))
    assert source.cards() == []
    assert source.notes == [TacticSkipped("compile", "torch.compile needs a C++ compiler (test)")]
    assert words(source.notes) == ["compile skipped: torch.compile needs a C++ compiler (test)"]
    assert word(source.skipped["compile"]).startswith("compile skipped")


def test_compiled_modules_are_built_once_per_process(monkeypatch):
    built = []
    monkeypatch.setattr(tactics, "compile_model", lambda model, size: built.append(size) or model)
    monkeypatch.setattr(tactics, "compile_support", lambda: None)
    source = TacticSource(bases=((ToySource(), ToySource().cards()[0]),), tactics=("compile",))
    card = source.cards()[0]
    first, second = source.load(card), source.load(card)
    assert first is second and built == [(1, 8, 8)]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: FP16/BF16 variants are offered")
def test_half_precision_is_gpu_only_and_says_so():
    source = TacticSource(bases=((ToySource(), ToySource().cards()[0]),), tactics=("fp16", "bf16"))
    assert source.cards() == []
    assert [n.tactic for n in source.notes] == ["fp16", "bf16"]
    assert all("no CUDA GPU" in n for n in words(source.notes)) and len(source.notes) == 2


def test_half_precision_wrapper_casts_in_and_out():
    model = _mlp()
    wrapped = tactics._Cast(_mlp(), "cpu", torch.bfloat16)            # the GPU wrapper, exercised on the CPU
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        out = wrapped(x)
        assert out.dtype == torch.float32 and out.device.type == "cpu"
        assert torch.allclose(out, model(x), atol=0.05)


@pytest.fixture(scope="module")
def demo_run():
    ws = Workspace(include_torchvision=False, tactics=("quantize",))
    models = ["demo_mlp_wide", "demo_lenet", "demo_vit_tiny", "demo_cnn_small"]
    result, dataset = ws.select(Weights({"accuracy": 1.0}), models=models, strategy="brute_force")
    return ws, result, dataset


def test_quantized_demo_models_stay_within_tolerance_of_their_base(demo_run):
    _, result, dataset = demo_run
    assert len(dataset) > 400
    acc = {r.name: r.est_accuracy for r in result.ranking}
    assert set(result.variants) == {f"{m}+int8" for m in ("demo_mlp_wide", "demo_lenet", "demo_vit_tiny",
                                                           "demo_cnn_small")}
    for variant, info in result.variants.items():
        assert abs(acc[variant] - acc[info.base]) <= DEMO_TOLERANCE, (variant, acc[variant], acc[info.base])
        assert result.per_model[variant].calls == len(dataset)          # a candidate of its own, fully evaluated


def test_the_report_shows_each_variant_beside_its_base(demo_run):
    ws, result, _ = demo_run
    rows = variant_rows(result)
    names = [r[0] for r in rows]
    assert names[:2] == ["demo_mlp_wide", "demo_mlp_wide+int8"] and rows[1][1] == "quantize"
    assert all(names[i + 1] == names[i] + "+int8" for i in range(0, len(names), 2))
    text = terminal_report(result)
    assert "Optimised variants beside their base model" in text and "Δ accuracy" in text
    again = ws.with_variants(ws.registry.resolve(["demo_mlp_wide", "demo_lenet"]))   # built once, reused
    assert [c.name for c in again] == ["demo_mlp_wide", "demo_mlp_wide+int8", "demo_lenet", "demo_lenet+int8"]
