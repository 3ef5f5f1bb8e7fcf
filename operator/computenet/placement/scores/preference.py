"""Preference: identifiers in one of the task's preferred regions score 100, others 0."""

from __future__ import annotations

import numpy as np

from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context


class Preference:
    name = "Preference"
    weight = "preference"

    def applies(self, ctx: Context) -> bool:
        return bool(ctx.demand.constraints.regions_preferred)

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        preferred = ctx.lookup(ctx.snapshot.vocabulary.regions, ctx.demand.constraints.regions_preferred)
        return np.where(preferred[ctx.snapshot.table.region[ids]], 100.0, 0.0)
