"""Chainlit's own texts on the page are true for GreenRunner, with the offline reasoner and with an LLM alike."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import chainlit

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / ".chainlit" / "translations" / "en-US.json"
THEIRS = Path(chainlit.__file__).parent / "translations" / "en-US.json"


def _keys(tree: dict, prefix: str = "") -> set[str]:
    return {k for key, value in tree.items()
            for k in (_keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}"})}


def test_the_footer_says_what_greenrunner_does_not_that_an_llm_answers() -> None:
    watermark = json.loads(OURS.read_text(encoding="utf-8"))["chat"]["watermark"]
    assert "LLM" not in watermark                     # the offline reasoner answers without one
    assert "GreenRunner" in watermark and "approve" in watermark


def test_every_browser_gets_that_translation() -> None:
    config = tomllib.loads((ROOT / ".chainlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["UI"]["language"] == "en-US"        # else a German browser reads Chainlit's de-DE.json


def test_the_translation_has_every_key_of_the_installed_chainlit() -> None:
    ours, theirs = json.loads(OURS.read_text(encoding="utf-8")), json.loads(THEIRS.read_text(encoding="utf-8"))
    assert _keys(ours) == _keys(theirs), "Chainlit's texts changed: copy its en-US.json again and keep our watermark"
