"""Keeps placement's snapshot builder in step with the members and the identifiers.

Member watches only mark nodes dirty (cheap, on every event); the scheduler applies the dirty
nodes to the builder right before it takes a snapshot, so a burst of pod events costs one
update per node per scheduling pass, not one per event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from computenet.api.identifier import ComputeIdentifierSpec
from computenet.members.connection import MemberConnection
from computenet.members.identifiers import IdentifierSet
from computenet.members.registry import MemberRegistry
from computenet.placement import Assumptions, Identifier, SnapshotBuilder
from computenet.placement.devices import DeviceClass, served_accelerator
from computenet.placement.labels import Selector
from computenet.placement.snapshot import Snapshot
from computenet.tasks.placement_identifier import placement_identifier

_Inputs = tuple[ComputeIdentifierSpec, Selector, str, tuple[bool, str], int, tuple[int, str], tuple[str, ...] | None]
"""What an identifier's placement record is built from (see :func:`placement_identifier`): spec,
node selector, member connection, whether usable (and why not), the member's failure count, its
DRA catalog's version and problem, and the workload kinds the member serves."""


class PlacementView:
    """The builder, the assumptions, and the bookkeeping that feeds them."""

    def __init__(self, identifiers: IdentifierSet, registry: MemberRegistry, on_change: Callable[[], None]) -> None:
        self.builder = SnapshotBuilder()
        self.assumptions = Assumptions()
        self._identifiers = identifiers
        self._registry = registry
        self._on_change = on_change
        self._fed: dict[str, Callable[[], None]] = {}
        self._dirty: dict[str, set[str] | None] = {}
        self._placed: dict[str, Identifier] = {}
        self._inputs: dict[str, _Inputs] = {}
        self._served: dict[str, Mapping[str, DeviceClass]] = {}
        """Per member, the extended resources its DeviceClasses serve as of the last snapshot (KEP-5004)."""

    def _subscribe(self, conn: MemberConnection) -> None:
        key = conn.key

        def changed(names: frozenset[str] | None) -> None:
            pending = self._dirty.get(key, set())
            if names is None or pending is None:
                self._dirty[key] = None
            else:
                pending.update(names)
                self._dirty[key] = pending
            self._on_change()

        self._fed[key] = conn.state.subscribe(changed)
        self._dirty[key] = None

    def snapshot(self) -> Snapshot:
        connections = {c.key: c for c in self._registry.connections}
        for key in list(self._fed):
            if key not in connections:
                self._fed.pop(key)()
                self._dirty.pop(key, None)
                self.builder.remove_cluster(key)
        for key, conn in connections.items():
            if key not in self._fed:
                self._subscribe(conn)
        for key, conn in connections.items():
            served = conn.state.dra.served()
            if self._served.get(key) is not served:  # a class's extendedResourceName came, went or moved
                self._served[key] = served
                if key in self._dirty and self._dirty[key] is not None:
                    self._dirty[key] = {*(self._dirty[key] or ()), *conn.state.dra.devices}
                elif key not in self._dirty:
                    self._dirty[key] = set(conn.state.dra.devices)
        for key in set(self._served) - set(connections):
            del self._served[key]
        for key, names in list(self._dirty.items()):
            state = connections[key].state
            served = self._served.get(key) or {}
            if names is None:
                self.builder.remove_cluster(key)
                names = set(state.nodes)
            for name in names:
                node = state.nodes.get(name)
                if node is None:
                    self.builder.remove_node(key, name)
                else:
                    by_dra = served_accelerator(node.devices, node.allocatable, served) if served else None
                    self.builder.upsert_node(key, node, state.requested_on(name), by_dra)
        self._dirty.clear()
        self._sync_identifiers()
        return self.builder.snapshot()

    def _sync_identifiers(self) -> None:
        """Bring the builder's identifiers in line, rebuilding only those whose inputs changed.

        An identifier's placement record depends on its spec, its member connection, whether it is
        usable, its member's failure count and its node selector; when none of these changed since
        the last snapshot the record is kept as it is (a snapshot after a report pays a few
        comparisons per identifier, not a rebuild of 1,000 records).
        """
        seen: set[str] = set()
        for item in self._identifiers.items.values():
            spec, conn = item.spec, item.connection
            if spec is None or conn is None:
                continue
            seen.add(item.name)
            dra = (conn.state.dra.catalog_version, conn.dra_problem())
            inputs = (spec, item.selector, conn.key, item.usable(), conn.health.failures, dra, conn.workload_kinds)
            held = self._inputs.get(item.name)
            if held is not None and held[0] is spec and held[1] is item.selector and held[2:] == inputs[2:]:
                continue  # spec and selector by identity: a new spec is a new object
            self._inputs[item.name] = inputs
            ident = placement_identifier(item, spec, conn)
            if self._placed.get(item.name) != ident:
                self.builder.upsert_identifier(ident)
                self._placed[item.name] = ident
        for name in set(self._placed) - seen:
            self.builder.remove_identifier(name)
            del self._placed[name]
            self._inputs.pop(name, None)

    def bound_since(self) -> set[str] | None:
        """Task uids whose bound pods grew on any member since the last call; None: any may have."""
        out: set[str] = set()
        whole = False
        for conn in self._registry.connections:
            taken = conn.state.take_bound()
            if taken is None:
                whole = True
            else:
                out |= taken
        return None if whole else out

    def bound_replicas(self, identifier: str, task_uid: str, attempt: int) -> int:
        """How many pods of one attempt of a task the member has bound to nodes (confirms an assumption)."""
        item = self._identifiers.items.get(identifier)
        if item is None or item.connection is None:
            return 0
        return item.connection.state.bound_by_attempt.get((task_uid, str(attempt)), 0)
