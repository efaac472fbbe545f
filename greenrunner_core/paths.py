"""Where GreenRunner keeps its caches (weights of the demo zoo, outcomes, complexity, reports)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$GREENRUNNER_CACHE_DIR`` if set, else the user cache dir (``~/.cache/greenrunner`` on Linux)."""
    env = os.environ.get("GREENRUNNER_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        try:
            from platformdirs import user_cache_dir
            path = Path(user_cache_dir("greenrunner"))
        except ImportError:  # pragma: no cover - platformdirs is a dependency
            path = Path.home() / ".cache" / "greenrunner"
    path.mkdir(parents=True, exist_ok=True)
    return path
