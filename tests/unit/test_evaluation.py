"""Evaluation calls: cache keys, accounting, failures, interruption, picklable pull tasks, shared WAL cache."""
from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from greenrunner_core.data import TargetImage, load_target
from greenrunner_core.environment import ModelFailedError
from greenrunner_core.errors import DatasetError, WeightsUnavailableError
from greenrunner_core.evaluator import Evaluator, LiveEnvironment
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.pull import PullResult, PullTask, PullWorker, run_pull_task
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard, Preprocess

COLOURS = {"red": (200, 30, 20), "green": (25, 210, 40), "blue": (10, 35, 190)}
LABELS = ("red", "green", "blue")
PLAIN = Preprocess(crop=(8, 8), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize=9)


# ------------------------------------------------------------------------------------------ fixtures


class ChannelMeans(nn.Module):
    """Fixed weights: 1x1 conv (scaled identity) -> spatial mean -> linear (a label permutation).

    With the identity permutation, the predicted index is the image's dominant RGB channel.
    """

    def __init__(self, perm: tuple[int, int, int], fail_on_call: int | None, exc: type[BaseException]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, kernel_size=1, bias=False)
        self.linear = nn.Linear(3, 3)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1) * 4.0)
            self.linear.weight.copy_(torch.eye(3)[list(perm)])
            self.linear.bias.zero_()
        self.fail_on_call = fail_on_call
        self.exc = exc
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.fail_on_call is not None and self.calls == self.fail_on_call:
            raise self.exc(f"boom in forward call {self.calls}")
        return self.linear(self.conv(x).mean(dim=(2, 3)))


@dataclass
class TinySource:
    """A picklable test ModelSource with one card per model name it is given."""

    name: str = "tiny"
    models: tuple[str, ...] = ("tiny-a",)
    weights_id: str = "w1"
    preprocess: Preprocess = PLAIN
    labels: tuple[str, ...] = LABELS
    perm: tuple[int, int, int] = (0, 1, 2)
    fail_on_call: int | None = None
    exc: type[BaseException] = RuntimeError
    fail_load: str | None = None
    loads: int = field(default=0, compare=False)

    def cards(self) -> list[ModelCard]:
        return [ModelCard(name=m, source=self.name, family="tiny", params=21, size_mb=0.01, macs=1000,
                          preprocess=self.preprocess, class_labels=self.labels, weights_id=self.weights_id)
                for m in self.models]

    def load(self, card: ModelCard) -> nn.Module:
        self.loads += 1
        if self.fail_load:
            raise WeightsUnavailableError(self.fail_load)
        return ChannelMeans(self.perm, self.fail_on_call, self.exc).eval()


def write_dataset(root: Path, per_class: int = 3, classes: tuple[str, ...] = LABELS) -> Path:
    """Solid-colour images (odd sizes, PNG and JPEG, slightly different per file so ids differ)."""
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            r, g, b = COLOURS[c]
            arr = np.empty((10 + k, 13 + 2 * k, 3), dtype=np.uint8)
            arr[:] = (r, g, b)
            arr[0, 0] = (k, k, k)  # unique bytes per file
            ext = "png" if k % 2 == 0 else "bmp"
            Image.fromarray(arr).save(root / c / f"{c}_{k}.{ext}")
    return root


@pytest.fixture()
def dataset(tmp_path):
    return load_target(write_dataset(tmp_path / "colours"))


@pytest.fixture()
def cache(tmp_path):
    with OutcomeCache(tmp_path / "cache" / "outcomes.sqlite") as c:
        yield c


def evaluator_for(source: TinySource, dataset, cache, batch_size: int = 64) -> tuple[Evaluator, ModelCard]:
    registry = Registry([source])
    return Evaluator(registry, dataset, cache, batch_size=batch_size), registry.cards()[0]


# ------------------------------------------------------------------------------------------ cache reuse


