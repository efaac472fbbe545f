"""The elements of web threads (the Plotly charts of a run, small files attached to messages) kept on the local disk,
so a resumed thread (page reload, server restart, the history sidebar) shows its charts again.

Chainlit's ``SQLAlchemyDataLayer`` keeps an element's content only through a storage client
(``chainlit.data.storage_clients.base.BaseStorageClient``): ``upload_file`` when the element is sent, ``get_read_url``
for every element each time a thread is loaded, ``delete_file`` with the element or its thread. ``LocalElementStore``
is that client on disk, one file per object key under ``<cache>/web_elements/`` (next to ``web_history.sqlite``).

**Read URLs are ``data:`` URLs, not a route of the app**, because:

- a route would have to sit ahead of Chainlit's single-page catch-all ``GET /{full_path:path}``, which
  ``chainlit.server`` registers when it is imported, before the app module loads; Chainlit 2.12 offers no hook for
  that, so it would mean reordering ``app.router.routes`` (an order Chainlit does not promise) and following its
  root-path and sub-mount prefixes, and it would repeat the access check (login cookie, author of the thread) in a
  second place;
- a ``data:`` URL is only ever produced inside a thread load Chainlit has already authorised (the socket resume and
  ``/project/thread/{id}`` check the author; ``list_threads`` is filtered to the logged-in user): there is no address
  another user could request;
- the frontend loads a Plotly element with ``fetch(element.url)`` (``hooks/useFetch.tsx``) and parses JSON when the
  response's content type says so; ``fetch`` of ``data:application/json;base64,...`` gives exactly that (the browser
  test checks the charts come back after a reload); images and file links take a ``data:`` URL as well.

The cost is bounded. A chart is 7-10 KB of JSON (measured: the two charts of a 12-model run are 7.2 and 7.9 KB, of an
80-model run 9.6 and 9.8 KB; Plotly's template is most of it). Chainlit also asks for a read URL for every element of
every thread when it lists a user's threads for the sidebar, which draws no chart: with 200 threads of 4 charts that
made the sidebar's call 84 ms instead of 10 ms and a page of 20 threads 0.76 MB instead of 0.04 MB, so
``ElementKeepingLayer.list_threads`` lists without element content. The store only keeps small elements, and the
folder is capped (``GREENRUNNER_WEB_ELEMENTS_MAX_MB``): past the cap the oldest files are dropped (their charts are
no longer redrawn; the text and tables of those turns stay). An element larger than ``MAX_ELEMENT_BYTES`` (a dataset
zip attached to a message) is not kept — ``ElementKeepingLayer`` skips it before Chainlit reads it into memory; the
upload itself is kept with the conversation (``ui/uploads.py``).

Object keys (Chainlit builds them as ``<user id>/<element id>/<element name>``, the name being the uploader's file
name) never become paths: a file is named by the SHA-256 of its key, so no key can reach outside the folder.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import re
import uuid
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from chainlit.data.sql_alchemy import SQLAlchemyDataLayer
from chainlit.data.storage_clients.base import BaseStorageClient

_log = logging.getLogger("greenrunner.web_elements")

MAX_ELEMENT_BYTES = 2 * 2**20
"""Largest element kept (charts are ~10 KB); larger ones are not redrawn after a resume."""
_MIME = re.compile(r"[A-Za-z0-9][\w.+-]*/[\w.+-]+")
_DEFAULT_MIME = "application/octet-stream"
_LISTING_THREADS: ContextVar[bool] = ContextVar("greenrunner_listing_threads", default=False)
"""Set while Chainlit lists threads for the sidebar (in that task only): read URLs are not needed there."""


class LocalElementStore(BaseStorageClient):
    """Chainlit's storage client on a local folder: files named by the hash of their key (first line: the MIME type),
    read back as ``data:`` URLs; the folder holds at most ``max_bytes``, the oldest files dropped beyond it."""

    def __init__(self, root: Path, max_bytes: int, max_element_bytes: int = MAX_ELEMENT_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes={max_bytes} must be positive; set GREENRUNNER_WEB_ELEMENTS_MAX_MB above 0")
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.max_element_bytes = min(int(max_element_bytes), self.max_bytes)

    def path_for(self, object_key: str) -> Path:
        """The file of ``object_key``: always directly inside ``root``, whatever the key holds (``..``, ``/``)."""
        if not isinstance(object_key, str) or not object_key.strip():
            raise ValueError(f"object_key={object_key!r} must be a non-empty string (Chainlit's element key)")
        return self.root / hashlib.sha256(object_key.encode("utf-8", "surrogatepass")).hexdigest()

    async def upload_file(self, object_key: str, data: bytes | str, mime: str = _DEFAULT_MIME,
                          overwrite: bool = True, content_disposition: str | None = None) -> dict[str, Any]:
        """Keep ``data`` under ``object_key``; the URL is made at read time (``get_read_url``), so none is stored."""
        path = self.path_for(object_key)
        body = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if len(body) > self.max_element_bytes:
            raise ValueError(f"element {object_key!r} has {len(body):,} bytes, over the {self.max_element_bytes:,} "
                             "bytes kept per element; it is shown now but not after a resume")
        mime = mime if isinstance(mime, str) and _MIME.fullmatch(mime) else _DEFAULT_MIME
        if overwrite or not path.exists():
            await asyncio.to_thread(self._write, path, mime.encode("ascii") + b"\n" + body)
        return {"object_key": object_key}

    async def get_read_url(self, object_key: str) -> str:
        """A ``data:`` URL of the element; ``""`` (nothing drawn) when the file was dropped to keep under the cap, and
        while threads are only being listed."""
        if _LISTING_THREADS.get():
            return ""
        try:
            raw = await asyncio.to_thread(self.path_for(object_key).read_bytes)
        except FileNotFoundError:
            _log.debug("element %r is no longer kept (dropped past the size cap or deleted)", object_key)
            return ""
        mime, _, body = raw.partition(b"\n")
        return f"data:{mime.decode('ascii')};base64,{base64.b64encode(body).decode('ascii')}"

    async def delete_file(self, object_key: str) -> bool:
        try:
            await asyncio.to_thread(self.path_for(object_key).unlink)
        except FileNotFoundError:
            return False
        return True

    async def close(self) -> None:
        """Nothing to release: every call opens and closes its own file."""

    def used_bytes(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _write(self, path: Path, raw: bytes) -> None:
        """Write atomically (a reader never sees half a file), then drop the oldest files beyond the cap."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{path.name}.{uuid.uuid4().hex}.tmp"
        tmp.write_bytes(raw)
        os.replace(tmp, path)
        self._trim(keep=path)

    def _files(self) -> list[tuple[int, int, Path]]:
        """(modification time, size, path) of every kept file, oldest first."""
        found = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            found.append((stat.st_mtime_ns, stat.st_size, Path(entry.path)))
        return sorted(found)

    def _trim(self, keep: Path) -> None:
        files = self._files()
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            path.unlink(missing_ok=True)
            total -= size
            _log.info("dropped the kept element %s (%d bytes) to stay under %d bytes", path.name, size, self.max_bytes)


