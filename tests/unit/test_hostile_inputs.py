"""Hostile inputs, tried as a new user (and an attacker) would: every case asserts the user-visible message (and exit
code or reply), that nothing was written outside the folders the case allows, and that memory stayed bounded.

A case builds its inputs under ``in/`` (before the snapshot), then runs with the working directory in the case's
folder; writes are allowed only where ``writes`` (regexes on paths relative to that folder) says. Cases marked
``isolated`` need their own peak RSS: measured in this process after resetting the peak (Linux ``clear_refs``),
else in a fresh interpreter (zip bombs). Every case asserts the peak grew by less than ``RSS_LIMIT_MB``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import torch
from PIL import Image
from torch import nn

from greenrunner_core.data import load_target
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.zip_extract import ZipLimits
from tools.dataset_text import dataset_summary, error_text
from ui.cli import main as cli_main
from ui.present.turn import check_text
from ui.settings import parse_settings, staging_answer
from ui.uploads import ConversationUploads

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
            return Seen(f"error: {error_text(err)}")
        return Seen(dataset_summary(ds.report))
    return run


CIFAR_LIKE = ("airplane", "automobile", "bird", "cat", "deer", "dog")


def mapped(label_map: object) -> Callable[[Path], Seen]:
    """in/d loaded with ``label_map`` (a mapping, or a file name under in/) for models with CIFAR-like labels."""
    def run(case: Path) -> Seen:
        spec = case / "in" / label_map if isinstance(label_map, str) else label_map
        try:
            ds = load_target(case / "in" / "d", label_map=spec).restrict_to([CIFAR_LIKE])
        except GreenRunnerError as err:
            return Seen(f"error: {error_text(err)}")
        return Seen(dataset_summary(ds.report))
    return run


def folder_and(**extra: bytes) -> Callable[[Path], None]:
    def setup(inputs: Path) -> None:
        image_folder(inputs / "d")
        files(**extra)(inputs)
    return setup


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


# ---- checkpoints, the command line, uploads and chat ----------------------------------------------------------------

class Tiny(nn.Module):
    """3x8x8 images -> 2 logits (cat, dog); ``solo`` models refuse a batch of more than one image when evaluated."""

    def __init__(self, seed: int, solo: bool = False) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.solo = solo
        self.fc = nn.Linear(12, 2)
        self.pool = nn.AdaptiveAvgPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.solo and x.shape[0] > 1:
            raise RuntimeError("this model was exported for one image at a time")
        return self.fc(self.pool(x).flatten(1))


META = {"input_size": [3, 8, 8], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "class_labels": ["cat", "dog"]}


def scripted(path: Path, seed: int, solo: bool = False) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(Tiny(seed, solo)), str(path))
    return path.read_bytes()


def checkpoints(good: int = 2, solo: int = 0, extra: dict[str, bytes] | None = None, data: int = 3
                ) -> Callable[[Path], None]:
    """in/ckpt: ``good`` working TorchScript models, ``solo`` ones that fail when evaluated, ``extra`` raw files;
    in/d: a cat/dog dataset of ``data`` images per class."""
    def setup(inputs: Path) -> None:
        folder = inputs / "ckpt"
        names = [f"good{k}.pt" for k in range(good)] + [f"solo{k}.pt" for k in range(solo)]
        for k, name in enumerate(names):
            scripted(folder / name, k, solo=name.startswith("solo"))
        for name, raw in (extra or {}).items():
            (folder / name).write_bytes(raw)
        (folder / "greenrunner.json").write_text(json.dumps({n: META for n in names + list(extra or {})}))
        image_folder(inputs / "d", {"cat": data, "dog": data})
    return setup


def pickled_code() -> bytes:
    buf = io.BytesIO()
    torch.save({"weights": torch.zeros(2), "hook": Exploit()}, buf)
    return buf.getvalue()


class Exploit:
    """Saving one of these makes a checkpoint that needs pickled code to load."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def truncated_torchscript() -> bytes:
    raw = scripted(Path(tempfile.mkdtemp()) / "t.pt", 9)
    return raw[: len(raw) // 2]


def cli(*argv: str, same_second: bool = False) -> Callable[[Path], Seen]:
    """``greenrunner ARGV`` with its cache in the case folder; ``{case}`` in an argument is the case folder."""
    def run(case: Path) -> Seen:
        out, err = io.StringIO(), io.StringIO()
        old = os.environ.get("GREENRUNNER_CACHE_DIR")
        os.environ["GREENRUNNER_CACHE_DIR"] = str(case / "cache")
        args = [a.replace("{case}", str(case)) for a in argv]
        stamp = mock.patch("ui.cli.time.strftime", return_value="20261130-120000") if same_second else \
            contextlib.nullcontext()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), stamp:
                try:
                    code = cli_main(args)
                    if same_second:
                        code = code or cli_main(args)
                except SystemExit as exit_:
                    code = int(exit_.code or 0)
        finally:
            if old is None:
                os.environ.pop("GREENRUNNER_CACHE_DIR", None)
            else:
                os.environ["GREENRUNNER_CACHE_DIR"] = old
        reports = sorted(p.name for p in (case / "out").glob("*")) if (case / "out").exists() else []
        return Seen(out.getvalue() + err.getvalue() + f"\nreports: {reports}", code)
    return run


