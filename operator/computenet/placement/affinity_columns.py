"""Node affinity terms evaluated over the snapshot's node columns instead of one node at a time.

A node's labels are interned as a label set shared by many nodes, without
`kubernetes.io/hostname` (see `store`), and its name is a separate column. So each parsed term
(see `affinity`) splits in two: requirements on ordinary labels are decided once per label set
(a handful of sets for thousands of nodes), and requirements on the hostname label or on
`metadata.name` per node row, only for the rows asked about. A row matches a term when both
parts hold, exactly as `affinity.Term.matches` would say for that node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL
from computenet.placement.affinity import FieldRequirement, LabelRequirement, Term
from computenet.placement.arrays import BoolArray, IntArray
from computenet.placement.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class TermColumns:
    """One term over a snapshot: `per_label_set` for its label part, the rest checked per row."""

    per_label_set: BoolArray
    on_hostname: tuple[LabelRequirement, ...]
    on_fields: tuple[FieldRequirement, ...]

    @property
    def per_row(self) -> bool:
        """Whether rows need reading beyond their label set (hostname or name requirements)."""
        return bool(self.on_hostname or self.on_fields)

    def rows(self, snapshot: Snapshot, rows: IntArray) -> BoolArray:
        """Per node row: whether the node matches this term."""
        ok: BoolArray = self.per_label_set[snapshot.nodes.labels[rows]]
        if not self.per_row or not ok.any():
            return ok
        hostnames, names = snapshot.nodes.hostnames, snapshot.nodes.names
        for r in self.on_hostname:
            ok &= np.fromiter((r.matches_value(hostnames[i]) for i in rows.tolist()), dtype=bool, count=len(rows))
        for f in self.on_fields:
            ok &= np.fromiter((f.matches_name(names[i]) for i in rows.tolist()), dtype=bool, count=len(rows))
        return ok


def term_columns(snapshot: Snapshot, term: Term) -> TermColumns:
    """Split `term` for `snapshot`; an invalid term matches no label set."""
    sets = snapshot.vocabulary.label_maps
    if term.errors:
        return TermColumns(np.zeros(len(sets), dtype=bool), (), ())
    plain = [r for r in term.labels if r.key != HOSTNAME_LABEL]
    ok = np.ones(len(sets), dtype=bool)
    for r in plain:
        ok &= np.fromiter((r.matches(labels) for labels in sets), dtype=bool, count=len(sets))
    hostname = tuple(r for r in term.labels if r.key == HOSTNAME_LABEL)
    return TermColumns(ok, hostname, term.fields)


def any_term(snapshot: Snapshot, terms: Sequence[TermColumns], rows: IntArray) -> BoolArray:
    """Per row: whether some term matches (terms ORed; no terms: no row)."""
    ok = np.zeros(len(rows), dtype=bool)
    for t in terms:
        ok |= t.rows(snapshot, rows)
    return ok


def any_term_per_label_set(terms: Sequence[TermColumns], size: int) -> BoolArray:
    """Per label set: could a node with it match some term? Exact when no term reads rows."""
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
