"""Record real outcome matrices (every model on every image) for the benchmark's replay instances.

* CIFAR-10: the 7 shared checkpoints on 1000 CIFAR-10 test JPEGs (100 per class, seeded) and on
  seeded corrupted copies of them (Gaussian noise, blur, low contrast, heavy JPEG);
* the demo zoo on its shifted target.

Recording runs the real evaluator (``LiveEnvironment`` + ``OutcomeCache``), so a re-run is answered
from the cache. Matrices are small (bits packed) and are committed under ``bench/matrices``.
"""
from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from greenrunner_core.data import load_target
from greenrunner_core.environment import ModelFailedError
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.outcome_cache import OutcomeCache
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.replay import OutcomeMatrix

MATRICES = Path(__file__).resolve().parent / "matrices"
SHARED_DATA = Path(os.environ.get("GREENRUNNER_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
CIFAR_IMAGES_PER_CLASS = 100
CIFAR_SEED = 0

Corruption = Callable[[Image.Image, np.random.Generator], Image.Image]


def _noise(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    x = np.asarray(img, dtype=np.float32) + rng.normal(0.0, 0.08 * 255, size=(img.height, img.width, 3))
    return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8), "RGB")


def _blur(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius=0.8))


def _contrast(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Contrast(img).enhance(0.35)


def _jpeg(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=12)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


CORRUPTIONS: dict[str, Corruption | None] = {"clean": None, "noise": _noise, "blur": _blur,
                                             "contrast": _contrast, "jpeg": _jpeg}


def bench_cache() -> Path:
    """The bench's cache folder: ``GREENRUNNER_CACHE_DIR`` read through the front doors' settings, else the user's."""
    from agent.settings import EnvSettings
    return EnvSettings().cache_root()


def cifar_available(shared: Path = SHARED_DATA) -> bool:
    return (shared / "cifar10" / "models").is_dir() and (shared / "cifar10" / "test").is_dir()


def cifar_subset(shared: Path = SHARED_DATA, per_class: int = CIFAR_IMAGES_PER_CLASS,
                 seed: int = CIFAR_SEED) -> list[Path]:
    """``per_class`` test JPEGs per class, chosen with a seeded RNG (sorted for a stable order)."""
    rng = np.random.default_rng(seed)
    out: list[Path] = []
    for folder in sorted(p for p in (shared / "cifar10" / "test").iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.jpg"))
        out.extend(files[i] for i in sorted(rng.choice(len(files), size=per_class, replace=False)))
    return out


def write_corrupted(files: Sequence[Path], dest: Path, corruption: Corruption | None, seed: int) -> Path:
    """An ImageFolder copy of ``files`` (class = parent folder) with the corruption applied, seeded per image."""
    if dest.exists():
        shutil.rmtree(dest)
    for k, src in enumerate(files):
        out = dest / src.parent.name / src.name
        out.parent.mkdir(parents=True, exist_ok=True)
        if corruption is None:
            shutil.copyfile(src, out)
            continue
        rng = np.random.default_rng([seed, k])
        with Image.open(src) as img:
            corruption(img.convert("RGB"), rng).save(out.with_suffix(".png"), format="PNG")
    return dest


def record(env: LiveEnvironment, name: str, batch: int = 250,
           log: Callable[[str], None] = print) -> OutcomeMatrix:
    """Every model of ``env`` on every image (cache first); failing models are left out with a note."""
    n = len(env.image_ids)
    keep: list[int] = []
    rows: list[np.ndarray] = []
    seconds: list[float] = []
    for i, card in enumerate(env.cards):
        start = time.perf_counter()
        try:
            row = np.concatenate([env.pull(i, list(range(j, min(j + batch, n)))) for j in range(0, n, batch)])
        except ModelFailedError as exc:  # a model that cannot run is not part of the instance
            log(f"  {card.name}: left out ({exc})")
            continue
        account = env.accounting.per_model[card.name]
        keep.append(i)
        rows.append(row)
        seconds.append(account.compute_seconds / max(account.calls, 1))
        log(f"  {card.name}: acc {row.mean():.3f} ({time.perf_counter() - start:.1f}s)")
    return OutcomeMatrix([env.cards[i] for i in keep], list(env.image_ids), np.array(rows), np.array(seconds),
                         name=name)


def record_cifar(shared: Path = SHARED_DATA, out_dir: Path = MATRICES, conditions: Sequence[str] | None = None,
                 log: Callable[[str], None] = print) -> list[Path]:
    from greenrunner_core.registry.cifar10_shared import cifar10_shared_source

    work = bench_cache() / "bench"
    source = cifar10_shared_source(shared / "cifar10" / "models", complexity_cache=work / "complexity.json")
    registry = Registry([source])
    cards: list[ModelCard] = source.cards()
    files = cifar_subset(shared)
    paths = []
    with OutcomeCache(work / "outcomes.sqlite") as cache:
        for k, cond in enumerate(conditions or list(CORRUPTIONS)):
            log(f"recording cifar10-{cond} ({len(cards)} models x {len(files)} images)")
            folder = write_corrupted(files, work / "cifar10" / cond, CORRUPTIONS[cond], seed=1000 + k)
            dataset = load_target(folder, cache_dir=work / "datasets")
            env = LiveEnvironment(registry, cards, dataset, cache, batch_size=250)
            matrix = record(env, f"cifar10-{cond}", log=log)
            paths.append(matrix.save(out_dir / f"cifar10-{cond}-1000.npz"))
    return paths


def record_demo(out_dir: Path = MATRICES, log: Callable[[str], None] = print) -> Path:
    from greenrunner_core.workspace import Workspace

    ws = Workspace(cache_dir=bench_cache(), include_torchvision=False)
    cards = ws.demo_cards()
    dataset = ws.dataset(None, cards)
    log(f"recording demo zoo ({len(cards)} models x {len(dataset)} target images)")
    env = LiveEnvironment(ws.registry, cards, dataset, ws.outcome_cache, batch_size=256)
    return record(env, "demo-zoo", log=log).save(out_dir / "demo-zoo-target.npz")


def main() -> None:
    MATRICES.mkdir(parents=True, exist_ok=True)
    if cifar_available():
        for p in record_cifar():
            print("wrote", p)
    else:
        print(f"skipping CIFAR-10: {SHARED_DATA} not found")
    print("wrote", record_demo())


if __name__ == "__main__":
    main()
