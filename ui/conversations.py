"""The app's conversations: one LangGraph SQLite checkpointer for every thread (web chats keyed by Chainlit's thread
id, Slack threads by theirs) and the uploads of each thread. Which thread a browser shows is Chainlit's business: its
client sends the thread id when it reconnects after a server restart, and its data layer with a login
(``ui/web_history.py``) resumes a thread after a page reload or from the history sidebar (``on_chat_resume``)."""
from __future__ import annotations

import threading

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.context import Context
from agent.graph import open_checkpointer
from agent.session import ChatSession
from tools.settings import Workspaces
from ui.settings import AppSettings
from ui.turns import Canceller
from ui.uploads import ConversationUploads


class Conversations:
    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._checkpointer: BaseCheckpointSaver | None = None
        self.workspaces = Workspaces()          # the app's workspaces, kept while it serves (closed at shutdown)

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
                                     zip_limits=s.zip_limits(),
                                     uploaded_dataset=str(dataset) if dataset else None,
                                     label_map_file=str(uploads.label_map_path()), workspaces=self.workspaces)

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
        return self.workspaces.get(self.context(thread_id)).registry.names()

    def close(self) -> None:
        """Stop what the workspaces started (Ray workers); the conversations stay in their checkpointer."""
        self.workspaces.close()
