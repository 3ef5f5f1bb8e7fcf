"""The mutable node table behind the snapshot builder: one row per node of every member.

Keeping all nodes of all members in a few NumPy arrays costs about 100 bytes per node instead of
a few kilobytes of Python objects, and lets one decision look at any subset of nodes with vector
operations. Rows of removed nodes are reused. Strings are interned: a node's static facts
collapse into a *kind* (architecture, accelerator model, device memory, blocking taints), the
unit at which filters decide before any row is read.

Labels are interned without `kubernetes.io/hostname`, which is unique per node and would defeat
the sharing; selectors on the hostname are matched against `hostnames` instead.

Memory (issue #12: 100,000 nodes of 1,000 pull members): what a snapshot freezes is shared with
the store, not copied. The static table is column-major, so each frozen column is a view of the
store's own; node names are a tuple handed to the snapshot as is. The store copies either only
when it next writes to it (copy on write), so a pool between changes holds one copy, not two.
Free amounts likewise: the snapshot's base is a view of the store's table, and later changes wait
in a small dict (the next snapshot's patch) until there are too many, when the store copies the
table and folds them in. Requested amounts are not kept: they are allocatable minus free.
Hostnames are kept apart only once some node's hostname label differs from its name; each row's
name and hostname also have their Python `hash` in two static columns, so a decision finds the rows
of a named node with a vector comparison instead of an index over every name (see
`affinity_columns.rows_named`). A cluster
finds a node's row through a small slot number (see `_Cluster`), not a Python int per row.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL, canonical
from computenet.placement.arrays import EMPTY_INT, IntArray, Interner, frozen
from computenet.placement.devices import NodeDevices, ServedDevices
from computenet.placement.node_accelerator import AcceleratorFacts, accelerator_facts, matching_memory_mib
from computenet.placement.nodes import BLOCKING_EFFECTS, PODS, UNLIMITED_PODS, NodeLike
from computenet.placement.resources import CPU, MEMORY, vendor_of
from computenet.placement.snapshot import KindKey, LabelSet, ModelKey, NodeColumns, TaintSet

NO_MODEL: ModelKey = (None, None)
FREE_ROW = -1
STATIC = (
    "cluster",
    "kind",
    "labels",
    "schedulable",
    "cpu_alloc",
    "memory_alloc",
    "acc_alloc",
    "pods_alloc",
    "name_hash",
    "host_hash",
)
CLUSTER, KIND, LABELS, SCHEDULABLE, CPU_ALLOC, MEMORY_ALLOC, ACC_ALLOC, PODS_ALLOC, NAME_HASH, HOST_HASH = range(
    len(STATIC)
)
MIN_PATCH = 4096
"""Free-amount patches are folded into a new base beyond this many rows, or 1/16 of all rows."""
Free = tuple[int, int, int, int]
"""Free devices, cpu, memory and pod slots of a node: the column order of `NodeColumns.base_free`."""
MIN_ROWS = 1024
GROWTH = 4
"""Tables grow by a quarter (1/GROWTH) of their rows: at most a quarter of them stand empty."""


@dataclass(frozen=True, slots=True)
class Change:
    """What an upsert changed: `static` touches membership and kinds, `values` only free amounts."""

    row: int
    static: bool
    values: bool


class _Strings:
    """A column of strings by row, shared with its last frozen tuple until the next write."""

    def __init__(self, values: list[str] | tuple[str, ...] = ()) -> None:
        self._values: list[str] | tuple[str, ...] = list(values)

    def __getitem__(self, row: int) -> str:
        return self._values[row]

    def __len__(self) -> int:
        return len(self._values)

    def _writable(self) -> list[str]:
        if isinstance(self._values, tuple):
            self._values = list(self._values)
        return self._values

    def __setitem__(self, row: int, value: str) -> None:
        self._writable()[row] = value

    def append(self, value: str) -> None:
        self._writable().append(value)

    def copy(self) -> _Strings:
        return _Strings(self._values)

    def frozen(self) -> tuple[str, ...]:
        if not isinstance(self._values, tuple):
            self._values = tuple(self._values)
        return self._values


class _Cluster:
    """One cluster's nodes: name -> slot -> row.

    Slots are numbered per cluster, so in clusters of up to 257 nodes they are the integers Python
    shares rather than one object per node (about 30 bytes each); rows sit in a packed array.
    """

    __slots__ = ("_unused", "row_of", "slots")

    def __init__(self) -> None:
        self.slots: dict[str, int] = {}
        self.row_of = array("q")
        """Row by slot; `FREE_ROW` for a slot no node holds."""
        self._unused: list[int] = []

    def find(self, name: str) -> int | None:
        slot = self.slots.get(name)
        return None if slot is None else self.row_of[slot]

    def add(self, name: str, row: int) -> None:
        if self._unused:
            slot = self._unused.pop()
            self.row_of[slot] = row
        else:
            slot = len(self.row_of)
            self.row_of.append(row)
        self.slots[name] = slot

    def pop(self, name: str) -> int | None:
        slot = self.slots.pop(name, None)
        if slot is None:
            return None
        row = self.row_of[slot]
        self.row_of[slot] = FREE_ROW
        self._unused.append(slot)
        return row

    def names(self) -> list[str]:
        """In the order the nodes were added."""
        return list(self.slots)

    def rows(self) -> IntArray:
        """The rows of the cluster's nodes, in no particular order."""
        rows: IntArray = np.array(self.row_of, dtype=np.int64)
        live: IntArray = rows[rows != FREE_ROW]
        return live


