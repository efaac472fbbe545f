"""Cooperative cancel: a stop request is a flag the run loop and the evaluator check between pulls and batches.

Nothing is injected into another thread: the run finishes the batch in flight (committed to the outcome cache),
stops at the next check and returns the ranking so far, like Ctrl-C in the CLI.

Ctrl-C itself is asynchronous (a SIGINT handled at whatever bytecode the main thread is on), so the few steps
that must happen together (a batch's cache commit and its accounting) run under ``interrupts_deferred``.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CancelToken", "Cancelled", "interrupts_deferred"]


class Cancelled(Exception):
    """Raised at a check point once the run's ``CancelToken`` is cancelled; the run loops turn it into a result
    (its ``reason``, the token's, goes into the result's typed ``Interrupted`` stop)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CancelToken:
    """A thread-safe, one-way stop flag shared by whoever may stop a run and the run itself."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "stopped by the user") -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Cancelled`` when a stop was requested (call between units of work, never inside one)."""
        if self._event.is_set():
            raise Cancelled(self.reason)

    def __repr__(self) -> str:
        return f"CancelToken(cancelled={self.cancelled})"


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block whole: a SIGINT (Ctrl-C) arriving inside it is held and delivered, to the handler that was
    installed, as soon as the block ends (so a batch is either written *and* counted, or neither).

    Signals reach only the main thread, so elsewhere (the web app's run threads) this is a plain block; it is
    one too when the SIGINT handler was not installed from Python and so cannot be put back.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)
