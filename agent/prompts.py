"""The prompt texts in ``prompts/``: the system prompt (with the knowledge base filled in) and the proposal prompt."""
from __future__ import annotations

from functools import cache

from agent.proposal import PROMPTS_DIR, cue_table, follow_up_step


@cache
def load_prompt(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.exists():
        known = sorted(p.stem for p in PROMPTS_DIR.glob("*.txt"))
        raise FileNotFoundError(f"no prompt {name!r} in {PROMPTS_DIR}; prompts: {', '.join(known)}")
    return path.read_text().strip()


def system_prompt() -> str:
    return load_prompt("system").replace("{cues}", cue_table()).replace("{step}", f"{follow_up_step():g}")