class NodeStore:
    def __init__(self) -> None:
        self.clusters: Interner[str] = Interner()
        self.archs: Interner[str] = Interner("")
        self.models: Interner[ModelKey] = Interner(NO_MODEL)
        self.taint_sets: Interner[TaintSet] = Interner(())
        self.label_sets: Interner[LabelSet] = Interner(frozenset())
        self.kinds: Interner[KindKey] = Interner()
        self._clusters: dict[str, _Cluster] = {}
        self.names = _Strings()
        self._hostnames: _Strings | None = None
        """Hostname labels by row, once one differs from its node's name (until then, the names)."""
        self.static = np.zeros((0, len(STATIC)), dtype=np.int64, order="F")
        """Column-major, so that a column is contiguous and the snapshot can share it (see `freeze`)."""
        self._static_shared = False
        """Whether the last snapshot's columns are views of `static`: copy it before writing."""
        self.free = np.zeros((0, 4), dtype=np.int64)
        """Free amounts by row (see `Free`), but for the rows in `_pending` while it is shared."""
        self._free_shared = False
        """Whether the last snapshot's base is a view of `free`: changes go to `_pending` instead."""
        self._pending: dict[int, Free] = {}
        """Free amounts of the rows changed since `free` was handed out (the next snapshot's patch)."""
        self._free_rows: list[int] = []
        self.devices: dict[int, tuple[NodeDevices, ...]] = {}
        """DRA devices by row, only for rows whose node has any."""
        self._devices_frozen: Mapping[int, tuple[NodeDevices, ...]] | None = None
        """The read-only copy of `devices` the last snapshot holds; None once `devices` changed."""
        self.served: dict[int, ServedDevices] = {}
        """Rows whose accelerator resource DRA devices serve (KEP-5004, see `devices.served_accelerator`)."""
        self._served_frozen: Mapping[int, ServedDevices] | None = None
        self.static_version = 0
        self.values_version = 0

    def _row(self, cluster: str, name: str) -> int:
        nodes = self._clusters.get(cluster)
        if nodes is None:
            nodes = self._clusters[cluster] = _Cluster()
        row = nodes.find(name)
        if row is None:
            if self._free_rows:
                row = self._free_rows.pop()
            else:
                row = len(self.names)
                if row >= len(self.static):
                    self._grow(max(MIN_ROWS, len(self.static) + len(self.static) // GROWTH))
                self.names.append("")
                if self._hostnames is not None:
                    self._hostnames.append("")
            nodes.add(name, row)
        return row

    def _grow(self, capacity: int) -> None:
        static = np.zeros((capacity, len(STATIC)), dtype=np.int64, order="F")
        static[:, CLUSTER] = FREE_ROW
        static[: len(self.static)] = self.static
        free = np.zeros((capacity, 4), dtype=np.int64)
        free[: len(self.free)] = self.free
        self.static, self.free = static, free
        self._static_shared = False
        self._free_shared = False
        self._fold()

    def _writable_static(self) -> IntArray:
        if self._static_shared:
            self.static = self.static.copy(order="F")
            self._static_shared = False
        return self.static

    def _fold(self) -> None:
        """Write the pending free amounts into `free`, first copying it if a snapshot holds it."""
        if not self._pending:
            return
        if self._free_shared:
            self.free = self.free.copy()
            self._free_shared = False
        rows = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        self.free[rows] = np.array(list(self._pending.values()), dtype=np.int64)
        self._pending.clear()

    def free_of(self, row: int) -> Free:
        found = self._pending.get(row)
        if found is None:
            devices, cpu, memory, pods = self.free[row].tolist()
            return devices, cpu, memory, pods
        return found

    def _set_free(self, row: int, free: Free) -> None:
        if not self._free_shared:
            self.free[row] = free
            return
        self._pending[row] = free
        if len(self._pending) > max(MIN_PATCH, len(self.names) // 16):
            self._fold()

    def set_requested(self, row: int, cpu: int, memory: int, devices: int, pods: int) -> bool:
        """Replace what pods request on `row`; whether that changed anything.

        On a row whose devices DRA serves, `devices` is ignored: their claims say what is taken.
        """
        static = self.static[row].tolist()
        if row in self.served:
            devices = static[ACC_ALLOC] - self.free_of(row)[0]
        free = (
            static[ACC_ALLOC] - devices,
            static[CPU_ALLOC] - cpu,
            static[MEMORY_ALLOC] - memory,
            static[PODS_ALLOC] - pods,
        )
        if free == self.free_of(row):
            return False
        self._set_free(row, free)
        self.values_version += 1
        return True

    def hostname(self, row: int) -> str:
        return self.names[row] if self._hostnames is None else self._hostnames[row]

    def _set_names(self, row: int, name: str, hostname: str) -> None:
        self.names[row] = name
        if self._hostnames is None and hostname != name:
            self._hostnames = self.names.copy()
        if self._hostnames is not None:
            self._hostnames[row] = hostname

    def upsert(
        self, cluster: str, node: NodeLike, requested: Mapping[str, int], served: ServedDevices | None = None
    ) -> Change:
        """Add or replace a node; `served`: its accelerator resource served by DRA devices (KEP-5004).

        A node whose allocatable advertises a device resource keeps it (the device plugin's); otherwise
        a served resource is its accelerator, counted in the class's devices: allocatable what the node
        publishes, requested what allocated claims hold (the pods' requests for it are served by those
        claims, so they are not counted again).
        """
        row = self._row(cluster, node.name)
        labels = node.labels
        acc = accelerator_facts(labels, node.allocatable)
        if served is not None and (acc is None or not node.allocatable.get(acc.resource, 0)):
            named = canonical(served.model) if served.model else None
            acc = AcceleratorFacts(served.resource, vendor_of(served.resource) or "", named, None)
            requested = {**requested, served.resource: served.total - served.free}
        else:
            served = None
        resource = acc.resource if acc else None
        taints = tuple(sorted((t.key, t.value, t.effect) for t in node.taints if t.effect in BLOCKING_EFFECTS))
        arch = self.archs.id(labels.get("kubernetes.io/arch", ""))
        model = self.models.id((acc.resource, acc.model) if acc else NO_MODEL)
        kind = self.kinds.id((arch, model, matching_memory_mib(acc) if acc else 0, self.taint_sets.id(taints)))
        label_set = self.label_sets.id(frozenset((k, v) for k, v in labels.items() if k != HOSTNAME_LABEL))
        hostname = labels.get(HOSTNAME_LABEL, node.name)
        allocatable = node.allocatable
        static = [
            self.clusters.id(cluster),
            kind,
            label_set,
            int(node.ready and not node.unschedulable),
            allocatable.get(CPU, 0),
            allocatable.get(MEMORY, 0),
            (served.total if served else allocatable.get(resource, 0)) if resource else 0,
            allocatable.get(PODS, UNLIMITED_PODS),
            hash(node.name),
            hash(hostname),
        ]
        wanted = [
            requested.get(CPU, 0),
            requested.get(MEMORY, 0),
            requested.get(resource, 0) if resource else 0,
            requested.get(PODS, 0),
        ]
        old = self.static[row].tolist()
        static_changed = old != static or self.names[row] != node.name
        static_changed |= self.hostname(row) != hostname
        free = self.free_of(row)
        current = [
            old[CPU_ALLOC] - free[1],
            old[MEMORY_ALLOC] - free[2],
            old[ACC_ALLOC] - free[0],
            old[PODS_ALLOC] - free[3],
        ]
        values_changed = static_changed or current != wanted
        dra = tuple(getattr(node, "devices", ()))
        if dra != self.devices.get(row, ()):
            self._set_devices(row, dra)
            values_changed = True
        if served != self.served.get(row):
            self._set_served(row, served)
            values_changed = True
        if static_changed:
            self._writable_static()[row] = static
            self._set_names(row, node.name, hostname)
            self.static_version += 1
        if values_changed:
            cpu, memory, devices, pods = wanted
            self._set_free(
                row,
                (
                    static[ACC_ALLOC] - devices,
                    static[CPU_ALLOC] - cpu,
                    static[MEMORY_ALLOC] - memory,
                    static[PODS_ALLOC] - pods,
                ),
            )
            self.values_version += 1
        return Change(row, static_changed, values_changed)

    def _set_devices(self, row: int, devices: tuple[NodeDevices, ...]) -> None:
        if devices:
            self.devices[row] = devices
        else:
            self.devices.pop(row, None)
        self._devices_frozen = None

    def _set_served(self, row: int, served: ServedDevices | None) -> None:
        if served is not None:
            self.served[row] = served
        else:
            self.served.pop(row, None)
        self._served_frozen = None

    def frozen_served(self) -> Mapping[int, ServedDevices]:
        """Read-only: how DRA devices serve the accelerator resource of each such row."""
        if self._served_frozen is None:
            self._served_frozen = MappingProxyType(dict(self.served))
        return self._served_frozen

    def frozen_devices(self) -> Mapping[int, tuple[NodeDevices, ...]]:
        """A read-only copy of the devices by row, shared by snapshots until a node's devices change."""
        if self._devices_frozen is None:
            self._devices_frozen = MappingProxyType(dict(self.devices))
        return self._devices_frozen

    def find(self, cluster: str, name: str) -> int | None:
        nodes = self._clusters.get(cluster)
        if nodes is None:
            return None
        slot = nodes.slots.get(name)
        return None if slot is None else nodes.row_of[slot]

    def cluster_rows(self, cluster: str) -> IntArray:
        """Rows of the cluster's nodes, in no particular order."""
        nodes = self._clusters.get(cluster)
        return EMPTY_INT if nodes is None else nodes.rows()

    def node_names(self, cluster: str) -> list[str]:
        """Names of the cluster's nodes, in the order they were added."""
        nodes = self._clusters.get(cluster)
        return [] if nodes is None else nodes.names()

    def add_requested(self, row: int, cpu: int, memory: int, devices: int, pods: int = 0) -> None:
        if row in self.served:
            devices = 0  # the class's claims say what is taken (see `upsert`)
        free = self.free_of(row)
        self._set_free(row, (free[0] - devices, free[1] - cpu, free[2] - memory, free[3] - pods))
        self.values_version += 1

    def remove(self, cluster: str, name: str) -> int | None:
        nodes = self._clusters.get(cluster)
        row = None if nodes is None else nodes.pop(name)
        if row is None:
            return None
        static = self._writable_static()
        static[row] = 0
        static[row, CLUSTER] = FREE_ROW
        self._set_free(row, (0, 0, 0, 0))
        if row in self.devices:
            self._set_devices(row, ())
        if row in self.served:
            self._set_served(row, None)
        self._set_names(row, "", "")
        self._free_rows.append(row)
        self.static_version += 1
        self.values_version += 1
        return row

    def accelerator_resource(self, row: int) -> str | None:
        return self.kind_resource(int(self.static[row, KIND]))

    def kind_resource(self, kind: int) -> str | None:
        """The extended resource name of a kind's accelerators, or None without accelerators."""
        return self.models.values[self.kinds.values[kind][1]][0]

    def labels_of(self, row: int) -> dict[str, str]:
        labels = dict(self.label_sets.values[int(self.static[row, LABELS])])
        labels[HOSTNAME_LABEL] = self.hostname(row)
        return labels

    def freeze(self, last: NodeColumns | None, static_changed: bool) -> NodeColumns:
        """Immutable node columns; without static changes only the changed rows' free amounts are new."""
        size = len(self.names)
        if last is None or static_changed or len(last.names) != size or not self._free_shared:
            self._fold()
            base = frozen(self.free[:size])
            self._free_shared = True
            rows, patch = EMPTY_INT, np.zeros((0, 4), dtype=np.int64)
        else:
            base = last.base_free
            rows = np.array(sorted(self._pending), dtype=np.int64)
            patch = np.array([self._pending[r] for r in rows.tolist()], dtype=np.int64).reshape(-1, 4)
        if last is None or static_changed or len(last.names) != size:
            columns = {name: frozen(self.static[:size, k]) for k, name in enumerate(STATIC)}
            self._static_shared = True
            names = self.names.frozen()
            return NodeColumns(
                **columns,
                base_free=base,
                patch_rows=frozen(rows),
                patch_free=frozen(patch),
                names=names,
                hostnames=names if self._hostnames is None else self._hostnames.frozen(),
                devices=self.frozen_devices(),
                served=self.frozen_served(),
            )
        return NodeColumns(
            cluster=last.cluster,
            kind=last.kind,
            labels=last.labels,
            schedulable=last.schedulable,
            cpu_alloc=last.cpu_alloc,
            memory_alloc=last.memory_alloc,
            acc_alloc=last.acc_alloc,
            pods_alloc=last.pods_alloc,
            name_hash=last.name_hash,
            host_hash=last.host_hash,
            base_free=base,
            patch_rows=frozen(rows),
            patch_free=frozen(patch),
            names=last.names,
            hostnames=last.hostnames,
            devices=self.frozen_devices(),
            served=self.frozen_served(),
        )
