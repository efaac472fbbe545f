"""Model cost before any evaluation: MACs (fvcore), parameter count and serialized size, cached on disk.

fvcore traces the model once and counts one fused multiply-add as one "flop", which is what torchvision
publishes as GFLOPS in its weights metadata. Eval-mode batch norm is not counted (it folds into the
preceding convolution at inference), matching torchvision's numbers; an extra handle covers
``aten::scaled_dot_product_attention`` (vision transformers), which fvcore does not count by itself.
"""
from __future__ import annotations

import io
import logging
import math
import os
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from greenrunner_core.json_store import JsonEntries
from greenrunner_core.registry.card import ModelCard

_MIB = float(2 ** 20)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Complexity:
    """Cost of one model for one input size: MACs per image, parameters, serialized size in MiB."""

    macs: int
    params: int
    size_mb: float


def sdpa_macs_handle(inputs: list[Any], outputs: list[Any]) -> int:
    """fvcore handle for ``aten::scaled_dot_product_attention``: Q·Kᵀ plus attention·V.

    Shapes are query (..., L, E), key (..., S, E), value (..., S, Ev); the leading dims are batch × heads.
    """
    from fvcore.nn.jit_handles import get_shape

    q, k, v = (get_shape(x) for x in inputs[:3])
    if q is None or k is None or v is None:
        return 0
    batch_heads = math.prod(q[:-2])
    length, embed = q[-2], q[-1]
    source, embed_v = k[-2], v[-1]
    return int(batch_heads * (length * source * embed + length * source * embed_v))


def _no_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """fvcore handle for ops that cost no MACs at inference (fvcore's ``None`` handle does not remove
    a default handle, so a zero handle is the reliable way to drop one)."""
    return 0


@contextmanager
def _mha_fastpath_disabled():
    """Send nn.MultiheadAttention through its traceable path (linear + SDPA) instead of the fused kernel."""
    backend = getattr(torch.backends, "mha", None)
    if backend is None:
        yield
        return
    previous = backend.get_fastpath_enabled()
    backend.set_fastpath_enabled(False)
    try:
        yield
    finally:
        backend.set_fastpath_enabled(previous)


def _example_input(model: nn.Module, input_size: tuple[int, ...]) -> torch.Tensor:
    try:
        reference = next(iter(model.parameters()))
        device, dtype = reference.device, reference.dtype
    except (StopIteration, AttributeError, RuntimeError):
        device, dtype = torch.device("cpu"), torch.float32
    if not dtype.is_floating_point:
        dtype = torch.float32
    return torch.zeros((1, *input_size), device=device, dtype=dtype)


def _fvcore_macs(model: nn.Module, example: torch.Tensor) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # fvcore scripts a loss at import: deprecated jit API
        from fvcore.nn import FlopCountAnalysis

    analysis = (FlopCountAnalysis(model, example)
                .set_op_handle("aten::scaled_dot_product_attention", sdpa_macs_handle)
                .set_op_handle("aten::batch_norm", _no_macs)  # folded into the conv at inference
                .unsupported_ops_warnings(False)      # pooling/activations/padding carry no MACs
                .uncalled_modules_warnings(False))    # e.g. aux heads unused in eval mode
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # jit TracerWarnings on shape-dependent Python code
        return int(analysis.total())


def _dispatch_macs(model: nn.Module, example: torch.Tensor) -> int:
    """Fallback for what jit tracing cannot handle (some TorchScript / exported programs): torch's counter."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(example)
    return int(counter.get_total_flops() // 2)        # FlopCounterMode counts a multiply-add as 2 flops


def count_macs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-accumulates for one input of shape ``input_size`` (C, H, W), measured by fvcore.

    Falls back to ``torch.utils.flop_counter`` only when fvcore's jit trace fails. The model's mode is
    kept; call ``model.eval()`` first for inference numbers.
    """
    example = _example_input(model, tuple(input_size))
    with _mha_fastpath_disabled():
        try:
            return _fvcore_macs(model, example)
        except Exception as exc:  # noqa: BLE001 - any trace failure -> second counter
            _log.info("fvcore could not trace %s (%s); using torch.utils.flop_counter",
                      type(model).__name__, exc)
            return _dispatch_macs(model, example)


def count_params(model: nn.Module) -> int:
    """Number of parameter elements (buffers such as BatchNorm statistics excluded)."""
    return int(sum(p.numel() for p in model.parameters()))


def serialized_size_mb(model: nn.Module) -> float:
    """Size in MiB of ``torch.save(model.state_dict())`` — what shipping the weights costs."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / _MIB


def measure_uncached(model: nn.Module, input_size: tuple[int, ...]) -> Complexity:
    return Complexity(macs=count_macs(model, input_size), params=count_params(model),
                      size_mb=serialized_size_mb(model))


class ComplexityCache:
    """JSON file of ``Complexity`` keyed by weights id + input size, so fvcore runs once per model ever.

    ``path=None`` keeps the cache in memory only. Writes merge with what is on disk and replace the file
    atomically, so concurrent processes at worst recompute an entry.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._store = JsonEntries(path, "complexity cache")
        self.path = self._store.path

    @staticmethod
    def key(card_or_key: ModelCard | str, input_size: tuple[int, ...]) -> str:
        base = card_or_key.weights_id if isinstance(card_or_key, ModelCard) else str(card_or_key)
        if not base:
            raise ValueError("complexity cache key is empty: pass a ModelCard or a non-empty weights id")
        return f"{base}|{'x'.join(str(int(d)) for d in input_size)}"

    def get(self, card_or_key: ModelCard | str, input_size: tuple[int, ...]) -> Complexity | None:
        entry = self._store.get(self.key(card_or_key, input_size))
        if entry is None:
            return None
        try:
            return Complexity(macs=int(entry["macs"]), params=int(entry["params"]),
                              size_mb=float(entry["size_mb"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, card_or_key: ModelCard | str, input_size: tuple[int, ...], value: Complexity) -> None:
        self._store.put(self.key(card_or_key, input_size), asdict(value))

    def measure(self, model: nn.Module, card_or_key: ModelCard | str,
                input_size: tuple[int, ...]) -> Complexity:
        """Cached complexity for this model's weights at this input size; measured on first use."""
        cached = self.get(card_or_key, input_size)
        if cached is not None:
            return cached
        value = measure_uncached(model, tuple(input_size))
        self.put(card_or_key, input_size, value)
        return value

    def __len__(self) -> int:
        return len(self._store)
