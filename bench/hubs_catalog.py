"""How big and how fast the hub catalog is: timm cards, load time in a fresh interpreter, a shortlist.

    python -m bench.hubs_catalog

Prints the number of timm cards (and how many carry published ImageNet / shifted-set top-1), the time to import
the source and build every card once torch/torchvision are imported (no timm or transformers import), and the time of a default shortlist.
"""
from __future__ import annotations

import subprocess
import sys

CODE = """
import sys, time
import torch, torchvision.models   # the core needs them anyway: time what the hubs add on top
t0 = time.perf_counter()
from greenrunner_core.registry.timm_source import TimmSource
t1 = time.perf_counter()
cards = TimmSource().cards()
t2 = time.perf_counter()
from greenrunner_core.reward import Weights
from greenrunner_core.shortlist import shortlist
picked = shortlist(cards, Weights({"accuracy": 0.63, "size": 0.25, "complexity": 0.21}))
t3 = time.perf_counter()
print(f"timm cards: {len(cards)} ({sum(c.benchmark_accuracy is not None for c in cards)} with ImageNet top-1, "
      f"{sum(bool(c.shifted_accuracy) for c in cards)} with shifted-set top-1, "
      f"{sum(c.label_set != 'imagenet-1k' for c in cards)} with ImageNet-12k/22k heads)")
print(f"import {t1 - t0:.2f} s, build all cards {t2 - t1:.2f} s, shortlist of {len(picked.entries)} from "
      f"{picked.pool_size} ranked {t3 - t2:.2f} s; timm imported: {'timm' in sys.modules}, "
      f"transformers imported: {'transformers' in sys.modules}")
"""


def main() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    print(out.stdout.strip())


if __name__ == "__main__":
    main()
