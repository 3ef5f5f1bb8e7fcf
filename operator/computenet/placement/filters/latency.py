"""Latency: with maxLatencyMs, the identifier must be known to be that close to the task's data.

Latency is 0 within the data's region unless the identifier's latency map says otherwise; an
identifier that states no latency to the data region is rejected as unknown rather than guessed.
Without a data region there is nothing to measure against, and the filter passes.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

UNKNOWN, ABOVE = 0, 1


class Latency:
    name = "Latency"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        limit = ctx.demand.constraints.max_latency_ms
        if limit is None or ctx.demand.data is None:
            return None
        latency = ctx.latency_ms[ids]
        return np.where(np.isnan(latency), UNKNOWN, np.where(latency > limit, ABOVE, PASS))

    def reason(self, ctx: Context, code: int) -> Reason:
        region = ctx.demand.data.region if ctx.demand.data else ""
        if code == UNKNOWN:
            return Reason(reasons.LATENCY_UNKNOWN, f"latency to {region} unknown")
        return Reason(
            reasons.LATENCY_ABOVE_MAX,
            f"latency to {region} above {ctx.demand.constraints.max_latency_ms:g} ms",
        )

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        region = ctx.demand.data.region if ctx.demand.data else ""
        limit = ctx.demand.constraints.max_latency_ms or 0.0
        return [
            f"no latency to {region} is known for this identifier"
            if c == UNKNOWN
            else f"latency to {region} is {ms:g} ms, the task allows {limit:g} ms"
            for ms, c in zip(ctx.latency_ms[ids].tolist(), codes.tolist(), strict=True)
        ]
