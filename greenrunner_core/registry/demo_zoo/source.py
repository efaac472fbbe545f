"""The offline demo zoo as a ``ModelSource``: builds once per recipe (train + write images), verified and cached.

On first use it trains every model deterministically (well under a minute on 2 CPU cores), saves the weights
and a manifest under ``<cache>/demo_zoo/<version>/`` and writes two ImageFolders of 16x16 grayscale PNGs:

* ``clean_test/<digit>/<idx>.png`` - the held-out benchmark split (the cards' ``benchmark_accuracy``);
* ``target/<digit>/<idx>.png``     - the target pool seen through a seeded "new camera".

Builds are atomic (temp dir + rename) and serialised across processes by a ``filelock`` lock.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from greenrunner_core.errors import GreenRunnerError, UnknownModelError, WeightsUnavailableError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.demo_zoo import train
from greenrunner_core.registry.demo_zoo.archs import SPEC_BY_NAME, SPECS, ZooSpec
from greenrunner_core.registry.demo_zoo.data import (
    BENCHMARK_DATASET,
    CLASS_LABELS,
    PREPROCESS,
    SPLIT_SEED,
    TARGET_SEED,
    DemoSplit,
    camera_shift,
    digits16,
    images_digest,
    split_digits,
    to_tensor,
    write_folder,
)

__all__ = ["DemoZooSource", "Progress"]

VERSION = "v1"                         # layout of the build dir; the code fingerprint below also keys it

Progress = Callable[[str, int, int], None]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _code_fingerprint() -> str:
    """Hash of this package's code: any change to data, shift, architectures or training gets a fresh build
    directory (an unchanged recipe rebuilds to the same bytes, so weights ids - and evaluation caches - survive)."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _default_cache_dir() -> Path:
    from greenrunner_core.paths import cache_dir
    return cache_dir()


