"""One registry mechanism for everything looked up by name (architectures, model cards): add once, look up, suggest.

Modelled on torchvision's ``models/_api.py`` and timm's registry: registering a name twice is refused, and an
unknown name raises ``UnknownModelError`` (a ``ValueError``) with close names as suggestions. Entries are
never replaced once registered.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

from greenrunner_core.errors import GreenRunnerError, UnknownModelError

__all__ = ["NameRegistry"]

T = TypeVar("T")


class NameRegistry(Generic[T]):
    """Entries by unique name, in registration order. ``kind`` names what they are in error messages."""

    def __init__(self, kind: str = "model") -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, owner: str = "") -> T:
        """Register ``entry`` under ``name``; a name already taken is refused (entries are never replaced)."""
        if name in self._entries:
            by = f" by {owner!r}" if owner else ""
            raise GreenRunnerError(f"{self.kind} name {name!r} is already registered{by}; rename one of them")
        self._entries[name] = entry
        return entry

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownModelError(name, self._entries, kind=self.kind) from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def copy(self) -> NameRegistry[T]:
        out: NameRegistry[T] = NameRegistry(self.kind)
        out._entries = dict(self._entries)
        return out
