"""The agent process: its member's watches, and two loops against the hub (work; report and Lease).

Everything the agent writes to the hub is in its own namespace: the status of its ComputeWork, the
status (report) of its ComputeAgent, and its Lease. Reports are coalesced: at most one write per
report interval, and none when nothing placement reads has changed. A report is a heartbeat too
(the hub counts it as kube-controller-manager counts a node's status beside its Lease), so the
Lease is renewed only when nothing was written for a renew interval: with the defaults an agent
writes to the hub at most once per 25 s whether its member is busy or quiet, and 1,000 agents at
most 40 times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from kubernetes.aio.client import ApiClient, CoordinationV1Api, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet import __version__
from computenet.agent.discovery import MemberKinds, discover
from computenet.agent.kinds import AgentKinds, Resource, kind_watches, refusal
from computenet.agent.plan import (
    WARNING,
    Create,
    Delete,
    JobView,
    MarkGone,
    Mirror,
    WorkView,
    plan,
    podless,
    work_view,
    workload_view,
)
from computenet.api.common import Condition
from computenet.api.conditions import Cond, set_conditions, to_json
from computenet.api.constants import AGENT, AGENT_LABEL, GROUP, VERSION, WORK, ConditionType, Reason
from computenet.api.fields import format_micro_time
from computenet.dispatch.remote import MemberAnswer, OwnerRef, RemoteJobs
from computenet.members.connection import MemberConnection, utcnow, workload_lister
from computenet.members.reflector import Reflector
from computenet.members.report import build_report, report_body
from computenet.members.report_dra import REPORTED_DRA_WATCHES
from computenet.workloads.kinds import JOB, Kind

__all__ = ["Agent", "AgentTiming"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MERGE = "application/merge-patch+json"


WARNINGS_AFTER_S = 20.0
"""A Job without a pod for this long has its member's Warning events read (the job controller
creates pods within a second, so by then a refusal has been recorded)."""
WARNINGS_EVERY_S = 30.0
DISCOVERY_EVERY_S = 30.0
"""How often the member's discovery is read (as the hub reads a push member's): a CRD installed or removed
shows this late in the agent's watches and in the kinds it reports."""
DISCOVERY_RETRY_S = 5.0
FIRST_KINDS_WAIT_S = 10.0
"""How long the first report waits for the member's discovery (a member whose discovery does not answer
is reported without its kinds, which the hub then does not judge by)."""


@dataclass(frozen=True)
class AgentTiming:
    """How often the agent writes to the hub (seconds)."""

    report_interval_s: float = 25.0
    """At most one report write per interval, and only when it changed: 1,000 agents, at most 40 writes/s."""
    lease_duration_s: int = 60
    """The Lease's duration: the hub counts the agent lost this long after the last heartbeat it saw
    (the class of OCM's ManagedCluster lease, whose leaseDurationSeconds defaults to 60)."""
    renew_interval_s: float = 25.0
    """The Lease is renewed when nothing (report or renewal) was written for this long: two heartbeats
    and some slack fit in one Lease duration."""
    resync_s: float = 10.0
    """A reconcile pass runs at least this often, besides on every change."""


class _Latest(Generic[T]):
    """A reflector sink keeping the latest facts by key and telling `changed`."""

    def __init__(self, changed: Callable[[], None]) -> None:
        self.items: dict[str, T] = {}
        self.synced = False
        self._changed = changed

    def replace(self, items: Mapping[str, T]) -> None:
        self.items = dict(items)
        self.synced = True
        self._changed()

    def upsert(self, key: str, item: T) -> None:
        self.items[key] = item
        self._changed()

    def delete(self, key: str) -> None:
        self.items.pop(key, None)
        self._changed()


