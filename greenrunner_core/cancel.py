"""Cooperative cancel: a stop request is a flag the run loop and the evaluator check between pulls and batches.

Nothing is injected into another thread: the run finishes the batch in flight (committed to the outcome cache),
stops at the next check and returns the ranking so far, like Ctrl-C in the CLI.
"""
from __future__ import annotations

import threading

__all__ = ["CancelToken", "Cancelled"]


class Cancelled(Exception):
    """Raised at a check point once the run's ``CancelToken`` is cancelled; the run loops turn it into a result."""


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
