"""Image decoding for evaluation: file bytes -> resized, centre-cropped uint8 CHW tensor, as a model card asks.

JPEG/PNG go straight through torchvision's libjpeg-turbo / libpng ops (the private ``torch.ops.image``
entry points: the public wrappers cost as much per call as decoding a small image); everything else, and
large JPEGs (reduced-scale decoding), goes through PIL. ``ImageDecoder`` owns the thread pool that overlaps
file reads and decodes (both release the GIL).
"""
from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torchvision.io import ImageReadMode
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from greenrunner_core.errors import DatasetError
from greenrunner_core.registry.card import Preprocess

__all__ = ["ImageDecoder", "ImagePrep", "load_image"]

_TENSOR_INTERPOLATIONS = frozenset({InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                                    InterpolationMode.BILINEAR, InterpolationMode.BICUBIC})
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_LARGE_JPEG_BYTES = 256 * 1024   # above this, PIL's reduced-scale JPEG decoding (draft) beats a full decode


def _interpolation(name: str) -> InterpolationMode:
    try:
        return InterpolationMode(name.lower())
    except ValueError:
        choices = ", ".join(m.value for m in InterpolationMode)
        raise ValueError(f"unknown interpolation {name!r} in a model card; use one of: {choices}") from None


@dataclass(frozen=True)
class ImagePrep:
    """A card's ``Preprocess`` resolved once (modes, target sizes, normalisation tensors)."""

    channels: int
    pil_mode: str
    read_mode: ImageReadMode
    short_side: int
    crop: tuple[int, int]
    interpolation: InterpolationMode
    tensor_resize: bool        # torchvision resizes uint8 tensors with this interpolation (else PIL does)
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def of(cls, p: Preprocess) -> ImagePrep:
        if p.channels not in (1, 3):
            raise ValueError(f"preprocess channels must be 1 or 3 (got {p.channels})")
        if len(p.mean) != p.channels or len(p.std) != p.channels:
            raise ValueError(f"preprocess mean/std need {p.channels} values (got {p.mean}, {p.std})")
        crop = (int(p.crop[0]), int(p.crop[1]))
        # resize=None: shorter side to the crop's larger side, so the centre crop keeps the aspect ratio
        short = int(p.resize) if p.resize else max(crop)
        interpolation = _interpolation(p.interpolation)
        shape = (1, p.channels, 1, 1)
        return cls(channels=p.channels, pil_mode="L" if p.channels == 1 else "RGB",
                   read_mode=ImageReadMode.GRAY if p.channels == 1 else ImageReadMode.RGB,
                   short_side=short, crop=crop, interpolation=interpolation,
                   tensor_resize=interpolation in _TENSOR_INTERPOLATIONS,
                   mean=torch.tensor(p.mean, dtype=torch.float32).view(shape),
                   std=torch.tensor(p.std, dtype=torch.float32).view(shape))

    def normalise(self, batch: Sequence[torch.Tensor]) -> torch.Tensor:
        """uint8 CHW tensors -> one float32 NCHW batch, scaled to [0, 1] and normalised by the card's mean/std."""
        return torch.stack(list(batch)).to(torch.float32).mul_(1.0 / 255.0).sub_(self.mean).div_(self.std)


@functools.cache
def _tv_decoders() -> tuple[Any, Any] | None:
    """torchvision's libjpeg-turbo / libpng decode ops, called directly (looked up once per process).

    The public ``torchvision.io.decode_*`` wrappers (deprecated since torchvision 0.29 in favour of
    TorchCodec) add a warning and argument parsing per call that cost as much as decoding a small
    image. None when the ops are unavailable: PIL then decodes everything.
    """
    try:
        import torchvision.io  # noqa: F401  (loads the image extension that registers the ops)
        return torch.ops.image.decode_jpeg, torch.ops.image.decode_png
    except (ImportError, AttributeError, RuntimeError):
        return None


