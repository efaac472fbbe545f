"""Optimisation tactics as candidates: each base model offered in optimised variants that are arms of their own.

From "Impact of ML Optimization Tactics on Greener Pre-Trained ML Models": dynamic int8 quantization
(``torch.ao`` dynamic quantization of Linear/LSTM/GRU layers, CPU), ``torch.compile`` (where the platform
supports it) and FP16/BF16 (GPUs only). Pruning brought no gain in that study and is left out.

A variant is a ``ModelCard`` named ``"<base>+<suffix>"`` (e.g. ``demo_mlp_wide+int8``) with its own
weights id (base weights id + tactic), its own serialized size, the base's MACs (dynamic quantization and
compilation change the arithmetic's precision or scheduling, not its count) and, once measured, its own
latency, accuracy and energy. ``tactic_source.TacticSource`` builds the variants of given base models lazily.
"""
from __future__ import annotations

import contextlib
import functools
import io
import shutil
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from greenrunner_core.errors import GreenRunnerError, suggest
from greenrunner_core.registry.card import ModelCard

__all__ = ["TACTICS", "CompiledModules", "Tactic", "TacticUnavailable", "apply_tactic", "compile_support", "parse_tactics",
           "quantize_dynamic_int8", "quantized_engine", "serialized_mb", "unavailable_reason", "variant_name"]

_MIB = float(2 ** 20)
TacticUnavailable = Literal["no_quantized_engine", "no_cuda", "dynamo_unsupported", "no_cxx", "nothing_to_quantize"]
"""Why a tactic is not offered here, or gives one base no variant (the words are in ``tools/note_words.toml``)."""
_DYNAMIC_QUANT_TYPES: tuple[type[nn.Module], ...] = (nn.Linear, nn.LSTM, nn.GRU, nn.LSTMCell, nn.GRUCell, nn.RNNCell)


@dataclass(frozen=True)
class Tactic:
    name: str
    suffix: str          # variant name = base + "+" + suffix
    description: str
    device: str          # "cpu" | "cuda"


TACTICS: dict[str, Tactic] = {t.name: t for t in (
    Tactic("quantize", "int8", "dynamic int8 quantization of Linear/LSTM/GRU layers (torch.ao), CPU", "cpu"),
    Tactic("compile", "compiled", "torch.compile (TorchInductor)", "cpu"),
    Tactic("fp16", "fp16", "half precision (FP16) on a CUDA GPU", "cuda"),
    Tactic("bf16", "bf16", "bfloat16 on a CUDA GPU", "cuda"),
)}
ALIASES = {"int8": "quantize", "quantization": "quantize", "quant": "quantize", "dynamic_int8": "quantize",
           "dynamic_quantization": "quantize", "torch_compile": "compile", "compiled": "compile", "half": "fp16",
           "float16": "fp16", "bfloat16": "bf16"}


