"""Chainlit's thread history for the web app (ui/web_history.py): the local login only on a loopback address and
without password users, the auth secret kept across restarts, and Chainlit's SQLAlchemy data layer working on our
SQLite schema (a thread with its steps comes back after a restart, for its user only)."""
from __future__ import annotations

import asyncio
import os
import stat
import uuid

import pytest
from chainlit.user import User

from ui import web_history as history
from ui.settings import AppSettings


def _settings(tmp_path, **kw) -> AppSettings:
    return AppSettings(conversations_db=tmp_path / "db" / "c.sqlite", llm="offline", **kw)


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.1:8000", True), ("localhost:80", True),
                                            ("[::1]:9", True), ("::1", True), ("0.0.0.0", False),
                                            ("192.168.1.4:8000", False), ("example.com", False), ("", False)])
def test_loopback_names(host, loopback):
    assert history.is_loopback(host) is loopback


def test_local_login_only_on_loopback_without_users_and_when_enabled(tmp_path):
    assert history.local_login(_settings(tmp_path), "127.0.0.1")
    assert not history.local_login(_settings(tmp_path), "0.0.0.0")
    assert not history.local_login(_settings(tmp_path, auth_users="alice:pw"), "127.0.0.1")
    assert not history.local_login(_settings(tmp_path, local_login=False), "127.0.0.1")


def test_the_auth_secret_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(history.SECRET_ENV, raising=False)
    settings = _settings(tmp_path)
    history.ensure_auth_secret(settings)
    first = os.environ[history.SECRET_ENV]
    path = tmp_path / "db" / "chainlit_auth_secret"
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv(history.SECRET_ENV)
    history.ensure_auth_secret(settings)                        # a restart reads the same secret
    assert os.environ[history.SECRET_ENV] == first
    monkeypatch.setenv(history.SECRET_ENV, "set-by-the-operator")
    history.ensure_auth_secret(settings)                        # an explicit secret wins
    assert os.environ[history.SECRET_ENV] == "set-by-the-operator"
    path.write_text("short\n")
    monkeypatch.delenv(history.SECRET_ENV)
    with pytest.raises(ValueError, match="delete the file"):
        history.ensure_auth_secret(settings)


def test_chainlits_data_layer_keeps_threads_on_our_sqlite_schema(tmp_path):
    settings = _settings(tmp_path)
    thread_id = str(uuid.uuid4())
    step = {"id": str(uuid.uuid4()), "name": "user", "type": "user_message", "threadId": thread_id,
            "parentId": None, "streaming": False, "metadata": {}, "tags": None, "input": "",
            "output": "detect digits on parcels", "createdAt": "2026-11-30T10:00:00Z", "start": None, "end": None,
            "language": None, "defaultOpen": False, "autoCollapse": False, "showInput": None, "generation": None}

    async def write() -> str:
        layer = history.data_layer(settings)
        user = await layer.create_user(User(identifier=history.LOCAL_USER))
        await layer.update_thread(thread_id, name="detect digits", user_id=user.id)
        await layer.create_step.__wrapped__(layer, dict(step))     # as Chainlit calls it after the first message
        await layer.update_thread(thread_id, metadata={"chat_settings": {"budget": 300}})
        await layer.engine.dispose()
        return user.id

    async def read(user_id: str):
        layer = history.data_layer(settings)                           # a restarted server: a new engine
        thread = await layer.get_thread(thread_id)
        author = await layer.get_thread_author(thread_id)
        other = await layer.create_user(User(identifier="mallory"))
        from chainlit.types import Pagination, ThreadFilter
        mine = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=user_id))
        theirs = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=other.id))
        await layer.engine.dispose()
        return thread, author, mine, theirs

    user_id = asyncio.run(write())
    thread, author, mine, theirs = asyncio.run(read(user_id))
    assert author == history.LOCAL_USER and thread["userIdentifier"] == history.LOCAL_USER
    assert [s["output"] for s in thread["steps"]] == ["detect digits on parcels"]
    assert '"budget": 300' in thread["metadata"] and "detect digits" == thread["name"]
    assert [t["id"] for t in mine.data] == [thread_id] and theirs.data == []
