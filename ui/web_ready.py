"""Tells the browser page that its conversation has started, so it shows the message box (``public/greenrunner.js``).

Chainlit 2.12 shows the message box before the page can send: with the local login (``ui/web_history.py``) the first
load passes through a page that is reloaded right away, and until the socket session is up the composer ignores Enter.
A message typed that early was lost without a word. The page script hides the box until this signal, which Chainlit
delivers as a window message (``cl.send_window_message``: a ``postMessage`` to the page) once ``on_chat_start`` or
``on_chat_resume`` has finished, whatever it said. Slack has no page: Chainlit's Slack emitter ignores window messages.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chainlit as cl

READY_MESSAGE = "greenrunner:chat-ready"
"""The window message the page script waits for (``public/greenrunner.js`` READY)."""


def announces_ready(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` (the start or resumption of a chat), then the ready signal, also when it failed."""
    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        finally:
            await cl.send_window_message(READY_MESSAGE)
    return run