def test_second_pass_is_answered_by_the_cache_with_exact_accounting(dataset, cache):
    source = TinySource()
    ev, card = evaluator_for(source, dataset, cache, batch_size=4)
    n = len(dataset.images)
    first = ev.predict(card, dataset.images)
    acc = ev.accounting.per_model[card.name]
    assert (acc.calls, acc.new_evaluations, acc.cache_hits, acc.macs) == (n, n, 0, n * card.macs)
    assert acc.seconds > 0 and acc.compute_seconds > 0
    assert cache.stats().rows == n
    first_compute = acc.compute_seconds

    second = ev.predict(card, dataset.images)
    assert second == first
    assert (acc.calls, acc.new_evaluations, acc.cache_hits, acc.macs) == (2 * n, n, n, 2 * n * card.macs)
    # answered calls cost what they cost when first computed, cache or not
    assert acc.compute_seconds == pytest.approx(2 * first_compute)
    assert source.loads == 1   # loaded once, kept in the process-local LRU
    assert ev.accounting.total().calls == 2 * n


def test_predictions_are_the_dominant_channel(dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    outcomes = ev.predict(card, dataset.images)
    assert [LABELS[o.prediction] for o in outcomes] == [img.class_name for img in dataset.images]
    assert all(1 / 3 < o.prob <= 1 for o in outcomes)


def test_changed_weights_id_recomputes(dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    ev.predict(card, dataset.images)
    source2 = TinySource(weights_id="w2", perm=(1, 2, 0))
    ev2, card2 = evaluator_for(source2, dataset, cache)
    out2 = ev2.predict(card2, dataset.images)
    assert ev2.accounting.per_model[card2.name].new_evaluations == len(dataset.images)
    assert source2.loads == 1
    # the new weights' predictions were really computed, not the old ones returned
    assert [LABELS[o.prediction] for o in out2] != [img.class_name for img in dataset.images]
    assert cache.stats().rows == 2 * len(dataset.images)


def test_changed_preprocess_recomputes(dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    ev.predict(card, dataset.images)
    pp = replace(PLAIN, crop=(6, 6), interpolation="bicubic")
    assert pp.id != PLAIN.id
    ev2, card2 = evaluator_for(TinySource(preprocess=pp), dataset, cache)
    ev2.predict(card2, dataset.images)
    assert ev2.accounting.per_model[card2.name].new_evaluations == len(dataset.images)
    assert ev2.accounting.per_model[card2.name].cache_hits == 0


def test_same_bytes_under_two_paths_share_one_entry(tmp_path, dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    ev.predict(card, dataset.images)
    # the same files renamed, in another folder: a different dataset, same content ids
    other = tmp_path / "renamed"
    for img in dataset.images:
        dest = other / img.class_name / f"copy_of_{Path(img.path).stem}.{Path(img.path).suffix[1:]}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((dataset.root / img.path).read_bytes())
    renamed = load_target(other)
    assert {i.id for i in renamed.images} == {i.id for i in dataset.images}
    assert {i.path for i in renamed.images}.isdisjoint({i.path for i in dataset.images})
    ev2, _ = evaluator_for(TinySource(), renamed, cache)
    ev2.predict(card, renamed.images)
    acc = ev2.accounting.per_model[card.name]
    assert (acc.new_evaluations, acc.cache_hits) == (0, len(renamed.images))


def test_duplicate_ids_in_one_request_are_computed_once(dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    img = dataset.images[0]
    twin = TargetImage(id=img.id, path=img.path, class_name=img.class_name)
    out = ev.predict(card, [img, twin, img])
    acc = ev.accounting.per_model[card.name]
    assert (acc.calls, acc.new_evaluations, acc.cache_hits) == (3, 1, 2)
    assert out[0] == out[1] == out[2]


# ------------------------------------------------------------------------------------------ environment


def test_live_environment_correctness_follows_the_label_space(dataset, cache):
    good = TinySource(name="good", models=("good",))
    shifted = TinySource(name="shifted", models=("shifted",), weights_id="w-shift", perm=(1, 2, 0))
    registry = Registry([good, shifted])
    env = LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=4)
    assert env.image_ids == [img.id for img in dataset.images]
    order = [5, 0, 8, 3]
    np.testing.assert_array_equal(env.pull(0, order), np.ones(4, dtype=bool))
    assert env.pull(1, order).dtype == bool and not env.pull(1, order).any()
    assert env.accounting.per_model["good"].calls == 4
    assert env.accounting.per_model["shifted"].calls == 8
    assert env.accounting.per_model["shifted"].new_evaluations == 4
    with pytest.raises(IndexError, match="model index 2"):
        env.pull(2, [0])
    with pytest.raises(IndexError, match=r"\[99\]"):
        env.pull(0, [0, 99])


def test_new_label_map_reuses_cached_predictions(tmp_path, dataset, cache):
    registry = Registry([TinySource()])
    env = LiveEnvironment(registry, registry.cards(), dataset, cache)
    assert env.pull(0, range(len(dataset.images))).all()
    # relabel: "red" images now count as correct for the model's "blue" label only
    relabelled = load_target(dataset.root, label_map={"red": ["blue"], "green": ["green"], "blue": ["red"]})
    env2 = LiveEnvironment(registry, registry.cards(), relabelled, cache)
    got = env2.pull(0, range(len(relabelled.images)))
    expected = [img.class_name == "green" for img in relabelled.images]
    np.testing.assert_array_equal(got, expected)
    assert env2.accounting.total().new_evaluations == 0


# ------------------------------------------------------------------------------------------ failures


def test_model_raising_in_forward_is_excluded_with_its_reason(dataset, cache):
    registry = Registry([TinySource(fail_on_call=1, exc=RuntimeError)])
    env = LiveEnvironment(registry, registry.cards(), dataset, cache)
    with pytest.raises(ModelFailedError) as info:
        env.pull(0, [0, 1])
    assert info.value.model == "tiny-a"
    assert "RuntimeError: boom in forward call 1" in info.value.reason
    assert cache.stats().rows == 0


def test_weights_unavailable_reason_passes_through_unchanged(dataset, cache):
    text = "weights for tiny-a are not cached and the machine is offline; copy them to ~/.cache"
    registry = Registry([TinySource(fail_load=text)])
    env = LiveEnvironment(registry, registry.cards(), dataset, cache)
    with pytest.raises(ModelFailedError) as info:
        env.pull(0, [0])
    assert info.value.reason == text
    assert isinstance(info.value.__cause__, WeightsUnavailableError)


def test_interruption_keeps_finished_batches_and_rerun_computes_only_the_rest(dataset, cache):
    n = len(dataset.images)
    broken = TinySource(fail_on_call=3, exc=KeyboardInterrupt)   # call 1 is the warm-up at load: the 2nd batch
    ev, card = evaluator_for(broken, dataset, cache, batch_size=2)
    with pytest.raises(KeyboardInterrupt):
        ev.predict(card, dataset.images)
    assert cache.stats().rows == 2
    assert ev.accounting.per_model[card.name].new_evaluations == 2

    ev.worker.release()
    ev2, card2 = evaluator_for(TinySource(), dataset, cache, batch_size=2)
    assert card2 == card
    out = ev2.predict(card2, dataset.images)
    acc = ev2.accounting.per_model[card.name]
    assert (acc.new_evaluations, acc.cache_hits) == (n - 2, 2)
    assert [LABELS[o.prediction] for o in out] == [img.class_name for img in dataset.images]


def test_unreadable_image_is_a_dataset_error_not_a_model_failure(dataset, cache):
    ev, card = evaluator_for(TinySource(), dataset, cache)
    (dataset.root / dataset.images[0].path).write_bytes(b"not an image any more")
    with pytest.raises(DatasetError, match=dataset.images[0].path):
        ev.predict(card, dataset.images[:1])


# ------------------------------------------------------------------------------------------ pull tasks


def _task(dataset, source: TinySource, batch_size: int = 4) -> PullTask:
    card = source.cards()[0]
    return PullTask(source=source, card=card, dataset_root=str(dataset.root),
                    images=tuple((i.id, i.path) for i in dataset.images), batch_size=batch_size)


def test_pull_task_and_result_round_trip_through_pickle(dataset):
    task = _task(dataset, TinySource())
    clone = pickle.loads(pickle.dumps(task))
    assert clone == task
    worker = PullWorker()
    result = run_pull_task(clone, worker)
    again = pickle.loads(pickle.dumps(result))
    assert isinstance(again, PullResult) and again == result
    n = len(dataset.images)
    assert len(result.predictions) == len(result.probs) == len(result.call_seconds) == n
    assert result.seconds == pytest.approx(sum(result.call_seconds))
    assert result.load_seconds > 0
    assert [LABELS[p] for p in result.predictions] == [i.class_name for i in dataset.images]
    # internal batching does not change the answers; a second task reuses the loaded model
    smaller = run_pull_task(replace(task, batch_size=1), worker)
    assert smaller.predictions == result.predictions
    assert smaller.load_seconds == 0.0


def test_pull_task_runs_in_a_fresh_process(tmp_path, dataset):
    task = _task(dataset, TinySource())
    blob = tmp_path / "task.pkl"
    blob.write_bytes(pickle.dumps(task))
    code = ("import pickle, sys; from greenrunner_core.pull import run_pull_task; "
            "t = pickle.load(open(sys.argv[1], 'rb')); sys.stdout.buffer.write(pickle.dumps(run_pull_task(t)))")
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(Path(__file__).parent)])}
    proc = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    remote = pickle.loads(proc.stdout)
    assert remote.predictions == run_pull_task(task).predictions


def test_model_with_wrong_number_of_scores_fails_clearly(dataset):
    task = _task(dataset, TinySource(labels=("red", "green", "blue", "purple")))
    with pytest.raises(ValueError, match=r"expected \(4, 4\)"):
        run_pull_task(task)


def test_grayscale_preprocess_feeds_one_channel(dataset):
    gray = Preprocess(crop=(5, 7), mean=(0.5,), std=(0.25,), channels=1, resize=None)
    seen: list[tuple[int, ...]] = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return torch.zeros(x.shape[0], 3)

    @dataclass
    class GraySource(TinySource):
        def load(self, card):
            return Probe()

    task = _task(dataset, GraySource(preprocess=gray), batch_size=5)
    run_pull_task(task)
    assert seen == [(1, 1, 5, 7), (5, 1, 5, 7), (4, 1, 5, 7)]   # the warm-up at load (one blank image), 2 batches


class InputProbe(nn.Module):
    """Records every input batch it sees; predicts class 0."""

    def __init__(self, seen: list[torch.Tensor]) -> None:
        super().__init__()
        self.seen = seen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        return torch.zeros(x.shape[0], 3)


def _inputs_for(root: Path, files: list[str], pp: Preprocess) -> torch.Tensor:
    seen: list[torch.Tensor] = []

    @dataclass
    class ProbeSource(TinySource):
        def load(self, card):
            return InputProbe(seen)

    source = ProbeSource(name=f"probe-{pp.id}", preprocess=pp)
    run_pull_task(PullTask(source=source, card=source.cards()[0], dataset_root=str(root),
                           images=tuple((f, f) for f in files), batch_size=len(files)))
    assert len(seen) == 2            # the warm-up at load (a blank image), then the one batch
    return seen[1]


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_every_file_format_gets_the_same_preprocessing(tmp_path, interpolation):
    # one picture saved losslessly as PNG (torchvision decoder) and BMP / TIFF (PIL decoder)
    yy, xx = np.mgrid[0:30, 0:41]
    arr = np.stack([(yy * 8) % 256, (xx * 6) % 256, ((yy + xx) * 3) % 256], axis=-1).astype(np.uint8)
    files = ["a.png", "a.bmp", "a.tiff"]
    for f in files:
        Image.fromarray(arr).save(tmp_path / f)
    pp = Preprocess(crop=(12, 14), mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4), resize=16, interpolation=interpolation)
    x = _inputs_for(tmp_path, files, pp)
    assert x.shape == (3, 3, 12, 14) and x.dtype == torch.float32
    torch.testing.assert_close(x[1], x[0], rtol=0, atol=0)
    torch.testing.assert_close(x[2], x[0], rtol=0, atol=0)
    # undo the normalisation and compare with the classic torchvision eval pipeline on PIL images
    # (uint8 tensor and PIL antialiased resizes may round a pixel differently: at most 1 level)
    from torchvision.transforms import v2
    ref = v2.Compose([v2.Resize(16, interpolation=v2.InterpolationMode(interpolation)), v2.CenterCrop((12, 14)),
                      v2.PILToTensor()])(Image.fromarray(arr)).float()
    mean, std = torch.tensor(pp.mean).view(3, 1, 1), torch.tensor(pp.std).view(3, 1, 1)
    got = (x[0] * std + mean) * 255
    torch.testing.assert_close(got, ref, rtol=0, atol=1.0 + 1e-3)
    assert (got - ref).abs().mean().item() < 0.1