@dataclass
class DemoZooSource:
    """ModelSource of the offline demo zoo (picklable: only paths and settings; state is re-read from disk).

    ``models`` restricts the zoo to a subset (tests, quick demos); a subset is built in its own directory.
    """

    cache_dir: Path | str | None = None
    name: str = "demo"
    models: tuple[str, ...] | None = None
    _manifest: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir).expanduser() if self.cache_dir is not None else _default_cache_dir()
        if self.models is not None:
            unknown = [m for m in self.models if m not in SPEC_BY_NAME]
            if unknown:
                raise UnknownModelError(unknown[0], SPEC_BY_NAME)
            if not self.models:
                raise GreenRunnerError("DemoZooSource(models=()) selects no model; pass None for the whole zoo")
            self.models = tuple(dict.fromkeys(self.models))

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_manifest"] = None            # re-verified lazily in the receiving process
        return state

    # -- locations -----------------------------------------------------------------------------------------
    @property
    def _specs(self) -> tuple[ZooSpec, ...]:
        return SPECS if self.models is None else tuple(SPEC_BY_NAME[m] for m in self.models)

    @property
    def version(self) -> str:
        recipe = json.dumps([s.recipe() for s in self._specs] + [SPLIT_SEED, TARGET_SEED, _code_fingerprint()],
                            sort_keys=True)
        return f"{VERSION}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"

    @property
    def root(self) -> Path:
        """Directory of this build (may not exist yet; ``ensure_built`` creates it)."""
        assert isinstance(self.cache_dir, Path)
        return self.cache_dir / "demo_zoo" / self.version

    @property
    def target_dir(self) -> Path:
        """ImageFolder of the shifted target pool (builds the zoo on first use)."""
        return self.ensure_built() / "target"

    @property
    def clean_test_dir(self) -> Path:
        """ImageFolder of the unshifted benchmark split (builds the zoo on first use)."""
        return self.ensure_built() / "clean_test"

    @property
    def benchmark_split(self) -> DemoSplit:
        split = self._ensure_manifest()["split"]
        return DemoSplit(split["seed"], tuple(split["train"]), tuple(split["benchmark"]), tuple(split["target"]))

    @property
    def manifest(self) -> dict[str, Any]:
        """The build manifest (per model: family, params, macs, clean accuracy, sha256; reference target
        accuracy for demos and tests - never put on cards, strategies must not see it)."""
        return self._ensure_manifest()

    # -- ModelSource ---------------------------------------------------------------------------------------
    def cards(self, progress: Progress | None = None) -> list[ModelCard]:
        manifest = self._ensure_manifest(progress)
        cards = []
        for entry in manifest["models"]:
            cards.append(ModelCard(
                name=entry["name"], source=self.name, family=entry["family"], params=entry["params"],
                size_mb=entry["size_bytes"] / 2**20, macs=entry["macs"], preprocess=PREPROCESS,
                class_labels=CLASS_LABELS, weights_id=entry["sha256"],
                benchmark_accuracy=entry["clean_accuracy"], benchmark_dataset=BENCHMARK_DATASET,
                description=entry["description"]))
        return cards

    def load(self, card: ModelCard) -> nn.Module:
        spec = SPEC_BY_NAME.get(card.name)
        if spec is None or spec not in self._specs:
            raise WeightsUnavailableError(f"model {card.name!r} is not in the demo zoo {self.root}; "
                                          f"it provides {', '.join(s.name for s in self._specs)}")
        path = self.ensure_built() / "weights" / f"{card.name}.pt"
        data = path.read_bytes() if path.is_file() else b""
        if hashlib.sha256(data).hexdigest() != card.weights_id:
            self._manifest = None                     # damaged since it was verified: rebuild, then re-check
            path = self.ensure_built() / "weights" / f"{card.name}.pt"
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != card.weights_id:
                raise WeightsUnavailableError(
                    f"demo model {card.name!r}: weights at {path} do not match the card (weights_id "
                    f"{card.weights_id[:12]}...); the zoo was rebuilt with different weights - list the models "
                    "again to get fresh cards")
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model = spec.build()
        model.load_state_dict(state, strict=True)
        return model.eval()

    # -- building ------------------------------------------------------------------------------------------
    def ensure_built(self, progress: Progress | None = None) -> Path:
        """Build (train + write images) unless a verified build exists; returns the build directory."""
        self._ensure_manifest(progress)
        return self.root

    def _ensure_manifest(self, progress: Progress | None = None) -> dict[str, Any]:
        if self._manifest is not None:
            return self._manifest
        manifest = self._verified_manifest()
        if manifest is None:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(self.root.parent / f"{self.version}.lock"):
                manifest = self._verified_manifest()     # another process may have built it meanwhile
                if manifest is None:
                    self._remove_leftovers()
                    manifest = self._build(progress)
        self._manifest = manifest
        return manifest

    def _verified_manifest(self) -> dict[str, Any] | None:
        """The manifest when the build on disk is complete and intact (sha256 of every file), else None."""
        try:
            manifest = json.loads((self.root / "manifest.json").read_text())
            if manifest.get("version") != self.version:
                return None
            names = [m["name"] for m in manifest["models"]]
            if names != [s.name for s in self._specs]:
                return None
            for entry in manifest["models"]:
                if _sha256(self.root / "weights" / f"{entry['name']}.pt") != entry["sha256"]:
                    return None
            for folder in ("target", "clean_test"):
                if images_digest(self.root / folder) != manifest["images"][folder]:
                    return None
            return manifest
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _build(self, progress: Progress | None) -> dict[str, Any]:
        specs = self._specs
        total = len(specs) + 2
        report = progress or (lambda step, done, total: None)
        started = time.perf_counter()
        report("preparing digits data", 0, total)
        images, labels = digits16()
        split = split_digits(len(images))
        parent = self.root.parent
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{self.version}-", dir=parent))
        try:
            tr, be, ta = (np.asarray(ix, dtype=np.int64) for ix in (split.train, split.benchmark, split.target))
            shifted = camera_shift(images[ta])
            write_folder(tmp / "clean_test", images[be], labels[be], split.benchmark)
            write_folder(tmp / "target", shifted, labels[ta], split.target)
            report("wrote clean and target images", 1, total)
            x_train, y_train = to_tensor(images[tr]), torch.from_numpy(labels[tr])
            x_bench, y_bench = to_tensor(images[be]), torch.from_numpy(labels[be])
            x_target, y_target = to_tensor(shifted), torch.from_numpy(labels[ta])
            (tmp / "weights").mkdir()
            seconds: dict[str, float] = {}

            def trained(spec: ZooSpec, took: float) -> None:
                seconds[spec.name] = took
                report(f"trained {spec.name}", 1 + len(seconds), total)

            models = train.train_all(specs, x_train, y_train, trained)
            entries = []
            for spec in specs:
                model = models[spec.name]
                path = tmp / "weights" / f"{spec.name}.pt"
                torch.save(model.state_dict(), path)
                entries.append({
                    "name": spec.name, "family": spec.family, "description": spec.description,
                    "params": sum(p.numel() for p in model.parameters()), "macs": train.count_macs(model),
                    "size_bytes": path.stat().st_size, "sha256": _sha256(path),
                    "clean_accuracy": round(train.accuracy(model, x_bench, y_bench), 6),
                    "target_accuracy_reference": round(train.accuracy(model, x_target, y_target), 6),
                    "augment": spec.augment, "train_seconds": round(seconds[spec.name], 3)})
            manifest = {
                "version": self.version, "models": entries,
                "split": {"seed": split.seed, "train": list(split.train), "benchmark": list(split.benchmark),
                          "target": list(split.target)},
                "images": {folder: images_digest(tmp / folder) for folder in ("target", "clean_test")},
                "build_seconds": round(time.perf_counter() - started, 3), "torch": torch.__version__}
            (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
            self._replace_root(tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        report("demo zoo ready", total, total)
        return manifest

    def _remove_leftovers(self) -> None:
        """Delete temp/trash dirs of builds that were killed midway (we hold the lock: none is running)."""
        for pattern in (f".tmp-{self.version}-*", f".trash-{self.version}-*"):
            for path in self.root.parent.glob(pattern):
                shutil.rmtree(path, ignore_errors=True)

    def _replace_root(self, tmp: Path) -> None:
        """Atomically move a finished build into place, discarding a damaged previous one."""
        if self.root.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".trash-{self.version}-", dir=self.root.parent))
            os.replace(self.root, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        try:
            os.replace(tmp, self.root)
        except OSError:
            if self._verified_manifest() is None:    # a concurrent builder won only if its build is whole
                raise
