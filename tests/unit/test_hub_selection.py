"""`greenrunner select` end to end on hub models cached locally (tiny, random init) and a few CIFAR-10 test images,
offline: timm: and hf: names resolve, a model whose weights are not cached is left out with a note."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.hub_models import tiny_hf_vit, tiny_timm
from ui import cli

# CIFAR-10 classes -> ImageNet-1k classes (torchvision names, shared by every source)
LABEL_MAP = {"cat": ["tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"],
             "dog": ["golden retriever", "Labrador retriever", "beagle", "collie"],
             "airplane": ["airliner", "warplane"]}


@pytest.fixture
def cifar_subset(shared_data: Path, tmp_path: Path) -> Path:
    out = tmp_path / "cifar"
    for cls in LABEL_MAP:
        (out / cls).mkdir(parents=True)
        for path in sorted((shared_data / "cifar10" / "test" / cls).iterdir())[:4]:
            shutil.copyfile(path, out / cls / path.name)
    return out


def test_select_runs_offline_on_cached_timm_and_hf_models(cifar_subset: Path, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub, work = tmp_path / "hf" / "hub", tmp_path / "work"
    work.mkdir()
    tiny_timm(hub, "test_vit.r160_in1k", seed=11, work=work)
    tiny_timm(hub, "test_byobnet.r160_in1k", seed=12, work=work)
    tiny_hf_vit(hub, "greenrunner-test/tiny-vit", seed=13, work=work)
    label_map = tmp_path / "labels.json"
    label_map.write_text(json.dumps(LABEL_MAP))
    models = "timm:test_vit.r160_in1k,timm:test_byobnet,hf:greenrunner-test/tiny-vit,timm:resnet18.a1_in1k"
    code = cli.main(["select", "--models", models, "--data", str(cifar_subset), "--label-map", str(label_map),
                     "--weights", "acc=0.6,size=0.2,complexity=0.2", "--strategy", "brute_force", "--no-torchvision",
                     "--out", str(tmp_path / "reports")])
    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("timm:test_vit.r160_in1k", "timm:test_byobnet.r160_in1k", "hf:greenrunner-test/tiny-vit"):
        assert name in out
    assert "timm:resnet18.a1_in1k excluded" in out and "not in the Hub cache" in out
    report = json.loads(next((tmp_path / "reports").glob("*.json")).read_text())
    assert report["n_images"] == 12
    evaluated = {r["name"]: r["pulls"] for r in report["ranking"] if not r.get("excluded")}
    assert evaluated == {"timm:test_vit.r160_in1k": 12, "timm:test_byobnet.r160_in1k": 12,
                         "hf:greenrunner-test/tiny-vit": 12}
