"""Variants of base models under optimisation tactics, offered as a ``ModelSource`` (each variant an arm of its own).

A variant keeps its base's MACs; its weights id, size and notes say what the tactic changed (see ``tactics``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from greenrunner_core.errors import GreenRunnerError, WeightsUnavailableError
from greenrunner_core.notes import TacticSkipped
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.tactics import (
    TACTICS,
    CompiledModules,
    apply_tactic,
    parse_tactics,
    quantize_dynamic_int8,
    quantized_engine,
    serialized_mb,
    unavailable_reason,
    variant_name,
)
from greenrunner_core.variant_info import VariantInfo

__all__ = ["TacticSource", "add_variants", "skip_notes", "variants_beside_bases"]


@dataclass
class TacticSource:
    """Variants of the given base models (``bases``: (source, card) pairs) under ``tactics``, built lazily.

    Picklable (the base sources are). ``cards()`` loads each base once to measure its variants' serialized
    size and skips, with a note, what does not apply (e.g. no Linear layer to quantize, no GPU for FP16).
    """

    bases: tuple[tuple[ModelSource, ModelCard], ...]
    tactics: tuple[str, ...]
    name: str = "tactics"
    notes: list[TacticSkipped] = field(default_factory=list, init=False)        # every skip, with its reason
    skipped: dict[str, TacticSkipped] = field(default_factory=dict, init=False)  # variant or tactic -> the skip
    info: dict[str, VariantInfo] = field(default_factory=dict, init=False)   # variant -> its base and tactic
    _cards: list[ModelCard] | None = field(default=None, init=False, repr=False)
    _base_of: dict[str, tuple[ModelSource, ModelCard, str]] = field(default_factory=dict, init=False, repr=False)
    _compiled: CompiledModules = field(default_factory=CompiledModules, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.tactics = parse_tactics(self.tactics)
        self.bases = tuple(self.bases)

    def cards(self) -> list[ModelCard]:
        if self._cards is None:
            self._cards = self._build()
        return list(self._cards)

    def load(self, card: ModelCard) -> nn.Module:
        self.cards()
        entry = self._base_of.get(card.name)
        if entry is None:
            raise WeightsUnavailableError(f"{card.name!r} is not a variant this tactic source built; it has "
                                          f"{', '.join(self._base_of) or 'none'}")
        source, base, tactic = entry
        if tactic == "compile":
            return self._compiled.get(card.weights_id, lambda: source.load(base).eval(), base.input_size)
        return apply_tactic(tactic, source.load(base), base).eval()

    # building --------------------------------------------------------------------------------------------
    def _build(self) -> list[ModelCard]:
        self.notes.clear()
        self.skipped.clear()
        offered = []
        for tactic in self.tactics:
            reason = unavailable_reason(tactic)
            if reason:
                self.skipped[tactic] = TacticSkipped(tactic, reason)
                self.notes.append(self.skipped[tactic])
            else:
                offered.append(tactic)
        cards: list[ModelCard] = []
        for source, base in self.bases:
            if not offered:
                break
            loaded: nn.Module | None = None
            for tactic in offered:
                try:
                    if tactic == "quantize" and loaded is None:
                        loaded = source.load(base).eval()
                    card, note = self._variant(tactic, base, loaded)
                except Exception as exc:  # noqa: BLE001 - one base that cannot be varied must not hide the others
                    card, note = None, _reason(exc)
                if card is None:
                    name = variant_name(base.name, tactic)
                    self.skipped[name] = TacticSkipped(tactic, note, variant=name)
                    self.notes.append(self.skipped[name])
                    continue
                cards.append(card)
                self._base_of[card.name] = (source, base, tactic)
                self.info[card.name] = VariantInfo(base.name, tactic, note)
        return cards

    def _variant(self, tactic: str, base: ModelCard, loaded: nn.Module | None) -> tuple[ModelCard | None, str]:
        t = TACTICS[tactic]
        name = variant_name(base.name, tactic)
        if tactic == "quantize":
            assert loaded is not None
            quantized, layers, share = quantize_dynamic_int8(loaded)
            if layers == 0:
                return None, "nothing_to_quantize"
            size = serialized_mb(quantized)
            note = (f"{layers} Linear/LSTM/GRU layer(s) in int8, holding {100 * share:.1f} % of the weights; "
                    "MACs as the base (same operations in int8)")
            weights_id = f"{base.weights_id}+int8-dynamic-{quantized_engine()}"
        elif tactic == "compile":
            size = base.size_mb
            note = "same weights and MACs as the base; compiled with TorchInductor when loaded (compile time is " \
                   "part of the model load, not of the evaluation calls)"
            weights_id = f"{base.weights_id}+compiled-torch{torch.__version__}"
        else:
            size = base.size_mb / 2 if base.size_mb else base.size_mb
            note = f"weights in {t.suffix} on the GPU; MACs as the base"
            weights_id = f"{base.weights_id}+{t.suffix}-cuda"
        card = replace(base, name=name, size_mb=max(size, 1e-6), weights_id=weights_id, benchmark_accuracy=None,
                       benchmark_dataset=None, description=f"{base.description} — {t.description}; {note}",
                       metrics=tuple((k, v) for k, v in base.metrics if k not in {"latency"}))
        return card, note


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, GreenRunnerError) else f"{type(exc).__name__}: {exc}"


def variants_beside_bases(cards: Sequence[ModelCard], info: Mapping[str, VariantInfo]) -> list[ModelCard]:
    """Cards ordered base first, then its variants, so tables show each variant beside its base."""
    by_base: dict[str, list[ModelCard]] = {}
    for c in cards:
        if c.name in info:
            by_base.setdefault(info[c.name].base, []).append(c)
    out: list[ModelCard] = []
    for c in cards:
        if c.name in info:
            continue
        out.append(c)
        out.extend(by_base.pop(c.name, []))
    for rest in by_base.values():
        out.extend(rest)
    return out


def add_variants(registry: Registry, cards: Sequence[ModelCard], wanted: Sequence[str],
                 info: dict[str, VariantInfo], skips: dict[str, TacticSkipped]) -> list[ModelCard]:
    """``cards`` with their variants under ``wanted`` tactics, each beside its base. New variants are built once and
    registered (``info``: variant -> base/tactic/note, ``skips``: what could not be built and why, both updated)."""
    bases = [c for c in cards if c.name not in info]
    for base in bases:
        todo = tuple(t for t in wanted if variant_name(base.name, t) not in info
                     and variant_name(base.name, t) not in skips and t not in skips)
        if not todo:
            continue
        source = TacticSource(bases=((registry.source_of(base.name), base),), tactics=todo)
        variants = source.cards()
        skips.update(source.skipped)
        clashes = [v.name for v in variants if v.name in registry.names()]
        if clashes:
            raise GreenRunnerError(f"variant name(s) {', '.join(clashes)} are already taken by other models; "
                                   "rename those models or leave the tactic out")
        registry.add_source(source)
        info.update(source.info)
    names = {variant_name(b.name, t) for b in bases for t in wanted}
    variants = [registry.get(n) for n in sorted(names) if n in info]
    return variants_beside_bases(list(cards) + [v for v in variants if v not in cards], info)


def skip_notes(cards: Sequence[ModelCard], wanted: Sequence[str],
               skips: dict[str, TacticSkipped]) -> list[TacticSkipped]:
    """Why a wanted tactic, or a variant of one of ``cards``, was not offered."""
    names = {c.name for c in cards}
    notes = [skips[t] for t in wanted if t in skips]
    notes += [skip for name, skip in skips.items()
              if "+" in name and name.split("+", 1)[0] in names]
    return notes
