"""The shared CIFAR-10 checkpoints (akamaster / chenyaofo ResNets, ShuffleNetV2), recognised by their file names,
and ``checkpoint_source``: the source for any checkpoints folder."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.checkpoint_files import MANIFEST_FILE
from greenrunner_core.registry.cifar_archs import CIFAR10_CLASSES
from greenrunner_core.registry.local import LocalCheckpointSource

__all__ = ["CIFAR10_REPORTED_ACCURACY", "checkpoint_source", "cifar10_manifest", "cifar10_shared_source"]

_CIFAR10_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^akamaster_resnet(?P<depth>\d+)-[0-9a-f]+\.th$"),
     "cifar_resnet{depth}_akamaster", "resnet{depth}_akamaster"),
    (re.compile(r"^chenyaofo_cifar10_resnet(?P<depth>\d+)-[0-9a-f]+\.pt$"),
     "cifar_resnet{depth}_chenyaofo", "resnet{depth}_chenyaofo"),
    (re.compile(r"^chenyaofo_cifar10_shufflenetv2_x0_5-[0-9a-f]+\.pt$"),
     "cifar_shufflenetv2_x0_5", "shufflenetv2_x0_5_chenyaofo"),
)
# Reported CIFAR-10 test top-1 of the published checkpoints (../shared/data/README.md).
CIFAR10_REPORTED_ACCURACY: dict[str, float] = {
    "resnet20_akamaster": 0.917, "resnet32_akamaster": 0.926, "resnet44_akamaster": 0.931,
    "resnet56_akamaster": 0.934, "resnet20_chenyaofo": 0.926, "resnet56_chenyaofo": 0.944,
    "shufflenetv2_x0_5_chenyaofo": 0.901,
}


def cifar10_manifest(file_names: list[str]) -> dict[str, dict[str, Any]]:
    """Manifest entries for the published CIFAR-10 checkpoints, recognised by their file names."""
    manifest: dict[str, dict[str, Any]] = {}
    for file_name in file_names:
        for pattern, arch, model_name in _CIFAR10_PATTERNS:
            match = pattern.match(file_name)
            if match:
                name = model_name.format(**match.groupdict())
                manifest[file_name] = {"arch": arch.format(**match.groupdict()), "name": name,
                                       "benchmark_accuracy": CIFAR10_REPORTED_ACCURACY.get(name),
                                       "benchmark_dataset": "CIFAR-10 test", "class_labels": list(CIFAR10_CLASSES)}
                break
    return manifest


def cifar10_shared_source(models_dir: str | Path, name: str = "cifar10",
                          complexity_cache: str | Path | None = None) -> LocalCheckpointSource:
    """The shared CIFAR-10 checkpoints (akamaster ResNets, chenyaofo ResNets and ShuffleNetV2)."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise GreenRunnerError(f"CIFAR-10 model folder {str(models_dir)!r} does not exist")
    manifest = cifar10_manifest(sorted(p.name for p in models_dir.iterdir()))
    return LocalCheckpointSource(models_dir, manifest=manifest, name=name, complexity_cache=complexity_cache)


def checkpoint_source(folder: Path) -> LocalCheckpointSource:
    """A local checkpoints folder; the shared CIFAR-10 checkpoints are recognised by their file names."""
    if not folder.is_dir():
        raise GreenRunnerError(f"checkpoints folder {str(folder)!r} does not exist or is not a directory")
    manifest_file = folder / MANIFEST_FILE
    if not manifest_file.exists() and (any(folder.glob("akamaster_*.th")) or any(folder.glob("chenyaofo_*.pt"))):
        return cifar10_shared_source(folder)
    return LocalCheckpointSource(folder)