def parse_tactics(tactics: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"quantize,compile"`` or a list -> canonical tactic names (unknown names suggest close ones)."""
    if not tactics:
        return ()
    items = tactics.split(",") if isinstance(tactics, str) else list(tactics)
    out: list[str] = []
    for raw in items:
        key = str(raw).strip().lower().replace("-", "_")
        if not key:
            continue
        key = ALIASES.get(key, key)
        if key not in TACTICS:
            close = suggest(key, list(TACTICS) + list(ALIASES))
            hint = f"did you mean {', '.join(close)}?" if close else f"choose from {', '.join(TACTICS)}"
            raise GreenRunnerError(f"unknown optimisation tactic {raw!r} — {hint} (pruning is left out: the study "
                                   "behind these tactics measured no gain from it)")
        if key not in out:
            out.append(key)
    return tuple(out)


def variant_name(base: str, tactic: str) -> str:
    return f"{base}+{TACTICS[tactic].suffix}"


# --------------------------------------------------------------------------------------- what works where


def quantized_engine() -> str | None:
    """The quantized kernels' engine on this machine (x86/fbgemm on Intel/AMD, qnnpack on ARM), or None."""
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    current = torch.backends.quantized.engine
    if current in engines:
        return current
    for preferred in ("x86", "fbgemm", "qnnpack", "onednn"):
        if preferred in engines:
            return preferred
    return None


@functools.cache
def compile_support() -> str | None:
    """None when ``torch.compile`` can work here, else the reason it cannot (checked without compiling): a
    ``TacticUnavailable`` code, or the error importing it."""
    try:
        import torch._dynamo
        if hasattr(torch._dynamo, "is_dynamo_supported") and not torch._dynamo.is_dynamo_supported():
            return "dynamo_unsupported"
    except Exception as exc:  # noqa: BLE001 - any import failure means compile is unavailable
        return f"torch.compile is unavailable: {type(exc).__name__}: {exc}"
    if not any(shutil.which(c) for c in inductor_compilers()):
        return "no_cxx"
    return None


def inductor_compilers() -> list[str]:
    """The C++ compilers TorchInductor tries for CPU code, as its own config holds them (it reads ``$CXX`` itself),
    else the usual names."""
    try:
        from torch._inductor import config
        configured = config.cpp.cxx
        found = [str(c) for c in (configured if isinstance(configured, (list, tuple)) else (configured,)) if c]
    except Exception:  # noqa: BLE001 - an older or trimmed torch: fall back to the names Inductor defaults to
        found = []
    return found or ["g++", "c++", "clang++"]


def _cuda_reason(tactic: Tactic) -> str | None:
    if tactic.device == "cuda" and not torch.cuda.is_available():
        return "no_cuda"
    return None


def unavailable_reason(tactic: str) -> str | None:
    """Why this tactic cannot be offered on this machine at all (None when it can): a ``TacticUnavailable`` code (its
    words in ``tools/note_words.toml``, with ``TacticSkipped``), or the error importing torch.compile."""
    t = TACTICS[tactic]
    if tactic == "quantize":
        return None if quantized_engine() else "no_quantized_engine"
    if tactic == "compile":
        return compile_support()
    return _cuda_reason(t)


# ----------------------------------------------------------------------------------------------- the tactics


@contextlib.contextmanager
def _quiet_ao() -> Iterator[None]:
    # torch.ao.quantization warns that it is deprecated in favour of torchao; it is still what torch ships for
    # eager dynamic quantization (torch 2.14), so the warning is silenced here on purpose.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization.*deprecated", category=Warning)
        warnings.filterwarnings("ignore", message=r".*quantize_per_tensor.*deprecated", category=Warning)
        warnings.filterwarnings("ignore", message=r".*deprecated.*", category=DeprecationWarning)
        yield


def quantize_dynamic_int8(model: nn.Module) -> tuple[nn.Module, int, float]:
    """(quantized copy, layers quantized, share of the parameters they hold). The input model is not changed."""
    if isinstance(model, torch.jit.ScriptModule):
        raise GreenRunnerError("TorchScript models cannot be quantized dynamically in eager mode")
    targets = [m for m in model.modules() if isinstance(m, _DYNAMIC_QUANT_TYPES)]
    total = sum(p.numel() for p in model.parameters()) or 1
    covered = sum(p.numel() for m in targets for p in m.parameters(recurse=False))
    engine = quantized_engine()
    if engine is None:
        raise GreenRunnerError("torch has no quantized CPU engine on this machine")
    with _quiet_ao():
        from torch.ao.quantization import quantize_dynamic
        previous = torch.backends.quantized.engine
        torch.backends.quantized.engine = engine
        try:
            quantized = quantize_dynamic(model, set(_DYNAMIC_QUANT_TYPES), dtype=torch.qint8, inplace=False)
        finally:
            torch.backends.quantized.engine = previous
    return quantized.eval(), len(targets), covered / total


class _Cast(nn.Module):
    """Runs ``inner`` on ``device`` in ``dtype``; takes and returns float32 CPU tensors (the evaluator's contract)."""

    def __init__(self, inner: nn.Module, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = inner.to(device=device, dtype=dtype).eval()
        self.device, self.dtype = device, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x.to(self.device, self.dtype))
        return out.float().cpu()


WARMUP_BATCHES = (2, 1, 16)   # dynamic batch graph, the batch-1 specialisation, the default evaluation batch
RECOMPILE_LIMIT = 64          # dynamo's default (8) is per code object: every nn.Sequential shares one budget


def compile_model(model: nn.Module, input_size: tuple[int, ...]) -> nn.Module:
    """``torch.compile`` with dynamic batch sizes, compiled now on ``WARMUP_BATCHES``, so the compile time lands
    in the model load rather than in the first evaluation batches.

    Dynamo keeps its compiled graphs per code object (e.g. ``nn.Sequential.forward``), shared by every model of
    that class; the recompile limit is raised so a few compiled candidates do not silently fall back to eager.
    """
    import torch._dynamo.config as dynamo_config
    if getattr(dynamo_config, "recompile_limit", RECOMPILE_LIMIT) < RECOMPILE_LIMIT:
        dynamo_config.recompile_limit = RECOMPILE_LIMIT
    compiled = torch.compile(model, dynamic=True)
    with torch.inference_mode():
        for batch in WARMUP_BATCHES:
            compiled(torch.zeros((batch, *input_size)))
    return compiled


class CompiledModules:
    """Compiled variants of one ``TacticSource``, shared by the latency probe and the evaluator (least recently
    used dropped beyond ``size``); it pickles empty, since compiled code stays in the process that built it."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._modules: OrderedDict[str, nn.Module] = OrderedDict()
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (CompiledModules, (self.size,))

    def get(self, key: str, build: Callable[[], nn.Module], input_size: tuple[int, ...]) -> nn.Module:
        """The compiled module under ``key``, compiling ``build()`` on first use."""
        reason = compile_support()
        if reason:
            raise GreenRunnerError(f"the 'compile' tactic cannot run on this machine ({reason}); leave it out")
        with self._lock:
            if key in self._modules:
                self._modules.move_to_end(key)
                return self._modules[key]
        compiled = compile_model(build(), input_size)
        with self._lock:
            self._modules[key] = compiled
            while len(self._modules) > self.size:
                self._modules.popitem(last=False)
        return compiled


def serialized_mb(model: nn.Module) -> float:
    """Size of the model's state_dict as torch.save writes it (MiB)."""
    buf = io.BytesIO()
    with _quiet_ao():
        torch.save(model.state_dict(), buf)
    return len(buf.getvalue()) / _MIB


def apply_tactic(tactic: str, model: nn.Module, card: ModelCard) -> nn.Module:
    """The variant module of ``model`` (eval mode, takes/returns float32 CPU tensors)."""
    if tactic == "quantize":
        return quantize_dynamic_int8(model)[0]
    if tactic == "compile":
        reason = compile_support()
        if reason:
            raise GreenRunnerError(f"the 'compile' tactic cannot run on this machine ({reason}); leave it out")
        return compile_model(model, card.input_size)
    if tactic in ("fp16", "bf16"):
        reason = _cuda_reason(TACTICS[tactic])
        if reason:
            raise GreenRunnerError(f"{tactic} skipped: {reason}")
        return _Cast(model, "cuda", torch.float16 if tactic == "fp16" else torch.bfloat16)
    raise GreenRunnerError(f"unknown tactic {tactic!r}")
