"""One long-lived connection to a member cluster: a client, its reflectors, and its health.

Identifiers that carve one cluster into partitions share the connection (the registry keys it
by kubeconfig), so the member is watched once however many identifiers point at it.

Health: Reachable means the member's API server answered within the last `UNREACHABLE_AFTER_S`.
A probe runs every `PROBE_INTERVAL_S`, and at once when a watch stream fails, so an outage is
noticed in seconds; the watches themselves are what keep capacity current, not the probe.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import aiohttp
from kubernetes.aio.client import (
    ApiClient,
    ApisApi,
    BatchV1Api,
    CoreV1Api,
    CustomObjectsApi,
    ResourceV1Api,
    VersionApi,
)

from computenet.api.constants import Reason
from computenet.dispatch.jobs import JobFacts, job_facts, workload_facts
from computenet.dispatch.remote import RemoteJobs, RemoteWorkloads
from computenet.dispatch.store import JobStore
from computenet.members.dra import DeviceId, SliceFacts, claim_facts, class_facts, slice_facts, template_facts
from computenet.members.dra_state import CatalogSink, DeviceSink
from computenet.members.facts import node_facts, pod_facts
from computenet.members.kind_watches import kinds_to_watch, watch_changes
from computenet.members.reflector import BACKOFF_MAX_S, Lister, Reflector, Sink, WatchFailed
from computenet.members.state import MemberState, NodeSink, PodSink
from computenet.placement.devices import ClaimTemplate, DeviceClass
from computenet.workloads.kinds import JOB, Kind, current, discovered_group_versions, known_kinds, served_kinds

logger = logging.getLogger(__name__)

PROBE_INTERVAL_S = 5.0
PROBE_TIMEOUT_S = 4.0
UNREACHABLE_AFTER_S = 12.0
"""How long a member may stay silent before it is unreachable: two missed probes and some slack."""

DRA_WATCHES = ("resourceslices", "resourceclaims", "deviceclasses", "resourceclaimtemplates")
"""The optional watches that tell the member's DRA devices (``dra_problem``)."""

DISCOVERY_INTERVAL_S = 30.0
"""How often the member's API discovery is read again: a workload CRD installed or removed shows this late."""

OPTIONAL_BACKOFF_MAX_S = 60.0
"""An optional watch (DRA) the member refuses, e.g. for want of RBAC, is retried at most this far apart."""

T = TypeVar("T")
Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def workload_lister(client: ApiClient, kind: Kind) -> Lister:
    """List+watch of one workload kind across all namespaces (any API group, custom or built in)."""
    if kind is JOB:
        return BatchV1Api(client).list_job_for_all_namespaces_without_preload_content
    if not kind.group:
        return CoreV1Api(client).list_pod_for_all_namespaces_without_preload_content
    return functools.partial(
        CustomObjectsApi(client).list_cluster_custom_object_without_preload_content,
        kind.group,
        kind.version,
        kind.plural,
    )


def _declared_facts(kind: Kind, obj: Mapping[str, Any]) -> JobFacts | None:
    """A declared kind's facts by its latest declaration (a changed ComputeWorkloadKind reads on at once)."""
    return workload_facts(current(kind), obj)


@dataclass
class Health:
    """What we know of the member's API server; read by identifier status and placement."""

    reachable: bool = False
    reason: str = "Connecting"
    message: str = "connecting to the member"
    last_heartbeat: dt.datetime | None = None
    since: dt.datetime | None = None
    """When `reachable` last flipped (the start of the current outage while unreachable)."""
    unauthorized: bool = False
    failures: int = 0
    """How often the member became unreachable since the operator started (placement's reliability)."""


