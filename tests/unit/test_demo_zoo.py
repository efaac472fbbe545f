"""The offline demo zoo: really trained, varied, deterministic, cached, and its target shift matters."""
from __future__ import annotations

import hashlib
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from greenrunner_core.errors import UnknownModelError, WeightsUnavailableError
from greenrunner_core.registry import demo_zoo
from greenrunner_core.registry.base import ModelSource, Registry
from greenrunner_core.registry.demo_zoo import DemoZooSource

SUBSET = ("demo_mlp_tiny", "demo_mobilenet_s")   # light and strong augmentation, BN, depthwise; cheap to train


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models: one intra-op thread is faster (and far faster on a busy machine) for the checks below."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> DemoZooSource:
    source = DemoZooSource(tmp_path_factory.mktemp("cache"))
    steps: list[tuple[str, int, int]] = []
    source.ensure_built(progress=lambda step, done, total: steps.append((step, done, total)))
    source.progress_steps = steps  # type: ignore[attr-defined]
    return source


@pytest.fixture(scope="module")
def subset_zoo(tmp_path_factory: pytest.TempPathFactory) -> DemoZooSource:
    source = DemoZooSource(tmp_path_factory.mktemp("subset"), models=SUBSET)
    source.ensure_built()
    return source


def _read_folder(root: Path) -> tuple[torch.Tensor, torch.Tensor, list[Path]]:
    """A plain ImageFolder reader, independent of the zoo's own tensors: (x normalised, y, paths)."""
    paths = sorted(root.glob("*/*.png"))
    arrays = [np.asarray(Image.open(p).convert("L"), dtype=np.float32) for p in paths]
    x = (torch.from_numpy(np.stack(arrays)).unsqueeze(1) / 255.0 - 0.5) / 0.5
    y = torch.tensor([int(p.parent.name) for p in paths])
    return x, y, paths


@torch.no_grad()
def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    correct = 0
    for start in range(0, len(x), 128):
        correct += int((model(x[start:start + 128]).argmax(1) == y[start:start + 128]).sum())
    return correct / len(x)


def _ranks(values: list[float]) -> np.ndarray:
    return np.argsort(np.argsort(values)).astype(float)


def test_zoo_is_a_model_source_with_many_varied_models(zoo: DemoZooSource) -> None:
    cards = zoo.cards()
    assert isinstance(zoo, ModelSource)
    assert len(cards) >= 12
    assert len({c.name for c in cards}) == len(cards)
    assert all(c.name.startswith("demo_") and c.source == "demo" for c in cards)
    assert len({c.family for c in cards}) >= 8
    params = [c.params for c in cards]
    macs = [c.macs for c in cards]
    assert max(params) / min(params) >= 100
    assert max(macs) / min(macs) >= 100
    for card in cards:
        assert card.class_labels == tuple(str(d) for d in range(10))
        assert card.preprocess == demo_zoo.PREPROCESS and card.input_size == (1, 16, 16)
        assert card.benchmark_dataset == "digits-clean"
        assert card.macs >= card.params // 2       # every weight is used at least once per image
    assert len(Registry([zoo]).names()) == len(cards)


def test_every_model_loads_strict_and_matches_its_card(zoo: DemoZooSource) -> None:
    for card in zoo.cards():
        path = zoo.root / "weights" / f"{card.name}.pt"
        assert card.weights_id == hashlib.sha256(path.read_bytes()).hexdigest()
        assert card.size_mb == pytest.approx(path.stat().st_size / 2**20)
        state = torch.load(path, weights_only=True)           # plain tensors only: safe to load
        model = zoo.load(card)
        assert not model.training
        assert sum(p.numel() for p in model.parameters()) == card.params
        assert set(state) == set(model.state_dict())
        with torch.no_grad():
            assert model(torch.zeros(2, 1, 16, 16)).shape == (2, 10)


def test_clean_accuracy_is_high_and_matches_the_png_benchmark(zoo: DemoZooSource) -> None:
    x, y, _ = _read_folder(zoo.clean_test_dir)
    assert len(x) == len(zoo.benchmark_split.benchmark)
    accs = []
    for card in zoo.cards():
        acc = _accuracy(zoo.load(card), x, y)
        assert acc == pytest.approx(card.benchmark_accuracy, abs=1e-6)
        accs.append(acc)
    assert sum(a >= 0.85 for a in accs) >= 0.8 * len(accs)
    assert min(accs) > 0.5


def test_target_shift_reorders_the_models(zoo: DemoZooSource) -> None:
    cards = zoo.cards()
    x, y, _ = _read_folder(zoo.target_dir)
    target = [_accuracy(zoo.load(c), x, y) for c in cards]
    clean = [c.benchmark_accuracy for c in cards]
    reference = {m["name"]: m["target_accuracy_reference"] for m in zoo.manifest["models"]}
    for card, acc in zip(cards, target):
        assert acc == pytest.approx(reference[card.name], abs=1e-6)
    assert max(target) - min(target) >= 0.3                       # the shift hurts some models far more
    assert max(target) >= 0.8 and min(target) <= 0.5
    rho = float(np.corrcoef(_ranks(clean), _ranks(target))[0, 1])
    assert rho < 0.9                                              # clean accuracy does not predict target
    assert int(np.argmax(clean)) != int(np.argmax(target))        # the benchmark winner is not the target winner


