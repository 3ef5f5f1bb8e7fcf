"""How the member layer turns its watch events into snapshots: upsert, remove, `snapshot()`.

The reflector of each member calls `upsert_node` / `remove_node` on node events and
`set_requested` (or `add_requested` with a delta) as pods bind, change or terminate; the
identifier controller calls `upsert_identifier` / `remove_identifier`. Any of them may be
called at any rate; nothing is computed until `snapshot()` is asked for, and then only what
changed is recomputed:

- only requested amounts changed (the common case, e.g. during a burst): the changed rows go
  into the free-amount patch (see `NodeColumns`), and only the summaries of the identifiers
  owning them are recomputed; every other array is shared with the previous snapshot. Cost:
  proportional to the changes, plus one copy of the per-entry summary columns, level tables and
  level order (`EntryTable.level_rows`);
- nodes appeared, vanished, or changed labels, taints, readiness or allocatable: the static
  columns are copied, the affected identifiers regroup their nodes, and all entry summaries
  (with each entry's level table, label sets and level order) are recomputed in vector passes
  (proportional to the pool: ~tens of ms per 100k nodes);
- nothing changed: the previous snapshot is returned as is.

Pod slots are the fourth dimension placement fits (bound pods, counted as ``pods`` in
`requested`, against the node's allocatable ``pods``: kube-scheduler's NodeResourcesFit "Too many
pods", ``placement.nodes.pod_slots_left``). A node whose pod slots are all taken has no room for
any pod, whatever its free cpu, memory and devices: the builder also records it as fully
requested, so capacity totals do not count it as free.

The builder is not thread-safe; snapshots are immutable and may be shared freely.

Memory: an identifier without a node selector holds every node of its cluster, so it keeps no
set of rows of its own (the store's rows of the cluster are its members); an identifier's nodes
grouped by kind live only in the snapshot's entry table, from which the next snapshot takes those
of unchanged identifiers; pod slots are read from the store's static column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from computenet.placement import table
from computenet.placement.arrays import EMPTY_INT, IntArray, distinct_pairs, frozen, ranges
from computenet.placement.devices import ServedDevices
from computenet.placement.identifiers import Identifier
from computenet.placement.labels import Selector
from computenet.placement.nodes import PODS, NodeLike, pod_slots_left, selects
from computenet.placement.resources import CPU, MEMORY
from computenet.placement.snapshot import EntryTable, IdentifierTable, NodeColumns, Snapshot, Vocabulary
from computenet.placement.store import ACC_ALLOC, CPU_ALLOC, KIND, MEMORY_ALLOC, PODS_ALLOC, SCHEDULABLE, NodeStore
from computenet.placement.summary import label_heads, level_order, level_table, summarize


@dataclass
class _Record:
    ident: Identifier
    rows: set[int] | None
    """The rows of its nodes; None when it has no node selector: every node of its cluster."""

    def holds(self, row: int) -> bool:
        """Whether a row of the identifier's cluster is one of its nodes."""
        return self.rows is None or row in self.rows


def _whole_cluster(ident: Identifier) -> bool:
    selector = ident.node_selector
    return selector.empty if isinstance(selector, Selector) else not selector


_Group = tuple[IntArray, IntArray, IntArray]
"""An identifier's entries: (kind of each, nodes in each, their rows one entry after another)."""


