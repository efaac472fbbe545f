"""The model repository: sources behind one small interface, and a registry that joins them."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import torch

from greenrunner_core.errors import GreenRunnerError, UnknownModelError
from greenrunner_core.notes import SourceNote
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.names import NameRegistry


@runtime_checkable
class ModelSource(Protocol):
    """A place models come from. ``cards`` is cheap and offline; ``load`` may touch disk/network."""

    name: str

    def cards(self) -> list[ModelCard]: ...

    def load(self, card: ModelCard) -> torch.nn.Module:
        """Return the model in eval mode on CPU; raise ``WeightsUnavailableError`` when it cannot."""
        ...


class Registry:
    """All candidate models by unique name, joined from their sources (a ``NameRegistry`` of frozen cards).

    A card is never replaced once registered. What is measured about a model later on this machine (e.g. its
    latency) is recorded beside it with ``add_metrics`` and shows on the card ``get`` returns.
    """

    def __init__(self, sources: Iterable[ModelSource] = ()) -> None:
        self._cards: NameRegistry[ModelCard] = NameRegistry("model")
        self._source_of: dict[str, ModelSource] = {}
        self._measured: dict[str, dict[str, float]] = {}
        self.notes: list[SourceNote] = []   # what the sources noted while listing (typed; worded in tools/)
        for source in sources:
            self.add_source(source)

    def add_source(self, source: ModelSource) -> None:
        cards = source.cards()
        taken = [c.name for c in cards if c.name in self._cards]
        if taken:          # refuse the whole source, so a failed add leaves the registry as it was
            other = self._source_of[taken[0]].name
            raise GreenRunnerError(
                f"model name {taken[0]!r} from source {source.name!r} is already registered by {other!r}; "
                "rename one of them")
        for card in cards:
            self._cards.add(card.name, card, owner=source.name)
            self._source_of[card.name] = source

    def names(self) -> list[str]:
        return self._cards.names()

    def cards(self) -> list[ModelCard]:
        return [self.get(name) for name in self._cards]

    def get(self, name: str) -> ModelCard:
        card = self._cards[name]
        measured = self._measured.get(name)
        return card.with_metrics(**measured) if measured else card

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
        return [self.get(n) for n in dict.fromkeys(names)]

    def load(self, name: str) -> torch.nn.Module:
        card = self.get(name)
        return self._source_of[name].load(card)

    def source_of(self, name: str) -> ModelSource:
        self._cards[name]
        return self._source_of[name]

    def add_metrics(self, name: str, **metrics: float) -> ModelCard:
        """Record metrics measured for a registered model on this machine (e.g. latency; the latest measurement
        wins) and return its card with them. The registered card itself stays as it was."""
        self._cards[name]
        self._measured.setdefault(name, {}).update({k: float(v) for k, v in metrics.items()})
        return self.get(name)
