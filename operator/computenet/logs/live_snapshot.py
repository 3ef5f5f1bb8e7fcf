"""The live snapshot document: what the operator's placement reads right now, for ``GET /snapshot``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from computenet.api.pool import ComputePoolSpec
from computenet.members.identifiers import IdentifierSet
from computenet.placement import Assumptions
from computenet.pools import pool_selector, selection_labels
from computenet.snapshot_export import (
    SnapshotDocument,
    assumed_requests,
    identifier_doc,
    node_doc,
    pool_doc,
)
from computenet.tasks.placement_identifier import placement_identifier


def live_snapshot(
    identifiers: IdentifierSet,
    assumptions: Assumptions,
    pools: Mapping[str, ComputePoolSpec],
    now: dt.datetime | None = None,
) -> SnapshotDocument:
    """Identifiers, member nodes (with assumed resources added) and pools, as placement sees them."""
    doc = SnapshotDocument(taken=now or dt.datetime.now(dt.UTC))
    items = []
    for item in list(identifiers.items.values()):
        if item.spec is not None and item.connection is not None:
            items.append(item)
            doc.identifiers.append(identifier_doc(placement_identifier(item, item.spec, item.connection)))
    assumed = assumed_requests(list(assumptions))
    for conn in list(identifiers.registry.connections):
        state = conn.state
        doc.nodes[conn.key] = [
            node_doc(node, state.requested_on(name), assumed.get((conn.key, name)))
            for name, node in sorted(state.nodes.items())
        ]
    for name, spec in sorted(pools.items()):
        selector = pool_selector(spec)
        members = [item.name for item in items if selector.matches(selection_labels(item))]
        doc.pools.append(pool_doc(name, spec, members))
    return doc
