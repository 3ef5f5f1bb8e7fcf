"""An agent's report: the node-level summary of a member cluster, both ways (pure).

The agent builds it from its own :class:`~computenet.members.state.MemberState` (kept by the same
reflectors and fidelity rules the hub uses on a push member); the hub reads it back into the same
fact records, so placement reads a pull member exactly as it reads a push member. What a report
carries per node is what placement and identifier status read: the node's facts and the requests
of its resource-holding pods summed by kube-scheduler's rule. Pods of dispatched work are listed
one by one (task UID, attempt, node or why they wait), because the lifecycle counts bound
replicas and ends attempts whose pods find no node.

Nodes alike (the same labels but their hostname, capacity, allocatable and taints) share one
shape in the report, and nodes of one shape with the same usage and state share one entry that
lists their names: a member of 100 alike GPU nodes reports one shape and at most one entry per
distinct usage (nine for 8-GPU nodes packed by whole GPUs) instead of 100 node records. What the
API server validates, stores and sends to the hub's watch on every write is that much smaller,
and that is the cost a hub of 1,000 agents pays per report.

On the hub, a node's summed requests become the node's sum in the member state as they are (one
mapping shared by every node of the same usage), and each listed pod of dispatched work a pod
without requests of its own; :class:`~computenet.members.state.SummarySink` keeps the per-node
sums and per-task counts the placement and lifecycle code read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from computenet.api.agent import AgentReport, NodeShape, ReportedNode, ReportedPod, ReportedTaint
from computenet.api.fields import format_micro_time
from computenet.members.facts import NodeFacts, PodFacts, Taint
from computenet.members.report_dra import DraFacts, dra_body, dra_facts
from computenet.members.state import MemberState
from computenet.placement.accelerators import HOSTNAME_LABEL

__all__ = ["NodeLabels", "ReportFacts", "build_report", "report_body", "report_facts"]


@dataclass(frozen=True)
class ReportFacts:
    """One report as the hub keeps it: facts keyed as the member state keeps them."""

    report_time: dt.datetime
    nodes: dict[str, NodeFacts]
    pods: dict[str, PodFacts]
    """Pods of dispatched work, by ``task/<uid>/<attempt>/<node>/<n>``; they request nothing of their own."""
    requested: dict[str, Mapping[str, int]] = field(default_factory=dict)
    """Each node's summed requests (nodes whose pods hold nothing are left out); alike sums are one mapping."""
    stale: str = ""
    """Why the agent's picture is not current (see ``AgentReport.stale``); "" while it is."""
    workload_kinds: tuple[str, ...] | None = None
    """The kinds the agent runs in its member (``Kind.key``, sorted); None while it does not say."""
    dra: DraFacts | None = None
    """The member's DRA slices, allocated claims and classes; None from an agent that does not report them."""


V = TypeVar("V")

_Table = dict[tuple[tuple[str, V], ...], Mapping[str, V]]
_shared_amounts: _Table[int] = {}
_shared_labels: _Table[str] = {}


def _interned(table: _Table[V], items: Mapping[str, V] | None) -> Mapping[str, V]:
    """One shared mapping per distinct content, across reports and agents: nodes of one shape share theirs."""
    key = tuple(sorted((items or {}).items(), key=lambda item: item[0]))
    found = table.get(key)
    if found is None:
        if len(table) > 100_000:  # a bound, not a cache policy: distinct shapes are few
            table.clear()
        found = table[key] = dict(key)
    return found


PER_NODE_LABELS = frozenset({HOSTNAME_LABEL})
"""Labels that differ from node to node by nature; any other label that does makes another shape."""


class NodeLabels(Mapping[str, str]):
    """A node's labels as its shape has them, shared with every node of the shape, plus its hostname.

    100,000 nodes reported by 1,000 agents hold their labels here in about 50 bytes each instead of
    a dict of their own (about 300 bytes), which is a quarter of what their facts cost the hub.
    """

    __slots__ = ("_name", "_shared")

    def __init__(self, shared: Mapping[str, str], name: str) -> None:
        self._shared = shared
        self._name = name

    def __getitem__(self, key: str) -> str:
        if key == HOSTNAME_LABEL:
            return self._name
        return self._shared[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._shared
        yield HOSTNAME_LABEL

    def __len__(self) -> int:
        return len(self._shared) + 1

    def __contains__(self, key: object) -> bool:
        return key == HOSTNAME_LABEL or key in self._shared

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeLabels):
            return self._name == other._name and (self._shared is other._shared or self._shared == other._shared)
        return Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # a mapping, equal by content

    def __repr__(self) -> str:
        return repr(dict(self))


def _labels(shape: NodeShape, shared: Mapping[str, str], own: Mapping[str, str] | None, name: str) -> Mapping[str, str]:
    if not own and shape.hostname_label and HOSTNAME_LABEL not in shared:
        return NodeLabels(shared, name)
    labels = dict(shared)
    if own:
        labels.update(own)
    if shape.hostname_label:
        labels[HOSTNAME_LABEL] = name
    return labels


def _names(entry: ReportedNode) -> list[str]:
    if entry.names is not None:
        return entry.names
    return [entry.name] if entry.name else []


