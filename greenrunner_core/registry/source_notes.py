"""Typed notes a model source makes while listing its models (files skipped, defaults assumed, manifests read).

Data only: ``tools/notes_text.py`` words them. They are ``SourceNote``s (``greenrunner_core/notes.py``), so they
serialise and read back like every other note.
"""
from __future__ import annotations

from dataclasses import dataclass

from greenrunner_core.notes import SourceNote

__all__ = ["ArchOnlyForDefaults", "ArchRecognised", "AssumedLabels", "AssumedPreprocess", "ItemSkipped",
           "ManifestFileMissing", "ManifestIgnored", "NameTaken", "UnknownManifestKeys"]


@dataclass(frozen=True)
class ItemSkipped(SourceNote):
    """``item`` (a file, repo or model of ``source``) was not listed, and why."""

    source: str
    item: str
    reason: str


@dataclass(frozen=True)
class NameTaken(SourceNote):
    """``file`` was skipped: the model name it gives, ``name``, is already used by the model of ``used_by``.
    Names are unique across sources, so the second file must be renamed (or given a "name" in the manifest)."""

    file: str
    name: str
    used_by: str


@dataclass(frozen=True)
class ManifestIgnored(SourceNote):
    """The manifest at ``path`` could not be read; every file is listed as if there were none."""

    path: str
    reason: str


@dataclass(frozen=True)
class ManifestFileMissing(SourceNote):
    """The manifest has an entry for ``file``, which is not a file in ``folder``
    (a typo, or a file removed since the manifest was written)."""

    file: str
    folder: str


@dataclass(frozen=True)
class ArchOnlyForDefaults(SourceNote):
    """``file`` is a ``checkpoint_kind`` file (a whole program, not a state_dict), so the manifest's ``arch`` only
    gives defaults (input size, normalisation, labels): the file's own code is what runs."""

    file: str
    checkpoint_kind: str
    arch: str


@dataclass(frozen=True)
class UnknownManifestKeys(SourceNote):
    """``file``'s manifest entry has ``keys`` outside ``known``; they were ignored."""

    file: str
    keys: tuple[str, ...]
    known: tuple[str, ...]


@dataclass(frozen=True)
class AssumedPreprocess(SourceNote):
    """``file`` has no input size/mean/std in the manifest: ImageNet-style values were assumed."""

    file: str
    input_size: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


@dataclass(frozen=True)
class AssumedLabels(SourceNote):
    """``file`` has no class labels in the manifest: ``first``..``last`` (numbered by output) were used.
    Predictions then only match target classes named the same way."""

    file: str
    first: str
    last: str


@dataclass(frozen=True)
class ArchRecognised(SourceNote):
    """``file``'s state_dict matched the registered architecture ``arch`` exactly: its parameter names and shapes.
    The manifest can name another "arch" when the match is wrong."""

    file: str
    arch: str
