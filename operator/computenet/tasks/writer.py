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
        self._tasks = [asyncio.create_task(self._work(), name=f"status writer {i}") for i in range(workers)]

    def write(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        key = (namespace, name)
        first = key not in self._pending
        self._pending[key] = dict(status)
        self._done.setdefault(key, asyncio.Event()).clear()
        if first:
            self._queue.put_nowait(key)

    async def flush(self, namespace: str, name: str) -> None:
        """Wait until the last status given for this object was written (or dropped as gone)."""
        event = self._done.get((namespace, name))
        if event is not None:
            await event.wait()

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            status = self._pending.pop(key, None)
            if status is None:
                continue
            namespace, name = key
            try:
                await self._hub.replace_status(TASK, name, status, namespace=namespace)
            except ApiException as e:
                if e.status in (400, 422):
                    # The hub refuses this status for good (a bug): say so loudly, do not spin on it.
                    logger.error("status of %s/%s refused (HTTP %s): %s", namespace, name, e.status, e.body)
                elif e.status != 404:
                    logger.warning("status of %s/%s not written (HTTP %s); retrying", namespace, name, e.status)
                    self._retry(key, status)
                    continue
            except Exception as e:  # a dropped connection must never lose a status nor stop a worker
                logger.warning("status of %s/%s not written (%s); retrying", namespace, name, type(e).__name__)
                self._retry(key, status)
                continue
            if key not in self._pending:
                event = self._done.pop(key, None)
                if event is not None:
                    event.set()

    def _retry(self, key: tuple[str, str], status: dict[str, Any]) -> None:
        if key not in self._pending:
            self._pending[key] = status
            loop = asyncio.get_running_loop()
            loop.call_later(1.0, self._queue.put_nowait, key)

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
