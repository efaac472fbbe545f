"""The model repository: sources behind one small interface, and a registry that joins them."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

import torch

from greenrunner_core.errors import GreenRunnerError, UnknownModelError
from greenrunner_core.registry.card import ModelCard


@runtime_checkable
class ModelSource(Protocol):
    """A place models come from. ``cards`` is cheap and offline; ``load`` may touch disk/network."""

    name: str

    def cards(self) -> list[ModelCard]: ...

    def load(self, card: ModelCard) -> torch.nn.Module:
        """Return the model in eval mode on CPU; raise ``WeightsUnavailableError`` when it cannot."""
        ...


class Registry:
    """All candidate models by unique name. Duplicate names are refused."""

    def __init__(self, sources: Iterable[ModelSource] = ()) -> None:
        self._cards: dict[str, ModelCard] = {}
        self._source_of: dict[str, ModelSource] = {}
        self.notes: list[str] = []
        for source in sources:
            self.add_source(source)

    def add_source(self, source: ModelSource) -> None:
        for card in source.cards():
            if card.name in self._cards:
                other = self._source_of[card.name].name
                raise GreenRunnerError(
                    f"model name {card.name!r} from source {source.name!r} is already registered by {other!r}; "
                    "rename one of them")
            self._cards[card.name] = card
            self._source_of[card.name] = source

    def names(self) -> list[str]:
        return list(self._cards)

    def cards(self) -> list[ModelCard]:
        return list(self._cards.values())

    def get(self, name: str) -> ModelCard:
        try:
            return self._cards[name]
        except KeyError:
            raise UnknownModelError(name, self._cards) from None

    def resolve(self, names: Sequence[str] | None) -> list[ModelCard]:
        """Cards for names (all when None); every unknown name is reported at once."""
        if not names:
            return self.cards()
        unknown = [n for n in names if n not in self._cards]
        if unknown:
            if len(unknown) == 1:
                raise UnknownModelError(unknown[0], self._cards)
            msgs = [str(UnknownModelError(n, self._cards)) for n in unknown]
            raise GreenRunnerError("; ".join(msgs))
        seen: list[str] = []
        for n in names:
            if n not in seen:
                seen.append(n)
        return [self._cards[n] for n in seen]

    def load(self, name: str) -> torch.nn.Module:
        card = self.get(name)
        return self._source_of[name].load(card)

    def source_of(self, name: str) -> ModelSource:
        self.get(name)
        return self._source_of[name]

    def filter(self, predicate: Callable[[ModelCard], bool]) -> list[ModelCard]:
        return [c for c in self._cards.values() if predicate(c)]

    def replace_card(self, card: ModelCard) -> None:
        """Swap in an updated card (e.g. with measured latency) for a known model."""
        self.get(card.name)
        self._cards[card.name] = card
