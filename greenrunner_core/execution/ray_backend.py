"""Pull tasks on Ray actors: a local runtime with N workers, or the actors of an existing cluster.

* Workers are actors (``ray_worker.RayPullWorker``) that keep their models loaded; the driver sends a
  model's tasks to a worker that already holds it when that worker is free, else to the least busy one.
* Images travel by content: the driver reads each image's bytes and ships them with the task.
* Faults: actors restart after their process dies (``max_restarts``) and Ray retries the task that was
  running there (``max_task_retries``); a worker that is gone for good has its tasks re-sent to the others.
  A model that fails to load comes back as a failure (the model is excluded), never as a retry.
* A stop (Ctrl-C while waiting here, or Ctrl-C / a cancel thrown in at a ``yield`` by the driver) cancels every
  task not finished and hands back every one already finished, so the driver caches it. A task stays in flight
  until it has been handed over, so none is lost between Ray returning it and the driver taking it; one may
  be handed back twice, and the driver records each task once.
"""
from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

import greenrunner_core
from greenrunner_core.cancel import Cancelled
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.execution import ExecutionPlace, ExecutionSettings, TaskDone
from greenrunner_core.execution.ray_worker import RayPullWorker, WorkerInfo
from greenrunner_core.pull import PullTask
from greenrunner_core.registry.base import ModelSource
from greenrunner_core.registry.card import ModelCard

STARTUP_TIMEOUT_S = 120.0
IN_FLIGHT_PER_WORKER = 2          # one running, one queued: no idle gap between tasks
MAX_UNAVAILABLE = 5               # a worker unreachable this many times in a row is given up


def with_contents(task: PullTask) -> PullTask:
    """The task carrying its images' bytes, so a worker on any node can decode them."""
    if task.contents is not None:
        return task
    root = Path(task.dataset_root)
    data = []
    for _, rel in task.images:
        try:
            data.append((root / rel).read_bytes())
        except OSError as exc:
            from greenrunner_core.errors import DatasetError
            raise DatasetError(f"cannot read image {str(root / rel)!r}: {exc}; remove or replace the file") from exc
    return dataclasses.replace(task, contents=tuple(data))


