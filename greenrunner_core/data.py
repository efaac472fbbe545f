"""Target datasets: load an ImageFolder directory or zip safely, skip and report bad files, map classes to model labels.

Every file is read once, hashed (sha256 = the image id used in cache keys) and fully decoded by Pillow, so a
file that cannot be decoded is skipped and reported here instead of being counted as a wrong answer later.
Zip inputs are extracted into ``<cache>/<sha256 of the zip>[:16]``, refusing absolute paths, ``..`` and
symlinks and capping the number of entries and the uncompressed size.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from greenrunner_core.errors import DatasetError

IssueKind = Literal["corrupt", "zero_byte", "not_image", "unreadable", "unmapped_class", "duplicate", "unsafe_path"]
ISSUE_KINDS: tuple[str, ...] = get_args(IssueKind)

MAX_ZIP_ENTRIES = 500_000                 # entries in one zip (files + folders)
MAX_ZIP_BYTES = 16 * 1024**3              # total uncompressed size of the files we extract
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".ppm", ".pgm", ".pbm", ".pnm", ".bmp",
                              ".tif", ".tiff", ".webp", ".gif"})
_IGNORED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
_MANIFEST = ".greenrunner-extract.json"   # written last into an extraction; its presence means "complete"
_LABEL_MAP_FORMAT = ('A label map is a JSON object mapping each dataset class (folder name) to a LIST of model '
                     'labels counted as correct, e.g. {"chair": ["folding chair", "rocking chair"], '
                     '"cup": ["cup", "968"]} (entries are label names or class indices as strings).')


# --------------------------------------------------------------------------------------------------- report

@dataclass(frozen=True)
class TargetImage:
    id: str            # sha256 hex of the file bytes, first 32 chars. Same bytes => same id.
    path: str          # path relative to the dataset root, posix style
    class_name: str    # dataset class (folder name)


@dataclass(frozen=True)
class ValidationIssue:
    path: str
    kind: IssueKind
    detail: str


@dataclass
class ValidationReport:
    """What was checked and what was skipped. Every checked file is either usable or has exactly one issue."""

    source: str
    total_files: int
    usable: int
    classes: list[str]
    issues: list[ValidationIssue]

    def counts(self) -> dict[str, int]:
        """Number of issues per kind (only kinds that occur)."""
        return dict(Counter(i.kind for i in self.issues))

    def summary(self, max_per_kind: int = 5) -> str:
        """Human-readable, multi-line; names up to ``max_per_kind`` files per kind of issue."""
        shown = ", ".join(self.classes[:20]) + (f", ... ({len(self.classes)} in all)" if len(self.classes) > 20 else "")
        lines = [(f"Dataset {self.source}: {self.usable} usable images in {len(self.classes)} classes "
                  f"({self.total_files} files checked).")]
        if self.classes:
            lines.append(f"Classes: {shown}")
        if not self.issues:
            lines.append("No problems found.")
            return "\n".join(lines)
        lines.append(f"Skipped {len(self.issues)} (never counted as wrong answers):")
        for kind, n in sorted(self.counts().items(), key=lambda kv: ISSUE_KINDS.index(kv[0])):
            lines.append(f"  {kind}: {n}")
            of_kind = [i for i in self.issues if i.kind == kind]
            for issue in of_kind[:max_per_kind]:
                lines.append(f"    - {issue.path}: {issue.detail}")
            if n > max_per_kind:
                lines.append(f"    ... and {n - max_per_kind} more")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------------- dataset

def normalize_label(text: str) -> str:
    """Case-insensitive, '_' / '-' / ' ' equivalent form used to match class names to model labels."""
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


@dataclass
class TargetDataset:
    """Usable images of a target dataset (sorted by (class_name, path)) and how its classes map to model labels."""

    root: Path
    images: list[TargetImage]
    class_names: list[str]
    label_map: dict[str, frozenset[str]] | None
    report: ValidationReport
    _allowed_cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.images)

    def load_image(self, image: TargetImage) -> Image.Image:
        """The image, opened lazily from memory (no open file handle); the caller converts it."""
        path = self.root / image.path
        try:
            data = path.read_bytes()
        except OSError as e:
            raise DatasetError(f"cannot read {path} ({e}); was the dataset moved or deleted after loading?") from e
        if _content_id(data) != image.id:
            raise DatasetError(f"{path} changed after the dataset was loaded (content hash differs); "
                               f"load the dataset again")
        return Image.open(io.BytesIO(data))

    def allowed_indices(self, class_name: str, class_labels: Sequence[str]) -> frozenset[int]:
        """Indices in ``class_labels`` counted as correct for dataset class ``class_name`` (empty = unmapped)."""
        key = (class_name, tuple(class_labels))
        cached = self._allowed_cache.get(key)
        if cached is not None:
            return cached
        if self.label_map is None:
            wanted = {normalize_label(class_name)}
        else:
            if class_name not in self.label_map:
                raise DatasetError(f"class {class_name!r} is not in this dataset's label map "
                                   f"(classes: {', '.join(sorted(self.label_map))})")
            wanted = {normalize_label(e) for e in self.label_map[class_name]}
        out = {i for i, label in enumerate(class_labels) if normalize_label(label) in wanted}
        if self.label_map is not None:
            out |= {int(e) for e in wanted if e.isdigit() and int(e) < len(class_labels)}
        result = frozenset(out)
        self._allowed_cache[key] = result
        return result

    def restrict_to(self, label_spaces: Sequence[Sequence[str]]) -> TargetDataset:
        """Drop images whose class is unmapped in ANY of ``label_spaces``, reporting them as ``unmapped_class``."""
        spaces = [tuple(s) for s in label_spaces]
        unmapped: dict[str, str] = {}
        for c in self.class_names:
            for k, labels in enumerate(spaces):
                if not self.allowed_indices(c, labels):
                    unmapped[c] = f"class {c!r} matches no label of model label space #{k} ({_examples(labels)})"
                    break
        if not unmapped:
            return self._derive(self.images, self.report)
        kept = [im for im in self.images if im.class_name not in unmapped]
        if not kept:
            example = _examples(spaces[0]) if spaces else ""
            how = ("edit the label map so each dataset class lists model labels" if self.label_map is not None
                   else "rename the class folders to model label names, or pass a JSON label map")
            raise DatasetError(
                f"none of the dataset classes ({', '.join(self.class_names)}) match the models' labels "
                f"({example}). Fix: {how}. {_LABEL_MAP_FORMAT}")
        new_issues = [ValidationIssue(im.path, "unmapped_class", unmapped[im.class_name])
                      for im in self.images if im.class_name in unmapped]
        classes = sorted({im.class_name for im in kept})
        report = ValidationReport(self.report.source, self.report.total_files, len(kept), classes,
                                  self.report.issues + new_issues)
        return self._derive(kept, report)

    def sample(self, n: int | None, seed: int) -> TargetDataset:
        """``n`` images chosen with ``np.random.default_rng(seed)``, stratified by class (None or >= len: all).

        The report is kept unchanged: it describes the validation of the source, not the sample.
        """
        if n is None or n >= len(self.images):
            return self._derive(self.images, self.report)
        if n <= 0:
            raise DatasetError(f"sample size must be a positive number of images (got {n}); "
                               f"use None to keep all {len(self.images)}")
        rng = np.random.default_rng(seed)
        by_class: dict[str, list[int]] = {}
        for i, im in enumerate(self.images):
            by_class.setdefault(im.class_name, []).append(i)
        # Each class's members get evenly spaced keys (rank + random offset) / class size in a random order, so
        # the n smallest keys take about n * size / total images of every class.
        keys = np.empty(len(self.images))
        for c in sorted(by_class):
            members = np.asarray(by_class[c])
            order = rng.permutation(len(members))
            keys[members[order]] = (np.arange(len(members)) + rng.random()) / len(members)
        chosen = np.sort(np.argsort(keys, kind="stable")[:n])
        return self._derive([self.images[i] for i in chosen], self.report)

    def _derive(self, images: list[TargetImage], report: ValidationReport) -> TargetDataset:
        classes = sorted({im.class_name for im in images})
        label_map = None if self.label_map is None else {c: self.label_map[c] for c in classes}
        return TargetDataset(self.root, list(images), classes, label_map, report)


def _examples(labels: Sequence[str], k: int = 3) -> str:
    shown = ", ".join(repr(x) for x in labels[:k])
    return f"{len(labels)} labels, e.g. {shown}" if labels else "no labels"


# --------------------------------------------------------------------------------------------------- loading

def load_target(path: str | Path, *, label_map: str | Path | Mapping | None = None,
                cache_dir: Path | None = None, max_zip_entries: int = MAX_ZIP_ENTRIES,
                max_zip_bytes: int = MAX_ZIP_BYTES) -> TargetDataset:
    """Load an ImageFolder directory (``root/<class>/<image>``) or a .zip of one, validating every file.

    A single top-level folder wrapping the class folders (``mydata/cat/1.jpg``) is unwrapped, in folders and zips
    alike; ``__MACOSX`` and dotfiles are ignored; images inside sub-folders of a class folder belong to that class. Corrupt, zero-byte, non-image, unreadable, duplicate and unmapped files are skipped and
    listed in ``report``. Raises ``DatasetError`` when the path is missing or nothing usable remains.
    """
    src = Path(path).expanduser()
    if not src.exists():
        raise DatasetError(f"target dataset {src} does not exist; pass a folder with one sub-folder per class "
                           f"(e.g. data/cat/1.jpg, data/dog/2.jpg) or a .zip of such a folder")
    src = src.resolve()
    zip_issues: list[ValidationIssue] = []
    if src.is_dir():
        base = src
    elif src.is_file():
        if not zipfile.is_zipfile(src):
            raise DatasetError(f"target dataset {src} is a file but not a zip archive; pass a folder with one "
                               f"sub-folder per class or a .zip of such a folder")
        base, zip_issues = _extract_zip(src, cache_dir if cache_dir is not None else _default_cache_dir(),
                                        max_zip_entries, max_zip_bytes)
    else:
        raise DatasetError(f"target dataset {src} is neither a folder nor a zip file")

    root = _unwrap(base)
    mapping = _load_label_map(label_map) if label_map is not None else None
    images, issues, checked = _scan(root)
    issues = zip_issues + issues
    total = checked + len(zip_issues)

    dataset_label_map: dict[str, frozenset[str]] | None = None
    if mapping is not None:
        images, dataset_label_map, unmapped = _apply_label_map(images, mapping, label_map)
        issues += unmapped

    classes = sorted({im.class_name for im in images})
    report = ValidationReport(str(src), total, len(images), classes, issues)
    if not images:
        if checked == 0 and not zip_issues:
            raise DatasetError(f"no images found in {src}; expected one sub-folder per class holding the images "
                               f"(e.g. {src.name}/cat/1.jpg, {src.name}/dog/2.jpg)")
        raise DatasetError(f"no usable images in {src}.\n{report.summary()}")
    return TargetDataset(root, images, classes, dataset_label_map, report)


def _default_cache_dir() -> Path:
    """Where zips are extracted: ``<greenrunner cache>/datasets``."""
    try:
        from greenrunner_core.paths import cache_dir  # type: ignore[import-not-found]
        base = Path(cache_dir())
    except ImportError:
        base = Path(os.environ.get("GREENRUNNER_CACHE_DIR", Path.home() / ".cache" / "greenrunner"))
    return base.expanduser() / "datasets"


def _ignored(name: str) -> bool:
    return name.startswith(".") or name in _IGNORED_NAMES


def _content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _unwrap(root: Path) -> Path:
    """Descend through single wrapper folders: no images beside them and sub-folders inside them."""
    for _ in range(8):
        try:
            entries = [e for e in os.scandir(root) if not _ignored(e.name)]
        except OSError as e:
            raise DatasetError(f"cannot list {root} ({e})") from e
        dirs = [e for e in entries if e.is_dir()]
        images_here = [e for e in entries if e.is_file() and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS]
        if len(dirs) != 1 or images_here:
            return root
        inner = Path(dirs[0].path)
        try:
            has_subdirs = any(e.is_dir() and not _ignored(e.name) for e in os.scandir(inner))
        except OSError:
            return root
        if not has_subdirs:
            return root
        root = inner
    return root


def _scan(root: Path) -> tuple[list[TargetImage], list[ValidationIssue], int]:
    """Check every file under the class folders; returns usable images, issues and the number of files checked."""
    issues: list[ValidationIssue] = []
    files: list[tuple[str, str]] = []     # (class_name, relative posix path)
    with os.scandir(root) as it:
        top = sorted((e for e in it if not _ignored(e.name)), key=lambda e: e.name)
    loose = 0
    for entry in top:
        if entry.is_dir():
            files.extend(_walk_class(root, entry.name, issues))
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            loose += 1
            issues.append(ValidationIssue(entry.name, "unmapped_class",
                                          "image is not inside a class folder (expected <class>/<image>)"))
        # other files beside the class folders (README, label map...) are not part of the dataset

    files.sort()
    images: list[TargetImage] = []
    first_of: dict[str, TargetImage] = {}
    # Pillow decodes with the GIL released, so a few threads overlap reading and decoding; map keeps the order.
    with warnings.catch_warnings(), ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF warnings...: the checks below decide
        checks = list(pool.map(lambda f: _check_file(os.path.join(root, f[1]), f[1]), files))
    for (class_name, rel), (problem, data) in zip(files, checks):
        if problem is not None:
            issues.append(ValidationIssue(rel, problem[0], problem[1]))
            continue
        image = TargetImage(_content_id(data), rel, class_name)
        first = first_of.get(image.id)
        if first is not None:
            note = "" if first.class_name == class_name else f" (labelled {first.class_name!r} there)"
            issues.append(ValidationIssue(rel, "duplicate", f"same content as {first.path}{note}; kept that one"))
            continue
        first_of[image.id] = image
        images.append(image)
    return images, issues, len(files) + loose


def _walk_class(root: Path, class_name: str, issues: list[ValidationIssue]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def onerror(err: OSError) -> None:
        rel = Path(err.filename).relative_to(root).as_posix() if err.filename else class_name
        issues.append(ValidationIssue(rel, "unreadable", f"cannot list folder: {err.strerror or err}"))

    for dirpath, dirnames, filenames in os.walk(root / class_name, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        prefix = Path(dirpath).relative_to(root).as_posix() + "/"
        out.extend((class_name, prefix + f) for f in filenames if not _ignored(f))
    return out


def _check_file(path: str, rel: str) -> tuple[tuple[IssueKind, str] | None, bytes]:
    """Read the file once and decode it fully; returns (kind, detail) of the problem or None, and the bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return ("unreadable", f"cannot read: {e.strerror or e}"), b""
    if not data:
        return ("zero_byte", "file is empty (0 bytes)"), data
    suffix = os.path.splitext(rel)[1].lower()
    try:
        im = Image.open(io.BytesIO(data))
        if type(im).verify is not ImageFile.ImageFile.verify:   # only some formats (PNG: chunk CRCs) verify
            im.verify()
            im = Image.open(io.BytesIO(data))        # verify() leaves the image unusable: open afresh to decode
        if im.format == "JPEG":
            im.draft(im.mode, (1, 1))                # decode the whole stream at 1/8 scale: still catches truncation
        im.load()
    except UnidentifiedImageError:
        if suffix in IMAGE_EXTENSIONS:
            return ("corrupt", f"named {suffix} but Pillow cannot identify the content as an image"), data
        return ("not_image", f"not an image (extension {suffix or 'none'}; content not a known image format)"), data
    except Image.DecompressionBombError as e:
        return ("corrupt", f"refused as a decompression bomb: {e}"), data
    except Exception as e:  # noqa: BLE001 — any decoder failure means the image cannot be used
        return ("corrupt", f"cannot be decoded: {type(e).__name__}: {e}"), data
    return None, data


