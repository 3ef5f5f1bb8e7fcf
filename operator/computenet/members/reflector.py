"""List+watch of one resource kind in one member cluster, keeping only what we need.

kopf watches the hub; member clusters need their own watchers. A reflector lists (paginated),
then watches from the list's resourceVersion with bookmarks, resumes from the last version it
saw after a dropped stream, re-lists on 410 Gone, treats a silent stream as dead after an
inactivity timeout, and backs off on errors. Each object is reduced by `extract` to a small
fact record on arrival, so memory holds facts, not whole objects.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
import orjson

logger = logging.getLogger(__name__)

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

PAGE_SIZE = 500
INACTIVITY_TIMEOUT_S = 90.0
YIELD_EVERY = 200
"""Events read from one watch before the other watches and tasks get a turn of the event loop."""
BACKOFF_START_S = 0.2
BACKOFF_MAX_S = 10.0
STALE_AFTER_ERRORS = 2
"""Failed attempts in a row after which the reflected picture is no longer current (see `ReflectorStats`)."""


Lister = Callable[..., Awaitable[aiohttp.ClientResponse]]
"""A generated `list_*_without_preload_content` method of a kubernetes.aio API class."""


class Sink(Protocol[T_contra]):
    """Where a reflector delivers facts. Called from the event loop, never concurrently."""

    def replace(self, items: Mapping[str, T_contra]) -> None: ...
    def upsert(self, key: str, item: T_contra) -> None: ...
    def delete(self, key: str) -> None: ...


class Gone(Exception):
    """The resourceVersion we resume from is too old: only a fresh list can continue."""


class WatchFailed(Exception):
    """The API server refused a list or watch request."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {message}")


@dataclass
class ReflectorStats:
    """Counters the health logic and metrics read; the counters are never reset while the reflector lives.

    `synced` turns true with the first complete list and stays so. `current` says whether the sink
    is what the member holds now: true after a list or once a watch has been accepted, false once
    :data:`STALE_AFTER_ERRORS` attempts in a row have failed, until the next list or accepted watch.
    One failure is not enough: a stream that broke off or fell silent is resumed within a fraction
    of a second from the last version seen, missing nothing, and a member should not turn not
    Ready for that. A stream the server ends on its own timeout is not an error at all.
    """

    lists: int = 0
    watches: int = 0
    errors: int = 0
    events: int = 0
    synced: bool = False
    current: bool = False
    errors_in_row: int = 0
    last_error: str = ""