def report_facts(obj: Mapping[str, Any]) -> ReportFacts | None:
    """The report in a ComputeAgent object (JSON), or None while it has none or it does not parse."""
    raw = (obj.get("status") or {}).get("report")
    if not raw:
        return None
    try:
        report = AgentReport.model_validate(raw)
    except ValidationError:
        return None
    shapes = report.shapes
    taints = [tuple(Taint(t.key, t.value, t.effect) for t in shape.taints or ()) for shape in shapes]
    capacities = [
        (_interned(_shared_amounts, shape.capacity), _interned(_shared_amounts, shape.allocatable)) for shape in shapes
    ]
    shared = [_interned(_shared_labels, shape.labels) for shape in shapes]
    nodes: dict[str, NodeFacts] = {}
    sums: dict[str, Mapping[str, int]] = {}
    pods: dict[str, PodFacts] = {}
    for entry in report.nodes:
        if entry.shape >= len(shapes):
            continue
        shape = shapes[entry.shape]
        capacity, allocatable = capacities[entry.shape]
        requested = _interned(_shared_amounts, entry.requested) if entry.requested else None
        for name in _names(entry):
            nodes[name] = NodeFacts(
                name=name,
                labels=_labels(shape, shared[entry.shape], entry.labels, name),
                capacity=capacity,
                allocatable=allocatable,
                taints=taints[entry.shape],
                ready=entry.ready,
                unschedulable=entry.unschedulable,
            )
            if requested:
                sums[name] = requested
    seen: dict[str, int] = {}
    for p in report.pods:
        stem = f"task/{p.task_uid}/{p.attempt or ''}/{p.node or ''}"
        index = seen[stem] = seen.get(stem, -1) + 1
        pods[f"{stem}/{index}"] = PodFacts(
            node=p.node,
            requests={},
            task_uid=p.task_uid,
            attempt=p.attempt,
            unschedulable_since=p.unschedulable_since,
            unschedulable_message=p.unschedulable_message or "",
            waiting=p.waiting or "",
        )
    kinds = tuple(sorted(report.workload_kinds)) if report.workload_kinds is not None else None
    dra = dra_facts(report.dra) if report.dra is not None else None
    return ReportFacts(report.report_time, nodes, pods, sums, report.stale or "", kinds, dra)


def _shape_of(node: NodeFacts, labels: Mapping[str, str], hostname_label: bool) -> dict[str, Any]:
    shape = NodeShape(
        labels=dict(labels) or None,
        capacity=dict(node.capacity) or None,
        allocatable=dict(node.allocatable) or None,
        taints=[ReportedTaint(key=t.key, value=t.value, effect=t.effect) for t in node.taints] or None,
        hostname_label=hostname_label,
    )
    return shape.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def _pod_order(p: PodFacts) -> tuple[str, str, str, str]:
    since = p.unschedulable_since.isoformat() if p.unschedulable_since else ""
    return (p.task_uid or "", p.attempt or "", p.node or "", since)


def report_body(
    state: MemberState, stale: str = "", workload_kinds: Sequence[str] | None = None, dra_problem: str | None = None
) -> dict[str, Any]:
    """The report's content without its time (JSON): equal bodies mean nothing changed.

    `stale` says why the picture is not current (`MemberConnection.stale`), "" while it is;
    `workload_kinds` the kinds the agent runs in its member (``Kind.key``), None while it does not know;
    `dra_problem` why the agent's DRA watches are not current ("" while they are), None to report no DRA
    section (`report_dra.dra_body`).

    Nodes alike in shape, own labels, requests, readiness and cordon share one entry; entries and
    the names in them are sorted, so the same state always gives the same body.
    """
    shapes: list[dict[str, Any]] = []
    shape_index: dict[tuple[Any, ...], int] = {}
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for name in sorted(state.nodes):
        node = state.nodes[name]
        hostname_label = node.labels.get(HOSTNAME_LABEL) == name
        shared = tuple(sorted((k, v) for k, v in node.labels.items() if k not in PER_NODE_LABELS))
        shape_key = (
            shared,
            tuple(sorted(node.capacity.items())),
            tuple(sorted(node.allocatable.items())),
            node.taints,
            hostname_label,
        )
        index = shape_index.get(shape_key)
        if index is None:
            index = shape_index[shape_key] = len(shapes)
            shapes.append(_shape_of(node, dict(shared), hostname_label))
        own = tuple(
            sorted(
                (k, v)
                for k, v in node.labels.items()
                if k in PER_NODE_LABELS and not (k == HOSTNAME_LABEL and v == name)
            )
        )
        requested = tuple(sorted(state.requested_on(name).items()))
        key = (index, own, requested, node.ready, node.unschedulable)
        group = groups.get(key)
        if group is not None:
            group["names"].append(name)
            continue
        entry: dict[str, Any] = {"names": [name], "shape": index}
        if own:
            entry["labels"] = dict(own)
        if requested:
            entry["requested"] = dict(requested)
        if node.ready:
            entry["ready"] = True
        if node.unschedulable:
            entry["unschedulable"] = True
        groups[key] = entry
    pods = [
        ReportedPod.model_validate(
            {
                "taskUID": p.task_uid,
                "attempt": p.attempt,
                "node": p.node,
                "unschedulableSince": p.unschedulable_since,
                "unschedulableMessage": p.unschedulable_message or None,
                "waiting": p.waiting[:1024] or None,
            }
        )
        for p in sorted((p for p in state.pods.values() if p.task_uid), key=_pod_order)
    ]
    body: dict[str, Any] = {
        "shapes": shapes,
        "nodes": list(groups.values()),
        "pods": [p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in pods],
    }
    if stale:
        body["stale"] = stale[:512]
    if workload_kinds is not None:
        body["workloadKinds"] = sorted(workload_kinds)
    if dra_problem is not None:
        body["dra"] = dra_body(state.dra, dra_problem)
    return body


def build_report(body: Mapping[str, Any], now: dt.datetime, version: str) -> dict[str, Any]:
    """The ``status.report`` value to write: a body from :func:`report_body`, stamped with time and version."""
    return {"reportTime": format_micro_time(now), "agentVersion": version, **body}