# --------------------------------------------------------------------------------------------------- label maps

def _load_label_map(spec: str | Path | Mapping) -> dict[str, frozenset[str]]:
    if isinstance(spec, (str, Path)):
        p = Path(spec).expanduser()
        if not p.is_file():
            raise DatasetError(f"label map file {p} not found. {_LABEL_MAP_FORMAT}")
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DatasetError(f"label map {p} is not valid JSON ({e}). {_LABEL_MAP_FORMAT}") from e
        where = str(p)
    elif isinstance(spec, Mapping):
        raw, where = spec, "label map"
    else:
        raise DatasetError(f"label_map must be a JSON file path or a dict, got {type(spec).__name__}. "
                           f"{_LABEL_MAP_FORMAT}")
    if not isinstance(raw, Mapping) or not raw:
        raise DatasetError(f"{where} must be a non-empty JSON object, got {_short(raw)}. {_LABEL_MAP_FORMAT}")
    out: dict[str, frozenset[str]] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not key.strip():
            raise DatasetError(f"{where}: class names must be non-empty strings, got {key!r}. {_LABEL_MAP_FORMAT}")
        if not isinstance(value, (list, tuple, set, frozenset)):
            raise DatasetError(f"{where}: entry {key!r} must be a list of model labels, got {_short(value)}. "
                               f"{_LABEL_MAP_FORMAT}")
        entries = set()
        for e in value:
            if isinstance(e, bool) or not isinstance(e, (str, int)) or (isinstance(e, int) and e < 0):
                raise DatasetError(f"{where}: entry {key!r} holds {e!r}; each item must be a model label name "
                                   f"or a class index. {_LABEL_MAP_FORMAT}")
            entries.add(str(e).strip())
        out[key] = frozenset(entries)
    return out


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _apply_label_map(images: list[TargetImage], mapping: dict[str, frozenset[str]], spec: object
                     ) -> tuple[list[TargetImage], dict[str, frozenset[str]], list[ValidationIssue]]:
    """Match dataset classes to map keys (exactly, else by normalised name); unmatched classes are unmapped."""
    by_norm: dict[str, str] = {}
    for key in mapping:
        other = by_norm.setdefault(normalize_label(key), key)
        if other != key:
            raise DatasetError(f"label map keys {other!r} and {key!r} name the same class (case, '_', '-' and "
                               f"spaces are ignored when matching folder names); keep one")
    classes = sorted({im.class_name for im in images})
    resolved: dict[str, frozenset[str]] = {}
    for c in classes:
        key = c if c in mapping else by_norm.get(normalize_label(c))
        if key is not None:
            resolved[c] = mapping[key]
    where = str(spec) if isinstance(spec, (str, Path)) else "the label map"
    if images and not resolved:
        raise DatasetError(f"no dataset class is in {where}: dataset classes are {', '.join(classes)}; map keys "
                           f"are {', '.join(sorted(mapping)[:10])}. Use the folder names as keys. {_LABEL_MAP_FORMAT}")
    issues = [ValidationIssue(im.path, "unmapped_class", f"class {im.class_name!r} is not in {where}")
              for im in images if im.class_name not in resolved]
    kept = [im for im in images if im.class_name in resolved]
    return kept, resolved, issues


