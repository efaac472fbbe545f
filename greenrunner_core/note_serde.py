"""Notes at the persistence edge: ``note_to_dict`` gives a note's tagged dict ``{"kind": <class name>, **fields}``
(JSON-ready) and ``note_from`` reads one back by its tag (``notes.NOTE_KINDS``). A note of an unknown kind, or a plain
string saved before notes were typed, reads back as a ``TextNote`` so old saved runs keep loading.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any

from greenrunner_core.notes import NOTE_KINDS, RunNote, TextNote

__all__ = ["note_from", "note_to_dict", "stop_from"]


def note_to_dict(note: RunNote) -> dict[str, Any]:
    """The tagged form of ``note`` (JSON-ready)."""
    return {"kind": type(note).__name__, **{f.name: _plain(getattr(note, f.name)) for f in fields(note)}}


def note_from(value: Any) -> RunNote:
    """A note from its tagged dict, a legacy string, or the note itself."""
    if isinstance(value, RunNote):
        return value
    if isinstance(value, str):
        return TextNote(value)
    if isinstance(value, Mapping):
        cls = NOTE_KINDS.get(str(value.get("kind")))
        if cls is not None:
            try:
                return cls(**{f.name: value[f.name] for f in fields(cls) if f.name in value})
            except TypeError:
                pass                # fields changed since it was saved: keep it readable as text
        text = value.get("text")
        return TextNote(text if isinstance(text, str) else json.dumps(dict(value), default=str, sort_keys=True))
    return TextNote(str(value))


def stop_from(value: Any) -> RunNote | None:
    """A run's stop reason from its tagged dict, a legacy sentence (a ``TextNote``) or the record; "" = none."""
    return None if value is None or value == "" else note_from(value)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):     # a record inside a note (e.g. a ``MeterInfo``)
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    return value
