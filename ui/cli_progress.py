"""The CLI's progress on stderr: a live tqdm bar on a terminal; on a pipe or a log file (stderr not a TTY) one line
when a phase starts and one when it ends, so `greenrunner select ... 2>&1 | tee log` stays readable."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from greenrunner_core.strategies.progress import ProgressEvent
from greenrunner_core.workspace import Workspace

DEMO_BUILD = "building the offline demo zoo (first run only)"


def is_terminal(stream: Any) -> bool:
    """True when ``stream`` is an interactive terminal (a closed or fake stream is not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Phase:
    """One long phase (the demo zoo build, a strategy's evaluation calls): a tqdm bar on a terminal, else a start
    line when the first progress arrives and an end line on ``close``. Nothing is written when no progress came."""

    def __init__(self, desc: str, unit: str, start_words: str, stream: TextIO | None = None) -> None:
        self.desc, self.unit, self.start_words = desc, unit, start_words
        self.stream = stream if stream is not None else sys.stderr     # read now: a test's captured stderr
        self.live = is_terminal(self.stream)
        self.bar: Any = None
        self.started: float | None = None
        self.done = 0
        self.total = 0
        self.detail = ""

    def update(self, done: int, total: int, detail: str = "") -> None:
        """``done`` of ``total`` units so far; ``detail`` is the bar's postfix (and the end line's last words)."""
        if self.started is None:
            self.started = time.perf_counter()
            if self.live:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, file=self.stream, dynamic_ncols=True)
            else:
                print(f"{self.desc}: {self.start_words.format(total=total)}…", file=self.stream, flush=True)
        self.done, self.total, self.detail = done, total, detail
        if self.bar is not None:
            self.bar.total = total
            self.bar.n = done
            self.bar.set_postfix_str(detail, refresh=False)
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.started is not None:
            took = time.perf_counter() - self.started
            count = (f"done, {self.total:,} {self.unit}s" if self.done >= self.total else
                     f"stopped after {self.done:,} of at most {self.total:,} {self.unit}s")
            tail = f" ({self.detail})" if self.detail else ""
            print(f"{self.desc}: {count} in {took:.1f} s{tail}", file=self.stream, flush=True)
        self.bar = None
        self.started = None


def build_demo_with_progress(ws: Workspace, stream: TextIO | None = None) -> None:
    """First run trains the demo zoo: show it instead of a silent pause (nothing is shown when it is built)."""
    phase = Phase(DEMO_BUILD, "step", "training small models on scikit-learn's digits", stream)
    try:
        ws.demo.ensure_built(progress=lambda step, done, total: phase.update(done, total, step))
    finally:
        phase.close()


class CallProgress:
    """A ProgressCallback over evaluation calls with the current leader, shown as a ``Phase``."""

    def __init__(self, desc: str, stream: TextIO | None = None) -> None:
        self.phase = Phase(desc, "call", "evaluating, at most {total:,} calls", stream)
        self.calls = 0

    def __call__(self, event: ProgressEvent) -> None:
        self.calls += event.batch_calls
        self.phase.update(self.calls, event.budget, f"leader={event.leader}" if event.leader else "")

    def close(self) -> None:
        self.phase.close()
