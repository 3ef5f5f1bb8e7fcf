"""The `computenet_leader` gauge, in a module light enough for a standby to import at once."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

NAME = "computenet_leader"


def leader_gauge(registry: CollectorRegistry) -> Gauge:
    """1 while this replica holds the leader Lease and runs the operator's work, 0 on a standby."""
    return Gauge(
        NAME,
        "1 while this replica holds the leader Lease and does the operator's work, 0 while it stands by.",
        registry=registry,
    )
