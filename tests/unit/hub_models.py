"""Tiny timm and Hugging Face classifiers (random init, seeded) written into a Hugging Face cache layout, so the
hub sources load them through their real code path with HF_HUB_OFFLINE=1 and no network."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import torch

from greenrunner_core.registry.label_sets import imagenet1k_labels


def write_to_hub_cache(hub_dir: Path, repo_id: str, files: dict[str, Path]) -> Path:
    """``files`` as the main revision of ``repo_id`` in a Hub cache (refs/main -> snapshots/<commit>/...); the
    commit is a hash of the contents, so other weights under the same repo id are another revision."""
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + Path(files[name]).read_bytes())
    commit = digest.hexdigest()
    repo_dir = hub_dir / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    for name, path in files.items():
        shutil.copyfile(path, snapshot / name)
    return snapshot


def tiny_timm(hub_dir: Path, name: str, seed: int, work: Path) -> torch.nn.Module:
    """A timm pretrained tag (e.g. test_vit.r160_in1k) with random weights, cached as timm/<name>."""
    import timm
    from safetensors.torch import save_file

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = timm.create_model(name, pretrained=False).eval()
    weights = work / f"{name}.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    config = work / f"{name}.json"
    config.write_text(json.dumps({"architecture": name.split(".")[0], "num_classes": 1000}))
    write_to_hub_cache(hub_dir, f"timm/{name}", {"model.safetensors": weights, "config.json": config})
    return model


def hf_imagenet_id2label() -> dict[int, str]:
    """ImageNet-1k labels spelled the Hugging Face way ("tench, Tinca tinca"), same order as torchvision."""
    return {i: f"{name}, {name.lower()} (synonym)" for i, name in enumerate(imagenet1k_labels())}


def tiny_hf_vit(hub_dir: Path, repo_id: str, seed: int, work: Path,
                id2label: dict[int, str] | None = None, image_size: int = 32, readme: str | None = None,
                hidden_size: int = 32) -> torch.nn.Module:
    """A 1-layer ViT image classifier + processor via save_pretrained (and ``readme`` as its model card), cached as
    ``repo_id``."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    id2label = id2label or hf_imagenet_id2label()
    config = ViTConfig(image_size=image_size, patch_size=8, hidden_size=hidden_size, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, num_labels=len(id2label), id2label=id2label,
                       label2id={v: k for k, v in id2label.items()})
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ViTForImageClassification(config).eval()
    out = work / repo_id.replace("/", "--")
    model.save_pretrained(out)
    ViTImageProcessor(size={"height": image_size, "width": image_size}).save_pretrained(out)
    if readme is not None:
        (out / "README.md").write_text(readme, encoding="utf-8")
    write_to_hub_cache(hub_dir, repo_id, {p.name: p for p in out.iterdir() if p.is_file()})
    return model
