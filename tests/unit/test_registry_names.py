"""One registry mechanism: names are registered once, unknown names suggest close ones, cards stay as registered."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from greenrunner_core.errors import GreenRunnerError, UnknownModelError
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.registry.names import NameRegistry

PRE = Preprocess(crop=(2, 2), mean=(0.0,), std=(1.0,), channels=1)


@dataclass
class Source:
    name: str
    models: tuple[str, ...]

    def cards(self) -> list[ModelCard]:
        return [ModelCard(name=m, source=self.name, family="f", params=1, size_mb=0.1, macs=1, preprocess=PRE,
                          class_labels=("a",), weights_id=f"{self.name}-{m}") for m in self.models]

    def load(self, card: ModelCard):  # pragma: no cover - not loaded here
        raise AssertionError


def test_name_registry_refuses_duplicates_and_suggests() -> None:
    table: NameRegistry[int] = NameRegistry("architecture")
    table.add("resnet20", 1)
    with pytest.raises(GreenRunnerError, match="architecture name 'resnet20' is already registered"):
        table.add("resnet20", 2)
    assert table["resnet20"] == 1 and len(table) == 1
    with pytest.raises(UnknownModelError, match="unknown architecture 'resnet2' — did you mean resnet20") as err:
        table["resnet2"]
    assert isinstance(err.value, ValueError) and err.value.suggestions == ["resnet20"]
    copy = table.copy()
    copy.add("vgg", 3)
    assert "vgg" not in table


def test_registry_refuses_a_clashing_source_whole_and_keeps_cards_frozen() -> None:
    registry = Registry([Source("a", ("m1", "m2"))])
    with pytest.raises(GreenRunnerError, match="'m2' from source 'b' is already registered by 'a'"):
        registry.add_source(Source("b", ("m3", "m2")))
    assert registry.names() == ["m1", "m2"]                   # m3 was not half-added
    before = registry.get("m1")
    timed = registry.add_metrics("m1", latency=1.5)
    assert timed.known_metrics()["latency"] == 1.5 and registry.get("m1") == timed
    assert registry.add_metrics("m1", latency=1.2).known_metrics()["latency"] == 1.2   # the latest measurement
    assert before.metrics == () and registry.resolve(["m1"])[0].known_metrics()["latency"] == 1.2
    with pytest.raises(UnknownModelError, match="did you mean m1"):
        registry.add_metrics("m", latency=1.0)
    assert not hasattr(registry, "replace_card") and not hasattr(registry, "filter")