def upload(name: str, max_mb: float = 5, limits: ZipLimits | None = None) -> Callable[[Path], Seen]:
    """The web app's upload handler on ``in/<name>`` (kept under uploads/ and cache/ of the case)."""
    def run(case: Path) -> Seen:
        uploads = ConversationUploads.for_thread(case / "uploads", "thread-1", case / "cache", max_mb,
                                                 limits or ZipLimits())
        src = case / "in" / Path(name).name
        replies = uploads.accept_many([(src, name)])
        return Seen("\n".join(r.message for r in replies), 0 if all(r.ok for r in replies) else 1)
    return run


def chat(text: str) -> Callable[[Path], Seen]:
    """A chat message checked before it reaches the agent, or a typed answer to a staged run."""
    def run(_: Path) -> Seen:
        problem = check_text(text)
        if problem is not None:
            return Seen(problem)
        return Seen(json.dumps(staging_answer(text)))
    return run


def agent(message: str, **decision: object) -> Callable[[Path], Seen]:
    """The offline agent asked ``message`` with the case's checkpoints, its staged run approved with ``decision``
    (``{case}`` in a value is the case folder); what it answers last. Its caches are the test session's."""
    def run(case: Path) -> Seen:
        from langchain_core.messages import AIMessage
        from langgraph.checkpoint.memory import InMemorySaver

        from agent.context import Context
        from agent.graph import checkpoint_serde
        from agent.session import ChatSession
        context = Context(llm="offline", include_torchvision=False, checkpoints=(str(case / "in" / "ckpt"),),
                          metrics_dir=str(case / "metrics"))
        session = ChatSession("hostile", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
        reply = session.send(message)
        if reply.interrupt is not None:
            reply = session.resume({k: (v.replace("{case}", str(case)) if isinstance(v, str) else v)
                                    for k, v in ({"approved": True} | decision).items()})
        answers = [str(m.content) for m in reply.messages if isinstance(m, AIMessage) and m.content]
        return Seen(answers[-1] if answers else "(no answer)")
    return run


def panel(**values: object) -> Callable[[Path], Seen]:
    """The chat settings panel sending ``values``."""
    return lambda _: Seen(parse_settings(values)[1] or "applied")


SELECT = ("select", "--checkpoints", "{case}/in/ckpt", "--data", "{case}/in/d", "--weights", "acc=1",
          "--no-torchvision", "--out", "{case}/out")
RUN_WRITES = (r"cache/(outcomes|complexity|latency|datasets)", r"out/greenrunner-20\d{6}-\d{6}(-\d+)?\.(json|html)$")
UPLOAD_WRITES = (r"uploads/thread-1/", r"cache/datasets/[0-9a-f]{16}/")


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
         r"unsafe paths \(refused\): 1.*escaped\.png: refused: path contains '\.\.'", writes=(ZIPS,)),
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
         r"unsafe paths \(refused\): 1.*private: refused: symbolic link to .*elsewhere/private, outside the dataset folder"),
    Case("folder-missing", nothing, load("in/nope"), r"does not exist; pass a folder with one sub-folder per class"),
    Case("folder-plain-file", files(**{"d.txt": b"hello"}), load("in/d.txt"), r"is a file but not a zip archive"),
    Case("folder-empty", lambda i: (i / "d").mkdir(), load("in/d"), r"no images found in .*expected one sub-folder"),
    Case("folder-all-corrupt", files(**{"d/cat/a.png": b"\x89PNG garbage", "d/dog/b.jpg": b"\xff\xd8 nope"}),
         load("in/d"), r"no usable images.*damaged images: 2"),
    Case("folder-only-loose-images", files(**{"d/a.png": png(1), "d/b.png": png(2)}), load("in/d"),
         r"no usable images.*a\.png: image is not inside a class folder"),
    Case("folder-2GB-sparse-file", sparse_file("cat/huge.png", 2 << 30), load("in/d"),
         r"too large to read: 1.*cat/huge\.png: 2,048\.0 MB, above the 64 MB limit for one image; not read"),
    Case("folder-pixel-bomb-png", folder_plus(**{"cat/bomb.png": pixel_bomb_png()}), load("in/d"),
         r"cat/bomb\.png: 12000x6000 pixels, above the limit of 64,000,000 \(about 216 MB decoded\); not decoded"),
    # ---- label maps
    Case("labelmap-missing-file", folder_and(), mapped("nope.json"), r"label map file .*nope\.json not found\. A label map"),
    Case("labelmap-broken-json", folder_and(**{"m.json": b"{nope"}), mapped("m.json"), r"m\.json is not valid JSON"),
    Case("labelmap-a-list", folder_and(**{"m.json": b"[1, 2]"}), mapped("m.json"),
         r"must be a non-empty JSON object, got \[1, 2\]"),
    Case("labelmap-negative-index", folder_and(), mapped({"cat": ["-1"], "dog": ["dog"]}),
         r"entry 'cat' holds the class index -1; class indices count from 0"),
    Case("labelmap-index-out-of-range", folder_and(), mapped({"cat": [99], "dog": ["dog"]}),
         r"entry 'cat': class index 99 is out of range; the candidate models' labels are indexed 0\.\.5"),
    Case("labelmap-unknown-label", folder_and(), mapped({"cat": ["kitty"], "dog": ["dog"]}),
         r"'kitty' is not a label of any candidate model"),
    Case("labelmap-entry-not-a-list", folder_and(), mapped({"cat": "cat", "dog": ["dog"]}),
         r"entry 'cat' must be a list of model labels, got 'cat'"),
    # ---- checkpoints: diagnosed for what they are (item 5)
    Case("ckpt-random-bytes-named", checkpoints(extra={"noise.pt": os.urandom(4096)}),
         cli(*SELECT, "--models", "good0,noise"),
         r"unknown model 'noise'.*noise\.pt was skipped: noise\.pt is not a PyTorch checkpoint", code=2,
         writes=RUN_WRITES),
    Case("ckpt-truncated-torchscript-named", checkpoints(extra={"cut.pt": truncated_torchscript()}),
         cli(*SELECT, "--models", "good0,cut"), r"cut\.pt was skipped: cut\.pt starts like a PyTorch zip archive.*"
         r"truncated or damaged", code=2, writes=RUN_WRITES),
    Case("ckpt-pickled-code-named", checkpoints(extra={"evil.pt": pickled_code()}),
         cli(*SELECT, "--models", "good0,evil"), r"evil\.pt was skipped: refusing checkpoint evil\.pt.*would run "
         r"arbitrary pickled code", code=2, writes=RUN_WRITES),
    Case("ckpt-empty-file-named", checkpoints(extra={"empty.pt": b""}), cli(*SELECT, "--models", "good0,empty"),
         r"empty\.pt was skipped: empty\.pt is empty \(0 bytes\)", code=2, writes=RUN_WRITES),
    Case("ckpt-folder-missing", lambda i: image_folder(i / "d") and None, cli(*SELECT), r"checkpoints folder .*in/ckpt' does not exist", code=2),
    # ---- the command line: refused numbers (item 3), README example (item 7), nothing evaluable (item 11)
    Case("cli-sample-zero", nothing, cli("select", "--weights", "acc=1", "--sample", "0"),
         r"argument --sample: 0 is below 1; .*leave --sample out to use them all", code=2),
    Case("cli-sample-negative", nothing, cli("select", "--weights", "acc=1", "--sample", "-5"),
         r"argument --sample: -5 is below 1", code=2),
    Case("cli-budget-zero", nothing, cli("select", "--weights", "acc=1", "--budget", "0"),
         r"argument --budget: 0 is below 1", code=2),
    Case("cli-batch-size-text", nothing, cli("select", "--weights", "acc=1", "--batch-size", "lots"),
         r"argument --batch-size: 'lots' is not a whole number", code=2),
    Case("cli-seed-negative", nothing, cli("select", "--weights", "acc=1", "--seed", "-1"),
         r"argument --seed: -1 is below 0", code=2),
    Case("cli-max-size-nan", nothing, cli("models", "--max-size", "nan"),
         r"argument --max-size: nan is not a finite number >= 0", code=2),
    Case("cli-hard-limit-nan", nothing, cli("select", "--weights", "acc=1", "--max-size", "nan"),
         r"argument --max-size: nan is not a finite number >= 0", code=2),
    Case("cli-hard-limit-zero", nothing, cli("select", "--weights", "acc=1", "--max-size", "0"),
         r"error: max_size_mb=0\.0 must be a finite number > 0", code=2),
    Case("cli-min-acc-above-one", nothing, cli("models", "--min-acc", "1.5"),
         r"argument --min-acc: 1\.5 is not a finite number \[0, 1\]", code=2),
    Case("cli-weights-infinite", nothing, cli("select", "--weights", "acc=inf"), r"error: .*acc", code=2),
    Case("cli-readme-checkpoints-without-models", checkpoints(), cli(*SELECT, "--strategy", "brute_force"),
         r"Top 3 \(brute_force, 2 models, 6 target images\).*good0.*good1", code=0, writes=RUN_WRITES),
    Case("cli-every-candidate-fails", checkpoints(good=0, solo=2), cli(*SELECT, "--strategy", "brute_force"),
         r"none of the 2 candidate models could be evaluated.*solo0: .*one image at a time.*solo1: .*reports: \[\]",
         code=2, writes=RUN_WRITES[:1]),
    Case("cli-some-candidates-fail", checkpoints(good=2, solo=1), cli(*SELECT, "--strategy", "brute_force"),
         r"1 of 3 candidate models could not be evaluated and are not ranked — solo0: .*\n\nTop 3", code=0,
         writes=RUN_WRITES),
    Case("cli-two-runs-in-one-second", checkpoints(), cli(*SELECT, "--strategy", "brute_force", same_second=True),
         r"reports: \['greenrunner-20261130-120000-2\.html', 'greenrunner-20261130-120000-2\.json', "
         r"'greenrunner-20261130-120000\.html', 'greenrunner-20261130-120000\.json'\]", code=0, writes=RUN_WRITES),
    # ---- web uploads
    Case("upload-zip-bomb", bomb(), upload("bomb.zip", max_mb=5),
         r"\*\*bomb\.zip\*\* cannot be used as a target dataset: zip bomb\.zip refused: .*zip bomb", code=1,
         isolated=True),
    Case("upload-oversize", files(**{"big.zip": os.urandom(2 << 20)}), upload("big.zip", max_mb=1),
         r"\*\*big\.zip\*\* is too large: 2\.00 MB, the limit is 1\.00 MB", code=1),
    Case("upload-traversal-name", zip_of(good_entries()), upload("../../etc/d.zip"),
         r"\*\*d\.zip\*\*: target dataset accepted — 4 usable images", code=0, writes=UPLOAD_WRITES),
    Case("upload-executable", files(**{"run.sh": b"#!/bin/sh\nrm -rf /"}), upload("run.sh"),
         r"\*\*run\.sh\*\* is not a file type I can use", code=1),
    Case("upload-empty", files(**{"e.zip": b""}), upload("e.zip"), r"is empty \(0 bytes\); nothing was saved", code=1),
    Case("upload-random-checkpoint", files(**{"noise.pt": os.urandom(4096)}), upload("noise.pt"),
         r"\*\*noise\.pt\*\* was not added: noise\.pt is not a PyTorch checkpoint", code=1),
    Case("upload-truncated-checkpoint", lambda i: files(**{"cut.pt": truncated_torchscript()})(i), upload("cut.pt"),
         r"\*\*cut\.pt\*\* was not added: cut\.pt starts like a PyTorch zip archive .*truncated", code=1),
    Case("upload-pickled-code", lambda i: files(**{"evil.pt": pickled_code()})(i), upload("evil.pt"),
         r"was not added: refusing checkpoint evil\.pt.*arbitrary pickled code", code=1),
    Case("upload-manifest-not-json", files(**{"greenrunner.json": b"{nope"}), upload("greenrunner.json"),
         r"\*\*greenrunner\.json\*\* is not valid JSON", code=1),
    # ---- chat inputs
    Case("chat-empty", nothing, chat("   \n "), r"Your message is empty"),
    Case("chat-too-long", nothing, chat("x" * 50_000), r"longer than 4,000 characters"),
    Case("chat-negative-budget", nothing, chat("budget -5"), r"not valid: budget=-5 \(a positive whole number\)"),
    Case("chat-weight-above-one", nothing, chat("accuracy=7 size 0.2"), r"not valid: accuracy=7 \(weights are "
         r"numbers in \[0, 1\]\)"),
    Case("agent-every-candidate-fails", checkpoints(good=0, solo=2),
         agent("pick the best model for my cat and dog photos", dataset="{case}/in/d", models=["solo0", "solo1"]),
         r"That did not work\. The selection run failed: none of the 2 candidate models could be evaluated.*solo0: .*one "
         r"image at a time.*solo1: ", writes=(r"metrics/",)),
    Case("agent-dataset-missing", checkpoints(),
         agent("pick the best model for my photos", dataset="{case}/in/nowhere", models=["good0", "good1"]),
         r"target dataset .*in/nowhere does not exist", writes=(r"metrics/",)),
    Case("panel-nan-weight", nothing, panel(w_accuracy=float("nan")), r"not applied: w_accuracy"),
    Case("panel-negative-seed", nothing, panel(seed=-3), r"not applied: seed: Input should be greater than or "
         r"equal to 0"),
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


