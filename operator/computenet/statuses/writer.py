"""The one status writer of the hub: every kind, keyed by (kind, namespace, name), typed models in.

Coalesced: the latest status per object wins. A burst of transitions for one task (Dispatching,
then Running a few milliseconds later) costs one write when the writer is busy, and a burst of a
thousand tasks is written by a bounded pool of workers instead of a thousand concurrent requests.
Writes of one object never overlap and land in order. A write the hub drops (a dropped connection,
a 5xx, a 409) is tried again a second later unless a newer status replaced it; a 404 (the object
is gone) or a 400/422 (a status the CRD refuses, a bug: logged as an error) ends it. `flush` waits
for an object's last given status to be written, for the one write that must land before anything
else happens (a task's dispatch intent), and tells whether it was; a status someone waits for goes
ahead of the others (a burst's dispatch intents before the Running statuses of tasks already
dispatched), and a held one is released at once.

Which statuses are due at all (urgent ones at once, counts within a shared budget) is decided by the
passes that compute them (``statuses.budget``): this writer only carries them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kubernetes.aio.client.exceptions import ApiException
from pydantic import BaseModel

from computenet.api.constants import KindInfo
from computenet.hub import Hub

logger = logging.getLogger(__name__)

WORKERS = 16
URGENT, NORMAL = 0, 1
"""The writer's lanes: a status someone waits for (`StatusWriter.flush`) goes before the rest."""

Key = tuple[KindInfo, str, str]
"""(kind, namespace, name); the namespace is "" for a cluster-scoped kind."""


def status_body(status: BaseModel) -> dict[str, Any]:
    """A typed status as the hub stores it: camelCase, absent fields left out."""
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


class StatusWrites(Protocol):
    """What the passes and controllers need of the one writer (:class:`StatusWriter`)."""

    def write(
        self, kind: KindInfo, namespace: str | None, name: str, status: BaseModel, delay: float = 0.0
    ) -> None: ...
    def flush(self, kind: KindInfo, namespace: str | None, name: str) -> Awaitable[bool]: ...


