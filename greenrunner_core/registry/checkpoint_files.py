"""Checkpoint files: which format a file is, and loading it without unpickling arbitrary Python.

State_dicts are read with ``torch.load(weights_only=True)``, torch.export archives are vetted before
``torch.export.load`` (which would otherwise fall back to full pickle for some members), and a file that
needs pickled code is refused with ``UnsafeCheckpointError``.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenrunner_core.errors import GreenRunnerError, UnsafeCheckpointError
from greenrunner_core.registry.archs import get_arch

__all__ = ["CHECKPOINT_SUFFIXES", "MANIFEST_FILE", "checkpoint_kind", "load_checkpoint_module", "read_state_dict",
           "sha256_file"]

MANIFEST_FILE = "greenrunner.json"        # per-folder metadata of the checkpoints beside it
CHECKPOINT_SUFFIXES = frozenset({".pt", ".pth", ".th", ".pt2", ".ts", ".ptl", ".ckpt", ".bin"})
_STATE_DICT_WRAPPERS = ("state_dict", "model_state_dict", "model", "net", "weights")

_FIX_HINT = ("Re-save it without Python objects, either as a plain state_dict "
             "(torch.save(model.state_dict(), path)) and name its architecture in greenrunner.json "
             "(\"arch\": one of the registered architectures), or as TorchScript "
             "(torch.jit.save(torch.jit.script(model), path)).")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_kind(path: str | Path) -> str:
    """"torchscript", "export" (torch.export .pt2) or "state_dict" (anything torch.save wrote).

    Raises ``GreenRunnerError`` for a file that is none of them (empty, damaged zip, or not a PyTorch file at all),
    so it is never mistaken for a state_dict that merely lacks its architecture, or for pickled code.
    """
    _sniff(Path(path))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            rel = {_strip_root(n) for n in archive.namelist()}
        if "archive_format" in rel:
            return "export"
        if "constants.pkl" in rel and any(n.startswith("code/") for n in rel):
            return "torchscript"
    return "state_dict"


def _sniff(path: Path) -> None:
    """Refuse what torch.save / torch.jit.save / torch.export.save never write, naming what the file looks like."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise GreenRunnerError(f"{path.name} is empty (0 bytes); save or copy the checkpoint again")
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(path):
            raise GreenRunnerError(f"{path.name} starts like a PyTorch zip archive (TorchScript, torch.export or "
                                   "torch.save) but is truncated or damaged: its end (the zip central directory) is "
                                   "missing. Copy or save it again")
        return
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:      # a pickle: torch.save's legacy (pre-1.6) format
        return
    raise GreenRunnerError(f"{path.name} is not a PyTorch checkpoint: neither a zip archive (torch.save, "
                           f"TorchScript, torch.export) nor a legacy torch.save pickle (it starts with bytes "
                           f"{head.hex()}); it may be damaged, or another format such as ONNX or safetensors")


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
        state = read_state_dict(path)         # first: pickled code is refused as such, whatever the manifest says
        if not arch:
            raise GreenRunnerError(f"{path.name} is a state_dict: name its architecture in {MANIFEST_FILE}, "
                                   f'e.g. {{"{path.name}": {{"arch": "cifar_resnet20_chenyaofo"}}}}')
        model = get_arch(arch).build()
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
