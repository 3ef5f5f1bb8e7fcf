"""ComputeIdentifiers as the operator tracks them: spec, connection, partition and status.

An identifier is a view onto a member: the nodes of that member matching its node selector.
`IdentifierSet` configures identifiers from their spec (finding the kubeconfig Secret, sharing
connections), keeps each one's node set current as nodes come, go and change labels, and
computes the status the operator writes. It holds no kopf or hub-client code: the handlers
do the writing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from computenet.api.common import Condition
from computenet.api.conditions import Cond
from computenet.api.constants import Reason
from computenet.api.identifier import ComputeIdentifierSpec, ComputeIdentifierStatus
from computenet.events import ObjectRef
from computenet.members.capacity import Capacity, model_of, summarize
from computenet.members.connection import MemberConnection
from computenet.members.identifier_status import Link, Problem, identifier_status, readiness, unusable
from computenet.members.kubeconfig import KubeconfigError
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache
from computenet.placement.labels import EVERYTHING, Selector
from computenet.signal import Signal


def _drain_holder(name: str) -> str:
    return f"drain:{name}"


def selector_of(spec: ComputeIdentifierSpec) -> Selector:
    sel = spec.connection.node_selector
    if sel is None:
        return EVERYTHING
    return Selector.of(
        sel.match_labels,
        [(r.key, str(r.operator), r.values or ()) for r in sel.match_expressions or ()],
    )


@dataclass
class TrackedIdentifier:
    """One identifier: what its spec says, which member nodes it covers, and whether it is usable."""

    name: str
    spec: ComputeIdentifierSpec | None = None
    labels: dict[str, str] = field(default_factory=dict)
    generation: int | None = None
    connection: MemberConnection | None = None
    problem: Problem | None = None
    selector: Selector = EVERYTHING
    nodes: AbstractSet[str] = field(default_factory=set)
    """Names of the member's nodes the selector covers; with an empty selector the member's own live
    view of its node names (1,000 identifiers of 100 nodes each kept 8 MB of sets that said "all")."""
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when what the status says may have changed; the status writer clears it when it reads the status."""
    on_dirty: Callable[[], None] = lambda: None
    """Told whenever `dirty` is set (its set wakes the one status writer)."""
    ref: ObjectRef | None = None
    """The ComputeIdentifier object, for events about it (set when its handler first sees it)."""
    previous_conditions: list[Condition] = field(default_factory=list)
    dispatchable: Cond | None = None
    """What the last dispatch here showed of the member's setup (None until one was tried)."""
    on_change: Callable[[], None] = lambda: None
    """Told about every change of this identifier (its set fires its broadcast signal)."""
    _unsubscribe: list[Callable[[], None]] = field(default_factory=list)
    _capacity: tuple[Selector, MemberConnection, tuple[tuple[str, str], ...], Capacity] | None = None
    """`capacity()` as last computed, for this selector, connection and topology levels; any member change
    of ours clears it."""

    # ---- membership ----

    def _recompute_nodes(self, changed: frozenset[str] | None) -> None:
        self._capacity = None
        if self.connection is None:
            self.nodes = set()
            return
        all_nodes = self.connection.state.nodes
        if self.selector.empty:
            self.nodes = all_nodes.keys()
            return
        names: Iterable[str]
        if changed is not None and isinstance(self.nodes, set):
            mine, names = self.nodes, changed
        else:
            mine, names = set(), all_nodes.keys()
        for n in names:
            node = all_nodes.get(n)
            if node is not None and self.selector.matches(node.labels):
                mine.add(n)
            else:
                mine.discard(n)
        self.nodes = mine

    def _concerns(self, changed: frozenset[str]) -> bool:
        """Whether a change of these nodes can concern us: a node of ours, or one that matches now.

        With an empty selector every node is ours, one just removed too (the live view has lost it).
        """
        if self.connection is None or changed & self.nodes:
            return True
        if self.selector.empty:
            return bool(changed)
        nodes = self.connection.state.nodes
        return any(n in nodes and self.selector.matches(nodes[n].labels) for n in changed)

    def _on_member_change(self, changed: frozenset[str] | None) -> None:
        # No node named: the member's DRA catalog changed, which decides which extended resources
        # its devices serve (capacity counts them once), so every identifier of it looks again.
        if changed and not self._concerns(changed):
            return
        self._recompute_nodes(changed)
        self.mark_dirty()

    def _on_health_change(self) -> None:
        self.mark_dirty()
        self.on_change()

    def mark_dirty(self) -> None:
        """Say that the status may have changed (the status writer reads it again)."""
        self.dirty.set()
        self.on_dirty()

    def attach(self, connection: MemberConnection | None) -> None:
        for undo in self._unsubscribe:
            undo()
        self._unsubscribe = []
        self.connection = connection
        if connection is not None:
            self._unsubscribe.append(connection.state.subscribe(self._on_member_change))
            self._unsubscribe.append(connection.on_health_change(self._on_health_change))
        self._recompute_nodes(None)
        self.mark_dirty()

    # ---- what status says ----

    def capacity(self) -> Capacity:
        """What the identifier's nodes hold and offer (see `capacity.summarize`); do not change the result.

        Computed once per change of its nodes or their pods, not per reader: the pool status, the
        metrics and the status writer each ask for every identifier, and at 1,000 identifiers of
        100 nodes recomputing took over a second per pass.
        """
        conn = self.connection
        if conn is None:
            return Capacity()
        spec = self.spec
        levels = tuple((lv.name, lv.node_label) for lv in spec.topology.levels) if spec and spec.topology else ()
        cached = self._capacity
        if cached is not None and cached[0] is self.selector and cached[1] is conn and cached[2] == levels:
            return cached[3]
        state = conn.state
        nodes = (state.nodes[n] for n in self.nodes if n in state.nodes)
        cap = summarize(nodes, state.requested_on, model_of, state.dra.served(), levels)
        self._capacity = (self.selector, conn, levels, cap)
        return cap

    def link(self) -> Link | None:
        """What the member connection says now (None: no connection yet)."""
        conn = self.connection
        if conn is None:
            return None
        h = conn.health
        return Link(
            reachable=h.reachable,
            reason=h.reason,
            message=h.message,
            synced=conn.synced,
            syncing_message=conn.syncing_message,
            stale=conn.stale() if h.reachable and conn.synced else "",
            last_heartbeat=h.last_heartbeat,
            workload_kinds=conn.workload_kinds,
        )

    def readiness(self, cap: Capacity) -> tuple[Cond, Cond]:
        """(Reachable, Ready) conditions, most specific reason first (``identifier_status.readiness``)."""
        return readiness(self.problem, self.link(), cap)

    def usable(self) -> tuple[bool, str]:
        """Whether placement may send work here, and if not why; cheap (no walk over nodes)."""
        refused = unusable(self.problem, self.link())
        return (True, "") if refused is None else (False, refused[1].message)

    @property
    def ready(self) -> bool:
        cap = self.capacity()
        return bool(self.readiness(cap)[1].status)

    def told(self, cap: Capacity) -> tuple[Cond, ...]:
        """The conditions the operator states: Reachable, Ready, and Dispatchable once a dispatch showed it."""
        reachable, ready = self.readiness(cap)
        return (reachable, ready) if self.dispatchable is None else (reachable, ready, self.dispatchable)

    def status(self, now: dt.datetime, previous: Sequence[Condition] | None = None) -> ComputeIdentifierStatus:
        """The status as of ``now`` (``identifier_status.identifier_status``).

        Conditions carry on from ``previous`` (default: what the object's status held when first seen).
        """
        cap = self.capacity()
        return identifier_status(
            generation=self.generation,
            previous=self.previous_conditions if previous is None else previous,
            told=self.told(cap),
            cap=cap,
            link=self.link(),
            pricing=self.spec.pricing if self.spec else None,
            now=now,
        )


