"""Models from a folder of checkpoint files (TorchScript, torch.export, or state_dict + named architecture).

Nothing here unpickles arbitrary Python: state_dicts are read with ``torch.load(weights_only=True)``,
torch.export archives are vetted before ``torch.export.load`` (which would otherwise fall back to full
pickle for some members), and a file that needs pickled code is refused with ``UnsafeCheckpointError``.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenrunner_core.complexity import ComplexityCache, count_params
from greenrunner_core.errors import GreenRunnerError, UnknownModelError, UnsafeCheckpointError, WeightsUnavailableError
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.cifar_archs import CIFAR10_CLASSES, get_arch

MANIFEST_FILE = "greenrunner.json"
CHECKPOINT_SUFFIXES = frozenset({".pt", ".pth", ".th", ".pt2", ".ts", ".ptl", ".ckpt", ".bin"})
MANIFEST_KEYS = frozenset({"arch", "name", "benchmark_accuracy", "benchmark_dataset", "mean", "std",
                           "input_size", "class_labels", "description", "family", "resize", "interpolation"})
_STATE_DICT_WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_MIB = float(2 ** 20)

_FIX_HINT = ("Re-save it without Python objects, either as a plain state_dict "
             "(torch.save(model.state_dict(), path)) and name its architecture in greenrunner.json "
             "(\"arch\": one of the registered architectures), or as TorchScript "
             "(torch.jit.save(torch.jit.script(model), path)).")


# --- file formats --------------------------------------------------------------------------------------

def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_kind(path: str | Path) -> str:
    """"torchscript", "export" (torch.export .pt2) or "state_dict" (anything torch.save wrote)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            rel = {_strip_root(n) for n in archive.namelist()}
        if "archive_format" in rel:
            return "export"
        if "constants.pkl" in rel and any(n.startswith("code/") for n in rel):
            return "torchscript"
    return "state_dict"


def _strip_root(member: str) -> str:
    return member.split("/", 1)[1] if "/" in member else member


