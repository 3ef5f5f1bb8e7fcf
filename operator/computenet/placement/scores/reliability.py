"""Reliability: members that failed recently score lower: 100 / (1 + recent failures)."""

from __future__ import annotations

import numpy as np

from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context


class Reliability:
    name = "Reliability"
    weight = "reliability"

    def applies(self, ctx: Context) -> bool:
        return True

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        return np.asarray(100.0 / (1.0 + ctx.snapshot.table.failures[ids]), dtype=np.float64)
