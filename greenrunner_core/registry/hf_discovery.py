"""Which Hugging Face image classifiers to consider when the user names none: those already in the Hub cache, plus
(online, downloads allowed) a bounded number of the Hub's most downloaded ``transformers`` image classifiers.

The Hub holds far too many repos to describe them all (each card reads the repo's config and counts MACs), so the
search is bounded (``limit``). Offline, only the cache is looked at and the result says why the Hub was not searched
(``HubDiscovery.not_searched``: typed, worded in ``tools/``). The cache is read with huggingface_hub's
``scan_cache_dir``; a repo counts when its cached ``main`` snapshot has a config whose architecture is a
``*ForImageClassification`` and a weights file (a config alone cannot be evaluated offline). The search asks for repos
tagged as trained on ImageNet-1k (the label set the other hubs' candidates share), so few are described in vain.
``timm/`` repos are the timm source's.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from greenrunner_core.registry.hub_cache import HubSettings

__all__ = ["DEFAULT_SEARCH_LIMIT", "HubDiscovery", "NotSearched", "cached_classifiers", "discover", "search_hub"]

DEFAULT_SEARCH_LIMIT = 8
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
PREFIX = "hf:"


class NotSearched(str, Enum):
    OFFLINE = "offline"                    # HF_HUB_OFFLINE is set
    DOWNLOADS_DISABLED = "downloads_disabled"
    SEARCH_FAILED = "search_failed"        # the Hub did not answer (``error`` says how)
    NOT_ASKED = "not_asked"                # the caller asked for the cache only


@dataclass(frozen=True)
class HubDiscovery:
    """``hf:`` names found (cache first, then search results), where the cache is, and why the Hub was not
    searched (None: it was)."""

    cached: tuple[str, ...]
    searched: tuple[str, ...]
    hub_dir: str
    not_searched: NotSearched | None = None
    error: str = ""

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self.cached + self.searched))


def _is_image_classifier(config: Path) -> bool:
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    archs = data.get("architectures") or []
    return isinstance(archs, list) and any(str(a).endswith("ForImageClassification") for a in archs) \
        and bool(data.get("id2label"))


def cached_classifiers(hub: HubSettings) -> tuple[str, ...]:
    """``hf:<repo>`` for every image classifier whose config and weights are in the Hub cache (main revision)."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir(hub.hub_dir())
    except CacheNotFound:
        return ()
    found = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or repo.repo_id.startswith("timm/"):
            continue
        main = next((rev for rev in repo.revisions if "main" in rev.refs), None)
        if main is None:
            continue
        files = {f.file_name: f.file_path for f in main.files}
        if "config.json" in files and any(w in files for w in WEIGHTS_FILES) \
                and _is_image_classifier(Path(files["config.json"])):
            found.append(PREFIX + repo.repo_id)
    return tuple(found)


def search_hub(limit: int, timeout_s: float = 2.0) -> tuple[str, ...]:
    """The ``limit`` most downloaded ``transformers`` image classifiers trained on ImageNet-1k on the Hub (network;
    a quick connection check first, so an unreachable Hub fails in seconds, not after huggingface_hub's retries)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import HfApi, constants

    endpoint = urlparse(constants.ENDPOINT)
    with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout=timeout_s):
        pass
    models = HfApi().list_models(pipeline_tag="image-classification", filter="transformers",
                                 trained_dataset="imagenet-1k", sort="downloads", limit=limit)
    return tuple(PREFIX + m.id for m in models if not m.id.startswith("timm/"))


def discover(hub: HubSettings, *, allow_download: bool = True, search: bool = True,
             limit: int = DEFAULT_SEARCH_LIMIT,
             searcher: Callable[[int], Iterable[str]] = search_hub) -> HubDiscovery:
    """Cached image classifiers, plus up to ``limit`` searched ones when ``search`` and the hubs may be reached."""
    cached = cached_classifiers(hub)
    where = str(hub.hub_dir())
    if not search:
        return HubDiscovery(cached, (), where, NotSearched.NOT_ASKED)
    if hub.is_offline():
        return HubDiscovery(cached, (), where, NotSearched.OFFLINE)
    if not allow_download:
        return HubDiscovery(cached, (), where, NotSearched.DOWNLOADS_DISABLED)
    try:
        searched = tuple(n for n in searcher(limit) if n not in cached)[:limit]
    except Exception as exc:  # noqa: BLE001 - DNS, HTTP, auth: the run goes on with the cache, saying why
        return HubDiscovery(cached, (), where, NotSearched.SEARCH_FAILED, f"{type(exc).__name__}: {exc}"[:200])
    return HubDiscovery(cached, searched, where)
