"""LocalCheckpointSource: state_dict + arch, TorchScript and torch.export files; unsafe files are refused."""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import warnings
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from greenrunner_core.errors import GreenRunnerError, UnsafeCheckpointError, WeightsUnavailableError
from greenrunner_core.registry.archs import build_arch, get_arch
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.checkpoint_files import checkpoint_kind, read_state_dict
from greenrunner_core.registry.cifar10_shared import CIFAR10_REPORTED_ACCURACY, cifar10_manifest, cifar10_shared_source
from greenrunner_core.registry.cifar_archs import CIFAR10_CLASSES
from greenrunner_core.registry.local import MANIFEST_KEYS, LocalCheckpointSource
from greenrunner_core.registry.source_notes import (
    ArchRecognised,
    AssumedPreprocess,
    ItemSkipped,
    ManifestFileMissing,
    NameTaken,
    UnknownManifestKeys,
)
from tools.notes_text import word, words

MODELS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10" / "models"
ARCH = "cifar_resnet20_chenyaofo"
RESNET20_MACS = 40_817_280      # fvcore, 32x32, conv + linear + pooling, batch norm folded


def _seeded(builder, seed: int) -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return builder().eval()


def _small_classifier() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 4))


def _same_outputs(a: nn.Module, b: nn.Module, input_size) -> bool:
    x = torch.linspace(-1, 1, int(torch.tensor(input_size).prod())).view(1, *input_size)
    with torch.inference_mode():
        return torch.allclose(a(x), b(x), atol=1e-5)


@pytest.fixture(scope="module")
def resnet20() -> nn.Module:
    return _seeded(lambda: build_arch(ARCH), seed=0)


def test_state_dict_with_manifest_file(tmp_path, resnet20):
    path = tmp_path / "mine.pt"
    torch.save(resnet20.state_dict(), path)
    (tmp_path / "greenrunner.json").write_text(json.dumps(
        {"mine.pt": {"arch": ARCH, "name": "my_resnet", "benchmark_accuracy": 91.5}}))
    source = LocalCheckpointSource(tmp_path)
    assert isinstance(source, ModelSource)
    [card] = source.cards()
    assert source.notes == []
    assert card.name == "my_resnet" and card.source == "local" and card.family == "resnet"
    assert card.weights_id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card.size_mb == pytest.approx(path.stat().st_size / 2 ** 20)
    assert card.params == sum(p.numel() for p in resnet20.parameters())
    assert card.macs == RESNET20_MACS
    assert card.benchmark_accuracy == pytest.approx(0.915)                # percent accepted
    assert card.preprocess == get_arch(ARCH).preprocess and card.class_labels == CIFAR10_CLASSES
    model = source.load(card)
    assert not model.training and _same_outputs(model, resnet20, (3, 32, 32))


def test_wrapped_data_parallel_state_dict_and_manifest_overrides(tmp_path, resnet20):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in resnet20.state_dict().items()}, "best_prec1": 90.0}
    torch.save(wrapped, tmp_path / "wrapped.th")
    manifest = {"wrapped.th": {"arch": ARCH, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                               "class_labels": list("abcdefghij")}}
    source = LocalCheckpointSource(tmp_path, manifest=manifest, name="mine")
    [card] = source.cards()
    assert card.name == "wrapped" and card.source == "mine"
    assert card.preprocess.mean == (0.5, 0.5, 0.5) and card.preprocess.crop == (32, 32)
    assert card.class_labels == tuple("abcdefghij")
    assert _same_outputs(source.load(card), resnet20, (3, 32, 32))


def test_torchscript_without_manifest_uses_noted_defaults(tmp_path):
    model = _seeded(_small_classifier, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)    # torch.jit.save is deprecated but still common
        torch.jit.save(torch.jit.script(model), str(tmp_path / "scripted.pt"))
    assert checkpoint_kind(tmp_path / "scripted.pt") == "torchscript"
    source = LocalCheckpointSource(tmp_path)
    [card] = source.cards()
    assert card.family == "torchscript" and card.input_size == (3, 224, 224)
    assert card.class_labels == ("class_0", "class_1", "class_2", "class_3")
    assert any(isinstance(n, AssumedPreprocess) and n.input_size == (3, 224, 224) for n in source.notes)
    assert any("assuming ImageNet-style" in n for n in words(source.notes))
    conv_macs = 3 * 9 * 8 * 224 * 224
    assert conv_macs <= card.macs <= conv_macs + 8 * 224 * 224 + 8 * 4     # conv (+ pooling) + linear
    assert _same_outputs(source.load(card), model, (3, 224, 224))


