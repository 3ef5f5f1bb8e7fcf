"""Leadership on a thread of its own: block until the Lease is held, end the process when it is lost.

This is controller-runtime's pattern (its manager runs controllers only after the elector's
OnStartedLeading, and its OnStoppedLeading exits the process) made independent of the
operator's own event loop: the elector runs on a dedicated thread with its own event loop and
its own hub client, so a busy or blocked operator loop can neither delay a renewal nor delay the
exit when the renew deadline passes. Losing the Lease calls `on_lost` at once (in the operator:
log and `os._exit`, no cleanup that could still write), so nothing this replica does can overlap
the next leader; Kubernetes restarts it and it comes back as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.aio.client import CoordinationV1Api

from computenet.hub import connect
from computenet.leader.election import Timing
from computenet.leader.lease import LeaseElector, LeaseLock

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseSettings:
    kubeconfig: str
    """The hub's kubeconfig ("" = $KUBECONFIG, else in-cluster)."""
    namespace: str
    name: str
    identity: str
    timing: Timing


class Leadership:
    """Runs one elector on a daemon thread. `on_lost` is called from that thread.

    It is called when the renew deadline passes, and when the thread ends for any other reason
    (the hub client could not be built, a bug) unless `release` ended it: a replica whose elector
    is gone must not keep running.
    """

    def __init__(self, lease: LeaseSettings, on_lost: Callable[[str], None]) -> None:
        self.lease = lease
        self._on_lost = on_lost
        self._acquired = threading.Event()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._elector: LeaseElector | None = None
        self._renewing: asyncio.Task[None] | None = None
        self._released = False
        self._release_done: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def campaigning(self) -> bool:
        """The elector has read the Lease at least once (it knows whom it waits for)."""
        elector = self._elector
        return elector is not None and elector.observation.at is not None

    @property
    def holding(self) -> bool:
        return self._acquired.is_set() and not self._released

    async def acquired(self) -> None:
        """Return once the Lease is held (the waiting loop stays free to serve health checks)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self._acquired.is_set():
                return
            self._waiters.append((loop, waiter))
        await waiter

    def _now_holding(self) -> None:
        with self._lock:
            self._acquired.set()
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(_resolve, waiter)

    def release(self, timeout_s: float = 5.0) -> bool:
        """Stop renewing and hand the Lease over; only once every piece of guarded work has stopped."""
        loop = self._loop
        if loop is None or not self._thread.is_alive():
            return False
        future = asyncio.run_coroutine_threadsafe(self._release(), loop)
        try:
            return future.result(timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            return False

    def join(self, timeout_s: float) -> bool:
        """Wait for the election thread to end; True if it did."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        reason = "the leader election thread ended"
        try:
            asyncio.run(self._main())
            reason = f"lost Lease {self.lease.namespace}/{self.lease.name}: renew deadline passed"
        except Exception as e:
            logger.exception("leader election failed")
            reason = f"leader election failed: {type(e).__name__}: {e}"
        if not self._released:
            self._on_lost(reason)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._release_done = asyncio.Event()
        client = await connect(self.lease.kubeconfig)
        try:
            lock = LeaseLock(CoordinationV1Api(client), self.lease.namespace, self.lease.name)
            elector = self._elector = LeaseElector(lock, self.lease.identity, self.lease.timing)
            await elector.acquire()
            self._now_holding()
            self._renewing = asyncio.create_task(elector.renew(), name="renew leader Lease")
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            if self._released:
                await self._release_done.wait()  # the client is still needed to write the release
        finally:
            await client.close()  # type: ignore[no-untyped-call]

    async def _release(self) -> bool:
        self._released = True
        try:
            if self._renewing is None or self._elector is None:
                return False  # still campaigning: nothing held, nothing to hand over
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            return await self._elector.release()
        finally:
            if self._release_done is not None:
                self._release_done.set()


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
