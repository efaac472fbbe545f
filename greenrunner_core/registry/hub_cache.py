"""Weights files from the Hugging Face Hub cache, with one clear error when they are not there and cannot be fetched.

Shared by the timm and Hugging Face sources. ``huggingface_hub`` is imported only when weights are needed. Where the
cache is and whether the hubs are offline come in as ``HubSettings`` (read from the environment by the front doors).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from greenrunner_core.errors import WeightsUnavailableError

__all__ = ["HUB_DEFAULTS", "HubSettings", "cached_file", "cached_revision", "fetch_file", "unavailable"]


@dataclass(frozen=True)
class HubSettings:
    """The Hugging Face Hub cache folder and whether the hubs are offline, as a front door read them from the
    environment (``agent/settings.EnvSettings.hub()``: ``HF_HUB_CACHE``, ``HF_HOME``, ``XDG_CACHE_HOME``,
    ``HF_HUB_OFFLINE``). A field left None takes huggingface_hub's own value (which it read from the environment when
    it was imported)."""

    cache_dir: Path | None = None
    offline: bool | None = None

    def hub_dir(self) -> Path:
        """Where the Hub cache is."""
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        from huggingface_hub import constants
        return Path(constants.HF_HUB_CACHE)

    def is_offline(self) -> bool:
        """Nothing may be downloaded from the hubs (``HF_HUB_OFFLINE``, or ``TRANSFORMERS_OFFLINE``)."""
        if self.offline is not None:
            return self.offline
        from huggingface_hub import constants
        return bool(constants.HF_HUB_OFFLINE)


HUB_DEFAULTS = HubSettings()
"""huggingface_hub's own cache folder and offline switch: a library caller's default when it passes no settings."""


def cached_revision(hub_dir: Path, repo_id: str) -> str | None:
    """The commit the Hub cache holds as ``main`` for ``repo_id`` (a file read, no huggingface_hub import)."""
    if not repo_id:
        return None
    try:
        return (hub_dir / f"models--{repo_id.replace('/', '--')}" / "refs" / "main").read_text().strip() or None
    except OSError:
        return None


def unavailable(model: str, repo_id: str, hub: HubSettings, why: str, load_hint: str) -> WeightsUnavailableError:
    """The error every hub model raises when its weights cannot be had: model, cache path, how to pre-download."""
    return WeightsUnavailableError(
        f"weights for model {model!r} (Hugging Face repo {repo_id}) are not in the Hub cache at "
        f"{hub.hub_dir()} and {why}; pre-download them once with network access "
        f"(`hf download {repo_id}` or {load_hint}), or point HF_HOME at a cache that has them")


def cached_file(repo_id: str, filenames: Sequence[str], hub: HubSettings) -> Path | None:
    """The first of ``filenames`` already in the Hub cache for ``repo_id`` (main revision), without network."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hub.hub_dir()))
        if isinstance(found, str) and os.path.exists(found):
            return Path(found)
    return None


def fetch_file(model: str, repo_id: str, filenames: Sequence[str], hub: HubSettings, *,
               allow_download: bool, load_hint: str, timeout_s: float = 20.0) -> Path:
    """A weights file of ``repo_id`` from the cache, else downloaded (unless offline or disallowed)."""
    found = cached_file(repo_id, filenames, hub)
    if found is not None:
        return found
    if hub.is_offline():
        raise unavailable(model, repo_id, hub, "HF_HUB_OFFLINE is set", load_hint)
    if not allow_download:
        raise unavailable(model, repo_id, hub, "downloads are disabled", load_hint)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    reasons = []
    for filename in filenames:
        try:
            return Path(hf_hub_download(repo_id, filename, cache_dir=str(hub.hub_dir()),
                                        etag_timeout=timeout_s))
        except RemoteEntryNotFoundError:
            reasons.append(f"no {filename}")
        except Exception as exc:  # noqa: BLE001 - network, DNS, auth, disk: all mean "unavailable" here
            raise unavailable(model, repo_id, hub, f"could not be downloaded ({type(exc).__name__}: {exc})",
                              load_hint) from None
    raise unavailable(model, repo_id, hub, f"the repo has none of the weights files ({', '.join(reasons)})",
                      load_hint)