def test_torch_export_program_with_manifest(tmp_path):
    model = _seeded(_small_classifier, seed=2)
    program = torch.export.export(model, (torch.zeros(1, 3, 16, 16),))
    torch.export.save(program, str(tmp_path / "exported.pt2"))
    assert checkpoint_kind(tmp_path / "exported.pt2") == "export"
    manifest = {"exported.pt2": {"input_size": [3, 16, 16], "mean": [0, 0, 0], "std": [1, 1, 1],
                                 "class_labels": ["w", "x", "y", "z"], "resize": None}}
    source = LocalCheckpointSource(tmp_path, manifest=manifest)
    [card] = source.cards()
    assert source.notes == []
    assert card.input_size == (3, 16, 16) and card.class_labels == ("w", "x", "y", "z")
    assert card.params == sum(p.numel() for p in model.parameters())
    assert 3 * 9 * 8 * 16 * 16 <= card.macs <= 3 * 9 * 8 * 16 * 16 + 8 * 16 * 16 + 8 * 4
    assert _same_outputs(source.load(card), model, (3, 16, 16))


_UNPICKLED: list[str] = []


def _record(tag: str) -> str:
    _UNPICKLED.append(tag)
    return tag


class _Payload:
    """Unpickling this calls ``_record``: stands in for arbitrary code inside a checkpoint."""

    def __reduce__(self):
        return (_record, ("ran",))


def test_pickled_python_objects_are_refused_without_running_them(tmp_path):
    torch.save({"weights": torch.zeros(2), "trainer": _Payload()}, tmp_path / "evil.pt")
    torch.save(_small_classifier(), tmp_path / "whole_module.pt")     # torch.save(model): pickled classes
    with pytest.raises(UnsafeCheckpointError, match="state_dict"):
        read_state_dict(tmp_path / "whole_module.pt")
    source = LocalCheckpointSource(tmp_path, manifest={"evil.pt": {"arch": ARCH},
                                                       "whole_module.pt": {"arch": ARCH}})
    assert source.cards() == []
    assert [(n.item, type(n)) for n in source.notes] == [("evil.pt", ItemSkipped), ("whole_module.pt", ItemSkipped)]
    assert len(source.notes) == 2 and all("refusing" in n and "TorchScript" in n for n in words(source.notes))
    assert _UNPICKLED == []


def test_export_archive_with_unsafe_pickled_member_is_refused(tmp_path):
    good = tmp_path / "src.pt2"
    torch.export.save(torch.export.export(_small_classifier().eval(), (torch.zeros(1, 3, 8, 8),)), str(good))
    evil_bytes = io.BytesIO()
    torch.save((_Payload(),), evil_bytes)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad_dir / "tampered.pt2", "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.split("/", 1)[-1].startswith("data/sample_inputs/"):
                data = evil_bytes.getvalue()
            dst.writestr(info, data)
    source = LocalCheckpointSource(bad_dir, manifest={"tampered.pt2": {"input_size": [3, 8, 8],
                                                                       "mean": [0, 0, 0], "std": [1, 1, 1]}})
    assert source.cards() == []
    assert any(isinstance(n, ItemSkipped) and n.item == "tampered.pt2" for n in source.notes)
    assert any("refusing" in n and "sample_inputs" in n for n in words(source.notes))
    assert _UNPICKLED == []