def object_key(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


class Reflector(Generic[T]):
    """Keeps a sink in step with one resource kind of one member cluster."""

    def __init__(
        self,
        name: str,
        lister: Lister,
        extract: Callable[[Mapping[str, Any]], T | None],
        sink: Sink[T],
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_healthy: Callable[[], None] = lambda: None,
        on_error: Callable[[BaseException], None] = lambda _: None,
        backoff_max: float = BACKOFF_MAX_S,
    ) -> None:
        """`backoff_max` bounds the wait between failed attempts (longer for a watch that may stay refused)."""
        self.name = name
        self._backoff_max = backoff_max
        self._lister = lister
        self._extract = extract
        self._sink = sink
        self._selectors = {
            k: v for k, v in (("label_selector", label_selector), ("field_selector", field_selector)) if v
        }
        self._on_healthy = on_healthy
        self._on_error = on_error
        self.stats = ReflectorStats()
        self._rv: str | None = None

    async def run(self) -> None:
        """Reflect until cancelled."""
        backoff = BACKOFF_START_S
        while True:
            try:
                if self._rv is None:
                    await self._list()
                await self._watch()
                backoff = BACKOFF_START_S  # a stream that ended normally is not an error
            except asyncio.CancelledError:
                raise
            except Gone:
                logger.debug("%s: resourceVersion expired, re-listing", self.name)
                self._rv = None
            except Exception as e:  # whatever happens, keep reflecting: back off and resume
                self.stats.errors += 1
                self.stats.errors_in_row += 1
                if self.stats.errors_in_row >= STALE_AFTER_ERRORS:
                    self.stats.current = False
                self.stats.last_error = _describe(e)
                self._on_error(e)
                delay = backoff * (1 + random.random() / 2)
                logger.info("%s: %s; retrying in %.1fs", self.name, self.stats.last_error, delay)
                await asyncio.sleep(delay)
                backoff = min(backoff * 2, self._backoff_max)

    async def _list(self) -> None:
        items: dict[str, T] = {}
        cont: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": PAGE_SIZE, **self._selectors}
            if cont:
                kwargs["_continue"] = cont
            resp = await self._lister(**kwargs, _request_timeout=60)
            body = await _json_or_raise(resp)
            for obj in body.get("items", ()):
                fact = self._safe_extract(obj)
                if fact is not None:
                    items[object_key(obj)] = fact
            cont = body["metadata"].get("continue")
            if not cont:
                self._rv = body["metadata"]["resourceVersion"]
                break
        self._sink.replace(items)
        self.stats.lists += 1
        self.stats.synced = self.stats.current = True
        self.stats.errors_in_row = 0
        self._on_healthy()

    async def _watch(self) -> None:
        server_timeout = random.randint(240, 300)
        resp = await self._lister(
            watch=True,
            allow_watch_bookmarks=True,
            resource_version=self._rv,
            timeout_seconds=server_timeout,
            **self._selectors,
            _request_timeout=server_timeout + 30,  # the server ends the stream first; silence is caught below
        )
        if resp.status == 410:
            resp.release()
            raise Gone()
        if resp.status >= 300:
            await _json_or_raise(resp)
        self.stats.watches += 1
        self.stats.current = True
        self.stats.errors_in_row = 0
        self._on_healthy()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(INACTIVITY_TIMEOUT_S) as silence:
                handled = 0
                while True:
                    # Events already received are read without giving up the loop (no task per line,
                    # as wait_for would start): a busy loop must not make each event wait its turn.
                    line = await resp.content.readline()
                    if not line:
                        return  # the server closed the stream (its timeout): resume from _rv
                    silence.reschedule(loop.time() + INACTIVITY_TIMEOUT_S)
                    self._handle(orjson.loads(line))
                    handled += 1
                    if handled % YIELD_EVERY == 0:
                        await asyncio.sleep(0)  # a long backlog leaves room for the other watches
        finally:
            resp.release()

    def _safe_extract(self, obj: Mapping[str, Any]) -> T | None:
        """Facts of one object; an object we cannot read is skipped (and logged), never fatal."""
        try:
            return self._extract(obj)
        except Exception as e:
            logger.warning("%s: skipping %s: %s: %s", self.name, object_key(obj), type(e).__name__, e)
            return None

    def _handle(self, event: Mapping[str, Any]) -> None:
        kind = event["type"]
        obj = event["object"]
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone()
            raise WatchFailed(int(obj.get("code", 0)), str(obj.get("message", "")))
        self.stats.events += 1
        self._rv = obj["metadata"]["resourceVersion"]
        if kind == "BOOKMARK":
            return
        key = object_key(obj)
        if kind == "DELETED":
            self._sink.delete(key)
            return
        fact = self._safe_extract(obj)
        if fact is None:
            self._sink.delete(key)
        else:
            self._sink.upsert(key, fact)


async def _json_or_raise(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        raw = await resp.read()
    finally:
        resp.release()
    if resp.status == 410:
        raise Gone()
    if resp.status >= 300:
        try:
            message = json.loads(raw).get("message", "")
        except ValueError:
            message = raw[:200].decode(errors="replace")
        raise WatchFailed(resp.status, message)
    body: dict[str, Any] = orjson.loads(raw)
    return body


def _describe(e: BaseException) -> str:
    """A short, credential-free description of a connection error."""
    if isinstance(e, WatchFailed):
        return str(e)
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, aiohttp.ClientPayloadError):
        return "the stream broke off"
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot connect to {e.host}:{e.port}: {e.strerror or type(e.os_error).__name__}"
    return f"{type(e).__name__}: {e}"
