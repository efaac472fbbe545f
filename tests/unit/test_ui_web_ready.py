"""The chat-ready signal (ui/web_ready.py) and the page script that waits for it (public/greenrunner.js): the committed
Chainlit config loads the script, which listens for exactly the message the server sends, and the server sends it
after the start of a chat, also when the start failed (else the message box would stay hidden)."""
from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from ui import web_ready

REPO = Path(__file__).resolve().parents[2]


def test_the_config_loads_the_page_script_which_waits_for_the_servers_ready_message():
    ui = tomllib.loads((REPO / ".chainlit" / "config.toml").read_text())["UI"]
    assert ui["custom_js"] == "/public/greenrunner.js"
    assert ui.get("custom_js_attributes") == ""          # runs before Chainlit's page draws the box (no defer)
    script = (REPO / "public" / "greenrunner.js").read_text()
    assert f'var READY = "{web_ready.READY_MESSAGE}";' in script
    assert "#chat-input { visibility: hidden; }" in script
    assert f'var ASK = "{web_ready.ASK_MESSAGE}";' in script


class _UserSession(dict):
    def set(self, key, value):
        self[key] = value


def test_the_ready_message_follows_the_handler_also_when_it_fails(monkeypatch):
    said: list[tuple[str, object]] = []
    monkeypatch.setattr(web_ready.cl, "user_session", _UserSession())

    async def send_window_message(data):
        said.append(("window", data))
    monkeypatch.setattr(web_ready.cl, "send_window_message", send_window_message)

    @web_ready.announces_ready
    async def start(fail: bool) -> str:
        said.append(("handler", fail))
        if fail:
            raise RuntimeError("boom")
        return "started"

    assert asyncio.run(start(False)) == "started"
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(start(True))
    assert said == [("handler", False), ("window", web_ready.READY_MESSAGE),
                    ("handler", True), ("window", web_ready.READY_MESSAGE)]


def test_a_page_that_asks_is_told_ready_only_once_its_chat_has_started(monkeypatch):
    said: list[object] = []
    session = _UserSession()

    async def send_window_message(data):
        said.append(data)
    monkeypatch.setattr(web_ready.cl, "send_window_message", send_window_message)
    monkeypatch.setattr(web_ready.cl, "user_session", session)

    @web_ready.announces_ready
    async def start() -> None:
        await web_ready.answer_ready_question(web_ready.ASK_MESSAGE)     # asked while the chat is still starting
        assert said == []

    asyncio.run(start())
    assert said == [web_ready.READY_MESSAGE]
    asyncio.run(web_ready.answer_ready_question(web_ready.ASK_MESSAGE))  # a reconnected page of this session asks
    asyncio.run(web_ready.answer_ready_question(web_ready.READY_MESSAGE))  # our own signal, echoed back: not a question
    asyncio.run(web_ready.answer_ready_question({"other": "page message"}))
    assert said == [web_ready.READY_MESSAGE, web_ready.READY_MESSAGE]
