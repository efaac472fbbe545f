"""Architectures by name, so a weights-only checkpoint (or a demo zoo recipe) can become a model.

One table for every built-in architecture (the CIFAR-10 ResNets / ShuffleNetV2 in ``cifar_archs``, the demo
zoo's in ``demo_zoo.archs``); register more with ``@register_arch(...)``. A name is registered once.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from greenrunner_core.registry.card import Preprocess
from greenrunner_core.registry.names import NameRegistry

__all__ = ["ARCHITECTURES", "ArchSpec", "arch_names", "build_arch", "get_arch", "register_arch"]

_BUILTIN_MODULES = ("greenrunner_core.registry.cifar_archs", "greenrunner_core.registry.demo_zoo.archs")


@dataclass(frozen=True)
class ArchSpec:
    """A named architecture builder plus the input convention its published weights were trained with."""

    name: str
    builder: Callable[[], nn.Module]
    family: str
    preprocess: Preprocess
    class_labels: tuple[str, ...]
    description: str = ""

    def build(self) -> nn.Module:
        """A freshly initialised model (no weights loaded)."""
        return self.builder()


ARCHITECTURES: NameRegistry[ArchSpec] = NameRegistry("architecture")


def register_arch(name: str, *, family: str, preprocess: Preprocess, class_labels: tuple[str, ...],
                  description: str = "") -> Callable[[Callable[[], nn.Module]], Callable[[], nn.Module]]:
    """Decorator: register a zero-argument builder under ``name``. A name can be registered only once."""

    def decorate(builder: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        ARCHITECTURES.add(name, ArchSpec(name=name, builder=builder, family=family, preprocess=preprocess,
                                         class_labels=tuple(class_labels), description=description))
        return builder

    return decorate


def _builtins() -> None:
    """Import the modules that register the built-in architectures (each registers on its first import)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def get_arch(name: str) -> ArchSpec:
    _builtins()
    return ARCHITECTURES[name]


def arch_names() -> list[str]:
    _builtins()
    return sorted(ARCHITECTURES)


def build_arch(name: str) -> nn.Module:
    return get_arch(name).build()
