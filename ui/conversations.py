"""The app's conversations: one LangGraph SQLite checkpointer for every thread (web chats keyed by Chainlit's thread
id, Slack threads by theirs), the uploads of each thread, and which browser session continues which thread after a
server restart (the page reconnects with its session id but Chainlit gives it a fresh thread id).

Why a table and not Chainlit's data layer + ``on_chat_resume``: Chainlit resumes a thread only for a logged-in user
with a data layer (``chainlit/socket.py`` ``resume_thread``), while the app runs without login by default on
127.0.0.1; and its SQLAlchemy data layer needs a schema of its own. The table serves both cases; ``on_chat_resume``
is wired too, for deployments with login and a data layer."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.context import Context
from agent.graph import open_checkpointer
from agent.session import ChatSession
from tools.settings import workspace_for
from ui.settings import AppSettings
from ui.turns import Canceller
from ui.uploads import ConversationUploads


class Conversations:
    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._checkpointer: BaseCheckpointSaver | None = None
        self._sessions: sqlite3.Connection | None = None

    @property
    def checkpointer(self) -> BaseCheckpointSaver:
        with self._lock:
            if self._checkpointer is None:
                self._checkpointer = open_checkpointer(self.settings.conversations_path())
            return self._checkpointer

    def uploads(self, thread_id: str) -> ConversationUploads:
        return ConversationUploads.for_thread(self.settings.uploads_root(), thread_id, self.settings.cache_root(),
                                              self.settings.max_upload_mb, self.settings.zip_limits())

    def context(self, thread_id: str) -> Context:
        s = self.settings
        uploads = self.uploads(thread_id)
        dataset = uploads.dataset()
        return Context.from_settings(s, checkpoints=uploads.checkpoint_folders(), workers=s.workers,
                                     ray_address=s.ray_address, zip_limits=s.zip_limits(),
                                     uploaded_dataset=str(dataset) if dataset else None,
                                     label_map_file=str(uploads.label_map_path()))

    def session(self, thread_id: str, canceller: Canceller | None = None) -> ChatSession:
        """The conversation of ``thread_id`` (new or continued), with ``canceller`` watching its long tools."""
        context = self.context(thread_id)
        if canceller is not None:
            context.cancel = canceller.token          # the long tools of this turn stop when it is cancelled
        session = ChatSession(thread_id, checkpointer=self.checkpointer, context=context)
        if canceller is not None:
            session.config["callbacks"] = [canceller]
        return session

    def model_names(self, thread_id: str) -> list[str]:
        """Every model name the thread's registry knows (an upload must not reuse one)."""
        return workspace_for(self.context(thread_id)).registry.names()

    # ---- browser session -> thread ---------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._sessions is None:
            path = Path(self.settings.conversations_path()).with_name("web_sessions.sqlite")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sessions = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._sessions.execute("CREATE TABLE IF NOT EXISTS web_session (session_id TEXT PRIMARY KEY, "
                                   "thread_id TEXT NOT NULL, seen REAL NOT NULL)")
        return self._sessions

    def claim_thread(self, session_id: str, thread_id: str) -> tuple[str, bool]:
        """The thread this browser session continues: the one it had before a server restart (and True, when the
        client reconnected with another thread id), or ``thread_id`` recorded for it now (and False)."""
        with self._lock:
            db = self._db()
            row = db.execute("SELECT thread_id FROM web_session WHERE session_id = ?", (session_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE web_session SET seen = ? WHERE session_id = ?", (time.time(), session_id))
                return str(row[0]), row[0] != thread_id
            db.execute("INSERT INTO web_session VALUES (?, ?, ?)", (session_id, thread_id, time.time()))
            return thread_id, False

    def bind_thread(self, session_id: str, thread_id: str) -> None:
        """Record that this browser session now shows ``thread_id`` (e.g. a thread resumed from the history)."""
        with self._lock:
            self._db().execute("INSERT OR REPLACE INTO web_session VALUES (?, ?, ?)",
                               (session_id, thread_id, time.time()))
