"""Live progress of long tools through LangGraph's custom stream; a no-op outside a graph run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenrunner_core.strategies.progress import ProgressCallback, ProgressEvent


@dataclass(frozen=True)
class ToolProgress:
    """One progress event of a long tool, as the front doors receive it (typed, never stored)."""

    tool: str
    event: ProgressEvent


def stream_writer() -> Any | None:
    """LangGraph's stream writer of the running node, or None when not inside a graph run."""
    try:
        from langgraph.config import get_stream_writer
        return get_stream_writer()
    except (RuntimeError, KeyError, ImportError):
        return None


def stream_progress(tool: str) -> ProgressCallback | None:
    """A ProgressCallback that writes a ``ToolProgress`` to the graph's ``custom`` stream (read with
    ``graph.stream(..., stream_mode="custom")``)."""
    writer = stream_writer()
    if writer is None:
        return None

    def emit(event: ProgressEvent) -> None:
        writer(ToolProgress(tool, event))

    return emit
