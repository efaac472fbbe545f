"""How an energy figure was obtained, as data: the methods that made it (``EnergyMethod``: RAPL or NVML counters, or
the time x power estimate) in one ``EnergyKind``; figures made by several methods combine into a mixed kind.

``tools/energy_text.kind_words`` says a kind in words ("measured (RAPL)", "mixed: ..."). Kinds are saved as codes
(``to_code``: "rapl", "rapl+estimate"; the outcome cache's column) or as their fields (JSON, the checkpointer);
``EnergyKind.revive`` also reads the words runs and caches saved before kinds were data.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ESTIMATED", "MEASURED_NVML", "MEASURED_RAPL", "NOT_MEASURED", "EnergyKind", "EnergyMethod",
           "combine_kinds", "is_estimated"]


class EnergyMethod(StrEnum):
    """One way of obtaining joules (the value is the stored code)."""

    RAPL = "rapl"            # measured: the CPU package counters under /sys/class/powercap
    NVML = "nvml"            # measured: an NVIDIA GPU's total-energy counter
    ESTIMATE = "estimate"    # estimated: process CPU seconds x watts per busy core (or a library's power model)

    @property
    def measured(self) -> bool:
        return self is not EnergyMethod.ESTIMATE


# the words kinds were saved as before they were data (JSON reports, checkpoints, outcome cache rows)
_SAVED_WORDS = {"measured (RAPL)": EnergyMethod.RAPL, "measured (NVML)": EnergyMethod.NVML,
                "estimated (time x W)": EnergyMethod.ESTIMATE}


@dataclass(frozen=True)
class EnergyKind:
    """The methods behind a figure, measured ones first (``()`` = not measured, e.g. a replay). ``saved_text``: a kind
    saved as words this version does not know (shown as saved)."""

    methods: tuple[EnergyMethod, ...] = ()
    saved_text: str = ""

    def __post_init__(self) -> None:
        # JSON and the checkpointer give lists of codes back: keep one shape, in one order, each method once
        unique = {EnergyMethod(m) for m in self.methods}
        object.__setattr__(self, "methods", tuple(sorted(unique, key=lambda m: (not m.measured, m.value))))

    def __bool__(self) -> bool:
        """Energy was recorded (a kind not measured is falsy)."""
        return bool(self.methods or self.saved_text)

    @property
    def estimated(self) -> bool:
        """True unless every part of the figure was measured (a kind not measured counts as estimated)."""
        if self.saved_text and not self.methods:
            return "estimated" in self.saved_text or not self.saved_text.startswith("measured")
        return not self.methods or not all(m.measured for m in self.methods)

    @property
    def mixed(self) -> bool:
        return len(self.methods) > 1

    def to_code(self) -> str:
        """The stored code: the methods joined by "+" ("" = not measured); an unknown saved kind as it was saved."""
        return "+".join(m.value for m in self.methods) if self.methods else self.saved_text

    @classmethod
    def combine(cls, kinds: Iterable[EnergyKind | str | None]) -> EnergyKind:
        """One kind for figures of several kinds (the union of their methods)."""
        revived = [cls.revive(k) for k in kinds]
        texts = sorted({k.saved_text for k in revived if k.saved_text and not k.methods})
        methods = tuple(m for k in revived for m in k.methods)
        if texts and not methods and len(texts) == 1:
            return cls(saved_text=texts[0])
        return cls(methods, saved_text=" + ".join(texts))

    @classmethod
    def revive(cls, value: EnergyKind | Mapping[str, Any] | str | None) -> EnergyKind:
        """The kind itself, read back from its fields, its code, or the words saved before kinds were data."""
        if isinstance(value, cls):
            return value
        if value is None or value == "":
            return NOT_MEASURED
        if isinstance(value, Mapping):
            return cls(tuple(value.get("methods") or ()), str(value.get("saved_text") or ""))
        text = str(value).strip()
        parts = text.removeprefix("mixed: ").split(" + ") if text.startswith("mixed: ") else text.split("+")
        try:
            return cls(tuple(_SAVED_WORDS.get(p.strip()) or EnergyMethod(p.strip()) for p in parts))
        except ValueError:
            return cls(saved_text=text)


NOT_MEASURED = EnergyKind()
MEASURED_RAPL = EnergyKind((EnergyMethod.RAPL,))
MEASURED_NVML = EnergyKind((EnergyMethod.NVML,))
ESTIMATED = EnergyKind((EnergyMethod.ESTIMATE,))


def is_estimated(kind: EnergyKind | str | None) -> bool:
    """True unless every part of the figure was measured (unknown / empty kinds count as estimated)."""
    return EnergyKind.revive(kind).estimated


def combine_kinds(kinds: Iterable[EnergyKind | str | None]) -> EnergyKind:
    """One kind for figures of several kinds: the kind itself, or a mixed one (its words put estimated parts last)."""
    return EnergyKind.combine(kinds)
