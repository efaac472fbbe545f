"""The Ray actor body: one long-lived ``PullWorker`` per actor, so models stay loaded between pulls.

A plain class (``ray.remote`` wraps it in ``ray_backend`` at run time), so importing it needs no Ray.
Images arrive by content (``PullTask.contents``); the driver's paths are never read here. Results go back
to the driver, which alone writes the outcome cache.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from greenrunner_core.execution import TaskDone
from greenrunner_core.execution.local import run_one
from greenrunner_core.pull import PullTask, PullWorker
from greenrunner_core.registry.base import ModelSource
from greenrunner_core.registry.card import ModelCard


@dataclass(frozen=True)
class WorkerInfo:
    index: int
    node: str                 # IP of the node the actor runs on
    pid: int
    device: str               # "cpu" or "cuda"
    threads: int

    @property
    def label(self) -> str:
        return f"w{self.index}@{self.node}"


class RayPullWorker:
    """Keeps models loaded (LRU by memory) and runs pull tasks one at a time with ``threads`` torch threads."""

    def __init__(self, index: int, threads: int, max_bytes: int, use_gpu: bool) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        device = "cuda" if use_gpu and torch.cuda.is_available() else "cpu"
        self.worker = PullWorker(max_models=64, max_bytes=max_bytes, device=device)
        self.info = WorkerInfo(index=index, node=_node_ip(), pid=os.getpid(), device=device, threads=threads)

    def describe(self) -> WorkerInfo:
        return self.info

    def run(self, task: PullTask, index: int) -> tuple[TaskDone, int]:
        """The finished task and this process's id (a new id tells the driver the worker was replaced)."""
        done = run_one(self.worker, task, index, self.info.label)
        return dataclasses.replace(done, cause=None), self.info.pid     # the reason travels; the exception need not

    def release(self, source: ModelSource, card: ModelCard) -> None:
        self.worker.release(source, card)


def _node_ip() -> str:
    try:
        import ray.util
        return str(ray.util.get_node_ip_address())
    except Exception:  # noqa: BLE001 - a label only; outside Ray (tests) there is no node address
        return "127.0.0.1"
