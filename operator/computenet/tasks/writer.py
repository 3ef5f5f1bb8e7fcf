"""Coalesced status writes for many objects: the latest status per object wins.

A burst of transitions for one task (Dispatching, then Running a few milliseconds later) costs
one write when the writer is busy, and a burst of a thousand tasks is written by a bounded pool
of workers instead of a thousand concurrent requests. `flush` waits for a given object's status
to be on the hub, for the one write that must land before anything else happens (the dispatch
intent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import TASK
from computenet.hub import Hub

logger = logging.getLogger(__name__)

WORKERS = 16


class StatusWriter:
    def __init__(self, hub: Hub, workers: int = WORKERS) -> None:
        self._hub = hub
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._done: dict[tuple[str, str], asyncio.Event] = {}
        self._queued: set[tuple[str, str]] = set()
        self._in_flight: set[tuple[str, str]] = set()
        self._held: dict[tuple[str, str], asyncio.TimerHandle] = {}
        """Writes waiting for a later change to ride along (`write(..., delay=)`)."""
        self._tasks = [asyncio.create_task(self._work(), name=f"status writer {i}") for i in range(workers)]

    def write(self, namespace: str, name: str, status: Mapping[str, Any], delay: float = 0.0) -> None:
        """Queue a status; with `delay`, hold it that long so a change right after costs no extra write.

        A write without delay releases a held one at once (the newest status goes, once).
        """
        key = (namespace, name)
        self._pending[key] = dict(status)
        self._done.setdefault(key, asyncio.Event()).clear()
        held = self._held.get(key)
        if held is not None and not delay:
            held.cancel()
            self._release(key)
            return
        self._enqueue(key, delay)

    def _release(self, key: tuple[str, str]) -> None:
        self._held.pop(key, None)
        self._queue.put_nowait(key)

    def _enqueue(self, key: tuple[str, str], delay: float = 0.0) -> None:
        # One write per object at a time: a newer status waits for the one on the wire, so writes
        # land in order and an older status can never overwrite a newer one.
        if key in self._queued or key in self._in_flight:
            return
        self._queued.add(key)
        if delay:
            self._held[key] = asyncio.get_running_loop().call_later(delay, self._release, key)
        else:
            self._queue.put_nowait(key)

    async def flush(self, namespace: str, name: str) -> None:
        """Wait until the last status given for this object was written (or dropped as gone)."""
        event = self._done.get((namespace, name))
        if event is not None:
            await event.wait()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            status = self._pending.pop(key, None)
            if status is None:
                continue
            self._in_flight.add(key)
            try:
                retry = await self._write(key, status)
            finally:
                self._in_flight.discard(key)
            if retry:
                self._pending.setdefault(key, status)  # unless a newer status arrived meanwhile
                self._enqueue(key, delay=1.0)
            elif key in self._pending:
                self._enqueue(key)
            else:
                event = self._done.pop(key, None)
                if event is not None:
                    event.set()

    async def _write(self, key: tuple[str, str], status: dict[str, Any]) -> bool:
        """Write one status; True when it should be retried."""
        namespace, name = key
        try:
            await self._hub.replace_status(TASK, name, status, namespace=namespace)
        except ApiException as e:
            if e.status in (400, 422):
                # The hub refuses this status for good (a bug): say so loudly, do not spin on it.
                logger.error("status of %s/%s refused (HTTP %s): %s", namespace, name, e.status, e.body)
                return False
            if e.status == 404:
                return False
            logger.warning("status of %s/%s not written (HTTP %s); retrying", namespace, name, e.status)
            return True
        except Exception as e:  # a dropped connection must never lose a status nor stop a worker
            logger.warning("status of %s/%s not written (%s); retrying", namespace, name, type(e).__name__)
            return True
        return False

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
