"""Models from a folder of checkpoint files (TorchScript, torch.export, or state_dict + named architecture).

The folder's ``greenrunner.json`` (or a manifest passed in) describes each file; ``checkpoint_files`` reads
them safely. Cards carry the file's sha256 as weights id and fvcore's MAC count (cached).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenrunner_core.complexity import ComplexityCache, count_params
from greenrunner_core.errors import GreenRunnerError, UnknownModelError, WeightsUnavailableError
from greenrunner_core.notes import SourceNote
from greenrunner_core.registry.arch_match import recognise_arch
from greenrunner_core.registry.archs import arch_names, get_arch
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.checkpoint_files import (
    CHECKPOINT_SUFFIXES,
    MANIFEST_FILE,
    checkpoint_kind,
    load_checkpoint_module,
    read_state_dict,
    sha256_file,
)
from greenrunner_core.registry.source_notes import (
    ArchOnlyForDefaults,
    ArchRecognised,
    AssumedLabels,
    AssumedPreprocess,
    ItemSkipped,
    ManifestFileMissing,
    ManifestIgnored,
    NameTaken,
    UnknownManifestKeys,
)

__all__ = ["MANIFEST_KEYS", "LocalCheckpointSource"]

MANIFEST_KEYS = frozenset({"arch", "name", "benchmark_accuracy", "benchmark_dataset", "mean", "std",
                           "input_size", "class_labels", "description", "family", "resize", "interpolation"})
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_MIB = float(2 ** 20)


@dataclass(frozen=True)
class _Entry:
    path: Path
    kind: str
    arch: str | None


@dataclass
class LocalCheckpointSource:
    """A ``ModelSource`` over a folder of checkpoints.

    ``manifest`` (or a ``greenrunner.json`` in the folder; the argument wins per file) maps file name ->
    {"arch", "name", "benchmark_accuracy" (fraction, or percent if > 1), "benchmark_dataset", "mean", "std",
    "input_size" ([C,H,W] or [H,W]), "class_labels", "description", "family", "resize", "interpolation"}.
    State_dict files need "arch"; TorchScript / .pt2 files work without an entry (ImageNet-style defaults,
    recorded in ``notes``). Files that cannot be used are skipped with a note, never an exception.
    ``complexity_cache`` is an optional JSON path so MAC counts are measured once per weights file.
    """

    folder: str | Path
    manifest: Mapping[str, Mapping[str, Any]] | None = None
    name: str = "local"
    complexity_cache: str | Path | None = None
    notes: list[SourceNote] = field(default_factory=list, init=False)
    recognised: dict[str, str] = field(default_factory=dict, init=False)   # file name -> architecture found by shape
    skipped: dict[str, str] = field(default_factory=dict, init=False)   # file name -> why it is not a model
    _cards: list[ModelCard] | None = field(default=None, init=False, repr=False, compare=False)
    _entries: dict[str, _Entry] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).expanduser()
        if not self.folder.is_dir():
            raise GreenRunnerError(f"model folder {str(self.folder)!r} does not exist or is not a folder")

    # ModelSource -----------------------------------------------------------------------------------------
    def cards(self) -> list[ModelCard]:
        if self._cards is None:
            self._cards = self._scan()
        return list(self._cards)

    def load(self, card: ModelCard) -> nn.Module:
        entry = self._entry(card.name)
        if not entry.path.exists():
            raise WeightsUnavailableError(f"checkpoint {entry.path} for model {card.name!r} is gone")
        if sha256_file(entry.path) != card.weights_id:
            raise WeightsUnavailableError(
                f"checkpoint {entry.path} changed since model {card.name!r} was listed; "
                "re-create the source to list it again")
        return load_checkpoint_module(entry.path, entry.kind, entry.arch)

    def _entry(self, name: str) -> _Entry:
        self.cards()
        if name not in self._entries:
            raise UnknownModelError(name, self._entries)
        return self._entries[name]

    # scanning --------------------------------------------------------------------------------------------
    def _manifest(self) -> dict[str, dict[str, Any]]:
        merged: dict[str, dict[str, Any]] = {}
        manifest_path = self.folder / MANIFEST_FILE
        if manifest_path.exists():
            try:
                data = json.loads(manifest_path.read_text())
                if not isinstance(data, dict):
                    raise TypeError("top level must be an object {file name: {...}}")
                merged.update({str(k): dict(v) for k, v in data.items()})
            except (OSError, ValueError, TypeError) as exc:
                self.notes.append(ManifestIgnored(str(manifest_path), str(exc)))
        for file_name, entry in (self.manifest or {}).items():
            merged[str(file_name)] = dict(entry)
        return merged

    def _scan(self) -> list[ModelCard]:
        self._entries.clear()
        self.recognised.clear()
        self.skipped.clear()
        manifest = self._manifest()
        files = sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
                       and (p.suffix.lower() in CHECKPOINT_SUFFIXES or p.name in manifest))
        for missing in sorted(set(manifest) - {p.name for p in files}):
            self.notes.append(ManifestFileMissing(missing, str(self.folder)))
        cache = ComplexityCache(self.complexity_cache)
        cards: list[ModelCard] = []
        for path in files:
            meta = manifest.get(path.name, {})
            unknown = sorted(set(meta) - MANIFEST_KEYS)
            if unknown:
                self.notes.append(UnknownManifestKeys(path.name, tuple(unknown), tuple(sorted(MANIFEST_KEYS))))
            try:
                kind = checkpoint_kind(path)
                card = self._card(path, kind, meta, cache)
            except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
                self.notes.append(ItemSkipped(self.name, path.name, str(exc)))
                self.skipped[path.name] = str(exc)
                continue
            if card.name in self._entries:
                self.notes.append(NameTaken(path.name, card.name, self._entries[card.name].path.name))
                continue
            arch = (meta.get("arch") or self.recognised.get(path.name)) if kind == "state_dict" else None
            self._entries[card.name] = _Entry(path, kind, arch)
            cards.append(card)
        return cards

    def _card(self, path: Path, kind: str, meta: Mapping[str, Any], cache: ComplexityCache) -> ModelCard:
        arch = meta.get("arch")
        if kind == "state_dict" and not arch:
            arch = self._recognised(path)
            meta = {**meta, "arch": arch}
        if kind != "state_dict" and arch:
            self.notes.append(ArchOnlyForDefaults(path.name, kind, str(arch)))
        spec = get_arch(arch) if arch else None
        weights_id = sha256_file(path)
        model = load_checkpoint_module(path, kind, arch if kind == "state_dict" else None)

        base = spec.preprocess if spec else Preprocess(crop=(224, 224), mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
                                                       resize=256)
        preprocess = _preprocess_from(meta, base)
        if spec is None and not {"input_size", "mean", "std"} <= set(meta):
            self.notes.append(AssumedPreprocess(path.name, tuple(preprocess.input_size), tuple(preprocess.mean),
                                                tuple(preprocess.std)))
        if "class_labels" in meta:
            labels = tuple(str(c) for c in meta["class_labels"])
        elif spec is not None:
            labels = spec.class_labels
        else:
            labels = tuple(f"class_{i}" for i in range(_num_outputs(model, preprocess.input_size)))
            self.notes.append(AssumedLabels(path.name, labels[0], labels[-1]))

        macs = cache.measure(model, weights_id, preprocess.input_size).macs
        stem = path.name.split(".")[0]
        return ModelCard(
            name=str(meta.get("name") or stem), source=self.name,
            family=str(meta.get("family") or (spec.family if spec else kind)),
            params=count_params(model), size_mb=path.stat().st_size / _MIB, macs=macs,
            preprocess=preprocess, class_labels=labels, weights_id=weights_id,
            benchmark_accuracy=_fraction(meta.get("benchmark_accuracy")),
            benchmark_dataset=meta.get("benchmark_dataset"),
            description=str(meta.get("description") or (spec.description if spec else f"{kind} file {path.name}")),
        )


    def _recognised(self, path: Path) -> str:
        """The one registered architecture this state_dict loads into strictly, else an error saying what to do."""
        match = recognise_arch(read_state_dict(path))
        if match.arch:
            self.recognised[path.name] = match.arch
            self.notes.append(ArchRecognised(path.name, match.arch))
            return match.arch
        if match.matches:
            raise GreenRunnerError(f"{path.name} is a state_dict that fits several architectures "
                                   f"({', '.join(match.matches)}); name the one it was trained with in "
                                   f'{MANIFEST_FILE}, e.g. {{"{path.name}": {{"arch": "{match.matches[0]}"}}}}')
        closest = (f"the closest is {match.closest!r}: {match.why}" if match.closest else match.why)
        raise GreenRunnerError(f"{path.name} is a state_dict of no registered architecture ({closest}); name its "
                               f'architecture in {MANIFEST_FILE}, e.g. {{"{path.name}": {{"arch": "..."}}}} (one of '
                               f"{', '.join(arch_names()[:6])}, ...), or save it as TorchScript "
                               "(torch.jit.save(torch.jit.script(model), path))")


def _preprocess_from(meta: Mapping[str, Any], base: Preprocess) -> Preprocess:
    changes: dict[str, Any] = {}
    if "input_size" in meta:
        size = [int(v) for v in meta["input_size"]]
        if len(size) == 3:
            changes["channels"], changes["crop"] = size[0], (size[1], size[2])
        elif len(size) == 2:
            changes["crop"] = (size[0], size[1])
        else:
            raise GreenRunnerError(f"input_size {meta['input_size']!r} must be [C, H, W] or [H, W]")
    for key in ("mean", "std"):
        if key in meta:
            changes[key] = tuple(float(v) for v in meta[key])
    if "resize" in meta:
        changes["resize"] = None if meta["resize"] is None else int(meta["resize"])
    if "interpolation" in meta:
        changes["interpolation"] = str(meta["interpolation"])
    out = replace(base, **changes)
    if len(out.mean) != out.channels or len(out.std) != out.channels:
        raise GreenRunnerError(f"mean {out.mean} / std {out.std} need {out.channels} values (one per channel)")
    return out


def _fraction(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    if 1.0 < value <= 100.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise GreenRunnerError(f"benchmark_accuracy {value} must be a fraction in [0, 1] or a percent in (1, 100]")
    return value


def _num_outputs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    with torch.inference_mode():
        out = model(torch.zeros((1, *input_size)))
    if not isinstance(out, torch.Tensor) or out.ndim != 2:
        raise GreenRunnerError(f"model output {getattr(out, 'shape', type(out).__name__)} is not (batch, classes); "
                               "only classifiers returning logits are supported")
    return int(out.shape[1])
