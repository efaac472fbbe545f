"""Errors the core raises: each names the bad value and how to fix it.

All derive from ``GreenRunnerError`` (a ``ValueError``) so front doors can catch one type and show
the message as-is to the user or the LLM.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from greenrunner_core.dataset_scan import ValidationReport


class GreenRunnerError(ValueError):
    """Base class for actionable, user-facing errors."""


T = TypeVar("T")


def checked(name: str, value: T, valid: bool, rule: str) -> T:
    """``value`` when ``valid``, else a ``GreenRunnerError`` naming the setting, its value and the rule."""
    if not valid:
        raise GreenRunnerError(f"{name}={value!r} {rule}")
    return value


class UnknownModelError(GreenRunnerError, KeyError):
    """A model name that no registered source provides."""

    def __init__(self, name: str, known: Iterable[str], kind: str = "model") -> None:
        known = sorted(known)
        close = suggest(name, known)
        hint = f"did you mean {', '.join(close)}?" if close else (
            "run `greenrunner models` to list them" if kind == "model" else f"known: {', '.join(known[:10])}")
        super().__init__(f"unknown {kind} {name!r} — {hint}")
        self.name = name
        self.suggestions = close

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class WeightsUnavailableError(GreenRunnerError):
    """Weights cannot be loaded (offline and not cached, missing file...)."""


class UnsafeCheckpointError(GreenRunnerError):
    """A checkpoint that needs arbitrary pickle code to load."""


class DatasetError(GreenRunnerError):
    """A target dataset that cannot be used at all (missing, empty, nothing mapped); ``report`` is the typed
    validation report when the files were checked (front doors show it worded, ``tools/dataset_text.py``)."""

    def __init__(self, message: str, report: ValidationReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class InvalidWeightsError(GreenRunnerError):
    """Reward weights that are not finite, negative, all zero or name unknown metrics."""


class NoUsableCandidateError(GreenRunnerError):
    """Every candidate model was excluded (could not be loaded or run): there is no selection to report."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = dict(reasons)
        lines = [f"  - {name}: {why}" for name, why in self.reasons.items()]
        super().__init__(f"none of the {len(self.reasons)} candidate models could be evaluated, so nothing was "
                         "selected:\n" + "\n".join(lines) + "\nFix the first reason above, or pick other models "
                         "(`greenrunner models` lists them)")


class BudgetError(GreenRunnerError):
    """A budget that cannot give every candidate model a first evaluation."""


def suggest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Close names for ``name``: prefix matches first, then difflib's fuzzy matches."""
    known = list(known)
    lowered = name.lower()
    prefix = sorted(k for k in known if k.lower().startswith(lowered))
    fuzzy = difflib.get_close_matches(name, known, n=n, cutoff=0.5)
    out: list[str] = []
    for k in prefix + fuzzy:
        if k not in out:
            out.append(k)
    return out[:n]
