"""MaxPrice: the task's price per hour on the identifier stays within its maxPrice.

Price per hour = replicas x (cores x perCpuCoreHour + GiB x perGiBHour + devices x the price
of the model the gang would actually run on, i.e. the cheapest that fits). An identifier without
a price for that model, or quoting another currency than the task's, cannot be compared and is
rejected as such. Identifiers where nothing fits are left to the Resources filter.
"""

from __future__ import annotations

import numpy as np

from computenet.placement import fit, reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import NO_FIT, Context
from computenet.placement.framework import PASS, Reason

UNKNOWN, ABOVE, CURRENCY = 0, 1, 2


class MaxPrice:
    name = "MaxPrice"

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        limit, currency = ctx.demand.constraints.max_price_per_hour, ctx.demand.constraints.currency
        if limit is None:
            return None
        codes = np.full(len(ids), PASS)
        fit.ensure(ctx, ids)
        price, placed = ctx.fit_price[ids], ctx.fit_model[ids] != NO_FIT
        codes[placed & (price > limit)] = ABOVE
        codes[placed & np.isnan(price)] = UNKNOWN
        if currency is not None:
            quoted = ctx.snapshot.table.currency[ids]
            codes[placed & (quoted >= 0) & (quoted != ctx.snapshot.vocabulary.currencies.get(currency, -2))] = CURRENCY
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        c = ctx.demand.constraints
        if code == CURRENCY:
            return Reason(reasons.CURRENCY_MISMATCH, f"not priced in {c.currency}")
        if code == UNKNOWN:
            return Reason(reasons.PRICE_UNKNOWN, "price unknown")
        return Reason(reasons.PRICE_ABOVE_MAX, f"price above {c.max_price_per_hour:.2f}/h")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [self._detail(ctx, i, c) for i, c in zip(ids.tolist(), codes.tolist(), strict=True)]

    @staticmethod
    def _detail(ctx: Context, ident: int, code: int) -> str:
        pricing = ctx.snapshot.identifiers[ident].pricing
        model = int(ctx.fit_model[ident])
        on = f" with {ctx.snapshot.vocabulary.model_name(model)}" if model > 0 else ""
        if code == CURRENCY:
            quoted = pricing.currency if pricing else "?"
            return f"priced in {quoted}, the task pays in {ctx.demand.constraints.currency}"
        if code == UNKNOWN:
            return f"no price is known{on}"
        currency = pricing.currency if pricing else ""
        limit = ctx.demand.constraints.max_price_per_hour or 0.0
        return f"price {ctx.fit_price[ident]:.2f} {currency}/h{on}, the task allows {limit:.2f}/h"