# --------------------------------------------------------------------------------------------------- zips

def _extract_zip(zip_path: Path, cache_root: Path, max_entries: int, max_bytes: int
                 ) -> tuple[Path, list[ValidationIssue]]:
    """Extract safely into ``cache_root/<sha256[:16]>`` (reused when complete); returns it and entry issues."""
    digest = _sha256_file(zip_path)[:16]
    dest = Path(cache_root).expanduser() / digest
    cached = _read_manifest(dest)
    if cached is not None:
        return dest, cached
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"cannot open zip {zip_path}: {e}") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise DatasetError(f"zip {zip_path} has {len(infos)} entries, more than the limit of {max_entries}; "
                               f"extract it yourself and pass the folder, or raise max_zip_entries")
        plan, issues = _plan_extraction(infos)
        size = sum(info.file_size for info, _ in plan)   # zipfile never yields more than an entry's file_size
        if size > max_bytes:
            raise DatasetError(f"zip {zip_path} would extract to {size / 1e6:.1f} MB, more than the limit of "
                               f"{max_bytes / 1e6:.1f} MB; pass a smaller dataset (or a folder), or raise "
                               f"max_zip_bytes")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=dest.parent))
        try:
            for info, parts in plan:
                problem = _extract_entry(zf, info, tmp, parts)
                if problem is not None:
                    issues.append(ValidationIssue(info.filename, problem[0], problem[1]))
            (tmp / _MANIFEST).write_text(json.dumps({"zip": str(zip_path), "issues": [asdict(i) for i in issues]}))
            if dest.exists() and _read_manifest(dest) is None:
                shutil.rmtree(dest)                   # an incomplete extraction left by an old version
            try:
                tmp.rename(dest)
            except OSError:
                if _read_manifest(dest) is None:      # not another process finishing the same zip first
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest, issues