def test_split_and_images(zoo: DemoZooSource) -> None:
    split = zoo.benchmark_split
    parts = [set(split.train), set(split.benchmark), set(split.target)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == 1797       # disjoint, covers all digits
    assert 0.55 <= len(split.train) / 1797 <= 0.65 and 400 <= len(split.target) <= 500
    images, labels = demo_zoo.data.digits16()
    target_paths = sorted(zoo.target_dir.glob("*/*.png"))
    assert len(target_paths) == len(split.target)
    changed = 0
    for path in target_paths:
        idx = int(path.stem)
        assert idx in parts[2] and int(path.parent.name) == labels[idx]
        shifted = np.asarray(Image.open(path))
        assert shifted.shape == (16, 16) and Image.open(path).mode == "L"
        changed += float(np.abs(shifted.astype(float) - images[idx]).mean()) > 5.0
    assert changed >= 0.95 * len(target_paths)
    for path in sorted(zoo.clean_test_dir.glob("*/*.png"))[:50]:
        assert np.array_equal(np.asarray(Image.open(path)), images[int(path.stem)])


def test_progress_is_reported(zoo: DemoZooSource) -> None:
    steps = zoo.progress_steps  # type: ignore[attr-defined]
    assert steps and steps[-1][1] == steps[-1][2]
    done = [d for _, d, _ in steps]
    assert done == sorted(done)
    assert sum(s.startswith("trained ") for s, _, _ in steps) == len(zoo.cards())


def test_build_is_deterministic_and_independent_of_the_other_models(zoo: DemoZooSource,
                                                                     subset_zoo: DemoZooSource) -> None:
    full = {m["name"]: m["sha256"] for m in zoo.manifest["models"]}
    sub = {m["name"]: m["sha256"] for m in subset_zoo.manifest["models"]}
    assert list(sub) == list(SUBSET)
    assert subset_zoo.root != zoo.root
    assert all(sub[name] == full[name] for name in SUBSET)
    assert subset_zoo.manifest["images"] == zoo.manifest["images"]        # same target bytes every build


def test_second_source_reuses_the_cache_without_training(zoo: DemoZooSource,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    mtimes = {p: p.stat().st_mtime_ns for p in zoo.root.rglob("*")}

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a built zoo must not be retrained")

    monkeypatch.setattr(demo_zoo.train, "train_all", no_training)
    again = DemoZooSource(zoo.cache_dir)
    assert again.cards() == zoo.cards()
    assert again.target_dir == zoo.target_dir
    assert {p: p.stat().st_mtime_ns for p in zoo.root.rglob("*")} == mtimes


def test_corrupted_cache_is_detected_and_rebuilt(tmp_path: Path) -> None:
    models = ("demo_linear", "demo_mlp_tiny")
    source = DemoZooSource(tmp_path, models=models)
    before = {c.name: c.weights_id for c in source.cards()}
    weights = source.root / "weights" / "demo_mlp_tiny.pt"
    weights.write_bytes(weights.read_bytes()[:-100])                          # truncated file
    (source.root / "target" / "3").rename(source.root / "target" / "x")       # and a damaged folder
    fresh = DemoZooSource(tmp_path, models=models)
    assert {c.name: c.weights_id for c in fresh.cards()} == before            # rebuilt, identical
    assert (source.root / "target" / "3").is_dir() and not (source.root / "target" / "x").exists()
    assert not list(source.root.parent.glob(".tmp-*")) and not list(source.root.parent.glob(".trash-*"))
    # damage after the cards were handed out: load() notices, rebuilds and still returns the same weights
    weights.write_bytes(b"garbage")
    card = next(c for c in fresh.cards() if c.name == "demo_mlp_tiny")
    model = fresh.load(card)
    assert sum(p.numel() for p in model.parameters()) == card.params
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == card.weights_id


def test_concurrent_builders_train_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = demo_zoo.train.train_all

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(demo_zoo.train, "train_all", counted)
    sources = [DemoZooSource(tmp_path, models=("demo_linear",)) for _ in range(3)]
    errors: list[BaseException] = []

    def build(source: DemoZooSource) -> None:
        try:
            source.ensure_built()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(calls) == 1
    assert len({s.cards()[0].weights_id for s in sources}) == 1


def test_no_global_side_effects(tmp_path: Path) -> None:
    torch.manual_seed(123)
    rng_before, threads_before = torch.get_rng_state(), torch.get_num_threads()
    DemoZooSource(tmp_path, models=("demo_linear",)).ensure_built()
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert torch.get_num_threads() == threads_before


def test_source_pickles_and_loads_in_the_copy(zoo: DemoZooSource) -> None:
    copy = pickle.loads(pickle.dumps(zoo))
    assert copy == zoo and copy._manifest is None
    card = zoo.cards()[0]
    assert sum(p.numel() for p in copy.load(card).parameters()) == card.params


def test_errors_name_the_problem(zoo: DemoZooSource, tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match="demo_lenet"):
        DemoZooSource(tmp_path, models=("demo_lenett",))
    small = DemoZooSource(tmp_path, models=("demo_linear",))
    foreign = next(c for c in zoo.cards() if c.name == "demo_vit_tiny")
    with pytest.raises(WeightsUnavailableError, match="demo_vit_tiny"):
        small.load(foreign)


def test_default_cache_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the front doors' settings (the core reads no environment variable); see also test_ui_settings."""
    from agent.settings import EnvSettings
    monkeypatch.setenv("GREENRUNNER_CACHE_DIR", str(tmp_path / "here"))
    source = DemoZooSource(EnvSettings().cache_root())
    assert source.cache_dir == tmp_path / "here"
    assert source.root.parent == tmp_path / "here" / "demo_zoo"
    assert not source.root.exists()                       # constructing is free; building waits for first use
