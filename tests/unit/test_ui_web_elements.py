"""The local element store of web threads (ui/web_elements.py): a round trip to a data: URL, object keys that cannot
leave the folder, the per-element limit and the folder cap (oldest dropped), delete; and through Chainlit's data layer:
a chart sent in a thread comes back as a data: URL when the thread is loaded (not when threads are only listed), for
its user only, and goes with the thread."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid

import pytest
from chainlit.user import User

from ui import web_history as history
from ui.settings import AppSettings
from ui.web_elements import LocalElementStore


def _decode(url: str) -> tuple[str, bytes]:
    head, _, data = url.partition(",")
    assert head.startswith("data:") and head.endswith(";base64"), url[:80]
    return head[len("data:"):-len(";base64")], base64.b64decode(data)


def test_round_trip_to_a_data_url_and_delete(tmp_path):
    store = LocalElementStore(tmp_path / "el", max_bytes=10_000)
    chart = json.dumps({"data": [{"type": "bar", "y": [1, 2]}], "layout": {"title": {"text": "é"}}})

    async def go():
        stored = await store.upload_file("u1/e1/counts", chart, mime="application/json")
        url = await store.get_read_url("u1/e1/counts")
        png = await store.upload_file("u1/e2/p.png", b"\x89PNG\r\n\x00\n", mime="image/png")
        png_url = await store.get_read_url("u1/e2/p.png")
        odd = await store.upload_file("u1/e3/x", b"x", mime="text/html\nX-Evil: 1")   # not a MIME type: neutral
        odd_url = await store.get_read_url("u1/e3/x")
        deleted = await store.delete_file("u1/e1/counts"), await store.delete_file("u1/e1/counts")
        gone = await store.get_read_url("u1/e1/counts")
        return stored, url, png, png_url, odd, odd_url, deleted, gone

    stored, url, png, png_url, odd, odd_url, deleted, gone = asyncio.run(go())
    assert stored == {"object_key": "u1/e1/counts"} and png["object_key"] == "u1/e2/p.png" and odd
    assert _decode(url) == ("application/json", chart.encode())
    assert _decode(png_url) == ("image/png", b"\x89PNG\r\n\x00\n")
    assert _decode(odd_url) == ("application/octet-stream", b"x")
    assert deleted == (True, False) and gone == ""                  # a missing element draws nothing, no error


@pytest.mark.parametrize("key", ["../../escape", "/etc/passwd", "a/../../../b", "..", "C:\\windows\\x",
                                 "u/e/name with spaces/../../..", "nul\x00byte", "é/ü"])
def test_no_object_key_reaches_outside_the_folder(tmp_path, key):
    root = tmp_path / "el"
    store = LocalElementStore(root, max_bytes=10_000)
    path = store.path_for(key)
    assert path.parent == root and path.name.isalnum()
    asyncio.run(store.upload_file(key, b"data"))
    assert [p.name for p in root.iterdir()] == [path.name]
    assert sorted(os.listdir(tmp_path)) == ["el"]                    # nothing written beside the folder
    assert store.path_for(key + "x") != path                        # distinct keys, distinct files


@pytest.mark.parametrize("key", ["", "   ", None])
def test_an_empty_key_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match="object_key"):
        LocalElementStore(tmp_path, max_bytes=10).path_for(key)


def test_the_folder_stays_under_its_cap_dropping_the_oldest(tmp_path):
    store = LocalElementStore(tmp_path / "el", max_bytes=2_500, max_element_bytes=1_000)

    async def go():
        for i in range(4):
            await store.upload_file(f"u/e{i}/chart", b"x" * 900)
            os.utime(store.path_for(f"u/e{i}/chart"), ns=(i * 10**9, i * 10**9))     # distinct ages
        with pytest.raises(ValueError, match=r"1,001 bytes, over the 1,000 bytes"):
            await store.upload_file("u/big/zip", b"x" * 1_001)
        return [await store.get_read_url(f"u/e{i}/chart") for i in range(4)]

    urls = asyncio.run(go())
    assert [bool(u) for u in urls] == [False, False, True, True]     # the two oldest dropped, the newest kept
    assert store.used_bytes() <= 2_500
    assert not store.path_for("u/big/zip").exists()
    with pytest.raises(ValueError, match="GREENRUNNER_WEB_ELEMENTS_MAX_MB"):
        LocalElementStore(tmp_path, max_bytes=0)


def test_a_chart_comes_back_with_its_thread_for_its_user_only(tmp_path):
    import plotly.graph_objects as go
    from chainlit.context import init_http_context
    from chainlit.element import File, Plotly
    from chainlit.types import Pagination, ThreadFilter

    settings = AppSettings(conversations_db=tmp_path / "db" / "c.sqlite", llm="offline")
    thread_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    big = tmp_path / "dataset.zip"
    with open(big, "wb") as out:
        out.truncate(3 * 2**20)                                      # over the per-element limit: not kept

    async def write() -> str:
        layer = history.data_layer(settings)
        user = await layer.create_user(User(identifier=history.LOCAL_USER))
        await layer.update_thread(thread_id, name="drone", user_id=user.id)
        init_http_context(thread_id=thread_id, user=user)
        chart = Plotly(name="selection counts", figure=go.Figure(go.Bar(y=[3, 1])), for_id=message_id)
        await layer.create_element(chart)
        await layer.create_element(File(name="dataset.zip", path=str(big), for_id=message_id, mime="application/zip"))
        await layer.engine.dispose()
        return user.id

    async def read(user_id: str):
        layer = history.data_layer(settings)                         # a restarted server
        thread = await layer.get_thread(thread_id)
        mine = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=user_id))
        other = await layer.create_user(User(identifier="mallory"))
        theirs = await layer.list_threads(Pagination(first=10), ThreadFilter(userId=other.id))
        again = await layer.get_thread(thread_id)                    # listing left reads on for the thread load
        await layer.delete_thread(thread_id)
        left = os.listdir(history.elements_path(settings))
        await layer.engine.dispose()
        return thread, mine, theirs, again, left

    user_id = asyncio.run(write())
    thread, mine, theirs, again, left = asyncio.run(read(user_id))
    [element] = thread["elements"]
    assert element["type"] == "plotly" and element["forId"] == message_id and element["display"] == "inline"
    mime, body = _decode(element["url"])
    assert mime == "application/json" and json.loads(body)["data"][0]["y"] == [3, 1]
    assert again["elements"][0]["url"] == element["url"]
    assert [t["id"] for t in mine.data] == [thread_id]
    assert [e["url"] for e in mine.data[0]["elements"]] == [""]      # the sidebar's list reads no element file
    assert theirs.data == []                                          # another user lists nothing of it
    assert left == []                                                 # deleting the thread deletes its charts
