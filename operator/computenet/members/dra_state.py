"""A member's DRA objects as facts, and the sinks that keep them and its nodes' devices current.

Slices and allocated claims decide each node's devices (`dra.node_devices`); whenever either
changes, the per-node counts are recomputed (DRA objects are few next to pods) and the nodes whose
devices changed get new `NodeFacts` carrying them, told to the member state's listeners like any
node change, so identifier status and placement snapshots follow without knowing about DRA.
Classes and templates form the catalog placement resolves a task's claims with (`catalog`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from computenet.members.dra import DeviceId, SliceFacts, node_devices
from computenet.members.facts import NodeFacts
from computenet.placement.devices import (
    ClaimTemplate,
    DeviceCatalog,
    DeviceClass,
    NodeDevices,
    extended_resource_classes,
)

if TYPE_CHECKING:
    from computenet.members.state import MemberState

T = TypeVar("T")


@dataclass
class DraState:
    slices: dict[str, SliceFacts] = field(default_factory=dict)
    claims: dict[str, tuple[DeviceId, ...]] = field(default_factory=dict)
    """Allocated claims ("namespace/name") and the devices each holds."""
    classes: dict[str, DeviceClass] = field(default_factory=dict)
    templates: dict[str, ClaimTemplate] = field(default_factory=dict)
    """By "namespace/name"."""
    devices: dict[str, tuple[NodeDevices, ...]] = field(default_factory=dict)
    """Per node name, what `dra.node_devices` counts; nodes without devices have no entry."""
    catalog_version: int = 0
    """Bumped on every change of classes or templates."""
    _catalogs: dict[tuple[str, str], tuple[int, DeviceCatalog]] = field(default_factory=dict)
    _served: tuple[int, Mapping[str, DeviceClass]] | None = None

    def served(self) -> Mapping[str, DeviceClass]:
        """Which class serves each extended resource name (KEP-5004, `extended_resource_classes`); one per version."""
        held = self._served
        if held is None or held[0] != self.catalog_version:
            held = self._served = (self.catalog_version, extended_resource_classes(self.classes.values()))
        return held[1]

    def catalog(self, namespace: str, problem: str = "") -> DeviceCatalog:
        """The classes, and the templates of `namespace` by name; one object per version (placement compares them)."""
        key = (namespace, problem)
        held = self._catalogs.get(key)
        if held is not None and held[0] == self.catalog_version:
            return held[1]
        prefix = f"{namespace}/"
        templates = {k[len(prefix) :]: t for k, t in self.templates.items() if k.startswith(prefix)}
        found = DeviceCatalog(dict(self.classes), templates, problem)
        self._catalogs[key] = (self.catalog_version, found)
        return found


def with_devices(node: NodeFacts, devices: tuple[NodeDevices, ...]) -> NodeFacts:
    return node if node.devices == devices else dataclasses.replace(node, devices=devices)


def _recount(state: MemberState) -> None:
    dra = state.dra
    fresh = node_devices(dra.slices.values(), (d for held in dra.claims.values() for d in held))
    changed = {n for n in fresh.keys() | dra.devices.keys() if fresh.get(n) != dra.devices.get(n)}
    dra.devices = fresh
    for name in changed:
        node = state.nodes.get(name)
        if node is not None:
            state.nodes[name] = with_devices(node, fresh.get(name, ()))
    if changed:
        state._changed(tuple(changed))


class _Sink(Generic[T]):
    """A reflector sink for one DRA kind, kept in `table` of the state's `DraState`."""

    def __init__(self, state: MemberState, table: str) -> None:
        self.state = state
        self.table = table

    def _items(self) -> dict[str, T]:
        items: dict[str, T] = getattr(self.state.dra, self.table)
        return items

    def _after(self) -> None:
        raise NotImplementedError

    def replace(self, items: Mapping[str, T]) -> None:
        setattr(self.state.dra, self.table, dict(items))
        self._after()

    def upsert(self, key: str, item: T) -> None:
        items = self._items()
        if items.get(key) == item:
            return
        items[key] = item
        self._after()

    def delete(self, key: str) -> None:
        if self._items().pop(key, None) is not None:
            self._after()


class DeviceSink(_Sink[T]):
    """Slices or allocated claims: the nodes' device counts follow."""

    def _after(self) -> None:
        _recount(self.state)


class CatalogSink(_Sink[T]):
    """Classes or templates: the catalog's version moves, and listeners hear of it (no node changed)."""

    def _after(self) -> None:
        self.state.dra.catalog_version += 1
        self.state._changed(())
