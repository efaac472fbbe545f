"""Checking a target ImageFolder: every file read once, hashed and fully decoded; what is skipped, and why.

A file that cannot be decoded is skipped and reported here instead of being counted as a wrong answer later.
The image id is the sha256 of its bytes, so the same picture under two names is one image. Each issue says why as
data (``IssueWhy`` and the figures, paths or library message it needs); ``tools/dataset_text.py`` words it.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from PIL import Image, ImageFile, UnidentifiedImageError

from greenrunner_core.errors import DatasetError

__all__ = ["IMAGE_EXTENSIONS", "ISSUE_KINDS", "IssueKind", "IssueWhy", "TargetImage", "ValidationIssue", "ValidationReport",
           "content_id", "ignored", "scan", "unwrap"]

IssueKind = Literal["corrupt", "zero_byte", "not_image", "unreadable", "unmapped_class", "duplicate", "unsafe_path",
                    "too_large"]
ISSUE_KINDS: tuple[str, ...] = get_args(IssueKind)
IssueWhy = Literal["", "link_outside", "link_to_folder", "not_in_class_folder", "cannot_list", "cannot_read",
                   "file_too_large", "too_many_pixels", "empty", "unidentified", "not_image", "decompression_bomb",
                   "cannot_decode", "same_content", "class_unmatched", "zip_absolute_path", "zip_dotdot", "zip_link",
                   "zip_outside", "zip_encrypted", "zip_same_name", "zip_damaged", "zip_cannot_extract"]
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jfif", ".png", ".ppm", ".pgm", ".pbm", ".pnm", ".bmp",
                              ".tif", ".tiff", ".webp", ".gif"})
_IGNORED_NAMES = frozenset({"__MACOSX", "Thumbs.db", "desktop.ini"})
MAX_IMAGE_BYTES = 64 << 20        # a bigger file is reported, not read: the scan holds up to 4 files in memory
MAX_IMAGE_PIXELS = 64_000_000     # a bigger picture is reported, not decoded (an image bomb decodes to GBs)


@dataclass(frozen=True)
class TargetImage:
    id: str            # sha256 hex of the file bytes, first 32 chars. Same bytes => same id.
    path: str          # path relative to the dataset root, posix style
    class_name: str    # dataset class (folder name)


@dataclass(frozen=True)
class ValidationIssue:
    """One file skipped: its ``kind``, and ``why`` within the kind with the data its words need: ``detail`` (the
    other file or the link's target, the OS's or library's message, the file's extension, the class), ``figures``
    ("file_too_large": MB and the limit; "too_many_pixels": width, height, the limit, MB decoded; "class_unmatched":
    the label space's number and its size) and ``labels`` ("same_content": the other file's class when it differs;
    "class_unmatched": the space's first labels). ``why`` "": ``detail`` is a sentence saved before issues were data.
    """

    path: str
    kind: IssueKind
    detail: str = ""
    why: IssueWhy = ""
    figures: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the zip manifest (JSON) gives lists back: keep one shape
        object.__setattr__(self, "figures", tuple(float(f) for f in self.figures))
        object.__setattr__(self, "labels", tuple(str(x) for x in self.labels))


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


def ignored(name: str) -> bool:
    return name.startswith(".") or name in _IGNORED_NAMES


def content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def unwrap(root: Path) -> Path:
    """Descend through single wrapper folders: no images beside them and sub-folders inside them."""
    for _ in range(8):
        try:
            entries = [e for e in os.scandir(root) if not ignored(e.name)]
        except OSError as e:
            raise DatasetError(f"cannot list {root} ({e})") from e
        dirs = [e for e in entries if e.is_dir(follow_symlinks=False)]
        images_here = [e for e in entries if e.is_file() and Path(e.name).suffix.lower() in IMAGE_EXTENSIONS]
        if len(dirs) != 1 or images_here:
            return root
        inner = Path(dirs[0].path)
        try:
            has_subdirs = any(e.is_dir() and not ignored(e.name) for e in os.scandir(inner))
        except OSError:
            return root
        if not has_subdirs:
            return root
        root = inner
    return root


def scan(root: Path, max_file_bytes: int = MAX_IMAGE_BYTES) -> tuple[list[TargetImage], list[ValidationIssue], int]:
    """Check every file under the class folders; returns usable images, issues and the number of files checked.

    Symbolic links that lead out of ``root`` (a file or a whole class folder) are refused and reported; files
    above ``max_file_bytes`` are reported without being read.
    """
    issues: list[ValidationIssue] = []
    files: list[tuple[str, str]] = []     # (class_name, relative posix path)
    with os.scandir(root) as it:
        top = sorted((e for e in it if not ignored(e.name)), key=lambda e: e.name)
    loose = 0
    real_root = Path(os.path.realpath(root))
    for entry in top:
        if entry.is_symlink() and (target := _link_outside(real_root, entry.path)):
            issues.append(ValidationIssue(entry.name, "unsafe_path", target, "link_outside"))
            continue
        if entry.is_dir():
            files.extend(_walk_class(root, entry.name, issues, real_root))
        elif Path(entry.name).suffix.lower() in IMAGE_EXTENSIONS:
            loose += 1
            issues.append(ValidationIssue(entry.name, "unmapped_class", why="not_in_class_folder"))
        # other files beside the class folders (README, label map...) are not part of the dataset

    files.sort()
    images: list[TargetImage] = []
    first_of: dict[str, TargetImage] = {}
    # Pillow decodes with the GIL released, so a few threads overlap reading and decoding; map keeps the order.
    with warnings.catch_warnings(), ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        warnings.simplefilter("ignore")  # DecompressionBombWarning, EXIF warnings...: the checks below decide
        checks = list(pool.map(lambda f: _check_file(os.path.join(root, f[1]), f[1], max_file_bytes), files))
    for (class_name, rel), (problem, data) in zip(files, checks):
        if problem is not None:
            issues.append(problem)
            continue
        image = TargetImage(content_id(data), rel, class_name)
        first = first_of.get(image.id)
        if first is not None:
            other = () if first.class_name == class_name else (first.class_name,)
            issues.append(ValidationIssue(rel, "duplicate", first.path, "same_content", labels=other))
            continue
        first_of[image.id] = image
        images.append(image)
    refused_links = sum(1 for i in issues if i.kind == "unsafe_path")
    return images, issues, len(files) + loose + refused_links


def _link_outside(real_root: Path, path: str) -> str | None:
    """Where the symbolic link at ``path`` leads when that is out of the dataset (it is refused), else None (a broken
    link is then reported as unreadable)."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_relative_to(real_root):
        return str(target)
    return None


def _walk_class(root: Path, class_name: str, issues: list[ValidationIssue], real_root: Path
                ) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def onerror(err: OSError) -> None:
        rel = Path(err.filename).relative_to(root).as_posix() if err.filename else class_name
        issues.append(ValidationIssue(rel, "unreadable", str(err.strerror or err), "cannot_list"))

    for dirpath, dirnames, filenames in os.walk(root / class_name, onerror=onerror):
        prefix = Path(dirpath).relative_to(root).as_posix() + "/"
        for d in [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            dirnames.remove(d)                # os.walk does not follow them: say so instead of skipping silently
            if not ignored(d):
                target = _link_outside(real_root, os.path.join(dirpath, d))
                issues.append(ValidationIssue(prefix + d, "unsafe_path", target or "",
                                              "link_outside" if target else "link_to_folder"))
        dirnames[:] = sorted(d for d in dirnames if not ignored(d))
        for f in filenames:
            if ignored(f):
                continue
            target = _link_outside(real_root, os.path.join(dirpath, f)) if os.path.islink(os.path.join(dirpath, f)) \
                else None
            if target:
                issues.append(ValidationIssue(prefix + f, "unsafe_path", target, "link_outside"))
            else:
                out.append((class_name, prefix + f))
    return out


def _check_file(path: str, rel: str, max_bytes: int = MAX_IMAGE_BYTES) -> tuple[ValidationIssue | None, bytes]:
    """Read the file once and decode it fully; returns its problem (None if usable), and the bytes."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > max_bytes:
                return ValidationIssue(rel, "too_large", why="file_too_large",
                                       figures=(size / 2**20, max_bytes / 2**20)), b""
            data = f.read(max_bytes + 1)
    except OSError as e:
        return ValidationIssue(rel, "unreadable", str(e.strerror or e), "cannot_read"), b""
    if not data:
        return ValidationIssue(rel, "zero_byte", why="empty"), data
    suffix = os.path.splitext(rel)[1].lower()
    try:
        im = Image.open(io.BytesIO(data))
        if type(im).verify is not ImageFile.ImageFile.verify:   # only some formats (PNG: chunk CRCs) verify
            im.verify()
            im = Image.open(io.BytesIO(data))        # verify() leaves the image unusable: open afresh to decode
        if im.width * im.height > MAX_IMAGE_PIXELS:
            return ValidationIssue(rel, "too_large", why="too_many_pixels", figures=(
                im.width, im.height, MAX_IMAGE_PIXELS, im.width * im.height * 3 / 1e6)), data
        if im.format == "JPEG":
            im.draft(im.mode, (1, 1))                # decode the whole stream at 1/8 scale: still catches truncation
        im.load()
    except UnidentifiedImageError:
        if suffix in IMAGE_EXTENSIONS:
            return ValidationIssue(rel, "corrupt", suffix, "unidentified"), data
        return ValidationIssue(rel, "not_image", suffix, "not_image"), data
    except Image.DecompressionBombError as e:
        return ValidationIssue(rel, "corrupt", str(e), "decompression_bomb"), data
    except Exception as e:  # noqa: BLE001 — any decoder failure means the image cannot be used
        return ValidationIssue(rel, "corrupt", f"{type(e).__name__}: {e}", "cannot_decode"), data
    return None, data
