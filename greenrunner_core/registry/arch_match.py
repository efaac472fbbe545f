"""Which registered architecture a bare state_dict belongs to: the one whose parameter names and shapes it matches.

A state_dict that loads strictly (same keys, same shapes) into exactly one architecture needs no paperwork; several
matches are a question for the user; no match names the closest architecture and what differs. Signatures are
computed once per architecture per process (building a model takes milliseconds for the registered ones).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import torch

from greenrunner_core.registry.archs import arch_names, get_arch

__all__ = ["ArchMatch", "recognise_arch"]


@dataclass(frozen=True)
class ArchMatch:
    """``matches``: architectures the state_dict loads into strictly; ``closest``/``why`` when there is none."""

    matches: tuple[str, ...]
    closest: str | None = None
    why: str = ""

    @property
    def arch(self) -> str | None:
        return self.matches[0] if len(self.matches) == 1 else None


@cache
def _signature(name: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    with torch.random.fork_rng():
        model = get_arch(name).build()
    return tuple(sorted((k, tuple(v.shape)) for k, v in model.state_dict().items() if not _filled_on_load(k)))


def _filled_on_load(key: str) -> bool:
    """BatchNorm's step counter: older checkpoints lack it and ``load_state_dict`` fills it in."""
    return key.endswith("num_batches_tracked")


def recognise_arch(state: Mapping[str, torch.Tensor]) -> ArchMatch:
    wanted = {k: tuple(v.shape) for k, v in state.items() if not _filled_on_load(k)}
    matches: list[str] = []
    best: tuple[float, str, str] | None = None
    for name in arch_names():
        sig = dict(_signature(name))
        if sig == wanted:
            matches.append(name)
            continue
        missing = sorted(set(sig) - set(wanted))
        unexpected = sorted(set(wanted) - set(sig))
        shapes = sorted(k for k in set(sig) & set(wanted) if sig[k] != wanted[k])
        shared = len(set(sig) & set(wanted)) - len(shapes)
        score = shared / max(len(sig), len(wanted))
        if best is None or score > best[0]:
            parts = []
            if missing:
                parts.append(f"{len(missing)} of its parameters are missing (e.g. {', '.join(missing[:2])})")
            if unexpected:
                parts.append(f"{len(unexpected)} are not in it (e.g. {', '.join(unexpected[:2])})")
            if shapes:
                k = shapes[0]
                parts.append(f"{len(shapes)} differ in shape (e.g. {k}: {list(wanted[k])} vs {list(sig[k])})")
            best = (score, name, "; ".join(parts))
    if matches:
        return ArchMatch(tuple(matches))
    if best is None or best[0] == 0:
        return ArchMatch((), None, "no registered architecture shares its parameter names")
    return ArchMatch((), best[1], f"{best[0]:.0%} of the parameters match; {best[2]}")