class SnapshotBuilder:
    def __init__(self) -> None:
        self._store = NodeStore()
        self._records: dict[str, _Record] = {}
        self._by_cluster: dict[str, set[str]] = {}
        self._interned = table.Interned()
        self._order_dirty = True
        self._static_dirty: set[str] = set()
        self._structure_dirty: set[str] = set()
        self._values_dirty: set[str] = set()
        self._last: Snapshot | None = None
        self._seen = (-1, -1)
        self._no_pod_limit: set[int] = set()
        """Rows whose node reports no allocatable ``pods`` (the store says `UNLIMITED_PODS` for them)."""

    # ---- identifiers ----

    def upsert_identifier(self, ident: Identifier) -> None:
        old = self._records.get(ident.name)
        if old is not None and old.ident == ident:
            return
        if old is None or old.ident.cluster != ident.cluster or old.ident.node_selector != ident.node_selector:
            if old is not None:
                self._by_cluster[old.ident.cluster].discard(ident.name)
            self._by_cluster.setdefault(ident.cluster, set()).add(ident.name)
            self._records[ident.name] = _Record(ident, self._members(ident))
            self._structure_dirty.add(ident.name)
        else:
            old.ident = ident
        self._order_dirty |= old is None
        self._static_dirty.add(ident.name)
        self._interned.learn(ident)

    def remove_identifier(self, name: str) -> None:
        record = self._records.pop(name, None)
        if record is not None:
            self._by_cluster[record.ident.cluster].discard(name)
            self._order_dirty = True

    def _members(self, ident: Identifier) -> set[int] | None:
        if _whole_cluster(ident):
            return None
        rows = self._store.cluster_rows(ident.cluster).tolist()
        return {r for r in rows if self._selected(ident, r)}

    def _rows(self, record: _Record) -> IntArray:
        if record.rows is None:
            return self._store.cluster_rows(record.ident.cluster)
        return np.fromiter(record.rows, dtype=np.int64, count=len(record.rows))

    def _selected(self, ident: Identifier, row: int, labels: Mapping[str, str] | None = None) -> bool:
        selector = ident.node_selector
        if isinstance(selector, Selector):
            return selector.empty or selector.matches(self._store.labels_of(row) if labels is None else labels)
        if not selector:
            return True
        return selects(selector, self._store.labels_of(row) if labels is None else labels)

    # ---- nodes ----

    def upsert_node(
        self,
        cluster: str,
        node: NodeLike,
        requested: Mapping[str, int] | None = None,
        served: ServedDevices | None = None,
    ) -> None:
        """Add or replace a node; `requested` defaults to the node's own `requested` if it has one.

        `served`: the node's accelerator resource as DRA devices of a class serve it (KEP-5004,
        `devices.served_accelerator`), for a node whose allocatable lacks it.
        """
        if requested is None:
            requested = getattr(node, "requested", None) or {}
        allocatable = node.allocatable
        if not pod_slots_left(allocatable, requested):
            requested = {**requested, **{k: max(v, requested.get(k, 0)) for k, v in allocatable.items()}}
        change = self._store.upsert(cluster, node, requested, served)
        if PODS in allocatable:
            self._no_pod_limit.discard(change.row)
        else:
            self._no_pod_limit.add(change.row)
        labels = {"kubernetes.io/hostname": node.name, **node.labels}
        for name in self._by_cluster.get(cluster, ()):
            record = self._records[name]
            if change.static:
                if record.rows is None:
                    self._structure_dirty.add(name)
                    continue
                member = self._selected(record.ident, change.row, labels)
                if member or change.row in record.rows:
                    self._structure_dirty.add(name)
                (record.rows.add if member else record.rows.discard)(change.row)
            elif change.values and record.holds(change.row):
                self._values_dirty.add(name)

    def upsert_nodes(self, cluster: str, nodes: Iterable[NodeLike]) -> None:
        for node in nodes:
            self.upsert_node(cluster, node)

    def remove_node(self, cluster: str, name: str) -> None:
        row = self._store.remove(cluster, name)
        if row is None:
            return
        self._no_pod_limit.discard(row)
        for ident in self._by_cluster.get(cluster, ()):
            record = self._records[ident]
            if record.holds(row):
                if record.rows is not None:
                    record.rows.discard(row)
                self._structure_dirty.add(ident)

    def remove_cluster(self, cluster: str) -> None:
        for name in self._store.node_names(cluster):
            self.remove_node(cluster, name)

    def set_requested(self, cluster: str, node: str, requested: Mapping[str, int]) -> None:
        """Replace what non-terminated pods request on a node (the reflector's running sum, with ``pods``)."""
        row = self._require(cluster, node)
        static = self._store.static[row].tolist()
        resource = self._store.kind_resource(static[KIND])
        devices = requested.get(resource, 0) if resource else 0
        wanted = (requested.get(CPU, 0), requested.get(MEMORY, 0), devices, requested.get(PODS, 0))
        if row not in self._no_pod_limit and not pod_slots_left({PODS: static[PODS_ALLOC]}, requested):
            allocatable = (static[CPU_ALLOC], static[MEMORY_ALLOC], static[ACC_ALLOC], static[PODS_ALLOC])
            wanted = tuple(max(w, a) for w, a in zip(wanted, allocatable, strict=True))
        if self._store.set_requested(row, *wanted):
            self._touch(cluster, row)

    def add_requested(self, cluster: str, node: str, delta: Mapping[str, int]) -> None:
        """Add (or with negative amounts, subtract) a pod's requests on a node (``pods`` counts pods)."""
        row = self._require(cluster, node)
        resource = self._store.accelerator_resource(row)
        devices = delta.get(resource, 0) if resource else 0
        self._store.add_requested(row, delta.get(CPU, 0), delta.get(MEMORY, 0), devices, delta.get(PODS, 0))
        self._touch(cluster, row)

    def _require(self, cluster: str, node: str) -> int:
        row = self._store.find(cluster, node)
        if row is None:
            raise KeyError(f"unknown node {cluster}/{node}")
        return row

    def _touch(self, cluster: str, row: int) -> None:
        for name in self._by_cluster.get(cluster, ()):
            if self._records[name].holds(row):
                self._values_dirty.add(name)

    # ---- snapshots ----

    def snapshot(self) -> Snapshot:
        """An immutable view of everything upserted so far; cheap when little changed."""
        store, last = self._store, self._last
        versions = (store.static_version, store.values_version)
        dirty = self._order_dirty or self._static_dirty or self._structure_dirty or self._values_dirty
        if last is not None and not dirty and versions == self._seen:
            return last
        if last is not None and versions == self._seen:
            nodes = last.nodes
        else:
            nodes = self._store.freeze(last.nodes if last else None, static_changed=versions[0] != self._seen[0])
        vocabulary = self._vocabulary(last)
        records: list[_Record] | None = None
        index: Mapping[str, int]
        if last is None or self._order_dirty:
            records = [self._records[n] for n in sorted(self._records)]
            identifiers = tuple(r.ident for r in records)
            index = {ident.name: i for i, ident in enumerate(identifiers)}
        else:
            index = last.index
            identifiers = last.identifiers
            if self._static_dirty:
                changed = list(identifiers)
                for name in self._static_dirty:
                    changed[index[name]] = self._records[name].ident
                identifiers = tuple(changed)
        snap = Snapshot(
            generation=(last.generation + 1) if last else 1,
            identifiers=identifiers,
            index=index,
            nodes=nodes,
            vocabulary=vocabulary,
            table=self._table(last, identifiers, index, vocabulary),
            entries=self._entries(last, records, identifiers, nodes),
        )
        if last is not None:
            snap.carry_memos(last)
        self._order_dirty = False
        self._static_dirty.clear()
        self._structure_dirty.clear()
        self._values_dirty.clear()
        self._seen = versions
        self._last = snap
        return snap

    def _vocabulary(self, last: Snapshot | None) -> Vocabulary:
        s, i = self._store, self._interned
        node_side = (s.clusters, s.archs, s.models, s.taint_sets, s.label_sets, s.kinds)
        ident_side = (i.regions, i.providers, i.currencies, i.classes)
        sizes = [len(interner) for interner in (*node_side, *ident_side)]
        if last is not None:
            v = last.vocabulary
            known = (v.clusters, v.archs, v.models, v.taint_sets, v.label_sets, v.kinds)
            if [len(k) for k in (*known, v.regions, v.providers, v.currencies, v.classes)] == sizes:
                return v
        return Vocabulary(
            *(tuple(interner.values) for interner in node_side),  # type: ignore[arg-type]
            *({name: n for n, name in enumerate(interner.values)} for interner in ident_side),
        )

    def _table(
        self, last: Snapshot | None, identifiers: tuple[Identifier, ...], index: Mapping[str, int], v: Vocabulary
    ) -> IdentifierTable:
        width = (len(identifiers), len(v.models), len(self._interned.regions))
        rebuild = last is None or self._order_dirty
        if last is not None and not rebuild:
            rebuild = (last.table.price_devices.shape[1], last.table.latency_ms.shape[1]) != width[1:]
            if not rebuild and not self._static_dirty and not self._structure_dirty:
                return last.table
        columns = table.empty(*width) if rebuild or last is None else table.copy(last.table)
        touched = self._static_dirty | self._structure_dirty
        names = [i.name for i in identifiers] if rebuild else [n for n in touched if n in index]
        schedulable = self._store.static[:, SCHEDULABLE]
        for name in names:
            record = self._records[name]
            rows = self._rows(record)
            members = len(rows)
            ready = int(schedulable[rows].sum())
            cluster = self._store.clusters.id(record.ident.cluster)
            table.fill(columns, index[name], record.ident, self._interned, cluster, v.models, members, ready)
        return table.freeze(columns)

    def _group(self, record: _Record) -> _Group:
        """Split an identifier's schedulable nodes by kind: its entries."""
        static = self._store.static
        rows = self._rows(record)
        rows = rows[static[rows, SCHEDULABLE] == 1]
        kinds = static[rows, KIND]
        order = np.lexsort((rows, kinds))
        rows, kinds = rows[order], kinds[order]
        kinds, counts = np.unique(kinds, return_counts=True)
        return kinds, counts, rows

    @staticmethod
    def _grouped(entries: EntryTable, i: int) -> _Group:
        """The entries of the identifier at index `i` of the snapshot `entries` belong to."""
        lo, hi = int(entries.ident_indptr[i]), int(entries.ident_indptr[i + 1])
        indptr = entries.indptr[lo : hi + 1]
        return entries.kind[lo:hi], np.diff(indptr), entries.rows[int(indptr[0]) : int(indptr[-1])]

    def _entries(
        self,
        last: Snapshot | None,
        records: list[_Record] | None,
        identifiers: tuple[Identifier, ...],
        nodes: NodeColumns,
    ) -> EntryTable:
        if last is None or self._order_dirty or self._structure_dirty or nodes.kind is not last.nodes.kind:
            if records is None:
                records = [self._records[i.name] for i in identifiers]
            groups = []
            for record in records:
                name = record.ident.name
                if last is None or name in self._structure_dirty or name not in last.index:
                    groups.append(self._group(record))
                else:
                    groups.append(self._grouped(last.entries, last.index[name]))
            ident_indptr = _offsets(np.fromiter((len(k) for k, _, _ in groups), dtype=np.int64, count=len(groups)))
            kind = np.concatenate([k for k, _, _ in groups]).astype(np.int64) if groups else EMPTY_INT
            indptr = _offsets(np.concatenate([c for _, c, _ in groups]) if groups else EMPTY_INT)
            rows = np.concatenate([r for _, _, r in groups]).astype(np.int64) if groups else EMPTY_INT
            ident = np.repeat(np.arange(len(records), dtype=np.int64), np.diff(ident_indptr))
            every = np.arange(len(kind), dtype=np.int64)
            columns = np.ascontiguousarray(summarize(indptr, rows, every, nodes).T)
            levels = level_table(indptr, rows, every, nodes)
            owner = np.repeat(every, np.diff(indptr))
            order = np.argsort(rows, kind="stable")
            label_indptr, label_sets = _entry_label_sets(len(kind), nodes.labels[rows], owner)
            level_rows = level_order(indptr, rows, every, nodes)
            heads = label_heads(level_rows, owner, nodes.labels)
            parts: list[IntArray] = [ident, kind, indptr, rows, ident_indptr, columns, levels, rows[order]]
            parts += [owner[order], label_indptr, label_sets, level_rows, heads, nodes.free_amounts(heads)]
            return EntryTable(*(frozen(a) for a in parts))
        e = last.entries
        if not self._values_dirty:
            return e
        positions = np.array(sorted(last.index[n] for n in self._values_dirty if n in last.index), dtype=np.int64)
        dirty, _ = ranges(e.ident_indptr, positions)
        return e.refreshed(dirty, nodes)


def _offsets(lengths: IntArray) -> IntArray:
    """CSR offsets of consecutive segments of `lengths`: 0, then their running sums."""
    out = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out[1:])
    return out


def _entry_label_sets(count: int, labels: IntArray, owner: IntArray) -> tuple[IntArray, IntArray]:
    """(label_indptr, label_sets): the distinct `labels` (one per row) of each of `count` entries, CSR, ascending.

    `owner` is the entry of each row, in the order of `labels`.
    """
    width = int(labels.max()) + 1 if len(labels) else 1
    pairs = distinct_pairs(owner, labels, width)
    label_indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs // width, minlength=count), out=label_indptr[1:])
    sets: IntArray = pairs % width
    return label_indptr, sets