def test_jpeg_fast_decode_matches_pil(tmp_path):
    rng = np.random.default_rng(3)
    arr = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "a.jpg", quality=85)
    Image.open(tmp_path / "a.jpg").convert("RGB").save(tmp_path / "a_decoded_by_pil.png")
    pp = Preprocess(crop=(20, 20), mean=(0.0,) * 3, std=(1.0,) * 3, resize=20)
    x = _inputs_for(tmp_path, ["a.jpg", "a_decoded_by_pil.png"], pp)
    assert (x[0] - x[1]).abs().max().item() <= 2 / 255   # same libjpeg decode, up to IDCT rounding


# ------------------------------------------------------------------------------------------ the cache file


def test_two_cache_instances_on_one_file_see_each_others_writes(tmp_path):
    path = tmp_path / "shared.sqlite"
    a, b = OutcomeCache(path), OutcomeCache(path)
    try:
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ids = [f"img{i:05d}" for i in range(1200)]      # more than two IN-list chunks
        a.put_many("m", "w", "p", {i: Outcome(k % 7, 0.5, 0.001) for k, i in enumerate(ids)})
        got = b.get_many("m", "w", "p", ids + ["unknown"])
        assert len(got) == 1200 and got["img00008"] == Outcome(1, 0.5, 0.001)
        b.put_many("m", "w", "p", {"img00000": Outcome(6, 0.9, 0.002)})   # replace
        assert a.get_many("m", "w", "p", ["img00000"]) == {"img00000": Outcome(6, 0.9, 0.002)}
        assert a.get_many("m", "w2", "p", ids[:3]) == {}
        assert a.stats().rows == b.stats().rows == 1200
        c = pickle.loads(pickle.dumps(a))            # reopens the same file
        assert c.stats().rows == 1200
        c.close()
    finally:
        a.close()
        b.close()


