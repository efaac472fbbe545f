"""Chainlit's own thread history for the web app: its ``SQLAlchemyDataLayer`` on a local SQLite file (aiosqlite), a
login that needs no form on a local app, and the JWT secret Chainlit signs its login cookie with.

Chainlit continues a thread (``@cl.on_chat_resume``: a page reload on ``/thread/<id>``, the history sidebar, a page
that reconnects after a server restart) only for a logged-in user with a data layer (``chainlit/socket.py``
``resume_thread``). So:

- **Local login** (``GREENRUNNER_LOCAL_LOGIN``, on by default): with no ``GREENRUNNER_AUTH_USERS`` and the server bound
  to a loopback address, ``@cl.header_auth_callback`` signs every browser in as one user, ``local`` — Chainlit's
  login page calls it by itself and goes on to the chat, no form. It refuses requests whose ``Host`` is not a loopback
  name, and it is never registered when the app listens on another address (use ``GREENRUNNER_AUTH_USERS`` there).
- **Data layer**: registered whenever a login exists (local or password). The schema below is Chainlit's documented
  one (docs.chainlit.io/data-layers/sqlalchemy) in SQLite types plus the step keys Chainlit 2.12 writes
  (``autoCollapse``, ``icon``), created on first use next to the conversations file. Elements (the charts) are kept
  by a local storage client, ``ui/web_elements.py``.
- **Secret**: ``CHAINLIT_AUTH_SECRET`` if set, else one generated once and kept (mode 0600) beside the conversations,
  so a login cookie stays valid across restarts.
"""
from __future__ import annotations

import ipaddress
import os
import secrets
import sqlite3
from pathlib import Path

from ui.settings import AppSettings

LOCAL_USER = "local"
SECRET_ENV = "CHAINLIT_AUTH_SECRET"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    "id" TEXT PRIMARY KEY, "identifier" TEXT NOT NULL UNIQUE, "metadata" TEXT NOT NULL, "createdAt" TEXT);
CREATE TABLE IF NOT EXISTS threads (
    "id" TEXT PRIMARY KEY, "createdAt" TEXT, "name" TEXT, "userId" TEXT, "userIdentifier" TEXT, "tags" TEXT,
    "metadata" TEXT, FOREIGN KEY ("userId") REFERENCES users("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS steps (
    "id" TEXT PRIMARY KEY, "name" TEXT NOT NULL, "type" TEXT NOT NULL, "threadId" TEXT NOT NULL, "parentId" TEXT,
    "streaming" BOOLEAN NOT NULL, "waitForAnswer" BOOLEAN, "isError" BOOLEAN, "metadata" TEXT, "tags" TEXT,
    "input" TEXT, "output" TEXT, "createdAt" TEXT, "command" TEXT, "start" TEXT, "end" TEXT, "generation" TEXT,
    "showInput" TEXT, "language" TEXT, "indent" INT, "defaultOpen" BOOLEAN, "autoCollapse" BOOLEAN, "modes" TEXT, "icon" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS elements (
    "id" TEXT PRIMARY KEY, "threadId" TEXT, "type" TEXT, "url" TEXT, "chainlitKey" TEXT, "name" TEXT NOT NULL,
    "display" TEXT, "objectKey" TEXT, "size" TEXT, "page" INT, "language" TEXT, "forId" TEXT, "mime" TEXT,
    "props" TEXT, "autoPlay" BOOLEAN, "playerConfig" TEXT, "path" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS feedbacks (
    "id" TEXT PRIMARY KEY, "forId" TEXT NOT NULL, "threadId" TEXT NOT NULL, "value" INT NOT NULL, "comment" TEXT,
    FOREIGN KEY ("threadId") REFERENCES threads("id") ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS steps_thread ON steps("threadId");
CREATE INDEX IF NOT EXISTS threads_user ON threads("userId");
"""


def is_loopback(host: str) -> bool:
    """``host`` (an address or name, optionally with ``:port`` or in brackets) names this machine only."""
    name = host.strip()
    if name.startswith("["):                                   # [::1]:8000
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:                                  # 127.0.0.1:8000, localhost:8000
        name = name.partition(":")[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def local_login(settings: AppSettings, bind_host: str) -> bool:
    """Sign browsers in as the one local user: enabled, no password login configured, bound to loopback only."""
    return settings.local_login and not settings.users() and is_loopback(bind_host or "127.0.0.1")


def history_path(settings: AppSettings) -> Path:
    return settings.conversations_path().with_name("web_history.sqlite")


def ensure_auth_secret(settings: AppSettings) -> None:
    """Set ``CHAINLIT_AUTH_SECRET`` for this process if it is not: from the secret file beside the conversations,
    generating it (0600) on the first start. Chainlit checks it right after loading the app module."""
    if os.environ.get(SECRET_ENV):
        return
    path = settings.conversations_path().with_name("chainlit_auth_secret")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
        if len(secret) < 32:
            raise ValueError(f"{path} holds a secret of {len(secret)} characters; delete the file (a new one is "
                             f"generated) or set {SECRET_ENV}") from None
    else:
        secret = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")
    os.environ[SECRET_ENV] = secret


def create_schema(path: Path) -> None:
    """Chainlit's data layer tables in the SQLite file ``path`` (idempotent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
    db.close()


def elements_path(settings: AppSettings) -> Path:
    """Where the charts of web threads are kept (``ui/web_elements.py``), next to the thread history."""
    return history_path(settings).with_name("web_elements")


def data_layer(settings: AppSettings):
    """Chainlit's SQLAlchemy data layer on the history file (schema created first), with the local element store
    (``ui/web_elements.py``) so the charts of earlier turns come back after a resume."""
    from ui.web_elements import ElementKeepingLayer, LocalElementStore
    path = history_path(settings)
    create_schema(path)
    store = LocalElementStore(elements_path(settings), max_bytes=int(settings.web_elements_max_mb * 2**20))
    return ElementKeepingLayer(f"sqlite+aiosqlite:///{path}", store)


_INTERACTED = "greenrunner_interacted"


async def name_files_only_thread(thread_id: str, text: str, file_names: list[str]) -> None:
    """Chainlit names a thread after its first message's text, and only a non-empty name makes the page move to
    ``/thread/<id>``, list the thread in the sidebar and show ■ during a run (its "first interaction"). A first
    message with files and no text is named after the files here, so that conversation survives a reload too."""
    import chainlit as cl
    from chainlit.context import context
    from chainlit.data import get_data_layer
    first = not cl.user_session.get(_INTERACTED)
    cl.user_session.set(_INTERACTED, True)
    if text or not file_names or not first:
        return
    name = ", ".join(file_names)
    name = name if len(name) <= 80 else name[:79] + "…"
    layer = get_data_layer()
    if layer is not None:
        thread = await layer.get_thread(thread_id)
        if thread and thread.get("name"):                    # a resumed thread keeps its name
            return
        await layer.update_thread(thread_id=thread_id, name=name)
    await context.emitter.emit("first_interaction", {"interaction": name, "thread_id": thread_id})