def test_bad_files_are_skipped_with_notes_and_the_rest_listed(tmp_path, resnet20):
    torch.save(resnet20.state_dict(), tmp_path / "good.pt")
    torch.save(_small_classifier().state_dict(), tmp_path / "no_arch.pt")     # fits no registered architecture
    torch.save(resnet20.state_dict(), tmp_path / "wrong_arch.pt")
    torch.save(resnet20.state_dict(), tmp_path / "typo_arch.pt")
    (tmp_path / "garbage.pth").write_bytes(b"definitely not a checkpoint")
    (tmp_path / "README.txt").write_text("not a model")
    manifest = {"good.pt": {"arch": ARCH, "colour": "blue"}, "wrong_arch.pt": {"arch": "cifar_resnet32_chenyaofo"},
                "typo_arch.pt": {"arch": "cifar_resnet20_chenyaof"}, "missing.pt": {"arch": ARCH}}
    source = LocalCheckpointSource(tmp_path, manifest=manifest)
    assert [c.name for c in source.cards()] == ["good"]
    assert {n.item for n in source.notes if isinstance(n, ItemSkipped)} == {"garbage.pth", "no_arch.pt",
                                                                             "wrong_arch.pt", "typo_arch.pt"}
    assert ManifestFileMissing("missing.pt", str(tmp_path)) in source.notes
    assert UnknownManifestKeys("good.pt", ("colour",), tuple(sorted(MANIFEST_KEYS))) in source.notes
    notes = "\n".join(words(source.notes))
    assert "garbage.pth" in notes
    assert "no_arch.pt" in notes and "greenrunner.json" in notes
    assert "wrong_arch.pt" in notes and "does not match" in notes
    assert "did you mean cifar_resnet20_chenyaofo" in notes
    assert "'missing.pt'" in notes and "colour" in notes
    assert "README" not in notes


def test_duplicate_names_are_noted(tmp_path, resnet20):
    for file_name in ("a.pt", "b.pt"):
        torch.save(resnet20.state_dict(), tmp_path / file_name)
    manifest = {f: {"arch": ARCH, "name": "same"} for f in ("a.pt", "b.pt")}
    source = LocalCheckpointSource(tmp_path, manifest=manifest)
    assert [c.name for c in source.cards()] == ["same"]
    assert NameTaken("b.pt", "same", "a.pt") in source.notes
    assert any("already used" in n for n in words(source.notes))


def test_changed_file_is_not_loaded_under_the_old_identity(tmp_path, resnet20):
    path = tmp_path / "m.pt"
    torch.save(resnet20.state_dict(), path)
    source = LocalCheckpointSource(tmp_path, manifest={"m.pt": {"arch": ARCH}})
    [card] = source.cards()
    torch.save(_seeded(lambda: build_arch(ARCH), seed=5).state_dict(), path)
    with pytest.raises(WeightsUnavailableError, match="changed since"):
        source.load(card)


def test_source_is_picklable_and_joins_a_registry(tmp_path, resnet20):
    torch.save(resnet20.state_dict(), tmp_path / "m.pt")
    source = LocalCheckpointSource(tmp_path, manifest={"m.pt": {"arch": ARCH}},
                                   complexity_cache=tmp_path / "cache" / "complexity.json")
    registry = Registry([source])
    copy = pickle.loads(pickle.dumps(source))
    assert _same_outputs(copy.load(registry.get("m")), resnet20, (3, 32, 32))
    assert (tmp_path / "cache" / "complexity.json").exists()
    # A fresh source reuses the measured MACs from the cache file.
    assert LocalCheckpointSource(tmp_path, manifest={"m.pt": {"arch": ARCH}},
                                 complexity_cache=tmp_path / "cache" / "complexity.json").cards() == source.cards()


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(GreenRunnerError, match="does not exist"):
        LocalCheckpointSource(tmp_path / "nope")


def test_cifar10_manifest_from_file_names():
    manifest = cifar10_manifest(["akamaster_resnet44-014dd654.th", "chenyaofo_cifar10_resnet56-187c023a.pt",
                                 "chenyaofo_cifar10_shufflenetv2_x0_5-1308b4e9.pt", "LICENSE-akamaster"])
    assert manifest["akamaster_resnet44-014dd654.th"]["arch"] == "cifar_resnet44_akamaster"
    assert manifest["akamaster_resnet44-014dd654.th"]["name"] == "resnet44_akamaster"
    assert manifest["akamaster_resnet44-014dd654.th"]["benchmark_accuracy"] == 0.931
    assert manifest["chenyaofo_cifar10_resnet56-187c023a.pt"]["arch"] == "cifar_resnet56_chenyaofo"
    assert manifest["chenyaofo_cifar10_shufflenetv2_x0_5-1308b4e9.pt"]["name"] == "shufflenetv2_x0_5_chenyaofo"
    assert "LICENSE-akamaster" not in manifest