class _Workloads:
    """The agent's workloads of every kind it serves, one watch sink per kind, read as one map.

    Jobs are watched from the start; every other enabled kind, built in or declared, once a work names
    it or the member's discovery shows it (``agent.kinds.kind_watches``), in one version at a time, as
    an optional watch: a kind the member does not serve (no CRD) or may not list stalls only its own
    works, never the Jobs, the other kinds or the report.
    """

    def __init__(self, kinds: Sequence[Kind], changed: Callable[[], None]) -> None:
        self.by_kind: dict[Kind, _Latest[JobView]] = {kind: _Latest(changed) for kind in kinds}
        self.optional: dict[str, tuple[Resource, _Latest[JobView], Reflector[JobView]]] = {}
        """The other kinds' watches by group resource."""

    def _sinks(self) -> list[_Latest[JobView]]:
        return [*self.by_kind.values(), *(sink for _, sink, _ in self.optional.values())]

    @property
    def items(self) -> dict[str, JobView]:
        """Workloads by ``namespace/name`` (the operator names each attempt's workload once, whatever its kind)."""
        out: dict[str, JobView] = {}
        for sink in self._sinks():
            out.update(sink.items)
        return out

    @property
    def synced(self) -> bool:
        """The Jobs' watch has listed (another kind's is waited for on its own: `waiting`)."""
        return all(sink.synced for sink in self.by_kind.values())

    def waiting(self) -> frozenset[str]:
        """Kinds whose watch has not listed yet; one the member does not serve (404) is not waited for."""
        return frozenset(gr for gr, (_, sink, _) in self.optional.items() if not sink.synced and not self.unserved(gr))

    def unserved(self, group_resource: str) -> bool:
        """Whether the member answers 404 to the list of this kind: it does not serve it (no CRD)."""
        watch = self.optional.get(group_resource)
        return watch is not None and not watch[1].synced and watch[2].stats.last_error.startswith("HTTP 404")


JOBS_ONLY = AgentKinds()
"""An agent whose provider enabled nothing besides Jobs."""


def _by_name(works: Mapping[str, WorkView]) -> dict[str, WorkView]:
    return {w.name: w for w in works.values()}


