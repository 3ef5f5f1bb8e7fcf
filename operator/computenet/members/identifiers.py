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
        """Deleted identifiers whose member connection is kept until their tasks are drained."""
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
        lock = self._configure_locks.setdefault(name, asyncio.Lock())
        async with lock:
            item = self.track(name)
            self.removed.pop(name, None)
            await self.drained(name)  # created again: its tasks are followed as before
            item.spec, item.labels, item.generation = spec, dict(labels), generation
            item.selector = selector_of(spec)
            agent = spec.connection.agent
            if agent is not None:  # pull: the agent reports; the hub holds no credential
                item.problem = None
                item.attach(await self.registry.acquire_agent(name, agent.namespace, agent.name))
                self.changed.fire()
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
            item.attach(connection)
            self.changed.fire()
            return item

    async def forget(self, name: str) -> None:
        """Stop tracking an identifier that is deleted (or being deleted); saying so twice is harmless.

        Its connection is kept (:attr:`draining`) until :meth:`drained`: removing an identifier of
        a member that still answers is a drain, so its tasks' workloads are removed there before
        they are placed again (a member that cannot be reached follows the lost-member path).
        """
        if name in self.items or name not in self.removed:
            self.removed[name] = dt.datetime.now(dt.UTC)
        item = self.items.pop(name, None)
        if item is not None:
            if item.connection is not None and name not in self.draining:
                held = await self.registry.retain(_drain_holder(name), name)
                if held is not None:
                    self.draining[name] = held
            item.attach(None)
        await self.registry.release(name)
        self.changed.fire()

    async def drained(self, name: str) -> None:
        """Nothing runs on the deleted identifier `name` any more: let its connection go."""
        if self.draining.pop(name, None) is not None:
            await self.registry.release(_drain_holder(name))

    def _on_secret_change(self, secret: str | None) -> None:
        for item in list(self.items.values()):
            spec = item.spec
            ref = spec.connection.secret_ref if spec is not None else None
            if spec is None or ref is None or (secret is not None and ref.name != secret):
                continue
            task = asyncio.get_running_loop().create_task(self.configure(item.name, spec, item.labels, item.generation))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
