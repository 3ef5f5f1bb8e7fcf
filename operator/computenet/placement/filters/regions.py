"""Regions: required regions (if any) must include the identifier's; forbidden ones must not."""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

NOT_REQUIRED, FORBIDDEN = 0, 1


class Regions:
    name = "Regions"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        c, known = ctx.demand.constraints, ctx.snapshot.vocabulary.regions
        if not c.regions_required and not c.regions_forbidden:
            return None
        region = ctx.snapshot.table.region[ids]
        codes = np.full(len(ids), PASS)
        if c.regions_required:
            codes[~ctx.lookup(known, c.regions_required)[region]] = NOT_REQUIRED
        if c.regions_forbidden:
            codes[ctx.lookup(known, c.regions_forbidden)[region]] = FORBIDDEN
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        c = ctx.demand.constraints
        if code == FORBIDDEN:
            return Reason(reasons.REGION_NOT_ALLOWED, f"region forbidden ({', '.join(c.regions_forbidden)})")
        return Reason(reasons.REGION_NOT_ALLOWED, f"region not in {', '.join(c.regions_required)}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        regions = [ctx.snapshot.identifiers[i].region or "(none)" for i in ids.tolist()]
        return [
            f"region {r} is forbidden" if c == FORBIDDEN else f"region {r} is not among the required"
            for r, c in zip(regions, codes.tolist(), strict=True)
        ]
