"""An agent's report: the node-level summary of a member cluster, both ways (pure).

The agent builds it from its own :class:`~computenet.members.state.MemberState` (kept by the same
reflectors and fidelity rules the hub uses on a push member); the hub reads it back into the same
fact records, so placement reads a pull member exactly as it reads a push member. What a report
carries per node is what placement and identifier status read: the node's facts and the requests
of its resource-holding pods summed by kube-scheduler's rule. Pods of dispatched work are listed
one by one (task UID, attempt, node or why they wait), because the lifecycle counts bound
replicas and ends attempts whose pods find no node.

Nodes alike (the same labels but their hostname, capacity, allocatable and taints) share one
shape in the report, so a report of 100 alike nodes is about five times smaller than the nodes
written out one by one.

On the hub, a node's summed requests become one stand-in pod bound to it, and each listed pod of
dispatched work a pod without requests, so :class:`~computenet.members.state.PodSink` keeps the
per-node totals and per-task counts the placement and lifecycle code read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from computenet.api.agent import AgentReport, NodeShape, ReportedNode, ReportedPod, ReportedTaint
from computenet.members.facts import NodeFacts, PodFacts, Taint
from computenet.members.state import MemberState

__all__ = ["ReportFacts", "build_report", "report_body", "report_facts"]


@dataclass(frozen=True)
class ReportFacts:
    """One report as the hub keeps it: facts keyed as the member state's sinks key them."""

    report_time: dt.datetime
    nodes: dict[str, NodeFacts]
    pods: dict[str, PodFacts]
    """Stand-in pods: ``node/<name>`` holds a node's summed requests; ``task/...`` a pod of dispatched work."""


_shared: dict[tuple[tuple[str, int], ...], Mapping[str, int]] = {}


def _interned(amounts: Mapping[str, int] | None) -> Mapping[str, int]:
    """One shared mapping per distinct set of amounts: nodes of one shape share their capacity maps."""
    key = tuple(sorted((amounts or {}).items()))
    found = _shared.get(key)
    if found is None:
        if len(_shared) > 100_000:  # a bound, not a cache policy: distinct shapes are few
            _shared.clear()
        found = _shared[key] = dict(key)
    return found


PER_NODE_LABELS = frozenset({"kubernetes.io/hostname"})
"""Labels that differ from node to node by nature; any other label that does makes another shape."""


def _node(node: ReportedNode, shape: NodeShape, taints: tuple[Taint, ...]) -> NodeFacts:
    labels = dict(shape.labels or {})
    labels.update(node.labels or {})
    return NodeFacts(
        name=node.name,
        labels=labels,
        capacity=_interned(shape.capacity),
        allocatable=_interned(shape.allocatable),
        taints=taints,
        ready=node.ready,
        unschedulable=node.unschedulable,
    )


def report_facts(obj: Mapping[str, Any]) -> ReportFacts | None:
    """The report in a ComputeAgent object (JSON), or None while it has none or it does not parse."""
    raw = (obj.get("status") or {}).get("report")
    if not raw:
        return None
    try:
        report = AgentReport.model_validate(raw)
    except ValidationError:
        return None
    taints = [tuple(Taint(t.key, t.value, t.effect) for t in shape.taints or ()) for shape in report.shapes]
    nodes = {
        n.name: _node(n, report.shapes[n.shape], taints[n.shape]) for n in report.nodes if n.shape < len(report.shapes)
    }
    pods: dict[str, PodFacts] = {}
    for n in report.nodes:
        if n.requested:
            pods[f"node/{n.name}"] = PodFacts(node=n.name, requests=dict(n.requested), task_uid=None, attempt=None)
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
        )
    return ReportFacts(report.report_time, nodes, pods)


def _shape_of(node: NodeFacts) -> NodeShape:
    return NodeShape(
        labels={k: v for k, v in node.labels.items() if k not in PER_NODE_LABELS} or None,
        capacity=dict(node.capacity) or None,
        allocatable=dict(node.allocatable) or None,
        taints=[ReportedTaint(key=t.key, value=t.value, effect=t.effect) for t in node.taints] or None,
    )


def _pod_order(p: PodFacts) -> tuple[str, str, str, str]:
    since = p.unschedulable_since.isoformat() if p.unschedulable_since else ""
    return (p.task_uid or "", p.attempt or "", p.node or "", since)


def report_body(state: MemberState) -> dict[str, Any]:
    """The report's content without its time (JSON): equal bodies mean nothing changed."""
    shapes: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    nodes: list[dict[str, Any]] = []
    for name in sorted(state.nodes):
        node = state.nodes[name]
        shape = _shape_of(node).model_dump(mode="json", by_alias=True, exclude_none=True)
        key = json.dumps(shape, sort_keys=True)
        if key not in index:
            index[key] = len(shapes)
            shapes.append(shape)
        own = {k: v for k, v in node.labels.items() if k in PER_NODE_LABELS}
        reported = ReportedNode(
            name=name,
            shape=index[key],
            labels=own or None,
            requested=dict(state.requested_on(name)) or None,
            ready=node.ready,
            unschedulable=node.unschedulable,
        )
        nodes.append(reported.model_dump(mode="json", by_alias=True, exclude_none=True))
    pods = [
        ReportedPod.model_validate(
            {
                "taskUID": p.task_uid,
                "attempt": p.attempt,
                "node": p.node,
                "unschedulableSince": p.unschedulable_since,
                "unschedulableMessage": p.unschedulable_message or None,
            }
        )
        for p in sorted((p for p in state.pods.values() if p.task_uid), key=_pod_order)
    ]
    return {
        "shapes": shapes,
        "nodes": nodes,
        "pods": [p.model_dump(mode="json", by_alias=True, exclude_none=True) for p in pods],
    }


def build_report(body: Mapping[str, Any], now: dt.datetime, version: str) -> dict[str, Any]:
    """The ``status.report`` value to write: a body from :func:`report_body`, stamped with time and version."""
    return {"reportTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "agentVersion": version, **body}