@pytest.mark.integration
def test_shared_cifar10_checkpoints_become_seven_cards():
    if not MODELS.is_dir():
        pytest.skip(f"shared CIFAR-10 checkpoints not found at {MODELS}")
    source = cifar10_shared_source(MODELS)
    cards = {c.name: c for c in source.cards()}
    assert source.notes == []
    assert set(cards) == set(CIFAR10_REPORTED_ACCURACY)
    assert cards["resnet56_chenyaofo"].benchmark_accuracy == 0.944
    assert cards["resnet20_akamaster"].preprocess.mean == (0.485, 0.456, 0.406)
    assert cards["shufflenetv2_x0_5_chenyaofo"].preprocess.std == (0.2023, 0.1994, 0.2010)
    assert round(cards["resnet56_akamaster"].params / 1e6, 2) == 0.85
    assert cards["resnet20_akamaster"].macs < cards["resnet56_akamaster"].macs
    assert all(c.source == "cifar10" and c.benchmark_dataset == "CIFAR-10 test" for c in cards.values())


# ---- state_dicts recognised by their parameter names and shapes -------------------------------------------------

def test_state_dict_without_manifest_is_recognised_by_its_shapes(tmp_path, resnet20):
    torch.save({"state_dict": {f"module.{k}": v for k, v in resnet20.state_dict().items()}}, tmp_path / "mine.pt")
    source = LocalCheckpointSource(tmp_path)
    [card] = source.cards()
    assert source.recognised == {"mine.pt": ARCH}
    assert ArchRecognised("mine.pt", ARCH) in source.notes
    assert any("recognised as architecture 'cifar_resnet20_chenyaofo'" in n for n in words(source.notes))
    assert card.class_labels == CIFAR10_CLASSES and card.macs == RESNET20_MACS
    assert _same_outputs(source.load(card), resnet20, (3, 32, 32))


def test_no_match_names_the_closest_architecture_and_why(tmp_path, resnet20):
    state = dict(resnet20.state_dict())
    state["fc.weight"] = torch.zeros(100, 64)               # a CIFAR-100 head
    state["fc.bias"] = torch.zeros(100)
    torch.save(state, tmp_path / "c100.pt")
    source = LocalCheckpointSource(tmp_path)
    assert source.cards() == []
    assert isinstance(source.notes[0], ItemSkipped) and source.notes[0].item == "c100.pt"
    note = word(source.notes[0])
    assert "closest is 'cifar_resnet20_chenyaofo'" in note and "fc.bias: [100] vs [10]" in note
    assert "greenrunner.json" in note


def test_several_matching_architectures_are_a_question(tmp_path, resnet20, monkeypatch):
    from greenrunner_core.registry import arch_match
    sig = arch_match._signature(ARCH)
    monkeypatch.setattr(arch_match, "arch_names", lambda: ["twin_a", "twin_b"])
    monkeypatch.setattr(arch_match, "_signature", lambda name: sig)
    torch.save(resnet20.state_dict(), tmp_path / "twin.pt")
    source = LocalCheckpointSource(tmp_path)
    assert source.cards() == []
    assert isinstance(source.notes[0], ItemSkipped) and source.notes[0].item == "twin.pt"
    assert "fits several architectures (twin_a, twin_b)" in word(source.notes[0])


def test_shared_checkpoints_are_recognised_without_their_file_names(tmp_path, shared_data):
    """The akamaster and chenyaofo ResNet-20 layouts differ (zero-pad shortcut + 'linear' vs 1x1 conv + 'fc')."""
    import shutil
    expected = {"akamaster_resnet20-12fca82f.th": "cifar_resnet20_akamaster",
                "chenyaofo_cifar10_resnet20-4118986f.pt": "cifar_resnet20_chenyaofo"}
    for i, name in enumerate(expected):
        shutil.copyfile(shared_data / "cifar10" / "models" / name, tmp_path / f"upload{i}.pt")       # names say nothing
    source = LocalCheckpointSource(tmp_path)
    assert len(source.cards()) == 2
    assert source.recognised == {f"upload{i}.pt": arch for i, arch in enumerate(expected.values())}