class MemberConnection:
    """Watches one member; `state` and `health` are current while it runs.

    The one interface the controllers use for any member, push or pull: `state` (nodes, pods,
    devices), `health`, `stale()`, `jobs` (the hub's workloads there, once `watch_workloads` ran),
    `workloads()` (create, read, delete them) and `serves_logs`. A pull member
    (``members.pull.PullConnection``) implements the same from its agent's reports and ComputeWork.
    """

    serves_logs: ClassVar[bool] = True
    """Whether the hub can read pod logs from the member's API server (a pull member's agent does not serve them)."""
    stages_data: ClassVar[bool] = True
    """Whether the operator can stage a task's data there (a pull member's agent runs no movers yet)."""

    def __init__(
        self,
        key: str,
        server: str,
        client: ApiClient,
        clock: Clock = utcnow,
        *,
        watch: bool = True,
        discover: bool = True,
    ) -> None:
        """A connection to the member at `server` through `client`.

        `watch=False` leaves out the node and pod watches (a pull member's state comes from its reports);
        `discover=False` the reading of the member's kinds (an agent reads those of its own kinds itself).
        """
        self.key = key
        self.server = server
        self.client = client
        self.state = MemberState()
        self.health = Health()
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._reflectors: list[Reflector[Any]] = []
        self._resources: dict[str, Reflector[Any]] = {}
        self._optional: dict[str, Reflector[Any]] = {}
        self._dra_problem = ""
        """Watches whose failure leaves the member usable (DRA): see `dra_problem`."""
        self._stale = ""
        """`stale()` as last told to the health listeners."""
        self._probe_now = asyncio.Event()
        self._discover_now = asyncio.Event()
        self.workload_kinds: tuple[str, ...] | None = None
        """The supported workload kinds the member serves (``Kind.key``), from its API discovery; None
        until discovery has answered. A pull member's: those its agent runs there, as it reports them."""
        self._health_listeners: list[Callable[[], None]] = []
        self._watches = watch
        self._discovers = watch and discover
        self.jobs: JobStore | None = None
        """The hub's workloads in this member, every kind, by task; None until `watch_workloads`."""
        self._workload_selector: str | None = None
        self._kind_watches: dict[Kind, Reflector[Any]] = {}
        """The watches of workload kinds other than the Job's, by kind: those the member serves."""
        self._remote: RemoteJobs | None = None
        if not watch:
            return
        core = CoreV1Api(client)
        self.add_reflector("nodes", core.list_node_without_preload_content, node_facts, NodeSink(self.state))
        self.add_reflector(
            "pods",
            core.list_pod_for_all_namespaces_without_preload_content,
            pod_facts,
            PodSink(self.state),
            field_selector="status.phase!=Succeeded,status.phase!=Failed",
        )
        self._watch_dra(ResourceV1Api(client))

    def _watch_dra(self, api: ResourceV1Api) -> None:
        """Watch the member's DRA objects (resource.k8s.io/v1), each kind optional.

        A member that does not serve the API, or an identity not allowed to read it, keeps working for
        everything else; only tasks claiming DRA devices are refused there, saying why (`dra_problem`).
        Templates and claims are watched in all namespaces: identifiers sharing this connection
        dispatch into different namespaces, and any namespace's allocated claim takes a device.
        """
        state = self.state
        self.add_reflector(
            "resourceslices",
            api.list_resource_slice_without_preload_content,
            slice_facts,
            DeviceSink[SliceFacts](state, "slices"),
            optional=True,
        )
        self.add_reflector(
            "resourceclaims",
            api.list_resource_claim_for_all_namespaces_without_preload_content,
            claim_facts,
            DeviceSink[tuple[DeviceId, ...]](state, "claims"),
            optional=True,
        )
        self.add_reflector(
            "deviceclasses",
            api.list_device_class_without_preload_content,
            class_facts,
            CatalogSink[DeviceClass](state, "classes"),
            optional=True,
        )
        self.add_reflector(
            "resourceclaimtemplates",
            api.list_resource_claim_template_for_all_namespaces_without_preload_content,
            template_facts,
            CatalogSink[ClaimTemplate](state, "templates"),
            optional=True,
        )

    def watch_workloads(self, label_selector: str) -> JobStore:
        """Keep `jobs` in step with the member's workloads labelled `label_selector`, of every kind it serves.

        Jobs are required (every member runs them); each other kind is an optional watch, opened
        only where the member serves it (``members.kind_watches``) and opened or closed as its
        discovery changes, so a member without a kind's CRD, or an identity not allowed to list
        it, keeps working for the rest. Idempotent: a second call returns the same store.
        """
        if self.jobs is not None:
            return self.jobs
        store = self.jobs = JobStore()
        self._workload_selector = label_selector
        self.add_reflector(
            "jobs",
            workload_lister(self.client, JOB),
            job_facts,
            store,
            label_selector=label_selector,
        )
        self._sync_kind_watches()
        return store

    def watch_kind(self, kind: Kind) -> None:
        """A kind was declared on the hub: read discovery again now, which starts its watch where it is served.

        Nothing before `watch_workloads` (its watches follow discovery from then on).
        """
        if self.jobs is not None and kind not in self._kind_watches:
            self._discover_now.set()

    @property
    def watched_kinds(self) -> frozenset[Kind]:
        """The workload kinds other than the Job's watched in this member now."""
        return frozenset(self._kind_watches)

    def _sync_kind_watches(self) -> None:
        """Open the watches of the kinds the member serves now, close those of the kinds it no longer does."""
        store = self.jobs
        if store is None:
            return
        changes = watch_changes(kinds_to_watch(known_kinds(), self.workload_kinds), self._kind_watches)
        for kind in changes.stop:
            self.remove_reflector(self._kind_watches.pop(kind))
            store.of_kind(kind).replace({})  # its objects went with its CRD (or the kind is no longer declared)
            logger.info("%s: stopped watching %s: the member no longer serves it", self.server, kind.key)
        for kind in changes.start:
            declared = kind.rules is not None
            self._kind_watches[kind] = self.add_reflector(
                f"{kind.plural}.{kind.group}" if declared else kind.plural,
                workload_lister(self.client, kind),
                functools.partial(_declared_facts if declared else workload_facts, kind),
                store.of_kind(kind),
                label_selector=self._workload_selector,
                optional=True,
            )

    def workloads(self) -> RemoteWorkloads:
        """What creates, reads and deletes workloads in this member: its API server."""
        if self._remote is None or self._remote.client is not self.client:
            self._remote = RemoteJobs(self.client)
        return self._remote

    def dra_problem(self) -> str:
        """Why the member's DRA devices are not known right now, or "" when every DRA watch is current."""
        if not self._optional and not self._watches:
            return "the member's agent does not report DRA devices yet"
        return self.optional_problem(DRA_WATCHES)

    def optional_problem(self, names: Iterable[str]) -> str:
        """Why one of these optional watches is not listed or not current, or "" (unknown names are skipped)."""
        for resource in names:
            reflector = self._optional.get(resource)
            if reflector is None:
                continue
            stats = reflector.stats
            if not stats.synced:
                why = f" ({stats.last_error})" if stats.last_error else ""
                return f"the member's {resource} are not listed yet{why}"
            if not stats.current:
                return f"the member's {resource} watch is not current ({stats.last_error})"
        return ""

    @property
    def synced(self) -> bool:
        return all(r.stats.synced for r in self._resources.values())

    syncing_message = "listing the member's nodes and pods"
    """What Ready=False says while the connection is not synced yet."""

    def stale(self) -> str:
        """Why the operator's picture of the member is not current, or "" when every watch is.

        Once synced, a watch that fails (a dropped stream, the member's API server restarting, a
        403 while its authorizer starts or after its RBAC changed) leaves its kind as it last was
        while the others may be current again: the member answers, yet pods bound or finished since
        are unseen. Placement must not promise slots from such a picture, so until the watch is
        current again the identifier is not Ready (reason ``WatchFailing``) and tasks wait.
        """
        for resource, reflector in self._resources.items():
            stats = reflector.stats
            if stats.synced and not stats.current:
                return f"the member's {resource} watch is not current ({stats.last_error}): waiting for it to resume"
        return ""

    @property
    def reflectors(self) -> list[Reflector[Any]]:
        return list(self._reflectors)

    def on_health_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        self._health_listeners.append(listener)
        return lambda: self._health_listeners.remove(listener)

    def add_reflector(
        self,
        name: str,
        lister: Lister,
        extract: Callable[[Mapping[str, Any]], T | None],
        sink: Sink[T],
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        optional: bool = False,
    ) -> Reflector[T]:
        """Watch one more kind in this member (dispatch adds the Jobs it created).

        An `optional` watch's failures neither make the member unreachable nor keep it from being
        synced or current; the watch keeps retrying, and its owner reads its stats.
        """
        reflector = Reflector(
            f"{self.server} {name}",
            lister,
            extract,
            sink,
            label_selector=label_selector,
            field_selector=field_selector,
            on_healthy=self._mark_reachable if not optional else self._note_dra,
            on_error=functools.partial(self._on_watch_error, watch=name) if not optional else self._on_optional_error,
            backoff_max=BACKOFF_MAX_S if not optional else OPTIONAL_BACKOFF_MAX_S,
        )
        self._reflectors.append(reflector)
        (self._optional if optional else self._resources)[name] = reflector
        if self._tasks:  # already running: start this one too
            self._tasks.append(asyncio.create_task(reflector.run(), name=reflector.name))
        return reflector

    def remove_reflector(self, reflector: Reflector[Any]) -> None:
        """Stop one watch added by `add_reflector` and forget it (its sink keeps what it had)."""
        self._reflectors = [r for r in self._reflectors if r is not reflector]
        for table in (self._resources, self._optional):
            for name in [n for n, r in table.items() if r is reflector]:
                del table[name]
        for t in self._tasks:
            if t.get_name() == reflector.name and not t.done():
                t.cancel()  # awaited by `stop` with the others
        self._tasks = [t for t in self._tasks if not t.done() or not t.cancelled()]

    def start(self) -> None:
        self._tasks = [asyncio.create_task(r.run(), name=r.name) for r in self._reflectors]
        self._tasks.append(asyncio.create_task(self._probe_loop(), name=f"{self.server} probe"))
        if self._discovers:
            self._tasks.append(asyncio.create_task(self._discovery_loop(), name=f"{self.server} discovery"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        await self.client.close()

    # ---- health ----

    def _set_health(self, reachable: bool, reason: str, message: str, unauthorized: bool = False) -> None:
        h = self.health
        now = self._clock()
        if reachable:
            h.last_heartbeat = now
        changed = (h.reachable, h.reason, h.message) != (reachable, reason, message)
        changed |= self._note_currency()
        if h.since is None or h.reachable != reachable:
            # Since when the member has been (un)reachable: only a flip moves it. The message
            # changes with every failed probe ("does not answer for 17s"); the outage does not.
            h.since = now
            if h.reachable and not reachable:
                h.failures += 1
        h.reachable, h.reason, h.message, h.unauthorized = reachable, reason, message, unauthorized
        if changed:
            self._tell_health()

    def _tell_health(self) -> None:
        for listener in list(self._health_listeners):
            listener()

    def _note_currency(self) -> bool:
        """Whether `stale()` changed since it was last noted (a watch failed or became current)."""
        stale = self.stale()
        changed, self._stale = stale != self._stale, stale
        return changed

    def _on_optional_error(self, error: BaseException) -> None:
        if isinstance(error, WatchFailed) and error.status == 404:
            self._discover_now.set()  # a workload CRD removed: discovery stops its watch instead of retries
        self._note_dra()

    def _note_dra(self) -> None:
        """Tell the health listeners when `dra_problem` changed (placement rebuilds the identifier's catalog)."""
        problem = self.dra_problem()
        if problem != self._dra_problem:
            self._dra_problem = problem
            self._tell_health()

    def _mark_reachable(self) -> None:
        self._set_health(True, Reason.REACHABLE, "the member's API server answers")

    def _on_watch_error(self, error: BaseException, watch: str = "") -> None:
        if isinstance(error, WatchFailed) and error.status in (401, 403):
            what = f" for its {watch} watch" if watch else ""
            self._set_health(
                False,
                Reason.UNAUTHORIZED,
                f"the member refused our credentials{what} (HTTP {error.status}); check the kubeconfig "
                "Secret and the member's RBAC",
                unauthorized=True,
            )
        elif self._note_currency():
            self._tell_health()
        self._probe_now.set()

    async def _probe(self) -> None:
        try:
            resp = await asyncio.wait_for(
                VersionApi(self.client).get_code_without_preload_content(_request_timeout=PROBE_TIMEOUT_S),
                PROBE_TIMEOUT_S + 1,
            )
            status = resp.status
            await resp.read()  # to its end: aiohttp closes a connection whose answer is released unread
            resp.release()
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            self._probe_failed(type(e).__name__ if not str(e) else _short(e))
            return
        if status in (401, 403):
            self._on_watch_error(WatchFailed(status, "probe"))
        elif status >= 300:
            self._probe_failed(f"HTTP {status}")
        elif not self.health.unauthorized or all(r.stats.errors == 0 for r in self._resources.values()):
            self._mark_reachable()
        else:
            # /version answers anonymous-ish requests; only a healthy watch clears an auth failure.
            self.health.last_heartbeat = self._clock()

    def _probe_failed(self, why: str) -> None:
        last = self.health.last_heartbeat
        silent_for = (self._clock() - last).total_seconds() if last else None
        if silent_for is None or silent_for >= UNREACHABLE_AFTER_S:
            since = f" for {silent_for:.0f}s" if silent_for is not None else ""
            self._set_health(False, Reason.UNREACHABLE, f"the member's API server does not answer{since}: {why}")

    async def _probe_loop(self) -> None:
        while True:
            try:
                await self._probe()
            except Exception as e:  # health must keep being judged whatever the client throws
                logger.warning("%s: probe failed unexpectedly: %s", self.server, type(e).__name__)
                self._probe_failed(type(e).__name__)
            self._probe_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._probe_now.wait(), PROBE_INTERVAL_S)

    # ---- workload kinds ----

    async def discover_kinds(self) -> tuple[str, ...]:
        """Read which supported workload kinds the member serves, as sorted ``Kind.key`` strings.

        API discovery, which every authenticated user may read (the system:discovery ClusterRole):
        the group list, then the resource list of each supported group version the member serves.
        """
        groups = await ApisApi(self.client).get_api_versions(_request_timeout=PROBE_TIMEOUT_S)
        served = {v.group_version for g in groups.groups or () for v in g.versions or ()}
        custom = CustomObjectsApi(self.client)
        discovered: dict[str, list[str]] = {"v1": ["Pod"]}  # the core group is always served
        for gv in discovered_group_versions():
            if gv in served:
                group, _, version = gv.rpartition("/")
                listed = await custom.get_api_resources(group, version, _request_timeout=PROBE_TIMEOUT_S)
                discovered[gv] = [r.kind for r in listed.resources or ()]
        return served_kinds(discovered)

    def set_workload_kinds(self, kinds: tuple[str, ...] | None) -> None:
        """The kinds the member serves, as its discovery tells them: watches follow, listeners hear of a change."""
        if kinds == self.workload_kinds:
            return
        self.workload_kinds = kinds
        self._sync_kind_watches()
        self._tell_health()

    async def _discovery_loop(self) -> None:
        while True:
            self._discover_now.clear()  # asked again while this round reads: the next one starts at once
            try:
                kinds = await self.discover_kinds()
            except Exception as e:  # a member that does not answer keeps the kinds it last told
                logger.debug("%s: discovery failed: %s", self.server, _short(e))
                await asyncio.sleep(PROBE_INTERVAL_S)
                continue
            self.set_workload_kinds(kinds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._discover_now.wait(), DISCOVERY_INTERVAL_S)


def _short(e: BaseException) -> str:
    text = str(e)
    return text if len(text) < 160 else text[:157] + "..."
