"""What the web app holds while it serves: its settings, the conversations, the warm-up, and which threads are busy.

One ``AppRuntime`` is built by ``@cl.on_app_startup`` and kept on the server's FastAPI ``app.state`` (the place
FastAPI gives application state), so importing ``ui/app.py`` starts nothing and keeps no module-level mutable state.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from ui.conversations import Conversations
from ui.settings import AppSettings
from ui.web_history import is_loopback

_log = logging.getLogger("greenrunner.app")


@dataclass
class Warmup:
    """Builds the offline demo zoo (first start only) and the model registry, off the event loop."""

    conversations: Conversations
    step: str = "starting"
    error: str | None = None
    done: bool = False
    task: asyncio.Task | None = None

    def start(self) -> None:
        """Start warming up in the background: the app serves (and says it is preparing) meanwhile."""
        self.task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._run))

    def _run(self) -> None:
        try:
            ws = self.conversations.workspaces.get(self.conversations.context("warmup"))
            ws.demo.ensure_built(progress=lambda step, done, total: setattr(self, "step", f"{step} ({done}/{total})"))
            ws.registry.names()
        except Exception as err:  # noqa: BLE001 - reported in the chat; the first run retries and says why
            self.error = f"{type(err).__name__}: {err}"
            _log.exception("warm-up failed")
        finally:
            self.done = True


@dataclass
class AppRuntime:
    settings: AppSettings
    conversations: Conversations
    warmup: Warmup
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    answering: set[str] = field(default_factory=set)     # threads whose staging answer (a button) is about to run

    @classmethod
    def start(cls, settings: AppSettings, host: str) -> AppRuntime:
        conversations = Conversations(settings)
        runtime = cls(settings, conversations, Warmup(conversations))
        runtime.warmup.start()
        warn_if_exposed(settings, host)
        return runtime

    def close(self) -> None:
        """The server stops: stop the Ray workers its runs started."""
        self.conversations.close()

    def lock(self, thread_id: str) -> asyncio.Lock:
        return self.locks.setdefault(thread_id, asyncio.Lock())

    def busy(self, thread_id: str) -> bool:
        return self.lock(thread_id).locked() or thread_id in self.answering


def warn_if_exposed(settings: AppSettings, host: str) -> None:
    if not is_loopback(host or "127.0.0.1") and not settings.users():
        _log.warning("GreenRunner is listening on %s without a login: anyone who reaches it can use it. Set "
                     "GREENRUNNER_AUTH_USERS (docs/app.md, Login), or bind to 127.0.0.1 (a local user, no form).", host)


def runtime() -> AppRuntime:
    """The running app's runtime (built at startup)."""
    from chainlit.server import app
    return app.state.greenrunner


def install(settings: AppSettings) -> AppRuntime:
    """Build the runtime on the server being started (``--host`` as Chainlit parsed it)."""
    from chainlit.config import config
    from chainlit.server import app
    app.state.greenrunner = AppRuntime.start(settings, config.run.host)
    return app.state.greenrunner
