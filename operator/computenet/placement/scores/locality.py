"""Locality: near the task's data is better: low latency, and little time to move the data.

Latency to `spec.data.region` scores 100 at 0 ms and half at LATENCY_HALF_MS; transfer time (the
bytes not already in the identifier's region over the bandwidth of the link they take, see
`transfer`) scores half at TRANSFER_HALF_S. With data of a known size both count equally, otherwise
the one that applies alone. Unknown latency or bandwidth scores 0. Money is not weighed here: the
egress cost of the move joins the compute price in the Price score.
Absolute scales, not relative to the other candidates: "east data, west compute" is then a
trade-off the weights decide against the price score, not an artefact of who else is on offer.
"""

from __future__ import annotations

import numpy as np

from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context

LATENCY_HALF_MS = 50.0
TRANSFER_HALF_S = 600.0


def _decay(value: FloatArray, half: float) -> FloatArray:
    """100 at 0, 50 at `half`, towards 0 beyond; unknown (NaN) is 0."""
    known = ~np.isnan(value)
    return np.divide(100.0 * half, half + value, out=np.zeros(len(value)), where=known)


class Locality:
    name = "Locality"
    weight = "locality"

    def applies(self, ctx: Context) -> bool:
        return ctx.demand.data is not None

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        data = ctx.demand.data
        sized = data is not None and bool(data.located())
        transfer = _decay(ctx.transfer_seconds[ids], TRANSFER_HALF_S) if sized else None
        if data is not None and not data.region and transfer is not None:  # located by its inputs alone
            return transfer
        latency = _decay(ctx.latency_ms[ids], LATENCY_HALF_MS)
        return latency if transfer is None else (latency + transfer) / 2