def _unsafe(path: Path, why: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(f"refusing checkpoint {path.name}: {why}; loading it would run arbitrary "
                                 f"pickled code. {_FIX_HINT}")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a torch.save file, read with ``weights_only=True``.

    Unwraps common containers ({'state_dict': ...}, {'model': ...}) and strips a DataParallel ``module.``
    prefix. Raises ``UnsafeCheckpointError`` when the file holds pickled Python objects.
    """
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        raise _unsafe(path, f"it is not a plain tensor file ({first_line})") from None
    state = _find_state_dict(obj)
    if state is None:
        keys = list(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
        raise GreenRunnerError(f"checkpoint {path.name} holds no state_dict of tensors (top level: {keys}); "
                               f"save model.state_dict() or a dict with a 'state_dict' entry")
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def _find_state_dict(obj: Any) -> dict[str, torch.Tensor] | None:
    def tensors_only(candidate: Any) -> bool:
        return (isinstance(candidate, Mapping) and len(candidate) > 0
                and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in candidate.items()))

    if tensors_only(obj):
        return dict(obj)
    if isinstance(obj, Mapping):
        for key in _STATE_DICT_WRAPPERS:
            if tensors_only(obj.get(key)):
                return dict(obj[key])
    return None


def _vet_export_archive(path: Path) -> None:
    """Refuse a .pt2 whose loading would unpickle arbitrary objects or load compiled code.

    ``torch.export.load`` unpickles some members with ``weights_only=False`` (pickled weights/constants,
    custom objects, and as a fallback the sample inputs); here every pickled member must load with
    ``weights_only=True`` first, and custom/opaque objects or compiled artifacts are refused outright.
    """
    from torch.export.pt2_archive import constants as pt2

    with zipfile.ZipFile(path) as archive:
        members = {_strip_root(n): n for n in archive.namelist()}
        for rel in members:
            if rel.startswith((pt2.AOTINDUCTOR_DIR, pt2.EXECUTORCH_DIR, pt2.MTIA_DIR)):
                raise _unsafe(path, f"it contains compiled code ({rel})")
            base = rel.rsplit("/", 1)[-1]
            if rel.startswith(pt2.CONSTANTS_DIR) and base.startswith(
                    (pt2.CUSTOM_OBJ_FILENAME_PREFIX, pt2.OPAQUE_OBJ_FILENAME_PREFIX)):
                raise _unsafe(path, f"it contains a pickled custom object ({rel})")
        pickled = [rel for rel in members if rel.startswith(pt2.SAMPLE_INPUTS_DIR)
                   or (rel.startswith((pt2.WEIGHTS_DIR, pt2.CONSTANTS_DIR)) and rel.endswith(".pt"))]
        for rel, member in members.items():
            if rel.startswith((pt2.WEIGHTS_DIR, pt2.CONSTANTS_DIR)) and rel.endswith("_config.json"):
                config = json.loads(archive.read(member)).get("config", {})
                directory = rel.rsplit("/", 1)[0] + "/"
                pickled += [directory + meta["path_name"] for meta in config.values() if meta.get("use_pickle")]
        for rel in pickled:
            try:
                torch.load(io.BytesIO(archive.read(members[rel])), map_location="cpu", weights_only=True)
            except KeyError:
                raise GreenRunnerError(f"torch.export archive {path.name} is incomplete: {rel} is missing") from None
            except pickle.UnpicklingError:
                raise _unsafe(path, f"member {rel} is not a plain tensor file") from None


def load_checkpoint_module(path: str | Path, kind: str, arch: str | None = None) -> nn.Module:
    """The model in a checkpoint file, on CPU, in eval mode where the format allows it."""
    path = Path(path)
    if kind == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)     # "torch.jit.load is deprecated"; still supported
            model = torch.jit.load(str(path), map_location="cpu")
    elif kind == "export":
        _vet_export_archive(path)
        model = torch.export.load(str(path)).module()
    elif kind == "state_dict":
        if not arch:
            raise GreenRunnerError(f"{path.name} is a state_dict: name its architecture in {MANIFEST_FILE}, "
                                   f'e.g. {{"{path.name}": {{"arch": "cifar_resnet20_chenyaofo"}}}}')
        model = get_arch(arch).build()
        state = read_state_dict(path)
        result = model.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise GreenRunnerError(
                f"{path.name} does not match architecture {arch!r}: missing keys {result.missing_keys[:5]}, "
                f"unexpected keys {result.unexpected_keys[:5]}; pick the architecture it was trained with")
    else:
        raise ValueError(f"unknown checkpoint kind {kind!r}")
    try:
        model.eval()
    except NotImplementedError:      # exported programs are already frozen in the mode they were exported in
        pass
    return model


# --- the source -------------------------------------------------------------------------------------------

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
    notes: list[str] = field(default_factory=list, init=False)
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
        self.cards()
        entry = self._entries.get(card.name)
        if entry is None:
            raise UnknownModelError(card.name, self._entries)
        if not entry.path.exists():
            raise WeightsUnavailableError(f"checkpoint {entry.path} for model {card.name!r} is gone")
        if sha256_file(entry.path) != card.weights_id:
            raise WeightsUnavailableError(
                f"checkpoint {entry.path} changed since model {card.name!r} was listed; "
                "re-create the source to list it again")
        return load_checkpoint_module(entry.path, entry.kind, entry.arch)

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
                self.notes.append(f"ignored {manifest_path}: {exc}")
        for file_name, entry in (self.manifest or {}).items():
            merged[str(file_name)] = dict(entry)
        return merged

    def _scan(self) -> list[ModelCard]:
        self.notes.clear()
        self._entries.clear()
        manifest = self._manifest()
        files = sorted(p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
                       and (p.suffix.lower() in CHECKPOINT_SUFFIXES or p.name in manifest))
        for missing in sorted(set(manifest) - {p.name for p in files}):
            self.notes.append(f"{MANIFEST_FILE} names {missing!r}, which is not a file in {self.folder}")
        cache = ComplexityCache(self.complexity_cache)
        cards: list[ModelCard] = []
        for path in files:
            meta = manifest.get(path.name, {})
            unknown = sorted(set(meta) - MANIFEST_KEYS)
            if unknown:
                self.notes.append(f"{path.name}: ignored unknown manifest keys {unknown} "
                                  f"(known: {sorted(MANIFEST_KEYS)})")
            try:
                kind = checkpoint_kind(path)
                card = self._card(path, kind, meta, cache)
            except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
                self.notes.append(f"skipped {path.name}: {exc}")
                continue
            if card.name in self._entries:
                self.notes.append(f"skipped {path.name}: model name {card.name!r} is already used by "
                                  f"{self._entries[card.name].path.name}; give it another \"name\"")
                continue
            self._entries[card.name] = _Entry(path, kind, meta.get("arch") if kind == "state_dict" else None)
            cards.append(card)
        return cards

    def _card(self, path: Path, kind: str, meta: Mapping[str, Any], cache: ComplexityCache) -> ModelCard:
        arch = meta.get("arch")
        if kind != "state_dict" and arch:
            self.notes.append(f"{path.name}: is {kind}, so its \"arch\" {arch!r} is only used for defaults")
        spec = get_arch(arch) if arch else None
        weights_id = sha256_file(path)
        model = load_checkpoint_module(path, kind, arch if kind == "state_dict" else None)

        base = spec.preprocess if spec else Preprocess(crop=(224, 224), mean=_IMAGENET_MEAN, std=_IMAGENET_STD,
                                                       resize=256)
        preprocess = _preprocess_from(meta, base)
        if spec is None and not {"input_size", "mean", "std"} <= set(meta):
            self.notes.append(f"{path.name}: no input_size/mean/std in {MANIFEST_FILE}; assuming "
                              f"ImageNet-style {preprocess.input_size}, mean {preprocess.mean}, std {preprocess.std}")
        if "class_labels" in meta:
            labels = tuple(str(c) for c in meta["class_labels"])
        elif spec is not None:
            labels = spec.class_labels
        else:
            labels = tuple(f"class_{i}" for i in range(_num_outputs(model, preprocess.input_size)))
            self.notes.append(f"{path.name}: no class_labels in {MANIFEST_FILE}; using {labels[0]}..{labels[-1]}")

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


# --- the shared CIFAR-10 checkpoints ---------------------------------------------------------------------

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
