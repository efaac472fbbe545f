"""Optimisation tactics on the shared CIFAR-10 checkpoints: every int8 variant stays within a stated tolerance of its
base on 500 test images, a compiled variant (where torch.compile works here) predicts like its base, and a selection
run with --tactics and --measure-latency shows the variants as candidates with their own accuracy, latency and energy."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenrunner_core.registry.cifar10_shared import CIFAR10_REPORTED_ACCURACY
from greenrunner_core.reward import Weights
from greenrunner_core.tactics import compile_support
from greenrunner_core.workspace import Workspace

pytestmark = pytest.mark.integration

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10"
MODELS, TEST = SHARED / "models", SHARED / "test"
SAMPLE = 500
INT8_TOLERANCE = 0.01      # only the final Linear (64 -> 10) of these CNNs is quantized: at most 5 of 500 images move
COMPILE_TOLERANCE = 0.004  # same arithmetic, other kernels: at most 2 of 500 images may flip on near-ties


@pytest.fixture(scope="module")
def cifar() -> tuple[Path, Path]:
    if not MODELS.is_dir() or not TEST.is_dir():
        pytest.skip(f"shared CIFAR-10 checkpoints/images not found under {SHARED}")
    return MODELS, TEST


def _accuracy(result) -> dict[str, float]:
    return {r.name: r.est_accuracy for r in result.ranking if r.est_accuracy is not None}


def test_int8_variants_of_every_checkpoint_stay_within_tolerance(cifar):
    models, test = cifar
    ws = Workspace(include_torchvision=False, checkpoints=[models], tactics=("quantize",))
    result, dataset = ws.select(Weights({"accuracy": 1.0}), models=sorted(CIFAR10_REPORTED_ACCURACY), data=test,
                                sample=SAMPLE, strategy="brute_force", batch_size=100)
    assert len(dataset) == SAMPLE
    acc = _accuracy(result)
    assert len(result.variants) == len(CIFAR10_REPORTED_ACCURACY)
    lines = []
    for variant, info in result.variants.items():
        base = info.base
        lines.append(f"{base}: {acc[base]:.3f} -> int8 {acc[variant]:.3f} ({info.note})")
        assert abs(acc[variant] - acc[base]) <= INT8_TOLERANCE, lines[-1]
        assert result.per_model[variant].calls == SAMPLE
    print("\n" + "\n".join(lines))


@pytest.mark.skipif(compile_support() is not None, reason=f"torch.compile unavailable here: {compile_support()}")
def test_compiled_variant_predicts_like_its_base_and_is_timed(cifar, tmp_path):
    models, test = cifar
    from ui.cli import main
    out = tmp_path / "reports"
    code = main(["select", "--no-torchvision", "--checkpoints", str(models), "--data", str(test),
                 "--models", "resnet20_akamaster,shufflenetv2_x0_5_chenyaofo", "--tactics", "quantize,compile",
                 "--measure-latency", "--weights", "acc=0.8,latency=0.2", "--strategy", "brute_force",
                 "--sample", str(SAMPLE), "--batch-size", "100", "--out", str(out)])
    assert code == 0
    data = json.loads(next(out.glob("*.json")).read_text())
    acc = {r["name"]: r["est_accuracy"] for r in data["ranking"]}
    variants = data["variants"]
    assert {v["tactic"] for v in variants.values()} == {"quantize", "compile"}
    for name, info in variants.items():
        tolerance = COMPILE_TOLERANCE if info["tactic"] == "compile" else INT8_TOLERANCE
        assert abs(acc[name] - acc[info["base"]]) <= tolerance, (name, acc[name], acc[info["base"]])
    assert set(data["latency"]) == set(acc)                     # every candidate timed, variants included
    assert data["energy"]["kind"] and data["energy"]["brute_force_label"].startswith("extrapolated")
    html = next(out.glob("*.html")).read_text()
    assert "Optimised variants beside their base model" in html
    print("\n" + "\n".join(f"{n}: acc {acc[n]:.3f}, latency b1 {data['latency'][n]['median_ms']:.2f} ms, "
                           f"{data['per_model'][n]['joules'] / max(data['per_model'][n]['calls'], 1) * 1e3:.1f} mJ/call"
                           for n in acc))