class IdentifierSet:
    """All identifiers the operator tracks, configured from their specs and the Secret cache."""

    def __init__(self, registry: MemberRegistry, secrets: SecretCache, namespace: str) -> None:
        self.registry = registry
        self.secrets = secrets
        self.namespace = namespace
        self.items: dict[str, TrackedIdentifier] = {}
        self.changed = Signal()
        """Set whenever any identifier may have changed (pools and the placement queue wait on it)."""
        self.dirtied = Signal()
        """Set whenever some identifier's status may have changed (the status writer waits on it)."""
        self._configure_locks: dict[str, asyncio.Lock] = {}
        self.removed: dict[str, dt.datetime] = {}
        """Identifiers deleted while the operator ran, and when: their tasks fail over."""
        self.draining: dict[str, MemberConnection] = {}
        """Connections an identifier no longer has (deleted, its Secret gone or broken, or its connection
        now leading to another member), kept while they can still fence the work they carried."""
        self.detached: dict[str, dt.datetime] = {}
        """When each connection of :attr:`draining` stopped being its identifier's."""
        secrets.subscribe(self._on_secret_change)
        self._pending: set[asyncio.Task[TrackedIdentifier]] = set()

    def track(self, name: str) -> TrackedIdentifier:
        item = self.items.get(name)
        if item is None:
            item = self.items[name] = TrackedIdentifier(name, on_change=self.changed.fire, on_dirty=self.dirtied.fire)
        return item

    async def configure(
        self, name: str, spec: ComputeIdentifierSpec, labels: Mapping[str, str], generation: int | None
    ) -> TrackedIdentifier:
        """Apply a (new) spec: select nodes, and connect through the referenced kubeconfig."""
        async with self._lock(name):
            item = self.track(name)
            self.removed.pop(name, None)
            if item.connection is not None:
                await self._keep(name)  # until the new connection is known to lead to the same member
            item.spec, item.labels, item.generation = spec, dict(labels), generation
            item.selector = selector_of(spec)
            agent = spec.connection.agent
            if agent is not None:  # pull: the agent reports; the hub holds no credential
                item.problem = None
                await self._settle(item, await self.registry.acquire_agent(name, agent.namespace, agent.name))
                return item
            ref = spec.connection.secret_ref
            assert ref is not None  # the spec's rule: exactly one of secretRef and agent
            problem: Problem | None = None
            text: str | None = None
            if ref.namespace != self.namespace:
                problem = Problem(
                    Reason.SECRET_OUTSIDE_NAMESPACE,
                    f"spec.connection.secretRef.namespace is {ref.namespace!r}, but the operator reads "
                    f"kubeconfig Secrets only in its own namespace {self.namespace!r}",
                )
            else:
                data = self.secrets.get(ref.name)
                if data is None:
                    problem = Problem(Reason.SECRET_NOT_FOUND, f"Secret {ref.namespace}/{ref.name} does not exist")
                elif ref.key not in data:
                    problem = Problem(
                        Reason.SECRET_NOT_FOUND, f"Secret {ref.namespace}/{ref.name} has no key {ref.key!r}"
                    )
                else:
                    text = data[ref.key]
            connection = None
            if text is not None:
                try:
                    connection = await self.registry.acquire(name, text)
                except KubeconfigError as e:
                    problem = Problem(
                        Reason.KUBECONFIG_INVALID,
                        f"the kubeconfig in Secret {ref.namespace}/{ref.name} key {ref.key!r} {e}",
                    )
            if connection is None:
                await self.registry.release(name)
            item.problem = problem
            await self._settle(item, connection)
            return item

    def _lock(self, name: str) -> asyncio.Lock:
        return self._configure_locks.setdefault(name, asyncio.Lock())

    async def _keep(self, name: str) -> None:
        """Keep the connection `name` holds now (if it keeps none yet): it may carry running work."""
        if name in self.draining:
            return  # the first kept connection carried the work: placement waited since
        held = await self.registry.retain(_drain_holder(name), name)
        if held is not None:
            self.draining[name] = held
            self.detached[name] = dt.datetime.now(dt.UTC)

    async def _settle(self, item: TrackedIdentifier, connection: MemberConnection | None) -> None:
        """Attach the new connection; a kept one to the same member goes (its tasks are followed as before).

        A kept connection to another member stays until its work is drained (``tasks/failover.py``),
        and the identifier is not usable meanwhile (reason ``Draining``, until :meth:`settled`), so
        every active attempt on it then is one the kept connection carried.
        """
        kept = self.draining.get(item.name)
        if kept is not None and connection is not None:
            if kept is connection or kept.server == connection.server:
                await self._release_kept(item.name)
            elif item.problem is None:
                item.problem = Problem(
                    Reason.DRAINING,
                    f"the connection now leads to {connection.server}; the work running through the previous "
                    f"one ({kept.server}) is removed there before anything is placed here",
                )
        item.attach(connection)
        self.changed.fire()

    async def forget(self, name: str) -> None:
        """Stop tracking an identifier that is deleted (or being deleted); saying so twice is harmless.

        Its connection is kept (:attr:`draining`) until :meth:`drained`: removing an identifier of
        a member that still answers is a drain, so its tasks' workloads are removed there before
        they are placed again (a member that cannot be reached follows the lost-member path). A
        connection kept already (its Secret was deleted first, or it moved) is the one kept.
        """
        if name in self.items or name not in self.removed:
            self.removed[name] = dt.datetime.now(dt.UTC)
        item = self.items.pop(name, None)
        if item is not None:
            if item.connection is not None:
                await self._keep(name)
            item.attach(None)
        await self.registry.release(name)
        self.changed.fire()

    async def drained(self, name: str) -> None:
        """Nothing the kept connection of `name` carried runs or remains there any more: let it go."""
        async with self._lock(name):
            await self._release_kept(name)

    async def _release_kept(self, name: str) -> None:
        self.detached.pop(name, None)
        if self.draining.pop(name, None) is not None:
            await self.registry.release(_drain_holder(name))
        self.settled(name)

    def settled(self, name: str) -> None:
        """No attempt the kept connection of `name` carried is active any more: placement may use it again.

        The kept connection itself may stay a while (fencing what its member still holds).
        """
        item = self.items.get(name)
        if item is not None and item.problem is not None and item.problem.reason == Reason.DRAINING:
            item.problem = None
            item.mark_dirty()
            self.changed.fire()

    def _on_secret_change(self, secret: str | None) -> None:
        for item in list(self.items.values()):
            spec = item.spec
            ref = spec.connection.secret_ref if spec is not None else None
            if spec is None or ref is None or (secret is not None and ref.name != secret):
                continue
            task = asyncio.get_running_loop().create_task(self.configure(item.name, spec, item.labels, item.generation))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
