"""Uploads of one conversation: target datasets (zip of an ImageFolder) and model checkpoints, size-limited and
validated by the core (zip-slip safe extraction in ``load_target``, ``weights_only`` loading in
``LocalCheckpointSource``), kept in a folder per conversation so they survive a restart."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from greenrunner_core.data import load_target
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.label_map import load_label_map
from greenrunner_core.registry.checkpoint_files import (
    CHECKPOINT_SUFFIXES,
    MANIFEST_FILE,
    checkpoint_kind,
    read_state_dict,
)
from greenrunner_core.registry.cifar10_shared import checkpoint_source
from greenrunner_core.registry.local import MANIFEST_KEYS
from greenrunner_core.registry.source_notes import AssumedPreprocess, ItemSkipped, NameTaken
from greenrunner_core.zip_extract import ZipLimits
from tools.dataset_text import dataset_summary, error_text
from tools.notes_text import words

Kind = Literal["dataset", "checkpoint", "manifest", "label_map", "unsupported"]
LABEL_MAP_FILE = "label_map.json"           # the user's label map edits (uploaded JSON and chat edits, merged)
_SAFE = re.compile(r"[^A-Za-z0-9._\-]+")
_STATE_FILE = "uploads.json"


def safe_name(name: str, fallback: str = "upload") -> str:
    """A file name without folders or odd characters (the user's name is never used as a path)."""
    base = Path(str(name).replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).strip("._")
    return cleaned[:120] or fallback


def upload_kind(name: str) -> Kind:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "dataset"
    if Path(lower).name == MANIFEST_FILE:
        return "manifest"
    if lower.endswith(".json"):
        return "label_map"
    if Path(lower).suffix in CHECKPOINT_SUFFIXES:
        return "checkpoint"
    return "unsupported"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _short(note: str, limit: int = 400) -> str:
    """A note without a TorchScript traceback: its first line and its last (the error itself)."""
    lines = [line.strip() for line in note.strip().splitlines() if line.strip()]
    text = lines[0] if len(lines) < 2 else f"{lines[0]} … {lines[-1]}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _as_shown(text: str, stored: Path, shown: str) -> str:
    """``text`` naming the upload as the user named it, not by its stored path."""
    return text.replace(str(stored.resolve()), shown).replace(str(stored), shown).replace(stored.name, shown)


def _mb(n_bytes: int) -> str:
    mb = n_bytes / 2**20
    return f"{mb:.2f} MB" if mb < 10 else f"{mb:,.0f} MB"


@dataclass
class UploadReply:
    """What the chat says about one uploaded file."""

    ok: bool
    kind: Kind
    name: str
    message: str
    path: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConversationUploads:
    """The uploads folder of one conversation: ``datasets/``, ``models/<sha>/`` and a small state file."""

    root: Path
    cache_dir: Path
    max_bytes: int
    zip_limits: ZipLimits = field(default_factory=ZipLimits)

    @classmethod
    def for_thread(cls, uploads_root: Path, thread_id: str, cache_dir: Path, max_mb: float,
                   zip_limits: ZipLimits | None = None) -> ConversationUploads:
        return cls(Path(uploads_root) / safe_name(thread_id, "thread"), Path(cache_dir), int(max_mb * 2**20),
                   zip_limits or ZipLimits())

    # ---- state ---------------------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / _STATE_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self, **changes: Any) -> None:
        state = self._state() | changes
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{_STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.root / _STATE_FILE)

    def dataset(self) -> Path | None:
        """The dataset uploaded last (runs use it), or None."""
        path = self._state().get("dataset")
        return Path(path) if path and Path(path).exists() else None

    def checkpoint_folders(self) -> tuple[str, ...]:
        """One folder per accepted checkpoint (a new upload = a new folder, so model registries are rebuilt)."""
        models = self.root / "models"
        if not models.is_dir():
            return ()
        return tuple(str(p) for p in sorted(models.iterdir()) if p.is_dir() and not p.name.startswith("."))

    def model_names(self) -> list[str]:
        return list(self._state().get("models", {}).values())

    def manifest(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.root / MANIFEST_FILE).read_text())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    # ---- accepting files -----------------------------------------------------------------------------------
    def accept_many(self, files: Iterable[tuple[Path, str]], known_models: Iterable[str] = ()) -> list[UploadReply]:
        """Accept several files; a ``greenrunner.json`` goes first so checkpoints in the same message can use it."""
        ordered = sorted(files, key=lambda f: upload_kind(f[1]) != "manifest")
        known = set(known_models)
        replies = []
        for path, name in ordered:
            reply = self.accept(path, name, known)
            if reply.ok and reply.kind == "checkpoint":
                known.add(reply.details["model"])
            replies.append(reply)
        return replies

    def accept(self, path: Path, name: str, known_models: Iterable[str] = ()) -> UploadReply:
        """Validate one uploaded file (never raises for bad input: the reply says what is wrong and how to fix it)."""
        shown = safe_name(name)
        kind = upload_kind(name)
        try:
            size = Path(path).stat().st_size
        except OSError as err:
            return UploadReply(False, kind, shown, f"**{shown}** could not be read after the upload ({err}); "
                                                   "please upload it again.")
        if size > self.max_bytes:
            return UploadReply(False, kind, shown, f"**{shown}** is too large: {_mb(size)}, the limit is "
                                                   f"{_mb(self.max_bytes)} (GREENRUNNER_MAX_UPLOAD_MB). Upload a "
                                                   "smaller sample of your images, or run GreenRunner on the folder "
                                                   "from the command line.")
        if size == 0:
            return UploadReply(False, kind, shown, f"**{shown}** is empty (0 bytes); nothing was saved.")
        if kind == "dataset":
            return self._dataset(Path(path), shown)
        if kind == "checkpoint":
            return self._checkpoint(Path(path), shown, set(known_models))
        if kind == "manifest":
            return self._manifest(Path(path), shown)
        if kind == "label_map":
            return self._label_map(Path(path), shown)
        return UploadReply(False, kind, shown, f"**{shown}** is not a file type I can use. Upload a **.zip** of an "
                                               "ImageFolder (one sub-folder per class: `cat/1.jpg`, `dog/2.jpg`) as "
                                               "your target dataset, or a model checkpoint ("
                                               + ", ".join(sorted(CHECKPOINT_SUFFIXES)) + f") with an optional "
                                               f"`{MANIFEST_FILE}`.")

    def _dataset(self, path: Path, shown: str) -> UploadReply:
        if not zipfile.is_zipfile(path):
            return UploadReply(False, "dataset", shown, f"**{shown}** is not a valid zip archive (it may be corrupt "
                                                        "or truncated). Zip the dataset folder again and re-upload it.")
        digest = _sha256(path)[:16]
        dest = self.root / "datasets" / f"{digest}-{shown}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        if not dest.exists():
            shutil.copyfile(path, dest)
        try:
            dataset = load_target(dest, cache_dir=self.cache_dir / "datasets", zip_limits=self.zip_limits)
        except (GreenRunnerError, zipfile.BadZipFile, OSError, EOFError) as err:
            dest.unlink(missing_ok=True)
            text = _as_shown(error_text(err), dest, shown)
            first, _, rest = text.partition("\n")
            detail = f"\n\n```\n{rest}\n```" if rest.strip() else ""
            return UploadReply(False, "dataset", shown, f"**{shown}** cannot be used as a target dataset: {first}"
                                                        f"{detail}")
        self._save_state(dataset=str(dest))
        report = dataset.report
        summary = _as_shown(dataset_summary(report), dest, shown)
        return UploadReply(True, "dataset", shown,
                           f"**{shown}**: target dataset accepted — {report.usable} usable images in "
                           f"{len(report.classes)} classes.\n\n```\n{summary}\n```",
                           dest, {"usable": report.usable, "classes": list(report.classes),
                                  "issues": len(report.issues)})

    def label_map_path(self) -> Path:
        return self.root / LABEL_MAP_FILE

    def label_map_edits(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.label_map_path().read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def edit_label_map(self, entries: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """Merge ``entries`` (validated as a label map) into the saved edits; returns the merged edits."""
        checked = load_label_map({k: list(v) for k, v in entries.items()})
        merged = self.label_map_edits() | {k: sorted(v) for k, v in checked.items()}
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{LABEL_MAP_FILE}.tmp"
        tmp.write_text(json.dumps(merged, indent=1), encoding="utf-8")
        tmp.replace(self.label_map_path())
        return merged

    def _label_map(self, path: Path, shown: str) -> UploadReply:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            merged = self.edit_label_map(data if isinstance(data, dict) else {"": data})
        except (OSError, UnicodeDecodeError, ValueError) as err:
            return UploadReply(False, "label_map", shown, f"**{shown}** cannot be used as a label map: {err}")
        entries = "; ".join(f"{k} → {', '.join(v)}" for k, v in sorted(merged.items()))
        return UploadReply(True, "label_map", shown, f"**{shown}**: label map saved ({entries}). It replaces the "
                                                     "automatic map for these classes in the next proposal.")

    def _manifest(self, path: Path, shown: str) -> UploadReply:
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as err:
            return UploadReply(False, "manifest", shown, f"**{shown}** is not valid JSON ({err}).")
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            return UploadReply(False, "manifest", shown, f"**{shown}** must map checkpoint file names to settings, "
                                                         'e.g. {"net.pt": {"arch": "cifar_resnet20_chenyaofo"}}.')
        unknown = sorted({k for v in data.values() for k in v} - MANIFEST_KEYS)
        if unknown:
            return UploadReply(False, "manifest", shown, f"**{shown}** uses unknown keys {unknown}; known keys: "
                                                         f"{sorted(MANIFEST_KEYS)}.")
        merged = self.manifest() | {safe_name(k): v for k, v in data.items()}
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MANIFEST_FILE).write_text(json.dumps(merged, indent=1))
        return UploadReply(True, "manifest", shown, f"**{shown}** saved: settings for {', '.join(sorted(data))}. "
                                                    "Upload the checkpoint file(s) it describes now.")

    def _checkpoint(self, path: Path, shown: str, known_models: set[str]) -> UploadReply:
        digest = _sha256(path)[:16]
        models = self.root / "models"
        final = models / digest
        if final.exists():
            name = self._state().get("models", {}).get(digest, shown)
            return UploadReply(True, "checkpoint", shown, f"**{shown}** was already uploaded (model `{name}`).",
                               final, {"model": name})
        models.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".incoming-", dir=models))
        try:
            shutil.copyfile(path, work / shown)
            if checkpoint_kind(work / shown) == "state_dict":
                read_state_dict(work / shown)      # weights_only: refuses pickled code before anything else
            entry = self.manifest().get(shown)
            if entry:
                (work / MANIFEST_FILE).write_text(json.dumps({shown: entry}))
            source = checkpoint_source(work)        # the name and card the runs' registry gives it
            cards = source.cards()
            if not cards:
                why = "; ".join(_short(n) for n in words(source.notes)) or "no model could be read from it"
                hint = ""
                if "state_dict" in why and "architecture" in why:
                    hint = (f"\n\nUpload a `{MANIFEST_FILE}` naming its architecture first, e.g. "
                            f'`{{"{shown}": {{"arch": "cifar_resnet20_chenyaofo"}}}}`, then this file again.')
                elif any(isinstance(n, AssumedPreprocess) for n in source.notes):
                    hint = (f"\n\nIf the model expects another input, upload a `{MANIFEST_FILE}` first, e.g. "
                            f'`{{"{shown}": {{"input_size": [1, 8, 8], "mean": [0.5], "std": [0.5], '
                            f'"class_labels": ["0", "1"]}}}}`, then this file again.')
                return UploadReply(False, "checkpoint", shown, f"**{shown}** was not added: {why}{hint}")
            card = cards[0]
            if card.name in known_models:
                return UploadReply(False, "checkpoint", shown,
                                   f"**{shown}** was not added: a model named `{card.name}` already exists. Rename "
                                   f'the file, or give it a "name" in `{MANIFEST_FILE}`.')
            work.rename(final)
        except (GreenRunnerError, OSError, RuntimeError, ValueError) as err:
            return UploadReply(False, "checkpoint", shown, f"**{shown}** was not added: {_short(str(err), 900)}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._save_state(models=self._state().get("models", {}) | {digest: card.name})
        notes = words(n for n in source.notes if not isinstance(n, (ItemSkipped, NameTaken)))
        lines = [(f"**{shown}**: model `{card.name}` added ({card.family}, {card.params:,} parameters, "
                 f"{card.size_mb:.3g} MB, {card.macs:,} MACs per image at input {card.preprocess.input_size}, "
                 f"{len(card.class_labels)} classes). Loaded without running any pickled code.")]
        lines += [f"- note: {_short(n)}" for n in notes]
        return UploadReply(True, "checkpoint", shown, "\n".join(lines), final, {"model": card.name})
