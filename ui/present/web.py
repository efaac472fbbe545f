"""Markdown for the web page: Chainlit renders messages with remark-directive, which reads ``word:name`` as a text
directive and drops it (``timm:convnext_tiny.fb_in1k`` showed as "timm" + ".fb_in1k"). ``web_markdown`` escapes such
colons outside code, so every model name and ``key:value`` reads as written. Only the web page needs it: the
terminal, Slack and the HTML report do not parse directives (and would show the backslash)."""
from __future__ import annotations

import re

__all__ = ["web_markdown"]

_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.DOTALL)      # fenced blocks and code spans are shown as written
_DIRECTIVE = re.compile(r"(?<![\\:]):(?=:*[A-Za-z])")    # the first colon of `:name`, `::name`, `:::name`


def web_markdown(text: str) -> str:
    """``text`` with every colon that would open a directive escaped (``\\:``, shown as ":"), code left alone."""
    parts = _CODE.split(text)
    return "".join(part if i % 2 else _DIRECTIVE.sub(r"\\:", part) for i, part in enumerate(parts))
