"""A broadcast "something changed" signal that any number of waiters can follow.

An asyncio.Event cleared by one consumer is lost to the others; here each waiter remembers the
version it has seen and waits for a newer one, so pool daemons and the placement queue all wake
on every change without stealing it from each other.
"""

from __future__ import annotations

import asyncio
import contextlib


class Signal:
    def __init__(self) -> None:
        self.version = 0
        self._waiter: asyncio.Future[None] | None = None

    def fire(self) -> None:
        self.version += 1
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        self._waiter = None

    async def wait_past(self, seen: int, patience: float | None = None) -> int:
        """Wait until the version is newer than `seen` (or `patience` passes); return the version."""
        if self.version > seen:
            return self.version
        if self._waiter is None:
            self._waiter = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._waiter), patience)
        return self.version