class RayBackend:
    """Pull tasks on ``settings.workers`` Ray actors (see the module docstring)."""

    def __init__(self, settings: ExecutionSettings) -> None:
        """Nothing starts here: the runtime and the actors start with the first task (a rerun answered from the
        cache never starts Ray)."""
        self.settings = settings
        self._started_runtime = False
        self.actors: list[Any] = []
        self.infos: list[WorkerInfo] = []
        self.alive: list[bool] = []
        self.restarts: list[int] = []
        self._holds: list[set[tuple[str, str]]] = []   # models each worker has loaded

    @property
    def started(self) -> bool:
        return bool(self.actors)

    def start(self) -> None:
        """Connect (or start a local runtime) and wait until every worker is up."""
        if self.started:
            return
        settings = self.settings
        self._started_runtime = _connect(settings)
        try:
            count = settings.workers or _default_workers(settings)
            _check_resources(settings, count)
            options: dict[str, Any] = {"num_cpus": settings.cpus_per_worker, "num_gpus": settings.num_gpus,
                                       "max_restarts": settings.max_restarts,
                                       "max_task_retries": settings.max_task_retries}
            actor = ray.remote(RayPullWorker)
            threads = max(1, int(settings.cpus_per_worker))
            max_bytes = settings.worker_memory_mb * 2**20
            self.actors = [actor.options(**options).remote(i, threads, max_bytes, settings.num_gpus > 0)
                           for i in range(count)]
            try:
                self.infos = ray.get([a.describe.remote() for a in self.actors], timeout=STARTUP_TIMEOUT_S)
            except ray.exceptions.GetTimeoutError:
                raise GreenRunnerError(f"{count} Ray worker(s) did not start within {STARTUP_TIMEOUT_S:.0f} s; "
                                       "check the cluster has the CPUs/GPUs they request (`ray status`) or ask "
                                       "for fewer workers") from None
        except BaseException:
            self.close()
            raise
        self.alive = [True] * len(self.actors)
        self.restarts = [0] * len(self.actors)
        self._holds = [set() for _ in self.actors]

    # ------------------------------------------------------------------------------------------------ public
    @property
    def concurrency(self) -> int:
        """Workers alive (before the start: the workers asked for, or 2 for "as many as the cluster has")."""
        return sum(self.alive) if self.started else (self.settings.workers or 2)

    def place(self) -> ExecutionPlace:
        if not self.started:
            return self.settings.place()
        return dataclasses.replace(self.settings.place(), workers=len(self.actors), started=True,
                                   devices=tuple(sorted({i.device for i in self.infos})),
                                   nodes=tuple(sorted({i.node for i in self.infos})))

    def worker_pids(self) -> list[int]:
        """Process id of each worker now (asks them; a replaced worker has a new id)."""
        self.start()
        infos = ray.get([a.describe.remote() for a in self.actors], timeout=STARTUP_TIMEOUT_S)
        return [i.pid for i in infos]

    def release(self, source: ModelSource, card: ModelCard) -> None:
        key = (card.name, card.weights_id)
        for i, actor in enumerate(self.actors):
            if key in self._holds[i] and self.alive[i]:
                actor.release.remote(source, card)
                self._holds[i].discard(key)

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass
        self.actors, self.infos, self.alive = [], [], []
        if self._started_runtime and ray.is_initialized():
            ray.shutdown()
            self._started_runtime = False

    # --------------------------------------------------------------------------------------------- running
    def run(self, tasks: Sequence[PullTask]) -> Iterator[TaskDone]:
        """Yield each task's ``TaskDone`` as it finishes; on a stop cancel the rest, yield what finished, re-raise."""
        self.start()
        queue: deque[int] = deque(range(len(tasks)))
        in_flight: dict[Any, tuple[int, int]] = {}          # ref -> (task index, worker)
        failed: dict[tuple[str, str], str] = {}
        last_pid = [i.pid for i in self.infos]
        unavailable = [0] * len(self.actors)
        try:
            while queue or in_flight:
                while queue:
                    index = queue[0]
                    key = _key(tasks[index])
                    if key in failed:
                        queue.popleft()
                        yield TaskDone(index, "-", failure=failed[key])
                        continue
                    worker = self._pick(key, in_flight)
                    if worker is None:
                        break
                    queue.popleft()
                    try:
                        task = with_contents(tasks[index])
                    except GreenRunnerError as exc:
                        yield TaskDone(index, "driver", dataset_error=str(exc))
                        continue
                    ref = self.actors[worker].run.remote(task, index)
                    in_flight[ref] = (index, worker)
                    self._holds[worker].add(key)
                if not in_flight:
                    continue
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    index, worker = in_flight[ref]   # left in flight until handed over (a stop drains it)
                    try:
                        done, pid = ray.get(ref)
                    except ray.exceptions.ActorUnavailableError:   # restarting or unreachable for now
                        del in_flight[ref]
                        unavailable[worker] += 1
                        if unavailable[worker] >= MAX_UNAVAILABLE:
                            self._lose(worker)
                        queue.appendleft(index)
                        continue
                    except ray.exceptions.RayActorError:         # restarts exhausted: gone for good
                        del in_flight[ref]
                        self._lose(worker)
                        queue.appendleft(index)      # re-sent to a worker still alive
                        continue
                    except ray.exceptions.RayTaskError as exc:   # e.g. the model's source cannot be unpickled there
                        done, pid = TaskDone(index, self.infos[worker].label, failure=_cause(exc)), last_pid[worker]
                    unavailable[worker] = 0
                    if pid != last_pid[worker]:
                        self.restarts[worker] += 1
                        last_pid[worker] = pid
                        self._holds[worker] = {_key(tasks[index])}
                    if done.failure is not None:
                        failed[_key(tasks[index])] = done.failure
                        self._holds[worker].discard(_key(tasks[index]))
                    yield done
                    del in_flight[ref]
        except (KeyboardInterrupt, Cancelled):
            for done in self._cancel(in_flight):
                yield done
            raise
        finally:
            for ref in in_flight:
                ray.cancel(ref)

    def _pick(self, key: tuple[str, str], in_flight: dict[Any, tuple[int, int]]) -> int | None:
        """A free worker: one holding the model and idle, else any idle, else any holding it with room, else any
        with room; None when every worker is full."""
        load = [0] * len(self.actors)
        for _, worker in in_flight.values():
            load[worker] += 1
        alive = [w for w in range(len(self.actors)) if self.alive[w]]
        if not alive:
            raise GreenRunnerError("every Ray worker died and could not be restarted; check the cluster "
                                   "(`ray status`, worker logs under /tmp/ray/session_latest/logs) and run again: "
                                   "results so far are cached")
        ranked = sorted((load[w], key not in self._holds[w], w) for w in alive if load[w] < IN_FLIGHT_PER_WORKER)
        return ranked[0][2] if ranked else None

    def _lose(self, worker: int) -> None:
        self.alive[worker] = False
        self._holds[worker].clear()

    def _cancel(self, in_flight: dict[Any, tuple[int, int]]) -> list[TaskDone]:
        """Cancel unfinished tasks (only those: a running actor task is not interrupted, its result is dropped);
        the ones already finished are returned so the driver caches them."""
        if not in_flight:
            return []
        ready, pending = ray.wait(list(in_flight), num_returns=len(in_flight), timeout=0)
        for ref in pending:
            ray.cancel(ref)
        out = []
        for ref in ready:
            try:
                out.append(ray.get(ref, timeout=1.0)[0])
            except Exception:  # noqa: BLE001, S112 - a task lost while cancelling is simply recomputed next time
                continue
        in_flight.clear()
        return out


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    return str(cause) if isinstance(cause, GreenRunnerError) else f"{type(cause).__name__}: {cause}"