def test_concurrent_writers_on_one_file_lose_nothing(tmp_path):
    import threading
    path = tmp_path / "busy.sqlite"
    caches = [OutcomeCache(path) for _ in range(3)]   # one connection each, as separate processes would have
    errors: list[sqlite3.Error] = []

    def write(k: int) -> None:
        try:
            for batch in range(40):
                caches[k].put_many(f"m{k}", "w", "p", {f"{batch}-{j}": Outcome(j, 0.5, 0.01) for j in range(25)})
        except sqlite3.Error as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        assert caches[0].stats().rows == 3 * 40 * 25
        assert len(caches[1].get_many("m2", "w", "p", [f"{b}-{j}" for b in range(40) for j in range(25)])) == 1000
    finally:
        for c in caches:
            c.close()


def test_models_are_kept_per_worker_and_a_worker_pickles_empty(dataset, cache):
    source = TinySource()
    ev1, card = evaluator_for(source, dataset, cache)
    ev1.predict(card, dataset.images[:2])
    ev1.predict(card, dataset.images[2:4])
    assert source.loads == 1                                   # one evaluator: loaded once
    shared = PullWorker()
    ev2 = Evaluator(Registry([source]), dataset, cache, worker=shared)
    ev3 = Evaluator(Registry([source]), dataset, cache, worker=shared)
    ev2.predict(card, dataset.images[4:6])
    ev3.predict(card, dataset.images[6:8])
    assert source.loads == 2                                   # ev2 and ev3 share one worker, ev1 kept its own
    clone = pickle.loads(pickle.dumps(shared))
    assert isinstance(clone, PullWorker) and clone.max_models == shared.max_models
    result = run_pull_task(_task(dataset, source), clone)
    assert result.load_seconds > 0                             # the copy starts empty: it loads again
    with pytest.raises(ValueError, match="max_models=0"):
        PullWorker(max_models=0)
