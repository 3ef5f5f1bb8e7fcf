"""Kinds: a task goes only to members that serve its workload kind (the kind's CRD is installed).

A member without, say, the JobSet CRD would refuse the JobSet at dispatch; rejecting it here makes a
Pending task say why ("serves no jobset.x-k8s.io/v1alpha2 JobSet") instead. A pull member's kinds are
those its agent reports it runs there (enabled by its provider and served by the member). An identifier
whose kinds are not known (discovery has not answered yet, or an agent that does not report them) is
not rejected: dispatch still tells.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason


def serves(kinds: frozenset[str] | None, kind: str) -> bool:
    """Whether a member serving `kinds` (None: not known) is a candidate for a workload of `kind`."""
    return kinds is None or kind in kinds


class Kinds:
    name = "Kinds"
    task_level = True

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        kind = ctx.demand.kind
        if kind is None:
            return None
        identifiers = ctx.snapshot.identifiers
        ok = np.fromiter(
            (serves(identifiers[i].workload_kinds, kind) for i in ids.tolist()), dtype=bool, count=len(ids)
        )
        return np.where(ok, PASS, 0)

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.KIND_NOT_SERVED, f"serves no {ctx.demand.kind}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        out = []
        for i in ids.tolist():
            kinds = ctx.snapshot.identifiers[i].workload_kinds or frozenset()
            out.append(
                f"its member serves {', '.join(sorted(kinds)) or 'no workload kind'}; the task is a {ctx.demand.kind}"
            )
        return out