def _plan_extraction(infos: list[zipfile.ZipInfo]) -> tuple[list[tuple[zipfile.ZipInfo, list[str]]],
                                                            list[ValidationIssue]]:
    plan: list[tuple[zipfile.ZipInfo, list[str]]] = []
    issues: list[ValidationIssue] = []
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        reason = _unsafe_reason(info, parts)
        if reason is not None:
            issues.append(ValidationIssue(name, "unsafe_path", f"refused: {reason}"))
            continue
        clean = [p for p in parts if p not in ("", ".")]
        if info.is_dir() or not clean or any(_ignored(p) for p in clean):
            continue                                  # folders are created as needed; __MACOSX / dotfiles skipped
        if info.flag_bits & 0x1:
            issues.append(ValidationIssue(name, "unreadable", "entry is encrypted (password-protected zip)"))
            continue
        key = "/".join(clean)
        if key in seen:
            issues.append(ValidationIssue(name, "duplicate", "the zip holds two entries with this name; kept the "
                                                             "first"))
            continue
        seen.add(key)
        plan.append((info, clean))
    return plan, issues


def _unsafe_reason(info: zipfile.ZipInfo, parts: list[str]) -> str | None:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in parts:
        return "path contains '..' (would escape the extraction folder)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link"
    return None


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, parts: list[str]
                   ) -> tuple[IssueKind, str] | None:
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        return "unsafe_path", "refused: resolves outside the extraction folder"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        target.unlink(missing_ok=True)
        return "corrupt", f"damaged zip entry: {e}"
    except (NotImplementedError, RuntimeError, OSError) as e:
        if target.is_file():
            target.unlink(missing_ok=True)
        return "unreadable", f"cannot extract: {e}"
    return None


def _read_manifest(dest: Path) -> list[ValidationIssue] | None:
    try:
        raw = json.loads((dest / _MANIFEST).read_text())
        return [ValidationIssue(**i) for i in raw["issues"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
