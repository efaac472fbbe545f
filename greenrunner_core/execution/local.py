"""The default backend: pull tasks run one after another in this process, models kept by one ``PullWorker``."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from greenrunner_core.errors import DatasetError, GreenRunnerError
from greenrunner_core.execution import LOCAL, ExecutionPlace, ExecutionSettings, TaskDone
from greenrunner_core.pull import PullTask, PullWorker
from greenrunner_core.registry.base import ModelSource
from greenrunner_core.registry.card import ModelCard


def failure_reason(exc: BaseException) -> str:
    """Our own errors are already actionable sentences; others keep their type for diagnosis, and a multi-line
    message (a TorchScript traceback) keeps its last line: the error itself."""
    if isinstance(exc, GreenRunnerError):
        return str(exc)
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def run_one(worker: PullWorker, task: PullTask, index: int, label: str) -> TaskDone:
    """Run one task on ``worker``; a failing model becomes ``TaskDone.failure`` (KeyboardInterrupt propagates)."""
    start = time.perf_counter()
    try:
        result = worker.run(task)
    except DatasetError as exc:
        return TaskDone(index, label, dataset_error=str(exc), seconds=time.perf_counter() - start, cause=exc)
    except Exception as exc:  # noqa: BLE001 - any model error excludes that model, with its reason
        worker.release(task.source, task.card)
        return TaskDone(index, label, failure=failure_reason(exc), seconds=time.perf_counter() - start, cause=exc)
    return TaskDone(index, label, result=result, seconds=result.seconds + result.load_seconds)


class LocalBackend:
    """Tasks in submission order, in this process; after a model fails, its remaining tasks fail unrun."""

    def __init__(self, settings: ExecutionSettings | None = None, worker: PullWorker | None = None) -> None:
        self.settings = settings or ExecutionSettings()
        self.worker = worker if worker is not None else PullWorker()

    def run(self, tasks: Sequence[PullTask]) -> Iterator[TaskDone]:
        failed: dict[tuple[str, str], str] = {}
        for index, task in enumerate(tasks):
            key = (task.card.name, task.card.weights_id)
            if key in failed:
                yield TaskDone(index, LOCAL, failure=failed[key])
                continue
            done = run_one(self.worker, task, index, LOCAL)
            if done.failure is not None:
                failed[key] = done.failure
            yield done

    def release(self, source: ModelSource, card: ModelCard) -> None:
        self.worker.release(source, card)

    def place(self) -> ExecutionPlace:
        return self.settings.place()

    def close(self) -> None:
        self.worker.close()
