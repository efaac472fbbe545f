"""Running enabled user metrics: each import and each measurement in a child process with a real timeout.

A thread cannot be stopped, so a user's ``measure`` that hangs would keep running (and holding memory)
after its timeout; a child process is killed. The child is forked, so the model, the images and the card
are there without pickling; only the result (or the exception) comes back through a pipe. User code never
runs in the calling process: ``load_metric`` reads the metric's attributes in a child, and the
``SandboxedMetric`` it returns imports the file again in each measuring child.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.metrics_protocol import DEFAULT_TIMEOUT_S, MetricRun, UserMetric, enabled_metrics, metrics_dir
from greenrunner_core.registry.card import ModelCard

__all__ = ["SandboxedMetric", "UserCodeError", "call_in_subprocess", "load_enabled_metrics",
           "load_metric", "measure_metric"]


class UserCodeError(Exception):
    """User code raised an exception that could not be sent back from its process; the message says what."""


def _child(fn: Callable[[], Any], conn: Connection) -> None:
    import torch
    torch.set_num_threads(1)   # the parent's OpenMP pool does not survive fork: a parallel op would hang
    try:
        payload: tuple[str, Any] = ("ok", fn())
    except BaseException as exc:  # noqa: BLE001 - handed to the parent
        payload = ("error", exc)
    try:
        conn.send(payload)
    except Exception:  # noqa: BLE001 - an unpicklable value or exception: send what it was as text
        value = payload[1]
        text = f"{type(value).__name__}: {value}" if payload[0] == "error" else \
            f"returned a {type(value).__name__}, which cannot be sent back; return a number"
        conn.send(("text", text))
    finally:
        conn.close()


def call_in_subprocess(fn: Callable[[], Any], timeout: float) -> Any:
    """``fn()`` in a forked child process, killed after ``timeout`` seconds (``TimeoutError``).

    The child's exception is raised here (``UserCodeError`` when it cannot be pickled); its return value must
    pickle. Needs the ``fork`` start method (Linux; the child shares the parent's memory, so ``fn`` may be a
    closure over models and tensors).
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send), name="greenrunner-user-metric", daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise TimeoutError(f"took longer than {timeout:g} s")
        try:
            status, value = receive.recv()
        except EOFError:
            raise UserCodeError(f"the metric's process ended without an answer (exit code {proc.exitcode})") \
                from None
    finally:
        receive.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    if status == "ok":
        return value
    if status == "text":
        raise UserCodeError(value)
    raise value


def _import_metric(path: Path, name: str) -> UserMetric:
    """The ``METRIC`` of the module at ``path``, checked (runs the user's code: call it in a child)."""
    spec = importlib.util.spec_from_file_location(f"greenrunner_user_metric_{name}", path)
    if spec is None or spec.loader is None:
        raise GreenRunnerError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules.pop(spec.name, None)
    spec.loader.exec_module(module)
    metric = getattr(module, "METRIC", None)
    if not isinstance(metric, UserMetric):
        raise GreenRunnerError(f"{path}: METRIC must have name, direction, normalisation, description and measure()")
    if metric.name != name:
        raise GreenRunnerError(f"{path}: METRIC.name is {metric.name!r}, expected {name!r} (the file name)")
    return metric


def _attributes(path: Path, name: str) -> tuple[str, str, str, str]:
    metric = _import_metric(path, name)
    return (str(metric.name), str(metric.direction), str(metric.normalisation), str(metric.description))


@dataclass(frozen=True)
class SandboxedMetric:
    """An enabled user metric whose code runs only in child processes (a ``UserMetric``)."""

    name: str
    direction: str
    normalisation: str
    description: str
    path: Path
    timeout: float = DEFAULT_TIMEOUT_S

    def measure_here(self, model: Any, card: ModelCard, images: Any, correct: Sequence[frozenset[int]]) -> float:
        """Import the file and measure in THIS process (what the child runs)."""
        return _import_metric(self.path, self.name).measure(model, card, images, correct)

    def measure(self, model: Any, card: ModelCard, images: Any, correct: Sequence[frozenset[int]]) -> float:
        return call_in_subprocess(functools.partial(self.measure_here, model, card, images, correct), self.timeout)


def load_metric(name: str, folder: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> SandboxedMetric:
    """An ENABLED metric, imported and checked in a child process (with ``timeout``)."""
    folder = Path(folder) if folder is not None else metrics_dir()
    if name not in enabled_metrics(folder):
        raise GreenRunnerError(f"user metric {name!r} is not enabled; GreenRunner runs user code only after it is "
                               "enabled explicitly")
    path = folder / f"{name}.py"
    attrs = call_in_subprocess(functools.partial(_attributes, path, name), timeout)
    return SandboxedMetric(*attrs, path=path, timeout=timeout)


def load_enabled_metrics(folder: str | Path | None = None,
                         timeout: float = DEFAULT_TIMEOUT_S) -> tuple[list[SandboxedMetric], dict[str, str]]:
    """Every enabled metric that loads, and an error message per metric that does not."""
    loaded: list[SandboxedMetric] = []
    errors: dict[str, str] = {}
    for name in enabled_metrics(folder):
        try:
            loaded.append(load_metric(name, folder, timeout))
        except Exception as exc:  # noqa: BLE001 - user code: report, never raise
            errors[name] = _error_text(exc)
    return loaded, errors


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, UserCodeError) else f"{type(exc).__name__}: {exc}"


def measure_metric(metric: UserMetric, models: Sequence[tuple[ModelCard, Callable[[], Any]]],
                   inputs: Callable[[ModelCard], tuple[Any, Sequence[frozenset[int]]]],
                   timeout: float = DEFAULT_TIMEOUT_S) -> MetricRun:
    """Measure ``metric`` for each (card, model loader), each in a child process killed after ``timeout`` s.

    ``inputs(card)`` returns the preprocessed target images and per-image correct sets for that card.
    """
    run = MetricRun(metric.name)
    measure = metric.measure_here if isinstance(metric, SandboxedMetric) else metric.measure
    for card, load_model in models:
        try:
            model = load_model()
            images, correct = inputs(card)
            value = float(call_in_subprocess(functools.partial(measure, model, card, images, correct), timeout))
            if not math.isfinite(value):
                raise ValueError(f"returned {value}, not a finite number")
            run.values[card.name] = value
        except Exception as exc:  # noqa: BLE001 - user code: report, never raise
            run.errors[card.name] = _error_text(exc)
    return run