def _fast_decode(data: bytearray, prep: ImagePrep) -> torch.Tensor | None:
    """JPEG/PNG straight to a uint8 CHW tensor (libjpeg-turbo / libpng); None when PIL should decode it."""
    is_jpeg = data[:3] == _JPEG_MAGIC
    if not prep.tensor_resize or not (is_jpeg or data[:8] == _PNG_MAGIC):
        return None
    if is_jpeg and len(data) > _LARGE_JPEG_BYTES:
        return None
    decoders = _tv_decoders()
    if decoders is None:
        return None
    raw = torch.frombuffer(data, dtype=torch.uint8)
    try:
        x = decoders[0 if is_jpeg else 1](raw, prep.read_mode.value, False)   # (data, mode, exif orientation)
    except RuntimeError:          # unusual variant (e.g. some CMYK/16-bit files): PIL decodes it
        return None
    if x.dtype != torch.uint8:
        x = TF.to_dtype(x, torch.uint8, scale=True)
    return x if x.ndim == 3 and x.shape[0] == prep.channels else None


def _pil_decode(data: bytearray, prep: ImagePrep) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        # JPEG: let libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is that much larger than
        # needed (never below the resize target) — the main decode cost for large photos
        img.draft(None, (prep.short_side, prep.short_side))
        return img.convert(prep.pil_mode)


def load_image(path: Path, prep: ImagePrep, content: bytes | None = None) -> torch.Tensor:
    """Decode + resize (shorter side) + centre crop -> uint8 CHW tensor; ``DatasetError`` for an unreadable file.

    With ``content`` (the file's bytes, e.g. shipped to a Ray worker) ``path`` only names the image in errors.
    """
    try:
        data = bytearray(path.read_bytes() if content is None else content)
        x = _fast_decode(data, prep)
        img = _pil_decode(data, prep) if x is None else None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"cannot read image {str(path)!r}: {exc}; remove or replace the file") from exc
    if img is not None:
        if prep.tensor_resize:
            x = TF.pil_to_tensor(img)
        else:                     # PIL-only filters (box, hamming, lanczos)
            if min(img.size) != prep.short_side:
                img = TF.resize(img, [prep.short_side], interpolation=prep.interpolation, antialias=True)
            return TF.pil_to_tensor(TF.center_crop(img, list(prep.crop)))
    assert x is not None
    if min(x.shape[-2:]) != prep.short_side:
        x = TF.resize(x, [prep.short_side], interpolation=prep.interpolation, antialias=True)
    if tuple(x.shape[-2:]) != prep.crop:
        x = TF.center_crop(x, list(prep.crop))
    return x


class ImageDecoder:
    """Decodes a batch of files on a small thread pool, started on first use and remade in a forked child."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads if threads is not None else max(1, min(4, os.cpu_count() or 1))
        if self.threads < 1:
            raise ValueError(f"ImageDecoder threads={self.threads} must be >= 1")
        self._pool: tuple[int, ThreadPoolExecutor] | None = None   # (owning pid, pool)
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pool[0] != os.getpid():
                self._pool = (os.getpid(), ThreadPoolExecutor(max_workers=self.threads,
                                                              thread_name_prefix="greenrunner-decode"))
            return self._pool[1]

    def load_batch(self, root: Path, paths: Sequence[str], prep: ImagePrep,
                   contents: Sequence[bytes] | None = None) -> torch.Tensor:
        """The files (relative to ``root``, or their ``contents``) decoded and normalised into one float32 NCHW batch."""
        if contents is not None:
            return prep.normalise(list(self._executor().map(lambda item: load_image(root / item[0], prep, item[1]),
                                                            zip(paths, contents, strict=True))))
        return prep.normalise(list(self._executor().map(lambda rel: load_image(root / rel, prep), paths)))

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and pool[0] == os.getpid():
            pool[1].shutdown(wait=True)

    # a decoder crosses processes empty (a thread pool cannot be pickled)
    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (ImageDecoder, (self.threads,))
