"""Label map edits typed in the chat: "map boat to canoe and speedboat", "map bike to mountain bike, bicycle-built-for-two"."""
from __future__ import annotations

import re

__all__ = ["parse_map_edit"]

_EDIT = re.compile(r"^\s*map\s+(?:the\s+)?(?:class\s+)?[\"'“]?(?P<cls>[^\"'”]+?)[\"'”]?\s+(?:to|onto|->|→)\s+(?P<labels>.+?)\s*\.?\s*$",
                   re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bor\b|\+)\s*", re.IGNORECASE)


def parse_map_edit(text: str) -> dict[str, list[str]] | None:
    """``{class: [labels]}`` for a "map X to A and B" message, else None (not an edit)."""
    match = _EDIT.match(text or "")
    if not match:
        return None
    labels = [part.strip(" \"'“”") for part in _SPLIT.split(match["labels"])]
    labels = [label for label in labels if label]
    return {match["cls"].strip(): labels} if labels else None
