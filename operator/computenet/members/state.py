"""What one member cluster has right now: its nodes and the pods holding resources on them.

Reflectors write here; identifier status, pool status and placement snapshots read from here.
Requests are summed per node incrementally as pods come and go, so reading a node's free
resources never walks the pods. Every change bumps `version` and tells the listeners which
nodes changed, so that only the identifiers owning those nodes recompute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from computenet.members.facts import NodeFacts, PodFacts

Listener = Callable[[frozenset[str] | None], None]
"""Called with the names of changed nodes, or None when everything may have changed (a re-list)."""


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
    requested: dict[str, dict[str, int]] = field(default_factory=dict)
    bound_by_attempt: dict[tuple[str, str | None], int] = field(default_factory=dict)
    """Pods of each task attempt (by the task-uid and attempt labels) that the scheduler has bound to a node.

    Keyed by attempt, not by task alone: while a requeued task's old Job is being removed its pods are
    still bound, and counting them for the new attempt would end the new attempt's assumption before
    its own pods hold the nodes.
    """
    version: int = 0
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _changed(self, names: Iterable[str] | None) -> None:
        self.version += 1
        changed = None if names is None else frozenset(names)
        for listener in list(self._listeners):
            listener(changed)

    def requested_on(self, node: str) -> Mapping[str, int]:
        return self.requested.get(node, {})

    def pods_of_task(self, task_uid: str) -> list[PodFacts]:
        return [p for p in self.pods.values() if p.task_uid == task_uid]

    # ---- pod accounting ----

    def _bind(self, pod: PodFacts, sign: int) -> None:
        if pod.node is None:
            return
        if pod.task_uid:
            key = (pod.task_uid, pod.attempt)
            count = self.bound_by_attempt.get(key, 0) + sign
            if count > 0:
                self.bound_by_attempt[key] = count
            else:
                self.bound_by_attempt.pop(key, None)
        per_node = self.requested.setdefault(pod.node, {})
        _add(per_node, pod.requests, sign)
        if not per_node:
            del self.requested[pod.node]


class NodeSink:
    """The reflector sink for nodes."""

    def __init__(self, state: MemberState) -> None:
        self.state = state

    def replace(self, items: Mapping[str, NodeFacts]) -> None:
        self.state.nodes = dict(items)
        self.state._changed(None)

    def upsert(self, key: str, item: NodeFacts) -> None:
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
