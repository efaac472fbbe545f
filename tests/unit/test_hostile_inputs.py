"""Hostile inputs, tried as a new user (and an attacker) would: every case asserts the user-visible message (and exit
code or reply), that nothing was written outside the folders the case allows, and that memory stayed bounded.

A case builds its inputs under ``in/`` (before the snapshot), then runs with the working directory in the case's
folder; writes are allowed only where ``writes`` (regexes on paths relative to that folder) says. Cases marked
``isolated`` run in a fresh interpreter so their peak RSS growth is measured on its own (zip bombs).
"""
from __future__ import annotations

import io
import json
import os
import re
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from greenrunner_core.data import load_target
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.zip_extract import ZipLimits

REPO = Path(__file__).resolve().parents[2]
RSS_LIMIT_MB = 300
ZIPS = r"cache/datasets/[0-9a-f]{16}/"          # a completed extraction, and nothing beside it


@dataclass(frozen=True)
class Seen:
    """What the user sees: the message (error, reply or report), and the exit code for the CLI."""

    text: str
    code: int | None = None


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]           # builds the inputs under in/
    run: Callable[[Path], Seen]             # acts as the user; returns what they see
    expect: str                             # regex the message must match
    writes: tuple[str, ...] = ()            # regexes of paths (relative to the case folder) it may create
    code: int | None = None                 # expected exit code (CLI cases)
    isolated: bool = False                  # measure peak RSS in a fresh interpreter


# ---- inputs -----------------------------------------------------------------------------------------------------

def png(i: int, size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, i % 256)).save(buf, "PNG")
    return buf.getvalue()


def image_folder(root: Path, classes: dict[str, int] | None = None, start: int = 0) -> Path:
    i = start
    for c, n in (classes or {"cat": 2, "dog": 2}).items():
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            (root / c / f"{k}.png").write_bytes(png(i))
            i += 1
    return root


