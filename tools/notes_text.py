"""The words of every typed note (``greenrunner_core/notes.py``): one place, used by the tools' summaries, the CLI,
the upload replies and every presentation in ``ui/present/``.

The words are data: ``note_words.toml`` holds one Jinja2 template per kind of note, rendered over the note's fields
(a message catalog, as translations keep them). ``word(note)`` is one sentence; ``notes_lines`` a bulleted block.
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cache
from pathlib import Path

from jinja2 import Environment, StrictUndefined, Template

from greenrunner_core.note_serde import note_to_dict
from greenrunner_core.notes import RunNote
from greenrunner_core.registry.checkpoint_files import MANIFEST_FILE
from tools.dataset_text import kind_words as issue_kind_words
from tools.energy_text import kind_words, meter_words
from tools.formatting import fmt_joules

__all__ = ["notes_lines", "stop_words", "word", "words"]

CATALOG = Path(__file__).with_name("note_words.toml")


@cache
def _templates() -> dict[str, Template]:
    env = Environment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters.update(thousands="{:,}".format, pct="{:.0%}".format, g="{:g}".format, joules=fmt_joules, repr=repr,
                       meter=meter_words, kind=kind_words, issue_kind=issue_kind_words)
    with CATALOG.open("rb") as f:
        return {kind: env.from_string(text) for kind, text in tomllib.load(f).items()}


def word(note: RunNote) -> str:
    """The sentence for ``note`` (a kind without words in the catalog shows its fields)."""
    template = _templates().get(type(note).__name__)
    if template is None:
        return f"{type(note).__name__}: {note_to_dict(note)}"
    return template.render(manifest=MANIFEST_FILE, **{f.name: getattr(note, f.name) for f in fields(note)})


def stop_words(stop: RunNote | None) -> str:
    """Why a run stopped, in words (``ExperimentResult.stop_reason``; "" when it does not say)."""
    return "" if stop is None else word(stop)


def words(notes: Iterable[RunNote]) -> list[str]:
    return [word(note) for note in notes]


def notes_lines(notes: Sequence[RunNote], *, title: str = "**Notes**", bullet: str = "- ",
                before: Sequence[str] = ()) -> list[str]:
    """``title`` and one bulleted line per note (after the ready-worded ``before`` lines); [] when there is none."""
    lines = [*before, *words(notes)]
    return [title] + [bullet + line for line in lines] if lines else []
