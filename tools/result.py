"""What every tool function returns: text for the LLM, an artifact for the UI, and graph-state updates."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolResult:
    text: str                                             # compact markdown the LLM reads and the chat shows
    artifact: dict[str, Any] = field(default_factory=dict)  # full typed data (JSON-able) for the UI
    updates: dict[str, Any] = field(default_factory=dict)   # graph-state fields this result changes
