"""Safe zip extraction for target datasets: into ``<cache>/<sha256 of the zip>[:16]``, reused once complete.

Absolute paths, ``..`` and symlinks are refused, and the number of entries and the uncompressed size are capped.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import asdict
from pathlib import Path

from greenrunner_core.dataset_scan import IssueKind, ValidationIssue, ignored
from greenrunner_core.errors import DatasetError

__all__ = ["MAX_ZIP_BYTES", "MAX_ZIP_ENTRIES", "extract_zip"]

MAX_ZIP_ENTRIES = 500_000                 # entries in one zip (files + folders)
MAX_ZIP_BYTES = 16 * 1024**3              # total uncompressed size of the files we extract
_MANIFEST = ".greenrunner-extract.json"   # written last into an extraction; its presence means "complete"


def extract_zip(zip_path: Path, cache_root: Path, max_entries: int, max_bytes: int
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
        if info.is_dir() or not clean or any(ignored(p) for p in clean):
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
