"""Weights files from the Hugging Face Hub cache, with one clear error when they are not there and cannot be fetched.

Shared by the timm and Hugging Face sources. ``huggingface_hub`` is imported only when weights are needed.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from greenrunner_core.errors import WeightsUnavailableError

_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) as set now, not when huggingface_hub was imported."""
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Where the Hub cache is: ``cache_dir``, else ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ~/.cache/huggingface/hub."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def cached_revision(hub_dir: Path, repo_id: str) -> str | None:
    """The commit the Hub cache holds as ``main`` for ``repo_id`` (a file read, no huggingface_hub import)."""
    if not repo_id:
        return None
    try:
        return (hub_dir / f"models--{repo_id.replace('/', '--')}" / "refs" / "main").read_text().strip() or None
    except OSError:
        return None


def unavailable(model: str, repo_id: str, cache_dir: str | Path | None, why: str, load_hint: str) -> WeightsUnavailableError:
    """The error every hub model raises when its weights cannot be had: model, cache path, how to pre-download."""
    return WeightsUnavailableError(
        f"weights for model {model!r} (Hugging Face repo {repo_id}) are not in the Hub cache at "
        f"{hub_cache_dir(cache_dir)} and {why}; pre-download them once with network access "
        f"(`hf download {repo_id}` or {load_hint}), or point HF_HOME at a cache that has them")


def cached_file(repo_id: str, filenames: Sequence[str], cache_dir: str | Path | None = None) -> Path | None:
    """The first of ``filenames`` already in the Hub cache for ``repo_id`` (main revision), without network."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=str(hub_cache_dir(cache_dir)))
        if isinstance(found, str) and os.path.exists(found):
            return Path(found)
    return None


def fetch_file(model: str, repo_id: str, filenames: Sequence[str], cache_dir: str | Path | None, *,
               allow_download: bool, load_hint: str, timeout_s: float = 20.0) -> Path:
    """A weights file of ``repo_id`` from the cache, else downloaded (unless offline or disallowed)."""
    found = cached_file(repo_id, filenames, cache_dir)
    if found is not None:
        return found
    if hub_offline():
        raise unavailable(model, repo_id, cache_dir, "HF_HUB_OFFLINE is set", load_hint)
    if not allow_download:
        raise unavailable(model, repo_id, cache_dir, "downloads are disabled", load_hint)
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    reasons = []
    for filename in filenames:
        try:
            return Path(hf_hub_download(repo_id, filename, cache_dir=str(hub_cache_dir(cache_dir)),
                                        etag_timeout=timeout_s))
        except RemoteEntryNotFoundError:
            reasons.append(f"no {filename}")
        except Exception as exc:  # noqa: BLE001 - network, DNS, auth, disk: all mean "unavailable" here
            raise unavailable(model, repo_id, cache_dir, f"could not be downloaded ({type(exc).__name__}: {exc})",
                              load_hint) from None
    raise unavailable(model, repo_id, cache_dir, f"the repo has none of the weights files ({', '.join(reasons)})",
                      load_hint)