class _Waiter:
    """Who waits for an object's pending status (`flush`), and whether it was written in the end."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.written = False

    async def wait(self) -> bool:
        await self.event.wait()
        return self.written


async def _nothing_pending() -> bool:
    return True


class StatusWriter:
    def __init__(
        self, hub: Hub, workers: int = WORKERS, waited: Callable[[KindInfo, float], None] | None = None
    ) -> None:
        """`waited(kind, seconds)` is told, for each status written, how long it waited from due to written."""
        self._hub = hub
        self._waited = waited
        self._due: dict[Key, float] = {}
        """When each queued key became due (its first `_put` since it was last written)."""
        self._pending: dict[Key, BaseModel] = {}
        """The newest status of each key, dumped only when written: most are replaced before (a task's
        transitions come faster than its writes), and a dump per change was 2% of a burst's CPU."""
        self._queue: asyncio.PriorityQueue[tuple[int, int, Key]] = asyncio.PriorityQueue()
        """(lane, order, key): lane 0 for statuses someone waits for (`flush`), 1 for the rest."""
        self._order = itertools.count()
        self._awaited: set[Key] = set()
        """Keys whose pending status someone waits for (`flush`): their writes take the urgent lane."""
        self._done: dict[Key, _Waiter] = {}
        self._queued: dict[Key, int | None] = {}
        """Keys waiting to be written -> the order of their one live entry in the queue (None while held).

        `flush` puts a key again in the urgent lane: the entry left behind no longer matches and is
        skipped, as is any entry of a held key."""
        self._in_flight: set[Key] = set()
        self._held: dict[Key, asyncio.TimerHandle] = {}
        """Writes waiting for a later change to ride along (`write(..., delay=)`)."""
        self._tasks = [asyncio.create_task(self._work(), name=f"status writer {i}") for i in range(workers)]
        self.writes = 0
        """Writes made since start, all kinds (for tests and the curious)."""

    def write(self, kind: KindInfo, namespace: str | None, name: str, status: BaseModel, delay: float = 0.0) -> None:
        """Queue `status`; with `delay`, hold it that long so a change right after costs no extra write.

        A write without delay releases a held one at once (the newest status goes, once).
        """
        key = (kind, namespace or "", name)
        self._pending[key] = status
        if key not in self._done:
            self._done[key] = _Waiter()
        held = self._held.get(key)
        if held is not None and not delay:
            held.cancel()
            self._release(key)
            return
        self._enqueue(key, delay)

    def _release(self, key: Key) -> None:
        self._held.pop(key, None)
        self._put(key)

    def _put(self, key: Key) -> None:
        self._due.setdefault(key, asyncio.get_running_loop().time())
        lane = URGENT if key in self._awaited else NORMAL
        order = next(self._order)
        self._queued[key] = order
        self._queue.put_nowait((lane, order, key))

    def _enqueue(self, key: Key, delay: float = 0.0) -> None:
        # One write per object at a time: a newer status waits for the one on the wire, so writes
        # land in order and an older status can never overwrite a newer one.
        if key in self._queued or key in self._in_flight:
            return
        if delay:
            self._queued[key] = None
            self._held[key] = asyncio.get_running_loop().call_later(delay, self._release, key)
        else:
            self._put(key)

    def flush(self, kind: KindInfo, namespace: str | None, name: str) -> Awaitable[bool]:
        """Wait until the last status given for this object was written (True) or dropped (False: gone, refused).

        The status waited for is the one pending when `flush` is called (True at once when none is).
        """
        key = (kind, namespace or "", name)
        waiter = self._done.get(key)
        if waiter is None:
            return _nothing_pending()
        if key not in self._awaited:
            self._awaited.add(key)
            held = self._held.get(key)
            if held is not None:
                held.cancel()
                self._release(key)
            elif key in self._queued:
                self._put(key)  # ahead of the others; the entry left behind finds it written
        return waiter.wait()

    async def _work(self) -> None:
        while True:
            _, order, key = await self._queue.get()
            if self._queued.get(key) != order:
                continue  # an entry left behind by `flush` (the key went in the urgent lane), or the key is held
            del self._queued[key]
            status = self._pending.pop(key, None)
            if status is None:
                continue
            self._in_flight.add(key)
            try:
                retry, written = await self._write(key, status_body(status))
            finally:
                self._in_flight.discard(key)
            if retry:
                self._pending.setdefault(key, status)  # unless a newer status arrived meanwhile
                self._enqueue(key, delay=1.0)
                continue
            due = self._due.pop(key, None)  # a retried status keeps its first due time
            if written and due is not None and self._waited is not None:
                self._waited(key[0], asyncio.get_running_loop().time() - due)
            if key in self._pending:
                self._enqueue(key)
            else:
                waiter = self._done.pop(key, None)
                self._awaited.discard(key)
                if waiter is not None:
                    waiter.written = written
                    waiter.event.set()

    async def _write(self, key: Key, status: dict[str, Any]) -> tuple[bool, bool]:
        """Write one status: (retry, written)."""
        kind, namespace, name = key
        where = f"{kind.kind} {namespace}/{name}" if namespace else f"{kind.kind} {name}"
        try:
            await self._hub.replace_status(kind, name, status, namespace=namespace or None)
        except ApiException as e:
            if e.status in (400, 422):
                # The hub refuses this status for good (a bug): say so loudly, do not spin on it.
                logger.error("status of %s refused (HTTP %s): %s", where, e.status, e.body)
                return False, False
            if e.status == 404:
                return False, False
            logger.warning("status of %s not written (HTTP %s); retrying", where, e.status)
            return True, False
        except Exception as e:  # a dropped connection must never lose a status nor stop a worker
            logger.warning("status of %s not written (%s); retrying", where, type(e).__name__)
            return True, False
        self.writes += 1
        return False, True

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
