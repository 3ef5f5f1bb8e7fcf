"""Fit: binpack (default) fills identifiers that are already busy; spread prefers idle ones.

The measure is the share of the task's dimensions (its accelerator model, else cpu and memory)
in use on the identifier's suitable nodes after the task is placed, assumptions included.
Binpack keeps whole idle identifiers, and their large slots, free for large gangs; spread
keeps headroom everywhere and limits the blast radius of one member failing.
"""

from __future__ import annotations

from computenet.placement import fit
from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context
from computenet.placement.demand import Strategy


class Fit:
    name = "Fit"
    weight = "fit"

    def applies(self, ctx: Context) -> bool:
        return True

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        fit.ensure(ctx, ids)
        used = ctx.fit_utilization[ids]
        return 100.0 * (1.0 - used if ctx.demand.strategy is Strategy.SPREAD else used)
