"""Demo zoo data: sklearn's digits at 16x16, the seeded split, and the "new camera" shift of the target pool."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from greenrunner_core.registry.card import Preprocess

__all__ = ["BENCHMARK_DATASET", "CLASS_LABELS", "IMAGE_SIZE", "PREPROCESS", "DemoSplit", "camera_shift", "digits16",
           "images_digest", "split_digits", "to_tensor", "write_folder"]

SPLIT_SEED = 20240611
TARGET_SEED = 7
IMAGE_SIZE = 16
CLASS_LABELS: tuple[str, ...] = tuple(str(d) for d in range(10))
PREPROCESS = Preprocess(crop=(IMAGE_SIZE, IMAGE_SIZE), mean=(0.5,), std=(0.5,), channels=1)
BENCHMARK_DATASET = "digits-clean"
TRAIN_FRACTION, BENCHMARK_FRACTION = 0.60, 0.15     # the rest (~25 %, ~450 images) is the target pool


@dataclass(frozen=True)
class DemoSplit:
    """How sklearn's digits were split (indices refer to ``sklearn.datasets.load_digits()``)."""

    seed: int
    train: tuple[int, ...]
    benchmark: tuple[int, ...]
    target: tuple[int, ...]
    dataset: str = "sklearn digits 8x8 upsampled to 16x16"

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "benchmark": len(self.benchmark), "target": len(self.target)}


def digits16() -> tuple[np.ndarray, np.ndarray]:
    """All digits as (N, 16, 16) uint8 images and (N,) int64 labels; sklearn ships them, no download."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    small = np.clip(np.rint(digits.images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    images = np.stack([np.asarray(Image.fromarray(im, "L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
                       for im in small])
    return images, digits.target.astype(np.int64)


def split_digits(n: int, seed: int = SPLIT_SEED) -> DemoSplit:
    perm = np.random.default_rng(seed).permutation(n)
    n_train, n_bench = round(TRAIN_FRACTION * n), round(BENCHMARK_FRACTION * n)
    parts = perm[:n_train], perm[n_train:n_train + n_bench], perm[n_train + n_bench:]
    return DemoSplit(seed, *(tuple(int(i) for i in np.sort(p)) for p in parts))


def _affine(image: Image.Image, angle: float, translate: tuple[float, float], scale: float) -> Image.Image:
    """Rotate by ``angle`` degrees and scale about the centre, then translate (pixels); black fill."""
    cx, cy = image.width / 2, image.height / 2
    theta = np.deg2rad(angle)
    # PIL maps each output pixel back to its input position: in = c + R(-theta) (out - c - t) / scale
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
    tx, ty = cx + translate[0], cy + translate[1]
    a, b, d, e = cos, sin, -sin, cos
    coeffs = (a, b, cx - a * tx - b * ty, d, e, cy - d * tx - e * ty)
    return image.transform(image.size, Image.AFFINE, data=coeffs, resample=Image.BILINEAR, fillcolor=0)


def camera_shift(images: np.ndarray, seed: int = TARGET_SEED) -> np.ndarray:
    """The target pool through a "new camera": seeded affine, blur, noise, brightness/contrast (deterministic)."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        angle, scale = float(rng.uniform(-15, 15)), float(rng.uniform(0.85, 1.15))
        translate = (float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2)))
        pil = _affine(Image.fromarray(image, "L"), angle, translate, scale)
        pil = pil.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.3, 0.8))))
        arr = np.asarray(pil, dtype=np.float64)
        contrast, brightness = rng.uniform(0.55, 0.95), rng.uniform(10, 60)
        arr = arr * contrast + brightness + rng.normal(0.0, rng.uniform(6, 18), size=arr.shape)
        out[i] = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    return out


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) -> normalised float (N, 1, H, W), exactly what ``PREPROCESS`` gives for the PNGs."""
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    return (x - PREPROCESS.mean[0]) / PREPROCESS.std[0]



def images_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.png")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def write_folder(root: Path, images: np.ndarray, labels: np.ndarray, ids: Sequence[int]) -> None:
    for image, label, idx in zip(images, labels, ids):
        folder = root / str(int(label))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "L").save(folder / f"{idx:04d}.png", format="PNG")
