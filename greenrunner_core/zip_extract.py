"""Safe zip extraction for target datasets: into ``<cache>/<sha256 of the zip>[:16]``, reused once complete.

Absolute paths, ``..`` and symlinks are refused. Members are streamed to disk in chunks while the bytes actually
written are counted against ``ZipLimits`` (per member, in total, and the compression ratio): a zip bomb is stopped
after at most one chunk past a limit, whatever its headers claim, and a refused extraction leaves nothing on disk.
Hand-written over ``zipfile`` because no maintained library bounds what it writes while reading.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

from greenrunner_core.dataset_scan import IssueWhy, ValidationIssue, ignored
from greenrunner_core.errors import DatasetError

__all__ = ["DEFAULT_ZIP_LIMITS", "MAX_ZIP_BYTES", "MAX_ZIP_ENTRIES", "ZipLimits", "extract_zip"]

MIB = 1 << 20
MAX_ZIP_ENTRIES = 100_000                 # entries in one zip (files + folders)
MAX_ZIP_BYTES = 4 * 1024 * MIB            # total uncompressed bytes written for one zip
_CHUNK = MIB                              # bytes read from a member at a time: the most memory one member takes
_RATIO_FLOOR = 4 * MIB                    # the ratio limit applies once a member (or the zip) is bigger than this
_MANIFEST = ".greenrunner-extract.json"   # written last into an extraction; its presence means "complete"


@dataclass(frozen=True)
class ZipLimits:
    """How much one zip may unpack to; checked on the bytes written, never on the sizes the headers declare."""

    max_entries: int = MAX_ZIP_ENTRIES
    max_member_bytes: int = 64 * MIB      # one file inside the zip (an image is a few MB at most)
    max_total_bytes: int = MAX_ZIP_BYTES  # all files of the zip together
    max_ratio: float = 200.0              # uncompressed / compressed size, per member and for the whole zip

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_member_bytes", "max_total_bytes", "max_ratio"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"ZipLimits.{name}={value!r} must be a finite number > 0")


DEFAULT_ZIP_LIMITS = ZipLimits()   # frozen: safe to share as a default argument


class _Refused(Exception):
    """A limit was crossed while writing a member (turned into a DatasetError naming the zip)."""


def extract_zip(zip_path: Path, cache_root: Path, limits: ZipLimits = ZipLimits()
                ) -> tuple[Path, list[ValidationIssue]]:
    """Extract safely into ``cache_root/<sha256[:16]>`` (reused when complete); returns it and entry issues.

    Raises ``DatasetError`` (and leaves no partial extraction) when a limit of ``limits`` is crossed.
    """
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
        if len(infos) > limits.max_entries:
            raise DatasetError(f"zip {zip_path} has {len(infos)} entries, more than the limit of "
                               f"{limits.max_entries}; extract it yourself and pass the folder, or raise the limit "
                               f"(max_entries, GREENRUNNER_ZIP_MAX_ENTRIES)")
        plan, issues = _plan_extraction(infos)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=dest.parent))
        try:
            meter = _Meter(limits, max(Path(zip_path).stat().st_size, 1))
            for info, parts in plan:
                problem = _extract_entry(zf, info, tmp, parts, meter)
                if problem is not None:
                    issues.append(problem)
            (tmp / _MANIFEST).write_text(json.dumps({"zip": str(zip_path), "issues": [asdict(i) for i in issues]}))
            if dest.exists() and _read_manifest(dest) is None:
                shutil.rmtree(dest)                   # an incomplete extraction left by an old version
            try:
                tmp.rename(dest)
            except OSError:
                if _read_manifest(dest) is None:      # not another process finishing the same zip first
                    raise
        except _Refused as refusal:
            raise DatasetError(f"zip {zip_path} refused: {refusal} Nothing was kept. If the data is genuine, "
                               "extract it yourself and pass the folder, or raise the limit") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest, issues


class _Meter:
    """Counts the bytes written for one zip and refuses as soon as a limit is crossed."""

    def __init__(self, limits: ZipLimits, zip_bytes: int) -> None:
        self.limits = limits
        self.zip_bytes = zip_bytes
        self.total = 0

    def add(self, name: str, member_bytes: int, compressed: int, chunk: int) -> None:
        lim = self.limits
        self.total += chunk
        if member_bytes > lim.max_member_bytes:
            raise _Refused(f"member {name!r} unpacks to more than {_mb(lim.max_member_bytes)} (the per-file limit: "
                           "max_member_bytes, GREENRUNNER_ZIP_MAX_MEMBER_MB).")
        if self.total > lim.max_total_bytes:
            raise _Refused(f"it unpacks to more than {_mb(lim.max_total_bytes)} in all (the total limit: "
                           "max_total_bytes, GREENRUNNER_ZIP_MAX_TOTAL_MB).")
        for what, out, packed in ((f"member {name!r}", member_bytes, min(max(compressed, 1), self.zip_bytes)),
                                  ("the zip", self.total, self.zip_bytes)):
            if out > _RATIO_FLOOR and out > lim.max_ratio * packed:
                raise _Refused(f"{what} expands more than {lim.max_ratio:g} times ({_mb(out)} from "
                               f"{_mb(packed)} so far), which is how a zip bomb looks (the ratio limit: max_ratio, "
                               "GREENRUNNER_ZIP_MAX_RATIO).")


def _mb(n: float) -> str:
    return f"{n / MIB:,.1f} MB"


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
            issues.append(ValidationIssue(name, "unsafe_path", why=reason))
            continue
        clean = [p for p in parts if p not in ("", ".")]
        if info.is_dir() or not clean or any(ignored(p) for p in clean):
            continue                                  # folders are created as needed; __MACOSX / dotfiles skipped
        if info.flag_bits & 0x1:
            issues.append(ValidationIssue(name, "unreadable", why="zip_encrypted"))
            continue
        key = "/".join(clean)
        if key in seen:
            issues.append(ValidationIssue(name, "duplicate", why="zip_same_name"))
            continue
        seen.add(key)
        plan.append((info, clean))
    return plan, issues


def _unsafe_reason(info: zipfile.ZipInfo, parts: list[str]) -> IssueWhy | None:
    name = info.filename
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "zip_absolute_path"
    if ".." in parts:
        return "zip_dotdot"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "zip_link"
    return None


def _extract_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, parts: list[str], meter: _Meter
                   ) -> ValidationIssue | None:
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        return ValidationIssue(info.filename, "unsafe_path", why="zip_outside")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                meter.add(info.filename, written, info.compress_size, len(chunk))
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        target.unlink(missing_ok=True)
        return ValidationIssue(info.filename, "corrupt", str(e), "zip_damaged")
    except (NotImplementedError, RuntimeError, OSError) as e:
        if target.is_file():
            target.unlink(missing_ok=True)
        return ValidationIssue(info.filename, "unreadable", str(e), "zip_cannot_extract")
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
