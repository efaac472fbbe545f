"""Tells the browser page that its conversation has started, so it shows the message box (``public/greenrunner.js``).

Chainlit 2.12 shows the message box before the page can send: with the local login (``ui/web_history.py``) the first
load passes through a page that is reloaded right away, and until the socket session is up the composer ignores Enter.
A message typed that early was lost without a word. The page script hides the box until this signal, which Chainlit
delivers as a window message (``cl.send_window_message``: a ``postMessage`` to the page) once ``on_chat_start`` or
``on_chat_resume`` has finished, whatever it said. Slack has no page: Chainlit's Slack emitter ignores window messages.

A page whose socket closed (a new chat, another thread, a reconnect) hides the box again and asks (``ASK_MESSAGE``)
until the answer comes: the server answers once this session's chat has started — a session that merely reconnected
(Chainlit restores it without running ``on_chat_start`` again) at once.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chainlit as cl

READY_MESSAGE = "greenrunner:chat-ready"
"""The window message the page script waits for (``public/greenrunner.js`` READY)."""
ASK_MESSAGE = "greenrunner:chat-ready?"
"""The page's question after its socket closed (``public/greenrunner.js`` ASK); Chainlit forwards it to the server."""
_STARTED = "greenrunner_chat_started"       # the user-session key set once the chat's start has finished


def announces_ready(handler: Callable[..., Any]) -> Callable[..., Any]:
    """``handler`` (the start or resumption of a chat), then the ready signal, also when it failed."""
    @functools.wraps(handler)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handler(*args, **kwargs)
        finally:
            cl.user_session.set(_STARTED, True)
            await cl.send_window_message(READY_MESSAGE)
    return run


async def answer_ready_question(message: Any) -> None:
    """Chainlit's ``on_window_message``: the page's ASK is answered with READY once this session's chat has started
    (before that, the end of the start sends READY itself); any other window message is not ours."""
    if message == ASK_MESSAGE and cl.user_session.get(_STARTED):
        await cl.send_window_message(READY_MESSAGE)
