"""Providers: allowed providers (if any) must include the identifier's; denied ones must not."""

from __future__ import annotations

import numpy as np

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.context import Context
from computenet.placement.framework import PASS, Reason

NOT_ALLOWED, DENIED = 0, 1


class Providers:
    name = "Providers"
    task_level = True
    """Reads only the task's own constraints, never a pod set's (see `pod_sets`)."""

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        c, known = ctx.demand.constraints, ctx.snapshot.vocabulary.providers
        if not c.providers_allowed and not c.providers_denied:
            return None
        provider = ctx.snapshot.table.provider[ids]
        codes = np.full(len(ids), PASS)
        if c.providers_allowed:
            codes[~ctx.lookup(known, c.providers_allowed)[provider]] = NOT_ALLOWED
        if c.providers_denied:
            codes[ctx.lookup(known, c.providers_denied)[provider]] = DENIED
        return codes

    def reason(self, ctx: Context, code: int) -> Reason:
        c = ctx.demand.constraints
        if code == DENIED:
            return Reason(reasons.PROVIDER_NOT_ALLOWED, f"provider denied ({', '.join(c.providers_denied)})")
        return Reason(reasons.PROVIDER_NOT_ALLOWED, f"provider not in {', '.join(c.providers_allowed)}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        providers = [ctx.snapshot.identifiers[i].provider or "(none)" for i in ids.tolist()]
        return [
            f"provider {p} is denied" if c == DENIED else f"provider {p} is not allowed"
            for p, c in zip(providers, codes.tolist(), strict=True)
        ]