def element_bytes(element: Any) -> int | None:
    """The size of an element's content before Chainlit reads it: its file on disk, or its in-memory content."""
    if getattr(element, "path", None):
        try:
            return os.path.getsize(element.path)
        except OSError:
            return None
    content = getattr(element, "content", None)
    if isinstance(content, str):
        return len(content.encode("utf-8"))
    return len(content) if isinstance(content, (bytes, bytearray)) else None


class ElementKeepingLayer(SQLAlchemyDataLayer):
    """Chainlit's SQLAlchemy data layer with a local element store; an element over the store's per-element limit
    (a dataset zip attached to a message) is skipped before Chainlit reads the whole file into memory, and the sidebar's
    list of threads reads no element file."""

    storage_provider: LocalElementStore

    def __init__(self, conninfo: str, store: LocalElementStore) -> None:
        super().__init__(conninfo, storage_provider=store)

    async def list_threads(self, pagination: Any, filters: Any) -> Any:
        """The sidebar's page of threads, without reading any element file (their URLs are empty there)."""
        token = _LISTING_THREADS.set(True)
        try:
            return await super().list_threads(pagination, filters)
        finally:
            _LISTING_THREADS.reset(token)

    async def create_element(self, element: Any) -> None:
        size = element_bytes(element)
        limit = self.storage_provider.max_element_bytes
        if size is not None and size > limit:
            _log.info("not keeping element %r (%d bytes > %d): shown now, not after a resume", element.name, size,
                      limit)
            return
        await super().create_element(element)
