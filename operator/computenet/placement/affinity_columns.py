"""Node affinity terms evaluated over the snapshot's node columns instead of one node at a time.

A node's labels are interned as a label set shared by many nodes, without
`kubernetes.io/hostname` (see `store`), and its name is a separate column. So each parsed term
(see `affinity`) splits in two:
- requirements on ordinary labels are decided per label set, and within that per distinct value
  of the label (`Vocabulary.label_column`): a handful of decisions for thousands of nodes;
- requirements on the hostname label or on `metadata.name` become a mask over all node rows,
  found by comparing the hash columns of the names with the wanted names' hashes (In / NotIn),
  so no node is visited in Python but the few whose hash matches; only Gt / Lt on a hostname
  reads every hostname.
A row matches a term when both parts hold, exactly as `affinity.Term.matches` says for that node.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL
from computenet.placement.affinity import NODE_NAME_FIELD, FieldRequirement, LabelRequirement, Term
from computenet.placement.arrays import BoolArray, IntArray
from computenet.placement.snapshot import Snapshot, Vocabulary

_FEW_VALUES = 16
"""Up to this many wanted names, each is one vector comparison of the hash column; beyond, one `np.isin`."""


def rows_named(column: tuple[str, ...], hashes: IntArray, values: Iterable[str]) -> BoolArray:
    """A mask over all node rows: True where `column` holds one of `values`.

    `hashes` is `hash` of every name of `column` (`NodeColumns.name_hash` or `host_hash`): rows whose
    hash is a wanted one are candidates, and only those are compared by name (a hash may collide).
    """
    wanted = set(values)
    if len(wanted) <= _FEW_VALUES:
        mask = np.zeros(len(column), dtype=bool)
        for value in wanted:
            mask |= hashes == hash(value)
    else:
        mask = np.isin(hashes, np.fromiter((hash(v) for v in wanted), dtype=np.int64, count=len(wanted)))
    candidates = np.flatnonzero(mask)
    for row in candidates.tolist():
        if column[row] not in wanted:
            mask[row] = False
    return mask


def requirement_per_label_set(vocabulary: Vocabulary, r: LabelRequirement) -> BoolArray:
    """Per label set: whether requirement `r` holds on a node with those labels."""
    codes, values = vocabulary.label_column(r.key)
    per_value = np.fromiter((r.matches_value(v) for v in values), dtype=bool, count=len(values))
    lookup = np.append(per_value, r.matches_value(None))  # code -1 (label absent) reads the last slot
    ok: BoolArray = lookup[codes]
    return ok


def _hostname_rows(hostnames: tuple[str, ...], hashes: IntArray, r: LabelRequirement) -> BoolArray:
    if r.operator in ("In", "NotIn"):
        named = rows_named(hostnames, hashes, r.values)
        return named if r.operator == "In" else ~named
    return np.fromiter((r.matches_value(h) for h in hostnames), dtype=bool, count=len(hostnames))


def _field_rows(names: tuple[str, ...], hashes: IntArray, f: FieldRequirement) -> BoolArray:
    if f.key != NODE_NAME_FIELD:  # upstream reads any other field as ""
        return np.full(len(names), f.matches_name(""), dtype=bool)
    named = rows_named(names, hashes, (f.value,))
    return named if f.equal else ~named


@dataclass(frozen=True, slots=True)
class TermColumns:
    """One term over a snapshot: its label part per label set, its name part per node row."""

    per_label_set: BoolArray
    per_row: BoolArray | None
    """Over all node rows, for hostname and metadata.name requirements; None when there are none."""

    def rows(self, snapshot: Snapshot, rows: IntArray) -> BoolArray:
        """Per node row in `rows`: whether the node matches this term."""
        ok: BoolArray = self.per_label_set[snapshot.nodes.labels[rows]]
        return ok if self.per_row is None else ok & self.per_row[rows]


def term_columns(snapshot: Snapshot, term: Term) -> TermColumns:
    """Split `term` for `snapshot`; an invalid term matches no label set."""
    vocabulary = snapshot.vocabulary
    ok = np.full(len(vocabulary.label_sets), not term.errors, dtype=bool)
    if term.errors:
        return TermColumns(ok, None)
    per_row = None
    for r in term.labels:
        if r.key != HOSTNAME_LABEL:
            ok &= requirement_per_label_set(vocabulary, r)
        else:
            hosts = _hostname_rows(snapshot.nodes.hostnames, snapshot.nodes.host_hash, r)
            per_row = hosts if per_row is None else per_row & hosts
    for f in term.fields:
        named = _field_rows(snapshot.nodes.names, snapshot.nodes.name_hash, f)
        per_row = named if per_row is None else per_row & named
    return TermColumns(ok, per_row)


def any_term(snapshot: Snapshot, terms: Sequence[TermColumns], rows: IntArray) -> BoolArray:
    """Per row: whether some term matches (terms ORed; no terms: no row)."""
    ok = np.zeros(len(rows), dtype=bool)
    for t in terms:
        ok |= t.rows(snapshot, rows)
    return ok


def any_term_per_label_set(terms: Sequence[TermColumns], size: int) -> BoolArray:
    """Per label set: whether a node with it could match some term. Exact for terms without names."""
    ok = np.zeros(size, dtype=bool)
    for t in terms:
        ok |= t.per_label_set
    return ok


def weighted(snapshot: Snapshot, terms: Sequence[tuple[int, TermColumns]], rows: IntArray) -> IntArray:
    """Per row: the sum of the weights of the terms it matches (`PreferredSchedulingTerms.Score`)."""
    total = np.zeros(len(rows), dtype=np.int64)
    for weight, t in terms:
        total += weight * t.rows(snapshot, rows)
    return total