def _status_mb(key: str) -> float:
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def reset_peak_rss() -> bool:
    """Linux: make the peak RSS (VmHWM) restart from the current RSS, so this process measures one case."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def run_case(case_id: str, folder: Path) -> tuple[Seen, float]:
    """Run one case's user action in ``folder`` (inputs already built); returns what was seen and the growth of
    the peak RSS over the RSS before it (ru_maxrss in a fresh interpreter where the peak cannot be reset)."""
    case = next(c for c in CASES if c.id == case_id)
    if reset_peak_rss():
        before = _status_mb("VmRSS")
        seen = case.run(folder)
        return seen, _status_mb("VmHWM") - before
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seen = case.run(folder)
    return seen, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "in").mkdir()
    case.setup(tmp_path / "in")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.snapshot"
    before = snapshot(tmp_path)
    siblings = set(os.listdir(tmp_path.parent))
    monkeypatch.chdir(tmp_path)
    if case.isolated and not reset_peak_rss():      # no resettable peak: measure in a fresh interpreter
        code = (f"import json, sys; sys.path.insert(0, {str(REPO)!r}); from pathlib import Path; "
                f"from tests.unit.test_hostile_inputs import run_case; "
                f"seen, grew = run_case({case.id!r}, Path({str(tmp_path)!r})); "
                "print(json.dumps({'text': seen.text, 'code': seen.code, 'grew': grew}))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
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


def test_the_suite_is_large_enough() -> None:
    assert len(CASES) >= 40 and len({c.id for c in CASES}) == len(CASES)
