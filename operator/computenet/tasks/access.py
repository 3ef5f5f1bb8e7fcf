"""How the lifecycle modules reach members: connections by identifier, workload clients, watched workloads.

Push and pull members are reached the same way, through :class:`MemberConnection`: a pull member's
workloads are created through ComputeWork on the hub and watched through its work's status.
"""

from __future__ import annotations

import datetime as dt

from computenet.api.conditions import Cond
from computenet.api.constants import ConditionType, Reason
from computenet.api.identifier import ComputeIdentifierSpec, Pricing
from computenet.api.task import RemoteRef
from computenet.dispatch.jobs import JobFacts
from computenet.dispatch.naming import label_value
from computenet.dispatch.remote import RemoteWorkloads
from computenet.events import EventRecorder
from computenet.members.connection import MemberConnection
from computenet.members.identifiers import IdentifierSet
from computenet.tasks.lifecycle.startup import StartView
from computenet.tasks.lifecycle.vocabulary import EVENT_MESSAGE_LIMIT, clip


class MemberAccess:
    def __init__(self, identifiers: IdentifierSet, events: EventRecorder | None = None) -> None:
        self.identifiers = identifiers
        self.events = events
        self._said: dict[str, str] = {}

    def setup_problem(self, identifier: str, reason: str, message: str) -> None:
        item = self.identifiers.items.get(identifier)
        if item is None or self._said.get(identifier) == message:
            return
        self._said[identifier] = message
        item.dispatchable = Cond(ConditionType.DISPATCHABLE, False, reason, clip(message, EVENT_MESSAGE_LIMIT))
        item.mark_dirty()
        if self.events is not None and item.ref is not None:
            self.events.record(item.ref, reason, clip(f"cannot dispatch here: {message}", EVENT_MESSAGE_LIMIT), True)

    def setup_works(self, identifier: str) -> None:
        item = self.identifiers.items.get(identifier)
        if item is None or (item.dispatchable is not None and item.dispatchable.status is True):
            return
        self._said.pop(identifier, None)
        item.dispatchable = Cond(
            ConditionType.DISPATCHABLE, True, Reason.DISPATCHING_WORKS, "the last workload dispatched here was created"
        )
        item.mark_dirty()

    def connection_of(self, identifier: str | None) -> MemberConnection | None:
        item = self.identifiers.items.get(identifier or "")
        return item.connection if item is not None else None

    def kept(self, identifier: str) -> bool:
        """Whether a connection the identifier no longer has is kept for its work (``IdentifierSet.draining``)."""
        return identifier in self.identifiers.draining

    @staticmethod
    def remote(conn: MemberConnection) -> RemoteWorkloads:
        """What creates, reads and deletes a member's workloads (see ``MemberConnection.workloads``)."""
        return conn.workloads()

    def connections(self) -> list[MemberConnection]:
        """Every member connection, push and pull."""
        return self.identifiers.registry.connections

    def jobs_of(self, task_uid: str) -> list[tuple[MemberConnection, JobFacts]]:
        """Every Job of a task across all members, as their watches report them."""
        out: list[tuple[MemberConnection, JobFacts]] = []
        for conn in self.identifiers.registry.connections:
            if conn.jobs is not None:
                out.extend((conn, j) for j in conn.jobs.of_task(task_uid))
        return out

    # ---- the dispatcher's view (tasks.dispatcher.Members) ----

    def spec_of(self, identifier: str) -> ComputeIdentifierSpec | None:
        item = self.identifiers.items.get(identifier)
        if item is None or item.connection is None or identifier in self.identifiers.removed:
            return None
        return item.spec

    def specs(self) -> list[tuple[str, ComputeIdentifierSpec]]:
        """Every identifier's spec, by name (the regions' stores, for staging)."""
        return [(name, item.spec) for name, item in self.identifiers.items.items() if item.spec is not None]

    def creator_of(self, identifier: str) -> RemoteWorkloads | None:
        conn = self.connection_of(identifier)
        return self.remote(conn) if conn is not None else None

    def existing(self, identifier: str, task_uid: str, attempt: int) -> RemoteRef | None:
        conn = self.connection_of(identifier)
        store = conn.jobs if conn is not None else None
        if store is None:
            return None
        label = label_value(identifier)
        for job in store.of_task(task_uid):
            if not job.uid:
                continue  # a pull member's work whose workload the agent has not created yet: dispatch waits for it
            if job.attempt == attempt and job.identifier == label and not job.deleting:
                return job.ref(identifier)
        return None

    def unschedulable(
        self, identifier: str, task_uid: str, attempt: int, now: dt.datetime, grace_s: float
    ) -> str | None:
        """Why a pod of this attempt has found no node for longer than `grace_s`, or None."""
        conn = self.connection_of(identifier)
        if conn is None:
            return None
        for pod in conn.state.pods_of_task(task_uid):
            since = pod.unschedulable_since
            if pod.attempt == str(attempt) and since is not None and (now - since).total_seconds() > grace_s:
                waited = (now - since).total_seconds()
                return f"a pod found no node for {waited:.0f}s: {pod.unschedulable_message}"
        return None

    def start_view(self, identifier: str, job: JobFacts, created: dt.datetime) -> StartView | None:
        """What the member shows of the start of `job`, the current attempt's.

        None while the member's picture is not current (a watch failing, an agent's report stale):
        no verdict is given on such a picture.
        """
        conn = self.connection_of(identifier)
        if conn is None or conn.stale() or not conn.health.reachable:
            return None
        if not job.has_pods:
            return StartView(created, ())
        attempt = str(job.attempt)
        pods = [p.waiting for p in conn.state.pods_of_task(job.task_uid) if p.attempt == attempt]
        return StartView(created, pods or ("",))

    def pricing_of(self, identifier: str) -> Pricing | None:
        item = self.identifiers.items.get(identifier)
        return item.spec.pricing if item is not None and item.spec is not None else None
