"""A pull member as the hub sees it: a member connection fed by its agent instead of by watches.

The hub holds no credential for a pull member. Its agent writes a report (the node-level summary)
into its ComputeAgent, renews a Lease, and mirrors each Job's status into the attempt's
ComputeWork; :mod:`computenet.members.pull_feed` routes those to the agent's
:class:`PullConnection`. The connection has the shape of a push member's
:class:`~computenet.members.connection.MemberConnection` (a ``MemberState``, a ``Health``, a
``jobs`` store of ``JobFacts``), so identifiers, placement, dispatch, the follower and failover
read both kinds alike; only the client that writes work differs (:attr:`works`).

Health is the agent's heartbeat, judged as kube-controller-manager judges a node's: the hub notes on
its own clock when it saw the Lease's renew time or the report's time move (a node's Lease and its
status both count there), and the agent is lost once that is longer ago than the Lease's duration
(clocks of agent and hub are never compared). An agent that has just written a report needs no
Lease renewal besides, so a busy member costs the hub one write per report interval, not two.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from kubernetes.aio.client import ApiClient

from computenet.api.constants import Reason
from computenet.api.fields import format_time
from computenet.dispatch.remote import RemoteWorkloads
from computenet.dispatch.store import JobStore
from computenet.members.connection import Clock, MemberConnection, utcnow
from computenet.members.dra import node_devices
from computenet.members.dra_state import with_devices
from computenet.members.facts import NodeFacts
from computenet.members.pull_works import WorkClient
from computenet.members.report import ReportFacts
from computenet.members.report_dra import DraFacts
from computenet.members.state import SummarySink

__all__ = ["LeaseSeen", "PullConnection", "lease_expired", "observe_lease", "observe_report"]


@dataclass(frozen=True)
class LeaseSeen:
    """What the hub knows of an agent's heartbeat.

    Its Lease's renew time and duration, its latest report's time, and when (hub clock) the hub last
    saw either move.
    """

    renew_time: dt.datetime | None
    duration_s: float
    probe_time: dt.datetime | None
    report_time: dt.datetime | None = None


def observe_lease(
    previous: LeaseSeen | None, renew_time: dt.datetime | None, duration_s: float, now: dt.datetime
) -> LeaseSeen:
    """Take in a Lease as read from the hub.

    The rule of ``tryUpdateNodeHealth`` in ``pkg/controller/nodelifecycle/node_lifecycle_controller.go``
    (Kubernetes v1.36.3): a Lease whose renew time is later than the one saved moves the probe
    timestamp to the observer's now; anything else leaves it where it was.
    """
    reported = previous.report_time if previous is not None else None
    if renew_time is not None and (previous is None or previous.renew_time is None or previous.renew_time < renew_time):
        return LeaseSeen(renew_time, duration_s, now, reported)
    probe = previous.probe_time if previous is not None else None
    kept = previous.renew_time if previous is not None else None
    return LeaseSeen(kept, duration_s, probe, reported)


def observe_report(previous: LeaseSeen | None, report_time: dt.datetime, now: dt.datetime) -> LeaseSeen | None:
    """Take in a report as a heartbeat: a report time later than the one saved moves the probe time.

    Only once the Lease has been seen (it gives the duration): the agent creates its Lease when it
    starts, and a report alone never makes an agent Reachable.
    """
    if previous is None or previous.renew_time is None:
        return previous
    if previous.report_time is None or previous.report_time < report_time:
        return LeaseSeen(previous.renew_time, previous.duration_s, now, report_time)
    return previous


def lease_expired(seen: LeaseSeen | None, now: dt.datetime) -> bool:
    """Whether the agent is lost: no renewal observed within the Lease's duration (same source, same rule)."""
    if seen is None or seen.probe_time is None:
        return True
    return now > seen.probe_time + dt.timedelta(seconds=seen.duration_s)