def write_zip(path: Path, entries: dict[str | zipfile.ZipInfo, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def write_zip_bytes(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def good_entries(n: int = 2) -> dict[str | zipfile.ZipInfo, bytes]:
    return {f"{c}/{k}.png": png(10 * j + k) for j, c in enumerate(("cat", "dog")) for k in range(n)}


def zero_bomb(path: Path, members: int = 2, mib: int = 256) -> Path:
    """``members`` files of ``mib`` MiB of zeros each: ~1000:1 compression, a few hundred KB on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cat/0.png", png(1))
        for m in range(members):
            with zf.open(f"cat/bomb{m}.bmp", "w", force_zip64=True) as out:
                for _ in range(mib):
                    out.write(block)
    return path


def pixel_bomb_png(width: int = 12_000, height: int = 6_000) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (72 M, under Pillow's own limit): tiny on disk, 200 MB once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(4096))) + \
        chunk(b"IEND", b"")


def lying_header_zip(path: Path) -> Path:
    """A member whose central directory claims 100 bytes while 2 MB of data follow (a header not to be trusted)."""
    write_zip(path, {"cat/0.png": png(1), "cat/1.png": png(2), "dog/big.png": os.urandom(2 << 20)})
    raw = bytearray(path.read_bytes())
    central = raw.rfind(b"PK\x01\x02")                    # the last entry's central directory record
    raw[central + 24:central + 28] = struct.pack("<I", 100)   # uncompressed size
    path.write_bytes(bytes(raw))
    return path


# ---- how the user meets them --------------------------------------------------------------------------------------

def load(path: str, **kw) -> Callable[[Path], Seen]:
    """``load_target`` as every front door calls it: the report on success, the error's message on refusal."""
    def run(case: Path) -> Seen:
        try:
            ds = load_target(case / path, cache_dir=case / "cache" / "datasets", **kw)
        except GreenRunnerError as err:
            return Seen(f"error: {err}")
        return Seen(ds.report.summary())
    return run


def nothing(_: Path) -> None:
    return None


def files(**entries: bytes) -> Callable[[Path], None]:
    def setup(inputs: Path) -> None:
        for name, data in entries.items():
            (inputs / name).parent.mkdir(parents=True, exist_ok=True)
            (inputs / name).write_bytes(data)
    return setup


def zip_of(entries: dict, name: str = "d.zip") -> Callable[[Path], None]:
    return lambda inputs: write_zip(inputs / name, entries) and None


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (0o120777) << 16
    return info


def encrypted_zip(path: Path) -> None:
    """A zip whose entry dog/locked.png is flagged as encrypted (zipfile cannot write one: set the flag after)."""
    write_zip(path, good_entries() | {"dog/locked.png": png(5)})
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 8), (b"PK\x03\x04", 6)):
        at = raw.rfind(signature)             # the last entry is dog/locked.png, in both records
        raw[at + offset] |= 0x1
    path.write_bytes(bytes(raw))


def folder_with_link(target_kind: str) -> Callable[[Path], None]:
    def setup(inputs: Path) -> None:
        image_folder(inputs / "d")
        secret = inputs / "elsewhere"
        image_folder(secret, {"private": 2}, start=50)
        if target_kind == "file":
            os.symlink(secret / "private" / "0.png", inputs / "d" / "cat" / "linked.png")
        else:
            os.symlink(secret / "private", inputs / "d" / "private")
    return setup


def folder_plus(**extra: bytes) -> Callable[[Path], None]:
    def setup(inputs: Path) -> None:
        image_folder(inputs / "d")
        files(**extra)(inputs / "d")
    return setup


def sparse_file(name: str, size: int) -> Callable[[Path], None]:
    def setup(inputs: Path) -> None:
        image_folder(inputs / "d")
        with open(inputs / "d" / name, "wb") as f:
            f.truncate(size)
            f.seek(0)
            f.write(b"\x89PNG\r\n\x1a\n")
    return setup


def bomb(**kw) -> Callable[[Path], None]:
    return lambda inputs: zero_bomb(inputs / "bomb.zip", **kw) and None


CASES: list[Case] = [
    # ---- zips: bombs and limits (refused, nothing kept)
    Case("zip-bomb-two-256MiB-zero-members", bomb(), load("in/bomb.zip"), r"zip bomb.*ratio limit.*Nothing was kept",
         isolated=True),
    Case("zip-bomb-past-ratio-stopped-by-member-limit", bomb(members=1, mib=96),
         load("in/bomb.zip", zip_limits=ZipLimits(max_ratio=1e9)), r"per-file limit.*Nothing was kept",
         isolated=True),
    Case("zip-total-limit", zip_of(good_entries(3)),
         load("in/d.zip", zip_limits=ZipLimits(max_total_bytes=200)), r"more than 0\.0 MB in all.*total limit"),
    Case("zip-too-many-entries", zip_of(good_entries(3)),
         load("in/d.zip", zip_limits=ZipLimits(max_entries=5)), r"6 entries, more than the limit of 5"),
    # ---- zips: entries that must not land where they say
    Case("zip-slip-dotdot", zip_of(good_entries() | {"../../escaped.png": png(99)}), load("in/d.zip"),
         r"unsafe_path: 1.*escaped\.png: refused: path contains '\.\.'", writes=(ZIPS,)),
    Case("zip-absolute-path", zip_of(good_entries() | {"/tmp/abs-escape.png": png(98)}), load("in/d.zip"),
         r"/tmp/abs-escape\.png: refused: absolute path", writes=(ZIPS,)),
    Case("zip-windows-drive-path", zip_of(good_entries() | {"C:/evil.png": png(97)}), load("in/d.zip"),
         r"C:/evil\.png: refused: absolute path", writes=(ZIPS,)),
    Case("zip-symlink-entry", zip_of(good_entries() | {symlink_info("cat/passwd.png"): b"/etc/passwd"}),
         load("in/d.zip"), r"cat/passwd\.png: refused: symbolic link", writes=(ZIPS,)),
    Case("zip-encrypted-entry", lambda i: encrypted_zip(i / "d.zip"), load("in/d.zip"), r"dog/locked\.png: entry is encrypted", writes=(ZIPS,)),
    Case("zip-lying-size-header", lambda i: lying_header_zip(i / "d.zip") and None, load("in/d.zip"),
         r"dog/big\.png: damaged zip entry", writes=(ZIPS,)),
    Case("zip-truncated", lambda i: files(**{"d.zip": write_zip(i / "full.zip", good_entries()).read_bytes()[:300]})(i),
         load("in/d.zip"), r"is a file but not a zip archive"),
    Case("zip-random-bytes", files(**{"d.zip": os.urandom(4096)}), load("in/d.zip"), r"not a zip archive"),
    Case("zip-inside-zip", zip_of(good_entries() | {"cat/inner.zip": write_zip_bytes(good_entries())}),
         load("in/d.zip"), r"cat/inner\.zip: not an image", writes=(ZIPS,)),
    Case("zip-only-macos-junk", zip_of({"__MACOSX/cat/._1.png": b"fork", ".DS_Store": b"x"}), load("in/d.zip"),
         r"no images found", writes=(ZIPS,)),
    # ---- dataset folders
    Case("folder-symlinked-image-outside", folder_with_link("file"), load("in/d"),
         r"cat/linked\.png: refused: symbolic link to .*elsewhere/private/0\.png, outside the dataset folder"),
    Case("folder-symlinked-class-outside", folder_with_link("folder"), load("in/d"),
         r"unsafe_path: 1.*private: refused: symbolic link to .*elsewhere/private, outside the dataset folder"),
    Case("folder-missing", nothing, load("in/nope"), r"does not exist; pass a folder with one sub-folder per class"),
    Case("folder-plain-file", files(**{"d.txt": b"hello"}), load("in/d.txt"), r"is a file but not a zip archive"),
    Case("folder-empty", lambda i: (i / "d").mkdir(), load("in/d"), r"no images found in .*expected one sub-folder"),
    Case("folder-all-corrupt", files(**{"d/cat/a.png": b"\x89PNG garbage", "d/dog/b.jpg": b"\xff\xd8 nope"}),
         load("in/d"), r"no usable images.*corrupt: 2"),
    Case("folder-only-loose-images", files(**{"d/a.png": png(1), "d/b.png": png(2)}), load("in/d"),
         r"no usable images.*a\.png: image is not inside a class folder"),
    Case("folder-2GB-sparse-file", sparse_file("cat/huge.png", 2 << 30), load("in/d"),
         r"too_large: 1.*cat/huge\.png: 2,048\.0 MB, above the 64 MB limit for one image; not read"),
    Case("folder-pixel-bomb-png", folder_plus(**{"cat/bomb.png": pixel_bomb_png()}), load("in/d"),
         r"cat/bomb\.png: 12000x6000 pixels, above the limit of 64,000,000 \(about 216 MB decoded\); not decoded"),
]


# ---- the test -----------------------------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case_id: str, folder: Path) -> tuple[Seen, float]:
    """Run one case's user action in ``folder`` (inputs already built); returns what was seen and RSS growth."""
    case = next(c for c in CASES if c.id == case_id)
    before = peak_rss_mb()
    seen = case.run(folder)
    return seen, peak_rss_mb() - before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    case.setup(tmp_path / "in")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.snapshot"
    before = snapshot(tmp_path)
    siblings = set(os.listdir(tmp_path.parent))
    monkeypatch.chdir(tmp_path)
    if case.isolated:
        code = (f"import json, sys; sys.path.insert(0, {str(REPO)!r}); from pathlib import Path; "
                f"from tests.unit.test_hostile_inputs import run_case; "
                f"seen, grew = run_case({case.id!r}, Path({str(tmp_path)!r})); "
                "print(json.dumps({'text': seen.text, 'code': seen.code, 'grew': grew}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             env=os.environ | {"PYTHONPATH": str(REPO)})
        assert out.returncode == 0, out.stderr[-2000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        seen, grew = Seen(result["text"], result["code"]), result["grew"]
    else:
        seen, grew = run_case(case.id, tmp_path)

    assert re.search(case.expect, seen.text, re.DOTALL), f"{case.id}: message was:\n{seen.text}"
    if case.code is not None:
        assert seen.code == case.code, f"{case.id}: exit code {seen.code}, expected {case.code}\n{seen.text}"
    after = snapshot(tmp_path)
    new = sorted(p for p in after if p not in before or after[p] != before[p])
    stray = [p for p in new if not any(re.match(w, p) for w in case.writes)]
    assert not stray, f"{case.id}: wrote outside its target folders: {stray[:10]}"
    assert set(os.listdir(tmp_path.parent)) - siblings <= {outside.name}, "wrote beside the case folder"
    assert grew < RSS_LIMIT_MB, f"{case.id}: peak RSS grew by {grew:.0f} MB"
