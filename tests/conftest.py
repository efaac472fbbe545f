"""Shared fixtures: an isolated cache dir per session, and the path to ../shared/data."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GREENRUNNER_SHARED_DATA") or REPO.parent / "shared" / "data")   # env: worktrees


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tests never touch the user's cache; the demo zoo is built at most once per session. The front doors (and child
    processes) read the folder from GREENRUNNER_CACHE_DIR through their settings; library calls that name no folder
    get it as the core's user cache dir."""
    existing = os.environ.get("GREENRUNNER_TEST_CACHE_DIR")
    path = Path(existing) if existing else tmp_path_factory.mktemp("greenrunner-cache")
    os.environ["GREENRUNNER_CACHE_DIR"] = str(path)
    with mock.patch("greenrunner_core.paths.user_cache_dir", return_value=path):
        yield path


@pytest.fixture(scope="session", autouse=True)
def _hub_defaults_from_the_session_environment() -> None:
    """huggingface_hub reads HF_HOME / HF_HUB_CACHE / HF_HUB_OFFLINE once, when first imported, and a library caller
    that passes no ``HubSettings`` gets those values: import it before any test sets them for itself (monkeypatch), so
    one test's temporary Hub cache does not become every later test's default. The session is offline unless the
    environment says otherwise: tests that need the Hub's answers inject a searcher."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")     # unit tests never reach the Hub (a shortlist would search it)
    import huggingface_hub.constants  # noqa: F401


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (real CIFAR-10 checkpoints/images)")
    return SHARED_DATA


def synthetic_matrix(n_models: int = 12, n_images: int = 200, seed: int = 0):
    """A replay instance with correlated per-image outcomes (ability − difficulty) and varied sizes."""
    from greenrunner_core.registry.card import ModelCard, Preprocess
    from greenrunner_core.replay import OutcomeMatrix

    rng = np.random.default_rng(seed)
    ability = np.linspace(-1.0, 2.0, n_models) + rng.normal(0, 0.1, n_models)
    difficulty = rng.normal(0, 1.5, n_images)
    p = 1 / (1 + np.exp(-(ability[:, None] - difficulty[None, :])))
    correct = rng.random((n_models, n_images)) < p
    pre = Preprocess(crop=(8, 8), mean=(0.5,), std=(0.5,), channels=1)
    cards = [ModelCard(name=f"m{i:02d}", source="synthetic", family="cnn", params=int(1e4 * 3 ** (i % 7) + 1),
                       size_mb=0.04 * 3 ** (i % 7) + 0.01, macs=int(1e5 * 3 ** (i % 7) + 1), preprocess=pre,
                       class_labels=tuple("0123456789"), weights_id=f"w{i}",
                       benchmark_accuracy=float(np.clip(0.5 + 0.05 * ((i * 7) % n_models), 0, 1)))
             for i in range(n_models)]
    return OutcomeMatrix(cards, [f"img{j}" for j in range(n_images)], correct,
                         np.full(n_models, 0.001) * (1 + np.arange(n_models)), name="synthetic")


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hub cache under a tmp HF_HOME, offline (the hub tests write tiny models into it: unit/hub_models.py)."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "work").mkdir()
    return tmp_path / "hf" / "hub"
