"""Hub model names as the user writes them -> registered names (``hf:`` repos described on first mention)."""
from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from pathlib import Path

from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.hub_cache import HUB_DEFAULTS, HubSettings

HF_PREFIX = "hf:"
TIMM_PREFIX = "timm:"


def resolve(registry: Registry, names: Sequence[str], cache_dir: Path, skips: MutableMapping[str, str],
            hub: HubSettings = HUB_DEFAULTS) -> list[str]:
    """Registered names for ``names``: new ``hf:<repo>`` models are added to ``registry`` (their config read from
    the Hub cache ``hub`` or the Hub), ``timm:<arch>`` without a tag becomes its best-published tag, and a timm
    ``arch.tag`` written without ``timm:`` gets it. Hub models that cannot
    be described are left out with their reason in ``skips``; other unknown names pass through (the registry
    reports them with suggestions)."""
    known = set(registry.names())
    new_hf = [n for n in dict.fromkeys(names) if n.startswith(HF_PREFIX) and n not in known and n not in skips]
    if new_hf:
        from greenrunner_core.registry.hf_source import HFSource
        source = HFSource(repo_ids=new_hf, hub=hub, complexity_cache=cache_dir / "complexity.json")
        source.cards()
        registry.add_source(source)
        registry.notes.extend(source.notes)
        skips.update(source.skipped)
        known = set(registry.names())
    out: list[str] = []
    for name in names:
        if name in skips:
            continue
        if name not in known and not name.startswith((TIMM_PREFIX, HF_PREFIX)) and TIMM_PREFIX + name in known:
            name = TIMM_PREFIX + name                  # a timm tag written without its prefix
        if name.startswith(TIMM_PREFIX) and name not in known and "." not in name:
            from greenrunner_core.registry.timm_source import default_tag
            name = default_tag(name) or name
        out.append(name)
    return out
