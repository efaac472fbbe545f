"""Where pulls run: in this process (the default, no Ray import) or on Ray actors (``ray_backend``).

A backend takes ``PullTask``s and yields ``TaskDone``s as they finish (any order); the evaluator on the
driver answers from the outcome cache first, writes every computed outcome itself and hands results back
to the strategy in request order, so the same seed gives the same calls and ranking on every backend.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from greenrunner_core.errors import GreenRunnerError

if TYPE_CHECKING:
    from greenrunner_core.environment import Environment
    from greenrunner_core.pull import PullResult, PullTask
    from greenrunner_core.registry.base import ModelSource
    from greenrunner_core.registry.card import ModelCard
    from greenrunner_core.strategies.state import Pull
    from greenrunner_core.strategies.state import PullResult as StepResult

__all__ = ["ExecutionPlace", "ExecutionSettings", "PullBackend", "TaskDone", "WorkerAccount", "environment_executor", "make_backend"]

LOCAL = "local"


@dataclass(frozen=True)
class ExecutionSettings:
    """How evaluations are executed. ``workers=0`` and no ``ray_address``: in this process (no Ray).

    ``workers=N``: a local Ray runtime with N actors (or N actors on the cluster at ``ray_address``).
    ``ray_address``: ``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"`` joins an existing cluster
    (``workers=0`` then means one actor per ``cpus_per_worker`` CPUs, or per GPU with ``num_gpus``).
    """

    workers: int = 0
    ray_address: str | None = None
    num_gpus: float = 0.0               # GPUs each worker requests (0 = CPU workers)
    cpus_per_worker: float = 1.0
    worker_memory_mb: int = 2048        # loaded models a worker keeps (LRU by parameter + buffer bytes)
    max_restarts: int = 3               # a killed worker is restarted this many times
    max_task_retries: int = 3           # a pull whose worker died is retried this many times
    object_store_mb: int = 200          # object store of a local runtime this process starts

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 0:
            raise GreenRunnerError(f"workers={self.workers!r} must be an integer >= 0 (0 = in this process)")
        if self.num_gpus < 0 or self.cpus_per_worker <= 0:
            raise GreenRunnerError(f"num_gpus={self.num_gpus!r} must be >= 0 and cpus_per_worker="
                                   f"{self.cpus_per_worker!r} > 0 (resources each Ray worker requests)")
        if self.worker_memory_mb < 1 or self.object_store_mb < 50:
            raise GreenRunnerError(f"worker_memory_mb={self.worker_memory_mb} must be >= 1 and object_store_mb="
                                   f"{self.object_store_mb} >= 50 (Ray's minimum object store is 50 MB)")
        if self.max_restarts < -1 or self.max_task_retries < -1:
            raise GreenRunnerError("max_restarts and max_task_retries must be >= -1 (-1 = without limit)")

    @property
    def uses_ray(self) -> bool:
        return self.workers > 0 or bool(self.ray_address)

    @classmethod
    def from_options(cls, workers: int | None = None, ray_address: str | None = None,
                     num_gpus: float | None = None) -> ExecutionSettings:
        """Front-door options: ``ray_address`` None or ``"local"`` = no cluster (front doors fall back to
        ``$RAY_ADDRESS`` through their settings, ``agent/settings.EnvSettings.execution``)."""
        address = ray_address
        if address is not None and address.strip().lower() in ("", LOCAL, "none"):
            address = None
        return cls(workers=int(workers or 0), ray_address=address, num_gpus=float(num_gpus or 0.0))

    def place(self) -> ExecutionPlace:
        """Where these settings run evaluations, before any worker has started."""
        return ExecutionPlace(ray=self.uses_ray, workers=self.workers, ray_address=self.ray_address,
                              num_gpus=self.num_gpus)


@dataclass(frozen=True)
class ExecutionPlace:
    """Where a run's evaluations ran: in this process, or on Ray workers (``started``: the actors that ran, their
    devices and nodes; else the workers asked for, 0 = one per free CPU). ``saved_text`` holds the words a run
    saved before this was typed. Worded by ``tools/text.execution_text``."""

    ray: bool = False
    workers: int = 0
    ray_address: str | None = None      # None: a local Ray runtime
    num_gpus: float = 0.0               # GPUs each worker requests
    started: bool = False
    devices: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    saved_text: str = ""

    def __post_init__(self) -> None:
        # a checkpointer and JSON give lists back: keep one shape
        object.__setattr__(self, "devices", tuple(self.devices))
        object.__setattr__(self, "nodes", tuple(self.nodes))


@dataclass(frozen=True)
class TaskDone:
    """One finished pull task: its result, or why its model failed (or which image is unreadable)."""

    index: int                          # position in the submitted task list
    worker: str                         # where it ran: "local", or "w1@10.0.0.5" for Ray actor 1 on that node
    result: PullResult | None = None
    failure: str | None = None          # the model could not be loaded or run (it is excluded with this reason)
    dataset_error: str | None = None    # an image could not be decoded (the run stops with this message)
    seconds: float = 0.0                # compute seconds on the worker (model load + batches, or until failure)
    cause: BaseException | None = field(default=None, compare=False, repr=False)   # in-process only: the exception


@dataclass
class WorkerAccount:
    """What one worker computed in this run (cache answers cost it nothing)."""

    tasks: int = 0
    evaluations: int = 0
    seconds: float = 0.0                # compute seconds (model loads + batches)
    load_seconds: float = 0.0
    joules: float = 0.0                 # energy of its batches and model loads (the meter's kind applies)
    models: list[str] = field(default_factory=list)
    restarts: int = 0                   # times this worker's process was replaced during the run

    def add(self, done: TaskDone, model: str) -> None:
        self.tasks += 1
        self.seconds += done.seconds
        if model not in self.models:
            self.models.append(model)
        if done.result is not None:
            self.evaluations += len(done.result.image_ids)
            self.load_seconds += done.result.load_seconds
            self.joules += done.result.joules + done.result.load_joules


class PullBackend(Protocol):
    """Runs pull tasks; ``run`` yields each ``TaskDone`` as it finishes.

    A stop (``KeyboardInterrupt`` or ``Cancelled``) raised while it waits, or thrown in at its ``yield`` by the
    driver, cancels what is not finished, yields what already finished (a task may come twice: the driver
    records each index once), then re-raises.
    """

    settings: ExecutionSettings

    def run(self, tasks: Sequence[PullTask]) -> Iterator[TaskDone]: ...

    def release(self, source: ModelSource, card: ModelCard) -> None:
        """Drop a model that failed from whatever keeps it loaded."""
        ...

    def place(self) -> ExecutionPlace: ...

    def close(self) -> None: ...


def make_backend(settings: ExecutionSettings | None = None) -> PullBackend:
    """The in-process backend, or the Ray backend (imports ray only then)."""
    settings = settings or ExecutionSettings()
    if not settings.uses_ray:
        from greenrunner_core.execution.local import LocalBackend
        return LocalBackend(settings)
    from greenrunner_core.execution.ray_backend import RayBackend
    return RayBackend(settings)


def environment_executor(env: Environment, pulls: Sequence[Pull]) -> list[StepResult]:
    """A strategy step's pulls through ``env.pull_many`` (all at once: concurrent on Ray workers) when the
    environment has it, else one after the other; results in the order of ``pulls`` either way."""
    pull_many = getattr(env, "pull_many", None)
    if pull_many is None:
        from greenrunner_core.strategies.base import serial_executor
        return serial_executor(env, pulls)
    return list(pull_many([(p.arm, p.images) for p in pulls]))
