"""MaxDataCost: with spec.data.maxDataCost, moving the task's data to the identifier costs at most that.

The cost is `transfer`'s: the GiB not already in the identifier's region times the egress price of
the store each comes from, in the task's currency (``spec.constraints.currency``). A cost that is
unknown (no store declared in a source region) or quoted in another currency cannot be held to the
cap and is rejected as such; an identifier whose region holds every piece pays nothing and passes.
Without a cap the filter passes.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.filters.transfer_time import moved
from computenet.placement.framework import PASS, Reason
from computenet.placement.transfer import MIXED, NONE

UNKNOWN, ABOVE, CURRENCY = 0, 1, 2


class MaxDataCost:
    name = "MaxDataCost"
    task_level = True
    """Reads only the task's own data, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        data = ctx.demand.data
        if data is None or data.max_cost is None:
            return None
        m = ctx.data_moves
        cost, quoted = m.cost[ids], m.currency[ids]
        codes = np.where(cost > data.max_cost, ABOVE, PASS)
        currency = ctx.demand.constraints.currency
        if currency is not None:
            wanted = ctx.snapshot.vocabulary.currencies.get(currency, -3)
            codes[(quoted != NONE) & (quoted != MIXED) & (quoted != wanted)] = CURRENCY
        codes[np.isnan(cost)] = UNKNOWN
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        currency = ctx.demand.constraints.currency or ""
        if code == UNKNOWN:
            return Reason(reasons.DATA_COST_UNKNOWN, "data cost unknown")
        if code == CURRENCY:
            return Reason(reasons.DATA_COST_CURRENCY, f"data cost not in {currency}")
        limit = ctx.demand.data.max_cost if ctx.demand.data else 0.0
        return Reason(reasons.DATA_COST_ABOVE_MAX, f"data cost above {limit:.2f} {currency}".rstrip())

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [self._detail(ctx, i, c) for i, c in zip(ids.tolist(), codes.tolist(), strict=True)]

    @staticmethod
    def _detail(ctx: Context, ident: int, code: int) -> str:
        m, currencies = ctx.data_moves, ctx.snapshot.vocabulary.currencies
        names = {i: c for c, i in currencies.items()}
        quoted = int(m.currency[ident])
        if code == UNKNOWN:
            if quoted == MIXED:
                return f"data cost unknown: moving {moved(ctx, ident)} is priced in several currencies"
            return f"data cost unknown: no store with an egress price is known for moving {moved(ctx, ident)}"
        if code == CURRENCY:
            return f"data cost priced in {names.get(quoted, '?')}, the task pays in {ctx.demand.constraints.currency}"
        limit = ctx.demand.data.max_cost if ctx.demand.data else 0.0
        unit = names.get(quoted, "")
        return f"data cost {m.cost[ident]:.2f} {unit} > maxDataCost {limit:.2f} ({moved(ctx, ident)})"
