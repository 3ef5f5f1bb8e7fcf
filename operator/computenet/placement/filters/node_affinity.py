"""NodeAffinity: some node that the pod's nodeSelector admits also matches its required node affinity.

kube-scheduler's NodeAffinity filter admits a node only if the pod's nodeSelector and its
`requiredDuringSchedulingIgnoredDuringExecution` terms both hold (`GetRequiredNodeAffinity(pod)
.Match(node)` in k8s.io/component-helpers@v0.36.3 `scheduling/corev1/nodeaffinity/nodeaffinity.go`,
ported in `affinity`). Runs after `NodeSelector`, over the identifier's schedulable partition
nodes, so a rejection here means the affinity is what no node satisfies. The detail shows the
values the nodes do carry for the keys the terms ask about, and any term that cannot match
because it does not parse.
"""

from __future__ import annotations

import numpy as np

from computenet.placement.accelerators import HOSTNAME_LABEL
from computenet.placement.affinity import NODE_NAME_FIELD
from computenet.placement.arrays import IntArray, gather
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason
from computenet.placement.node_admission import admitted
from computenet.placement.reasons import NODE_AFFINITY_MISMATCH

NOT_MATCHED = 0
SHOWN_VALUES = 3
"""Values listed per key in a detail; the rest are counted."""


class NodeAffinity:
    name = "NodeAffinity"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        if ctx.required is None:
            return None
        entries, pos = ctx.entries_of(ids)
        admission = admitted(ctx, entries)
        assert admission is not None  # a required affinity constrains nodes
        matched = np.bincount(pos[admission[1]], minlength=len(ids)) > 0
        return np.where(matched, PASS, NOT_MATCHED)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(NODE_AFFINITY_MISMATCH, "no node matches the pod's required node affinity")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        rows, owner = _rows(ctx, ids)
        admitted = ctx.rows_by_selector(rows)
        if admitted is not None:
            rows, owner = rows[admitted], owner[admitted]
        which = "schedulable nodes" if admitted is None else "schedulable nodes admitted by the nodeSelector"
        keys = _keys(ctx)
        invalid = _invalid_terms(ctx)
        out = []
        for k in range(len(ids)):
            mine = rows[owner == k]
            seen = "; ".join(f"{key}: {_values(ctx, key, mine)}" for key in keys)
            line = f"none of its {len(mine)} {which} matches the required node affinity"
            line += f" (they have {seen})" if seen else ""
            out.append(line + invalid)
        return out


def _rows(ctx: Context, ids: IntArray) -> tuple[IntArray, IntArray]:
    """The schedulable rows of `ids`, and each row's position in `ids`."""
    entries, pos = ctx.entries_of(ids)
    e = ctx.snapshot.entries
    rows, seg = gather(e.indptr, e.rows, entries)
    return rows, pos[seg]


def _keys(ctx: Context) -> list[str]:
    """The label keys and fields the valid required terms test, in order of first use."""
    keys: dict[str, None] = {}
    for term in ctx.required.terms if ctx.required else ():
        keys |= dict.fromkeys(r.key for r in term.labels)
        keys |= dict.fromkeys(f.key for f in term.fields)
    return list(keys)


def _values(ctx: Context, key: str, rows: IntArray) -> str:
    nodes = ctx.snapshot.nodes
    if key == HOSTNAME_LABEL:
        found = {nodes.hostnames[r] for r in rows.tolist()}
    elif key == NODE_NAME_FIELD:
        found = {nodes.names[r] for r in rows.tolist()}
    else:
        maps = ctx.snapshot.vocabulary.label_maps
        found = {maps[s].get(key, "(none)") for s in np.unique(nodes.labels[rows]).tolist()}
    shown = sorted(found)[:SHOWN_VALUES]
    more = len(found) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "") if found else "-"


def _invalid_terms(ctx: Context) -> str:
    """A tail naming each term that cannot match and its first parse error, as upstream words it."""
    required = ctx.required
    if required is None:
        return ""
    bad = [(p, t.errors[0]) for p, t in zip(required.positions, required.terms, strict=True) if t.errors]
    if not required.terms:
        return "; it has no non-empty term, so it matches no node"
    return "".join(f"; term {p} cannot match: {error}" for p, error in bad)
