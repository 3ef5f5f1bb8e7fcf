"""What one member cluster has right now: its nodes and the pods holding resources on them.

Reflectors write here; identifier status, pool status and placement snapshots read from here.
Requests are summed per node incrementally as pods come and go, so reading a node's free
resources never walks the pods. Every change bumps `version` and tells the listeners which
nodes changed, so that only the identifiers owning those nodes recompute.

A node's sum is the requests mapping of its one pod, shared, until a second pod comes: most
nodes of a large member run one pod, or (reported by an agent) hold one of a few distinct sums,
and a dict of their own for each of 100,000 nodes cost the hub about 25 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from computenet.members.dra_state import DraState, with_devices
from computenet.members.facts import NodeFacts, PodFacts

V = TypeVar("V")

Listener = Callable[[frozenset[str] | None], None]
"""Called with the names of changed nodes, or None when everything may have changed (a re-list)."""


class _Sum(dict[str, int]):
    """A node's running sum of requests, owned by the member state (changed in place)."""

    __slots__ = ()


def _add(into: dict[str, int], amounts: Mapping[str, int], sign: int) -> None:
    for name, amount in amounts.items():
        value = into.get(name, 0) + sign * amount
        if value:
            into[name] = value
        else:
            into.pop(name, None)


@dataclass
class MemberState:
    """Nodes and resource-holding pods of one member, with per-node request totals."""

    nodes: dict[str, NodeFacts] = field(default_factory=dict)
    pods: dict[str, PodFacts] = field(default_factory=dict)
    requested: dict[str, Mapping[str, int]] = field(default_factory=dict)
    """What the resource-holding pods of each node request, summed; a node without any has no entry.

    Read-only to everyone but this state: a sum may be a mapping shared with a pod or other nodes.
    """
    bound_by_attempt: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """Pods of each task attempt (by the task-uid and attempt labels) that the scheduler has bound to a node.

    Keyed by attempt, not by task alone: while a requeued task's old Job is being removed its pods are
    still bound, and counting them for the new attempt would end the new attempt's assumption before
    its own pods hold the nodes.
    """
    bound_since: set[str] | None = field(default_factory=set, repr=False, compare=False)
    """Task uids with more bound pods since `take_bound`; None after a whole list (any may have).

    The scheduler confirms the assumptions of these tasks only between its sweeps of all of them.
    """
    dra: DraState = field(default_factory=DraState)
    """The member's DRA objects as facts; their devices also ride on `nodes` (see `dra_state`)."""
    version: int = 0
    _listeners: list[Listener] = field(default_factory=list)
    _by_task: tuple[int, dict[str, list[PodFacts]]] | None = field(default=None, repr=False, compare=False)
    """Pods by task UID as of `version`: built once per version, so a pass over every task reads each
    member's pods once instead of once per task (the scan was a fifth of the operator's main-thread
    time in a 1,000-task burst, profiled with py-spy)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self, names: Iterable[str] | None) -> None:
        self.version += 1
        changed = None if names is None else frozenset(names)
        for listener in list(self._listeners):
            listener(changed)

    def take_bound(self) -> set[str] | None:
        """`bound_since`, emptied: the tasks whose bound pods grew since the last call (None: any)."""
        taken, self.bound_since = self.bound_since, set()
        return taken

    def requested_on(self, node: str) -> Mapping[str, int]:
        return self.requested.get(node, {})

    def pods_of_task(self, task_uid: str) -> list[PodFacts]:
        """The resource-holding pods carrying this task-uid label (every change of `pods` moves `version`)."""
        cached = self._by_task
        if cached is None or cached[0] != self.version:
            index: dict[str, list[PodFacts]] = {}
            for pod in self.pods.values():
                if pod.task_uid:
                    index.setdefault(pod.task_uid, []).append(pod)
            cached = self._by_task = (self.version, index)
        return list(cached[1].get(task_uid, ()))

    # ---- pod accounting ----

    def _bind(self, pod: PodFacts, sign: int) -> None:
        if pod.node is None:
            return
        self._count(pod, sign)
        if not pod.requests:
            return
        held = self.requested.get(pod.node)
        if held is None and sign > 0:
            self.requested[pod.node] = pod.requests  # shared with the pod until another pod comes
            return
        total = held if isinstance(held, _Sum) else _Sum(held or {})
        _add(total, pod.requests, sign)
        if total:
            self.requested[pod.node] = total
        else:
            self.requested.pop(pod.node, None)

    def _count(self, pod: PodFacts, sign: int) -> None:
        """Count a bound pod of dispatched work for its attempt."""
        if pod.task_uid and pod.node is not None:
            key = (pod.task_uid, pod.attempt)
            count = self.bound_by_attempt.get(key, 0) + sign
            if count > 0:
                self.bound_by_attempt[key] = count
            else:
                self.bound_by_attempt.pop(key, None)
            if sign > 0 and self.bound_since is not None:
                self.bound_since.add(pod.task_uid)


class NodeSink:
    """The reflector sink for nodes."""

    def __init__(self, state: MemberState) -> None:
        self.state = state

    def replace(self, items: Mapping[str, NodeFacts]) -> None:
        devices = self.state.dra.devices
        self.state.nodes = {k: with_devices(n, devices.get(k, ())) for k, n in items.items()}
        self.state._changed(None)

    def upsert(self, key: str, item: NodeFacts) -> None:
        item = with_devices(item, self.state.dra.devices.get(key, ()))
        if self.state.nodes.get(key) == item:
            return  # a heartbeat: nothing placement or capacity reads has changed
        self.state.nodes[key] = item
        self.state._changed((key,))

    def delete(self, key: str) -> None:
        if self.state.nodes.pop(key, None) is not None:
            self.state._changed((key,))


class PodSink:
    """The reflector sink for pods that hold resources (non-terminated)."""

    def __init__(self, state: MemberState) -> None:
        self.state = state

    def replace(self, items: Mapping[str, PodFacts]) -> None:
        st = self.state
        st.pods = dict(items)
        st.requested = {}
        st.bound_by_attempt = {}
        for pod in st.pods.values():
            st._bind(pod, +1)
        st.bound_since = None
        st._changed(None)

    def upsert(self, key: str, item: PodFacts) -> None:
        st = self.state
        old = st.pods.get(key)
        if old == item:
            return
        touched = set()
        if old is not None:
            st._bind(old, -1)
            if old.node:
                touched.add(old.node)
        st.pods[key] = item
        st._bind(item, +1)
        if item.node:
            touched.add(item.node)
        st._changed(touched)

    def delete(self, key: str) -> None:
        st = self.state
        old = st.pods.pop(key, None)
        if old is None:
            return
        st._bind(old, -1)
        st._changed((old.node,) if old.node else ())


class SummarySink:
    """The sink for a member known by summaries (its agent's reports): nodes, sums and dispatched pods.

    A summary gives each node's summed requests itself, and lists the pods of dispatched work only so
    that their attempts can be counted (and why they wait read): those pods hold nothing of their own,
    their node's sum counts them. Each call tells the listeners once, naming the nodes whose facts,
    sum or pods changed.
    """

    def __init__(self, state: MemberState) -> None:
        self.state = state

    def replace(
        self, nodes: Mapping[str, NodeFacts], requested: Mapping[str, Mapping[str, int]], pods: Mapping[str, PodFacts]
    ) -> None:
        """Take a whole summary as the first one: everything may have changed."""
        st = self.state
        st.nodes = dict(nodes)
        st.requested = dict(requested)
        st.pods = dict(pods)
        st.bound_by_attempt = {}
        for pod in st.pods.values():
            st._count(pod, +1)
        st.bound_since = None
        st._changed(None)

    def update(
        self, nodes: Mapping[str, NodeFacts], requested: Mapping[str, Mapping[str, int]], pods: Mapping[str, PodFacts]
    ) -> None:
        """Take a later summary: only what differs from the one held changes, and is told."""
        st = self.state
        touched: set[str] = set()
        news = False
        for key in [k for k in st.pods if k not in pods]:
            self._pod(key, None, touched)
            news = True
        for key, pod in pods.items():
            if st.pods.get(key) != pod:
                self._pod(key, pod, touched)
                news = True
        _sync(st.nodes, nodes, touched)
        _sync(st.requested, requested, touched)
        if touched or news:  # a waiting pod that changed concerns no node, but is news (as PodSink tells it)
            st._changed(touched)

    def _pod(self, key: str, pod: PodFacts | None, touched: set[str]) -> None:
        st = self.state
        old = st.pods.get(key) if pod is not None else st.pods.pop(key, None)
        if old is not None:
            st._count(old, -1)
            if old.node:
                touched.add(old.node)
        if pod is not None:
            st.pods[key] = pod
            st._count(pod, +1)
            if pod.node:
                touched.add(pod.node)


def _sync(held: dict[str, V], wanted: Mapping[str, V], touched: set[str]) -> None:
    """Make `held` equal `wanted`, adding to `touched` every key whose value was removed, added or changed."""
    for key in [k for k in held if k not in wanted]:
        del held[key]
        touched.add(key)
    for key, value in wanted.items():
        if held.get(key) != value:
            held[key] = value
            touched.add(key)
