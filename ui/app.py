"""GreenRunner in the browser and in Slack (one Chainlit app): short handlers that validate input and hand the turn to
``ui/chat_flow.py``, which runs the agent's graph off the event loop and renders through ``ui/present/``.

    chainlit run ui/app.py --host 127.0.0.1 --port 8000 --headless        (what `make run` does)

Conversations live in a LangGraph SQLite checkpointer keyed by Chainlit's thread id (Slack: one per Slack thread),
so a restarted server continues them; Chainlit's own data layer and login (``ui/web_history.py``: one local user on
127.0.0.1, no form) let a page reload or the history sidebar resume a thread (``on_chat_resume``). Settings: ``ui/settings.py`` (``GREENRUNNER_*`` environment variables), read
here once; the app's runtime (conversations, warm-up, busy threads) is built at startup (``ui/runtime.py``).
"""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import chainlit as cl
from chainlit.config import config as chainlit_config
from chainlit.data.base import BaseDataLayer
from starlette.datastructures import Headers

from ui import chat_flow as flow
from ui import web_history as history
from ui.present.turn import check_text
from ui.runtime import install, runtime
from ui.settings import AppSettings, parse_settings
from ui.slack_bot import configure_slack_api
from ui.turns import Canceller
from ui.web_ready import announces_ready, answer_ready_question

_log = logging.getLogger("greenrunner.app")
SETTINGS = AppSettings()
"""The environment, read once at the front door; immutable. Login must be known when Chainlit loads this module."""


@cl.on_app_startup
async def start() -> None:
    """Build the runtime (warm-up of the demo zoo runs in the background) and point Slack at its API."""
    install(SETTINGS)
    configure_slack_api(SETTINGS)


@cl.on_app_shutdown
async def stop() -> None:
    """Stop the Ray workers the app's runs started (the conversations stay in their checkpointer)."""
    await asyncio.to_thread(runtime().close)


if SETTINGS.users():
    @cl.password_auth_callback
    async def login(username: str, password: str) -> cl.User | None:
        """Chainlit's password login, enabled by GREENRUNNER_AUTH_USERS."""
        if SETTINGS.check_password(username, password):
            return cl.User(identifier=username, metadata={"provider": "greenrunner-password"})
        return None
elif history.local_login(SETTINGS, chainlit_config.run.host):
    @cl.header_auth_callback
    async def local_login(headers: Headers) -> cl.User | None:
        """The one local user of an app bound to 127.0.0.1 (no form); refused for a non-loopback Host header."""
        if not history.is_loopback(headers.get("host", "")):
            return None
        return cl.User(identifier=history.LOCAL_USER, metadata={"provider": "greenrunner-local"})

if SETTINGS.users() or history.local_login(SETTINGS, chainlit_config.run.host):
    history.ensure_auth_secret(SETTINGS)        # before Chainlit checks it, right after loading this module

    @cl.data_layer
    def thread_history() -> BaseDataLayer:
        """Chainlit's SQLAlchemy data layer on SQLite: the threads a logged-in user can reopen and resume."""
        return history.data_layer(SETTINGS)


@cl.on_chat_start
@announces_ready                                # the page shows its message box only now (public/greenrunner.js)
@flow.guarded
async def on_chat_start() -> None:
    if not flow.is_slack():                     # every Slack message is its own session: nothing to set up
        await flow.open_web_chat()


@cl.on_chat_resume
@announces_ready
@flow.guarded
async def on_chat_resume(thread: dict[str, Any]) -> None:
    """A thread reopened (page reload, history, server restart; needs the login + data layer): same conversation."""
    await flow.continue_thread(str(thread.get("id") or flow.current_thread_id()), shown=thread)  # type: ignore[arg-type]


cl.on_window_message(answer_ready_question)     # a page that reconnected asks whether its chat has started


@cl.on_message
@flow.guarded
async def on_message(message: cl.Message) -> None:
    thread_id = flow.current_thread_id()
    files = [(Path(el.path), el.name) for el in (message.elements or []) if getattr(el, "path", None)]
    text = (message.content or "").strip()
    if files:
        await flow.handle_uploads(thread_id, files)
    if not flow.is_slack():
        await history.name_files_only_thread(thread_id, text, [name for _, name in files])
    if files and not text:
        return
    problem = check_text(text)
    if problem is not None:
        await flow.say(problem)
        return
    await flow.handle_text(thread_id, text)


@cl.on_settings_update
@flow.guarded
async def on_settings_update(values: dict[str, Any]) -> None:
    settings, problem = parse_settings(values)
    if settings is None:
        await flow.say(problem + " Fix them in the settings panel; nothing was changed.")
        return
    pending = await asyncio.to_thread(runtime().conversations.session(flow.current_thread_id()).pending)
    where = ("Press **Adjust** on the proposal to run with them." if pending
             else "They apply when you press **Adjust** on the next proposal (say *run it* to get one).")
    await flow.say(f"Settings saved: {settings.describe()}. {where}")


@cl.action_callback("staging_run")
@flow.guarded
async def on_run(action: cl.Action) -> None:
    await flow.answer_with_button(action, lambda pending: {"approved": True})


@cl.action_callback("staging_adjust")
@flow.guarded
async def on_adjust(action: cl.Action) -> None:
    def decide(pending: dict[str, Any]) -> dict[str, Any] | str:
        settings, problem = parse_settings(cl.context.session.chat_settings or {})
        if settings is None:
            return problem + " Fix them in the settings panel, then press Adjust again."
        return settings.decision()
    await flow.answer_with_button(action, decide)


@cl.action_callback("staging_cancel")
@flow.guarded
async def on_cancel(action: cl.Action) -> None:
    await flow.answer_with_button(action, lambda pending: {"approved": False, "reason": "cancelled by the user"})


@cl.on_stop
async def on_stop() -> None:
    canceller: Canceller | None = cl.user_session.get("canceller")
    if canceller is not None:
        canceller.cancel()
