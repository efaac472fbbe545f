"""Where GreenRunner keeps its caches (weights of the demo zoo, outcomes, complexity, reports).

The core reads no environment variable: a front door reads ``GREENRUNNER_CACHE_DIR`` once, in its settings
(``agent/settings.EnvSettings``), and passes the folder down; a library caller that passes nothing gets the user
cache dir.
"""
from __future__ import annotations

from pathlib import Path


def user_cache_dir() -> Path:
    """The platform's user cache dir for GreenRunner (``~/.cache/greenrunner`` on Linux)."""
    try:
        from platformdirs import user_cache_dir as platform_cache_dir
        return Path(platform_cache_dir("greenrunner"))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return Path.home() / ".cache" / "greenrunner"


def cache_dir(root: str | Path | None = None) -> Path:
    """``root`` (``~`` expanded), else the user cache dir; created if missing."""
    path = Path(root).expanduser() if root else user_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
