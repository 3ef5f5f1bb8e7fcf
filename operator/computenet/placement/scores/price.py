"""Price: cheaper is better, in proportion: 100 x (cheapest candidate's cost / this cost).

Proportional rather than min-max, so that "20% dearer" costs the same score whatever else is on
offer and a trade-off against locality stays a matter of weights. An unknown price, or one in
another currency than the task's, scores 0. A task of several variants is priced against the
cheapest candidate of all its variants (`Demand.cheapest`), so that scores compare across them.

The cost is the task's price per hour, and for a task whose data must move, its whole cost:
price per hour x `Data.hours` (the hours of compute the data's cost is weighed against) + the
egress cost of bringing the data into the identifier's region (`transfer`). So money is compared
with money in one place: data in cn-east scores cn-west higher exactly when cn-west's compute for
those hours is cheaper by more than moving the data costs. An egress cost that is unknown (no
store declared where the data is) or quoted in another currency than the identifier's is not added
(the MaxDataCost filter, not the score, refuses an unknown cost when the task caps it).
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit
from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context


class Price:
    name = "Price"
    weight = "price"

    def applies(self, ctx: Context) -> bool:
        return True

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        fit.ensure(ctx, ids)
        price = ctx.total_cost(ids).copy()
        currency = ctx.demand.constraints.currency
        if currency is not None:
            price[ctx.snapshot.table.currency[ids] != ctx.snapshot.vocabulary.currencies.get(currency, -2)] = np.nan
        known = ~np.isnan(price)
        scores = np.zeros(len(ids))
        if known.any():
            cheapest = price[known].min()
            if ctx.demand.cheapest is not None:  # the cheapest of every variant of the task
                cheapest = min(cheapest, ctx.demand.cheapest)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(price[known] == cheapest, 1.0, cheapest / price[known])
            scores[known] = 100.0 * ratio
        return scores