class PullConnection(MemberConnection):
    """One agent's member as the hub tracks it; `state`, `health` and `jobs` are fed by the pull feed."""

    def __init__(self, namespace: str, name: str, hub_client: ApiClient, clock: Clock = utcnow) -> None:
        super().__init__(f"agent:{namespace}/{name}", f"agent {namespace}/{name}", hub_client, clock, watch=False)
        self.namespace = namespace
        self.name = name
        self.jobs: JobStore = JobStore()
        self.works = WorkClient(hub_client, namespace, name, self.jobs)
        self.lease: LeaseSeen | None = None
        self.last_report: dt.datetime | None = None
        self._summary = SummarySink(self.state)
        self._reported_stale = ""
        self._reported_dra: str | None = None
        """Why the agent does not know its member's DRA devices ("" while it does); None until it reports them."""

    syncing_message = "waiting for the agent's first report"
    serves_logs = False
    stages_data = False

    def watch_workloads(self, label_selector: str) -> JobStore:
        """The agent's workloads, as their ComputeWork status on the hub tells them (the pull feed fills it)."""
        return self.jobs

    def workloads(self) -> RemoteWorkloads:
        """ComputeWork on the hub, which the agent carries out in its member."""
        return self.works

    @property
    def synced(self) -> bool:
        return self.last_report is not None and self.jobs.synced

    def stale(self) -> str:
        """What the agent's latest report says is not current in its picture of the member, or ""."""
        return self._reported_stale and f"the agent reports: {self._reported_stale}"

    def dra_problem(self) -> str:
        """Why the member's DRA devices are not known: the agent does not report them, or says why it cannot."""
        if self._reported_dra is None:
            return "the member's agent does not report DRA devices yet"
        return self._reported_dra and f"the agent reports: {self._reported_dra}"

    def _sync_kind_watches(self) -> None:
        """Nothing to watch: the agent follows its member's kinds, and its works' status tells the hub."""

    def start(self) -> None:
        """Nothing to start: the pull feed delivers reports, Leases and works."""

    async def stop(self) -> None:
        """Nothing to stop: the hub client is the operator's, not this member's."""

    # ---- reports ----

    def apply_report(self, report: ReportFacts) -> bool:
        """Bring the member state to what the report says, telling listeners only about nodes that changed.

        Returns whether the report was news: one seen before (a re-list delivers it again) or older
        than the one held changes nothing.
        """
        if self.last_report is not None and report.report_time <= self.last_report:
            return False  # seen already, or older than what is held (a re-list): keep the newer
        nodes = report.nodes
        catalog_moved = False
        if report.dra is not None:
            nodes, catalog_moved = self._apply_dra(report.dra, nodes)
        if self.last_report is None:
            self._summary.replace(nodes, report.requested, report.pods)
        else:
            self._summary.update(nodes, report.requested, report.pods)
        if catalog_moved:
            self.state._changed(())
        problem = self.dra_problem()
        self._reported_dra = report.dra.problem if report.dra is not None else None
        if self.dra_problem() != problem:
            self._tell_health()
        self.last_report = report.report_time
        self._reported_stale = report.stale
        self.set_workload_kinds(report.workload_kinds)  # an agent that does not say: not known, as before discovery
        beat = observe_report(self.lease, report.report_time, self._clock())
        if beat is not self.lease:
            self.lease = beat
            self.check_lease()
        elif self._note_currency():
            self._tell_health()
        return True

    def _apply_dra(self, dra: DraFacts, nodes: dict[str, NodeFacts]) -> tuple[dict[str, NodeFacts], bool]:
        """Take the report's DRA tables into `state.dra` as the push sinks keep them (`dra_state`).

        Returns the report's nodes carrying their devices (`dra.node_devices`), for the summary to
        compare and tell, and whether the classes changed (the catalog's version then moves).
        """
        held = self.state.dra
        held.slices = dict(dra.slices)
        held.claims = dict(dra.claims)
        held.devices = node_devices(held.slices.values(), (d for ids in held.claims.values() for d in ids))
        moved = held.classes != dra.classes
        if moved:
            held.classes = dict(dra.classes)
            held.catalog_version += 1
        return {name: with_devices(node, held.devices.get(name, ())) for name, node in nodes.items()}, moved

    # ---- health: the agent's Lease ----

    def observe_lease(self, renew_time: dt.datetime | None, duration_s: float) -> None:
        self.lease = observe_lease(self.lease, renew_time, duration_s, self._clock())
        self.check_lease()

    def lease_gone(self) -> None:
        """The Lease was deleted: nothing renews it any more; it expires from the last renewal seen."""
        self.check_lease()

    def check_lease(self) -> None:
        now = self._clock()
        if not lease_expired(self.lease, now):
            self._set_health(True, Reason.REACHABLE, "the agent renews its Lease (or reports)")
            return
        where = f"Lease {self.namespace}/{self.name}"
        if self.lease is None or self.lease.probe_time is None:
            self._set_health(False, Reason.AGENT_LEASE_EXPIRED, f"waiting for the agent to renew its {where}")
            return
        seen = format_time(self.lease.probe_time)
        self._set_health(
            False,
            Reason.AGENT_LEASE_EXPIRED,
            f"the agent has neither renewed its {where} nor reported within its duration of "
            f"{self.lease.duration_s:.0f}s (last heartbeat seen at {seen})",
        )
