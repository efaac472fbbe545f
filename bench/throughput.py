"""Live evaluator throughput against a raw batched forward of the same model and batch, and cache speed."""
from __future__ import annotations

import functools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.record import SHARED_DATA, bench_cache, cifar_subset, write_corrupted
from greenrunner_core.data import load_target
from greenrunner_core.decode import ImagePrep, load_image
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.outcome_cache import OutcomeCache
from greenrunner_core.registry.base import Registry


@dataclass
class Throughput:
    model: str
    batch: int
    images: int
    raw_forward_ips: float          # model(x) on preprocessed tensors, images/s
    raw_pipeline_ips: float         # decode + preprocess + forward, images/s
    live_ips: float                 # LiveEnvironment.pull on cache misses (decode, forward, cache write), images/s
    cached_ips: float               # LiveEnvironment.pull answered from the cache, images/s
    lookups_per_s: float            # OutcomeCache.get_many, keys/s

    @property
    def ratio_forward(self) -> float:
        return self.live_ips / self.raw_forward_ips

    @property
    def ratio_pipeline(self) -> float:
        return self.live_ips / self.raw_pipeline_ips


def _best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure(model_name: str = "resnet56_chenyaofo", n_images: int = 512, batch: int = 64,
            shared: Path = SHARED_DATA) -> Throughput:
    from greenrunner_core.registry.cifar10_shared import cifar10_shared_source

    work = bench_cache() / "bench"
    source = cifar10_shared_source(shared / "cifar10" / "models", complexity_cache=work / "complexity.json")
    card = next(c for c in source.cards() if c.name == model_name)
    folder = write_corrupted(cifar_subset(shared)[:n_images + batch], work / "throughput", None, seed=0)
    dataset = load_target(folder, cache_dir=work / "datasets")
    images = list(dataset.images)
    timed = images[batch:batch + n_images]
    prep = ImagePrep.of(card.preprocess)
    model = source.load(card).eval()

    def tensors(items):
        x = torch.stack([load_image(Path(dataset.root) / im.path, prep) for im in items]).float().div_(255)
        return x.sub_(prep.mean).div_(prep.std)

    batches = [tensors(timed[i:i + batch]) for i in range(0, len(timed), batch)]

    def forward():
        with torch.inference_mode():
            for x in batches:
                model(x)

    def pipeline():
        with torch.inference_mode():
            for i in range(0, len(timed), batch):
                model(tensors(timed[i:i + batch]))

    forward()                                        # warm-up
    raw = _best_of(forward)
    raw_pipe = _best_of(pipeline)
    live_times = []
    for _ in range(3):                               # each repeat on a fresh cache: every call is computed
        with tempfile.TemporaryDirectory() as tmp, OutcomeCache(Path(tmp) / "o.sqlite") as cache:
            env = LiveEnvironment(Registry([source]), [card], dataset, cache, batch_size=batch)
            env.pull(0, list(range(batch)))          # loads the model (not part of throughput)
            start = time.perf_counter()
            for i in range(batch, batch + n_images, batch):
                env.pull(0, list(range(i, min(i + batch, batch + n_images))))
            live_times.append(time.perf_counter() - start)
            cached = _best_of(functools.partial(env.pull, 0, list(range(batch, batch + n_images))))
            lookups = _best_of(functools.partial(cache.get_many, card.name, card.weights_id, card.preprocess.id,
                                                 [im.id for im in timed]))
    return Throughput(model_name, batch, n_images, n_images / raw, n_images / raw_pipe, n_images / min(live_times),
                      n_images / cached, n_images / lookups)


def measure_all(models: tuple[str, ...] = ("resnet20_akamaster", "resnet56_chenyaofo"), **kwargs) -> list[Throughput]:
    return [measure(m, **kwargs) for m in models]


if __name__ == "__main__":
    for t in measure_all():
        print(t, f"live/raw forward {t.ratio_forward:.2f}x, live/raw pipeline {t.ratio_pipeline:.2f}x")
