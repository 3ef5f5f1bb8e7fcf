"""The task lifecycle, assembled: scheduler, dispatcher, follower and failover around one executor.

Each module has one concern and talks to the others only through lifecycle events delivered to
the executor (``tasks/executor.py``), which runs the pure transition (``tasks/lifecycle.py``) and
its effects. This class only wires them together and owns the background tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from computenet.api.constants import TASK
from computenet.api.pool import ComputePoolSpec
from computenet.members.identifiers import IdentifierSet
from computenet.metrics import Metrics
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook, utcnow
from computenet.tasks.cleanup import Cleanup
from computenet.tasks.demand import Datasets
from computenet.tasks.dispatcher import Dispatcher, HubObjects
from computenet.tasks.executor import ChargeData, Executor, Ports
from computenet.tasks.failover import Failover
from computenet.tasks.follower import Follower
from computenet.tasks.lifecycle import Event, Outcome
from computenet.tasks.placement_view import PlacementView
from computenet.tasks.record import TaskRecord
from computenet.tasks.scheduler import Scheduler
from computenet.tasks.staging.stager import HubData, Stager
from computenet.tasks.tenancy import Tenancy

logger = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
"""How often the checks of dispatched tasks run at most (see ``TaskController._check_dispatched``)."""


class TaskController:
    def __init__(
        self,
        book: TaskBook,
        identifiers: IdentifierSet,
        view: PlacementView,
        metrics: Metrics,
        hub_id: str,
        pool_of: Callable[[str], ComputePoolSpec | None],
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        access: MemberAccess | None = None,
        tenancy: Tenancy | None = None,
        hub_objects: HubObjects | None = None,
        image: str = "ghcr.io/computenet/computenet:latest",
        datasets: Datasets | None = None,
        charge: ChargeData | None = None,
    ) -> None:
        """`access` reaches the members; `tenancy` admits through ComputeQueues (None: no queues)."""
        self.book = book
        self.identifiers = identifiers
        self.view = view
        self.metrics = metrics
        self.clock = clock
        self._background: set[asyncio.Task[None]] = set()
        self._checked_at = float("-inf")
        self.access = access if access is not None else MemberAccess(identifiers, book.events)
        self.executor = Executor(book, view.assumptions, metrics, clock)
        self.stager = (
            Stager(hub_objects, self.access.specs, image, self.handle, metrics, clock, charge)
            if isinstance(hub_objects, HubData)
            else None
        )
        self.dispatcher = Dispatcher(
            self.access, hub_id, self.handle, self._flush, self.spawn, hub_objects, stager=self.stager
        )
        self.follower = Follower(
            book, self.access, self.handle, self.spawn, clock, self.stager.outputs if self.stager else None
        )
        self.failover = Failover(book, identifiers, self.access, self.handle, self.spawn, clock)
        self.scheduler = Scheduler(
            book,
            identifiers,
            view,
            metrics,
            pool_of,
            self.executor,
            clock,
            before_pass=self._check_dispatched,
            tenancy=tenancy,
            datasets=datasets,
        )
        self.cleanup = Cleanup(book, self.access, self.handle, self.executor.forget, clock, hub_id)
        self.executor.ports = Ports(
            dispatch=self.dispatcher.start,
            fence=self.follower.follow,
            recheck=self.failover.check,
            release=self._clean_staging,
            charge=charge,
        )

    def _check_dispatched(self) -> None:
        """Failover and follower checks of every dispatched task, before a pass, at most every ``CHECK_EVERY_S``.

        Their bounds are seconds to minutes long, while a burst runs a pass every few milliseconds (these
        checks took over a quarter of the main thread in a 1,000-task burst, by py-spy). Member changes
        still reach the failover at once (``check_members``).
        """
        now = asyncio.get_running_loop().time()
        if now - self._checked_at < CHECK_EVERY_S:
            return
        self._checked_at = now
        self.failover.check_all()
        self.follower.check_all()

    def _clean_staging(self, record: TaskRecord) -> None:
        """The attempt ended: remove its mover Jobs and Secret copies from the member it staged in."""
        data = record.status.data
        if self.stager is None or data is None or data.identifier is None:
            return
        conn = self.access.connection_of(data.identifier)
        spec = self.access.spec_of(data.identifier)
        if conn is None or spec is None:
            return
        member = self.access.remote(conn)
        self.spawn(self.stager.clean(record, member, spec.connection.target_namespace), f"clean staging {record.key}")

    def handle(self, record: TaskRecord, event: Event) -> Outcome:
        return self.executor.handle(record, event)

    async def _flush(self, record: TaskRecord) -> None:
        await self.book.writer.flush(TASK, record.namespace, record.name)

    def spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def run(self) -> None:
        await self.scheduler.run()

    def on_jobs_changed(self, task_uid: str) -> None:
        self.follower.on_jobs_changed(task_uid)

    def check_members(self) -> None:
        self.failover.check_all()

    async def close(self) -> None:
        self.executor.close()
        for t in list(self._background):
            t.cancel()
        for t in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await t