class Agent:
    """One agent: `namespace`/`name` on the hub, serving the member `member`."""

    def __init__(
        self,
        hub: ApiClient,
        member: ApiClient,
        namespace: str,
        name: str,
        timing: AgentTiming = AgentTiming(),
        clock: Callable[[], dt.datetime] = utcnow,
        kinds: AgentKinds = JOBS_ONLY,
    ) -> None:
        """`kinds`: what this agent runs besides Jobs (its member RBAC allows them); works of others are refused."""
        self.hub = hub
        self.enabled = kinds
        self.namespace = namespace
        self.name = name
        self.timing = timing
        self.clock = clock
        self.wake = asyncio.Event()
        self.conn = MemberConnection("self", member.configuration.host, member, discover=False)
        self.jobs = _Workloads((JOB,), self.wake.set)
        self.works: _Latest[WorkView] = _Latest(self.wake.set)
        self.conn.add_reflector(
            JOB.plural,
            workload_lister(member, JOB),
            functools.partial(workload_view, JOB),
            self.jobs.by_kind[JOB],
            label_selector=f"{AGENT_LABEL}={name}",
        )
        self._custom = CustomObjectsApi(hub)
        self._coordination = CoordinationV1Api(hub)
        self._remote = RemoteJobs(member)
        self._work_watch = Reflector(
            f"hub computeworks in {namespace}",
            functools.partial(
                self._custom.list_namespaced_custom_object_without_preload_content,
                GROUP,
                VERSION,
                namespace,
                WORK.plural,
            ),
            work_view,
            self.works,
            label_selector=f"{AGENT_LABEL}={name}",
        )
        self.reports_written = 0
        self._member = member
        self.member_kinds: MemberKinds | None = None
        """What the member's discovery last said of the enabled kinds; None until it first answers."""
        self._tasks: list[asyncio.Task[None]] = []
        self._podless_since: dict[str, float] = {}
        self._warned_at: dict[str, float] = {}

    async def run(self) -> None:
        """Run until cancelled."""
        self.conn.start()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._work_watch.run(), name="work watch"),
            loop.create_task(self._reconcile_loop(), name="reconcile"),
            loop.create_task(self._heartbeat_loop(), name="report and Lease"),
            loop.create_task(self._discovery_loop(), name="discovery"),
        ]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for t in self._tasks:
                t.cancel()
            for t in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            await self.conn.stop()

    # ---- work ----

    async def _reconcile_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.timing.resync_s)
            self.wake.clear()
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad pass must not stop the agent; the next pass tries again
                logger.exception("reconcile pass failed")

    async def reconcile(self) -> None:
        """One pass: create, mirror, mark gone and delete as :func:`~computenet.agent.plan.plan` says."""
        self._follow_kinds()
        synced = self.works.synced and self.jobs.synced
        for action in plan(_by_name(self.works.items), self.jobs.items, synced, self.jobs.waiting()):
            if isinstance(action, Create):
                await self._create(action.work)
            elif isinstance(action, Mirror):
                await self._write_work(
                    action.work, Cond(ConditionType.APPLIED, True, action.reason, _applied(action.reason)), action.job
                )
            elif isinstance(action, MarkGone):
                await self._confirm_gone(action.work)
            elif isinstance(action, Delete):
                await self._delete(action.namespace, action.name, action.kind)
        await self._report_waiting()
        await self._report_refusals()

    async def _report_waiting(self) -> None:
        """Say on each work of a kind whose watch the member refuses why it is not created yet.

        Applied=False with the member's answer to the list (a 403: the agent's member RBAC lacks the kind),
        written once per reason; the work is created as soon as the watch lists.
        """
        waiting = self.jobs.waiting()
        for work in self.works.items.values():
            kind = work.kind
            if kind is None or work.deleting or work.job or kind.group_resource not in waiting:
                continue
            error = self.jobs.optional[kind.group_resource][2].stats.last_error
            if not error:
                continue
            reason = Reason.FORBIDDEN if error.startswith(("HTTP 401", "HTTP 403")) else Reason.MEMBER_UNAVAILABLE
            if (work.applied, work.applied_reason) == ("False", reason):
                continue
            message = f"the agent cannot list {kind.group_resource} in its member yet: {error}"
            await self._write_work(work, Cond(ConditionType.APPLIED, False, reason, message[:2048]), None)

    async def _discovery_loop(self) -> None:
        """Read which enabled kinds the member serves, every ``DISCOVERY_EVERY_S``: watches follow, the report says."""
        while True:
            try:
                found = await discover(self._member, self.enabled)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a member that does not answer keeps the kinds it last told
                logger.info("discovery failed: %s", _short(e))
                await asyncio.sleep(DISCOVERY_RETRY_S)
                continue
            if found != self.member_kinds:
                logger.info("the member serves %s of the kinds this agent runs", ", ".join(found.keys))
                self.member_kinds = found
                self.wake.set()
            await asyncio.sleep(DISCOVERY_EVERY_S)

    def _follow_kinds(self) -> None:
        """Watch each enabled kind the works name (in their version) or the member serves; stop the others.

        An agent back from a restart lists the objects of a kind no work names any more, and deletes
        those whose work is gone (fencing). A kind neither named nor served any more (its CRD removed,
        its works ended) is watched no more, once discovery has answered.
        """
        wanted = [w.kind for w in self.works.items.values() if w.kind is not None and not w.deleting]
        served = self.member_kinds.resources if self.member_kinds is not None else {}
        watches = kind_watches(self.enabled.group_resources, wanted, served)
        if self.member_kinds is not None:
            for gr in [gr for gr in self.jobs.optional if gr not in watches]:
                _, sink, reflector = self.jobs.optional.pop(gr)
                self.conn.remove_reflector(reflector)
                sink.replace({})
                logger.info("stopped watching %s: no work names it and the member does not serve it", gr)
        for gr, resource in watches.items():
            running = self.jobs.optional.get(gr)
            if running is not None and running[0] == resource:
                continue
            if running is not None:
                self.conn.remove_reflector(running[2])
                logger.info("watching %s in %s instead of %s", gr, resource.api_version, running[0].api_version)
            sink = running[1] if running is not None else _Latest[JobView](self.wake.set)
            kind = resource.as_kind()
            reflector = self.conn.add_reflector(
                gr,
                workload_lister(self._member, kind),
                functools.partial(workload_view, kind),
                sink,
                label_selector=f"{AGENT_LABEL}={self.name}",
                optional=True,
            )
            self.jobs.optional[gr] = (resource, sink, reflector)

    async def _report_refusals(self) -> None:
        """Put the member's words on each work whose Job has had no pod for a while.

        The hub's bound on a start then quotes them; they are read again at most every ``WARNINGS_EVERY_S``.
        """
        now = asyncio.get_running_loop().time()
        waiting: dict[str, float] = {}
        for work in self.works.items.values():
            job = self.jobs.items.get(work.job_key)
            if job is None or work.job is None or work.deleting or not podless(job, work.kind):
                continue
            first = waiting[work.job_key] = self._podless_since.get(work.job_key, now)
            last = self._warned_at.get(work.job_key)
            if now - first < WARNINGS_AFTER_S or (last is not None and now - last < WARNINGS_EVERY_S):
                continue
            self._warned_at[work.job_key] = now
            words = await self._remote.warnings(job.namespace, job.name, str(job.mirror.get("uid") or ""))
            if words and words != work.job.get(WARNING):
                reason = work.applied_reason or Reason.CREATED
                cond = Cond(ConditionType.APPLIED, True, reason, _applied(reason))
                await self._write_work(work, cond, {**job.mirror, WARNING: words[:2048]})
        self._podless_since = waiting
        self._warned_at = {k: v for k, v in self._warned_at.items() if k in waiting}

    async def _create(self, work: WorkView) -> None:
        """Create the work's dependencies, then its workload, then make the workload their owner.

        A work this agent may not run (its kind or a Secret not enabled, an unreadable kind) is refused
        for good, naming the chart value; so is a kind the member does not serve (its list answers 404),
        naming its CRD, before any of its dependencies is created.
        """
        kind = work.kind
        why = work.problem if kind is None else refusal(self.enabled, kind, work.dependencies)
        if kind is not None and not why and self.jobs.unserved(kind.group_resource):
            error = self.jobs.optional[kind.group_resource][2].stats.last_error
            why = (
                f"the member does not serve {kind.key} (is its CRD {kind.group_resource} installed?): "
                f"its list answers {error}"
            )
        if kind is None or why:
            await self._write_work(work, Cond(ConditionType.APPLIED, False, Reason.INVALID_SPEC, why), None)
            return
        manifest = dict(work.manifest)
        meta = dict(manifest.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), AGENT_LABEL: self.name}
        manifest["metadata"] = meta
        namespace = str(meta.get("namespace", ""))
        copies = [_labelled(d, self.name) for d in work.dependencies]
        try:
            if copies:
                await self._remote.put_dependencies(namespace, copies)
            uid, adopted = await self._remote.create(manifest, kind)
            if copies:
                owner = OwnerRef(kind.api_version, kind.kind, str(meta.get("name", "")), uid)
                await self._remote.own_dependencies(namespace, copies, owner)
        except MemberAnswer as e:
            if e.retryable:
                logger.info("work %s: Job not created yet: %s", work.name, e.message)
                cond = Cond(ConditionType.APPLIED, False, e.reason, e.message)
            else:
                cond = Cond(ConditionType.APPLIED, False, Reason.INVALID_SPEC, e.message)
            await self._write_work(work, cond, None)
            return
        reason = Reason.ADOPTED if adopted else Reason.CREATED
        job: dict[str, Any] = {"namespace": namespace, "name": meta.get("name", ""), "uid": uid}
        if kind is not JOB:
            job = {"apiVersion": kind.api_version, "kind": kind.kind, **job}
        logger.info("work %s: %s %s/%s %s", work.name, kind.kind, job["namespace"], job["name"], reason.lower())
        await self._write_work(work, Cond(ConditionType.APPLIED, True, reason, _applied(reason)), job)

    async def _confirm_gone(self, work: WorkView) -> None:
        meta = work.manifest.get("metadata") or {}
        kind = work.kind or JOB
        try:
            body = await self._remote.read(meta.get("namespace", ""), meta.get("name", ""), kind)
        except MemberAnswer as e:
            logger.info("work %s: could not check its Job: %s", work.name, e.message)
            return
        if body is not None:
            return  # it is there; the watch has not caught up yet
        message = "the Job was deleted in the member before it finished; it is not created again"
        await self._write_work(work, Cond(ConditionType.APPLIED, False, Reason.JOB_GONE, message), work.job)

    async def _delete(self, namespace: str, name: str, kind: Kind = JOB) -> None:
        try:
            if await self._remote.delete(namespace, name, kind):
                logger.info("deleted Job %s/%s: its work is gone from the hub", namespace, name)
        except MemberAnswer as e:
            logger.info("Job %s/%s not deleted yet: %s", namespace, name, e.message)

    async def _write_work(self, work: WorkView, cond: Cond, job: Mapping[str, Any] | None) -> None:
        previous = (
            [Condition(type=ConditionType.APPLIED, status=work.applied, reason=work.applied_reason or None)]
            if work.applied
            else []
        )
        conditions = set_conditions(previous, [cond.as_condition()], self.clock())
        status: dict[str, Any] = {"conditions": to_json(conditions)}
        if job is not None:
            status["job"] = dict(job)
        try:
            await self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, WORK.plural, work.name, {"status": status}, _content_type=_MERGE
            )
        except ApiException as e:
            if e.status != 404:  # a work deleted meanwhile needs no status
                logger.warning("work %s: status not written (HTTP %s)", work.name, e.status)
            return
        key = f"{self.namespace}/{work.name}"
        if key in self.works.items:  # what the hub holds now, before its watch says so
            self.works.items[key] = replace(
                work,
                job=dict(job) if job is not None else work.job,
                applied=cond.status_text,
                applied_reason=cond.reason,
            )

    # ---- report and heartbeat ----

    async def _heartbeat_loop(self) -> None:
        """Report when something changed (at most once per report interval), else renew the Lease when due.

        The Lease is renewed first, before any report: the hub counts reports as heartbeats only
        once it has seen the Lease (which gives their duration). The first report waits for the
        member's watches to list and, for at most ``FIRST_KINDS_WAIT_S``, for its discovery, so that it
        says which kinds the agent runs there.
        """
        loop = asyncio.get_running_loop()
        timing = self.timing
        last: dict[str, Any] | None = None
        renewed = await self._try(self.renew, "Lease not renewed")
        next_renew = loop.time() + timing.renew_interval_s if renewed else 0.0
        next_report = 0.0
        kinds_by = loop.time() + FIRST_KINDS_WAIT_S
        while True:
            now = loop.time()
            if now >= next_report:
                if not self.conn.synced or (last is None and self.member_kinds is None and now < kinds_by):
                    next_report = now + 0.5  # the first report as soon as the member's watches have listed
                else:
                    kinds = self.member_kinds.keys if self.member_kinds is not None else None
                    dra = self.conn.optional_problem(REPORTED_DRA_WATCHES)
                    body = report_body(self.conn.state, self.conn.stale(), kinds, dra)
                    if body != last and await self._try(
                        functools.partial(self.write_report, body), "report not written"
                    ):
                        last = body
                        if renewed:  # a report is a heartbeat once the hub has the Lease
                            next_renew = loop.time() + timing.renew_interval_s
                    next_report = now + (timing.report_interval_s if last is not None else 0.5)
            if loop.time() >= next_renew:
                renewed = await self._try(self.renew, "Lease not renewed") or renewed
                next_renew = loop.time() + timing.renew_interval_s
            await asyncio.sleep(max(0.05, min(next_report, next_renew) - loop.time()))

    async def _try(self, write: Callable[[], Any], what: str) -> bool:
        try:
            await write()
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the hub may be away; the next turn tries again
            logger.warning("%s: %s", what, _short(e))
            return False
        return True

    async def write_report(self, body: Mapping[str, Any]) -> None:
        """Write one report into the agent's ComputeAgent status, creating the ComputeAgent if needed."""
        patch = {"status": {"report": build_report(body, self.clock(), __version__)}}
        try:
            await self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, AGENT.plural, self.name, patch, _content_type=_MERGE
            )
        except ApiException as e:
            if e.status != 404:
                raise
            agent = {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": AGENT.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {},
            }
            with contextlib.suppress(ApiException):  # 409: another writer made it first
                await self._custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, AGENT.plural, agent)
            await self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, AGENT.plural, self.name, patch, _content_type=_MERGE
            )
        self.reports_written += 1

    async def renew(self) -> None:
        """Renew the agent's Lease (create it the first time)."""
        now = format_micro_time(self.clock())
        spec = {"holderIdentity": self.name, "leaseDurationSeconds": self.timing.lease_duration_s, "renewTime": now}
        try:
            await self._coordination.patch_namespaced_lease(
                self.name, self.namespace, {"spec": spec}, _content_type=_MERGE
            )
        except ApiException as e:
            if e.status != 404:
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": {AGENT_LABEL: self.name}},
                "spec": {**spec, "acquireTime": now},
            }
            await self._coordination.create_namespaced_lease(self.namespace, lease)  # type: ignore[arg-type]


def _labelled(obj: Mapping[str, Any], agent: str) -> dict[str, Any]:
    """A dependency as the agent creates it: its origin labels and the agent's."""
    meta = dict(obj.get("metadata") or {})
    meta["labels"] = {**(meta.get("labels") or {}), AGENT_LABEL: agent}
    return {**obj, "metadata": meta}


def _applied(reason: str) -> str:
    if reason == Reason.ADOPTED:
        return "the Job exists in the member (made by this agent before a restart) and is adopted"
    return "the Job was created in the member"


def _short(e: BaseException) -> str:
    if isinstance(e, ApiException):
        return f"HTTP {e.status} {e.reason}"
    return f"{type(e).__name__}: {e}"[:200]