def _key(task: PullTask) -> tuple[str, str]:
    return (task.card.name, task.card.weights_id)


def _connect(settings: ExecutionSettings) -> bool:
    """Join the cluster at ``ray_address`` or start a local runtime; True when this process started it."""
    if ray.is_initialized():
        return False
    runtime_env = {"py_modules": [greenrunner_core], "excludes": ["__pycache__", "*.pyc"]}
    if settings.ray_address:
        try:
            ray.init(address=settings.ray_address, runtime_env=runtime_env, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise GreenRunnerError(f"cannot join the Ray cluster at {settings.ray_address!r}: {exc}; start one with "
                                   "`ray start --head` (it prints the address) or pass --workers N without "
                                   "--ray-address for a local runtime") from exc
        return False
    ray.init(num_cpus=max(1, math.ceil(settings.workers * settings.cpus_per_worker)),
             num_gpus=math.ceil(settings.workers * settings.num_gpus) if settings.num_gpus else None,
             object_store_memory=settings.object_store_mb * 2**20, include_dashboard=False, log_to_driver=False,
             runtime_env=runtime_env)
    return True


def _default_workers(settings: ExecutionSettings) -> int:
    resources = ray.cluster_resources()
    if settings.num_gpus > 0:
        return max(1, int(resources.get("GPU", 0) // settings.num_gpus))
    return max(1, int(resources.get("CPU", 1) // settings.cpus_per_worker))


def _check_resources(settings: ExecutionSettings, count: int) -> None:
    resources = ray.cluster_resources()
    need = {"CPU": count * settings.cpus_per_worker, "GPU": count * settings.num_gpus}
    short = [f"{need[k]:g} {k}s (the cluster has {resources.get(k, 0):g})" for k in need
             if need[k] > resources.get(k, 0) + 1e-9]
    if short:
        raise GreenRunnerError(f"{count} Ray worker(s) need {' and '.join(short)}; ask for fewer workers "
                               "(--workers), fewer GPUs per worker, or add nodes to the cluster")
