"""Slack's forms (Chainlit's Slack integration posts them): chat markdown as mrkdwn (tables become aligned code
blocks), messages under Slack's length limit, the staging question, and a turn's charts as PNG files."""
from __future__ import annotations

import re
from typing import Any

from ui.present.charts import figures_png
from ui.present.tables import aligned_table
from ui.present.turn import Presentation

SLACK_TEXT_LIMIT = 2900          # Slack refuses section blocks over 3000 characters


def _plain(cell: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"\1", cell.strip()).replace("`", "")


def _table_block(lines: list[str]) -> str:
    rows = [[_plain(c) for c in line.strip().strip("|").split("|")] for line in lines
            if not re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line.strip())]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    return "```\n" + aligned_table(rows[0], rows[1:]) + "\n```"


def _inline(line: str) -> str:
    line = re.sub(r"\*\*(.+?)\*\*", r"*\1*", line)
    line = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r"<\2|\1>", line)
    line = re.sub(r"^#{1,6}\s+(.*)$", r"*\1*", line)
    return re.sub(r"^(\s*)[-*]\s+", r"\1• ", line)


def slack_mrkdwn(markdown: str) -> str:
    """Chat markdown as Slack mrkdwn: tables become aligned code blocks, **bold** becomes *bold*, links <url|text>."""
    out: list[str] = []
    lines = markdown.splitlines()
    i, in_code = 0, False
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("```"):
            in_code = not in_code
            out.append(line)
        elif in_code:
            out.append(line)
        elif line.strip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_table_block(block))
            continue
        else:
            out.append(_inline(line))
        i += 1
    return "\n".join(out)


def split_message(text: str, limit: int = 2900) -> list[str]:
    """Pieces of at most ``limit`` characters (Slack refuses longer text blocks), cut between paragraphs and never
    inside a code block unless a single block is longer than the limit."""
    paragraphs: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        current.append(line)
        if not in_code and not line.strip():
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    pieces: list[str] = []
    buf = ""
    for para in paragraphs:
        while len(para) > limit:                      # one huge block: cut it at line ends
            cut = para.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            if buf:
                pieces.append(buf.rstrip())
                buf = ""
            pieces.append(para[:cut].rstrip())
            para = para[cut:].lstrip("\n")
        if len(buf) + len(para) + 1 > limit and buf:
            pieces.append(buf.rstrip())
            buf = ""
        buf += para + "\n"
    if buf.strip():
        pieces.append(buf.rstrip())
    return [p for p in pieces if p.strip()]


def staging_text(payload: dict[str, Any], lead: str = "", uploads_note: str = "") -> str:
    parts = [lead, str(payload.get("message", "")), uploads_note,
             ("Reply in this thread with *approve* to run it, *cancel* to skip it, or new values such as "
             "`accuracy=0.7 size=0.2 complexity=0.1`, `budget 800` or `use ucb` to run it with those.")]
    return slack_mrkdwn("\n\n".join(p for p in parts if p))


def slack_messages(presentation: Presentation) -> tuple[list[str], list[tuple[str, bytes]], str]:
    """Texts to post (each under Slack's limit), charts as (file name, PNG bytes), and a note if charts failed."""
    texts = split_message(slack_mrkdwn(presentation.text), SLACK_TEXT_LIMIT) if presentation.text else []
    pngs: list[tuple[str, bytes]] = []
    note = ""
    if presentation.charts:
        try:
            images = figures_png([fig for _, fig in presentation.charts])
            pngs = [(f"{name}.png", data) for (name, _), data in zip(presentation.charts, images)]
        except RuntimeError as err:
            note = f"(Charts are not attached: {err}.)"
    return texts, pngs, note
