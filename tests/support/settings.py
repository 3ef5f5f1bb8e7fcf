"""Settings the tests give the operator and the objects they build."""

from __future__ import annotations

import json

from computenet.testing.federation import Cluster
from computenet.testing.topology import default_shape, node_manifests

OPERATOR_ENV = {
    "COMPUTENET_SWEEP_INTERVAL_S": "5",
    "COMPUTENET_LEADER_LEASE_DURATION_S": "40",
    "COMPUTENET_LEADER_RENEW_DEADLINE_S": "30",
    "COMPUTENET_LEADER_RETRY_PERIOD_S": "2",
}
"""Tests sweep orphans every 5 s instead of every minute, so the sweep is seen within a test. The
one operator of a test session holds its Lease with generous timings: on a loaded 2-core machine a
renewal can take seconds, and a leader that steps down ends the session's operator (the standby
tests use the production timings)."""


def add_h100_node(member: Cluster, name: str, gpus: int) -> None:
    """A kwok node shaped like member-1's H100 nodes, with `gpus` devices."""
    node = node_manifests(default_shape(1))[0]
    node["metadata"]["name"] = name
    node["metadata"]["labels"]["kubernetes.io/hostname"] = name
    for key in ("capacity", "allocatable"):
        node["status"][key]["nvidia.com/gpu"] = str(gpus)
    member.kubectl("create", "-f", "-", input=json.dumps(node))
