"""One task, several ways to run it: per vendor or model variants, and compute requests.

A task may list variants (``spec.variants``: an H100 build, an MI300X build, an Ascend build, each
with its own image, environment and devices per replica), or ask for normalized compute instead
of a model (`compute`). Either way placement sees alternatives (`alternatives`): the demand with
one variant's devices each, a compute request expanded into one alternative per catalogue model
that meets it (with its count).

The rule, over whole decisions (as `topology` does for domains): the task is placed once per
alternative, every filter, score, gang fit and assumption applying unchanged, and the alternative
whose chosen identifier scores best wins. Ties go to the alternative listed first: the task's
variants in the order it lists them (the user's order is their preference), and a compute
request's models fewest devices first, then in catalogue order. The decision returned is the
winner's (its assignment is what is assumed and dispatched, its `variant` what the workload is
rendered with), answering for all: its candidates are every identifier some alternative fits,
each with its best alternative, and its rejections the identifiers none fits, with what each
alternative said of them. Pure.

Scores must compare across alternatives: each is absolute but Price, which is relative to the
cheapest candidate, so an alternative whose own cheapest is dearer than another's is placed again
priced against the cheapest of all (`Demand.cheapest`).

Cost: one decision per alternative, and one more for each whose cheapest candidate is not the
cheapest of all; tasks list few variants, and a compute request has at most one alternative per
catalogue model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from computenet.placement import reasons
from computenet.placement.arrays import IntArray
from computenet.placement.compute import choices, described
from computenet.placement.context import Context
from computenet.placement.decision import Decision
from computenet.placement.demand import Data, Demand, Variant
from computenet.placement.framework import Reason
from computenet.placement.ranking import TIE_DECIMALS

PlaceOne = Callable[[Demand], Decision]
"""Places one demand of a single alternative (``pipeline.place`` with the caller's assumptions)."""


def alternatives(demand: Demand) -> tuple[Variant, ...]:
    """The ways `demand` may run, in tie-break order; () when it has only one (no variants, no compute request)."""
    if demand.variants:
        ways = demand.variants
    elif demand.accelerators is not None and demand.accelerators.compute is not None:
        ways = (Variant(demand.accelerators),)
    else:
        return ()
    out: list[Variant] = []
    for way in ways:
        acc = way.accelerators
        if acc is not None and acc.compute is not None:
            out.extend(Variant(choice, way.name) for choice in choices(acc))
        else:
            out.append(way)
    return tuple(out)


class NoModel:
    """Explains identifiers that would fit, but no catalogue model meets the task's compute request."""

    name = "Compute"

    def __init__(self, said: str) -> None:
        self.said = said

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        """Not run as a filter: `place` finds that no alternative exists."""
        return None

    def reason(self, ctx: Context, code: int) -> Reason:
        return Reason(reasons.NO_MODEL_MEETS_COMPUTE, f"no catalogue model meets {self.said}")

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        return [f"no accelerator model of the catalogue meets {self.said}" for _ in ids.tolist()]


def place(demand: Demand, place_one: PlaceOne) -> Decision:
    """Where `demand` runs, with which of its alternatives (see module); ties to the first listed."""
    ways = alternatives(demand)
    if not ways:  # a compute request no catalogue model meets: what fits otherwise is refused, saying so
        acc = demand.accelerators
        assert acc is not None
        assert acc.compute is not None
        anywhere = place_one(demand.as_variant(Variant(None)))
        return anywhere.refused(NoModel(described(acc.compute, acc.min_memory_mib)))
    decisions = [(way, place_one(demand.as_variant(way))) for way in ways]
    floor = min((c for _, d in decisions if (c := _cheapest(d, demand.data)) is not None), default=None)
    if floor is not None:  # price each against the cheapest of all: the Price score is relative to the cheapest
        decisions = [
            (
                way,
                d
                if _cheapest(d, demand.data) in (None, floor)
                else place_one(replace(demand.as_variant(way), cheapest=floor)),
            )
            for way, d in decisions
        ]
    best: Decision | None = None
    for _, decision in decisions:
        chosen = decision.chosen
        if chosen is not None and (
            best is None or round(chosen.score, TIE_DECIMALS) > round(_score(best), TIE_DECIMALS)
        ):
            best = decision
    return (best or decisions[0][1]).across(decisions)


def _cheapest(decision: Decision, data: Data | None = None) -> float | None:
    """The cost of the cheapest candidate whose price counts (known, in the task's currency).

    The cost the Price score compares (`Context.total_cost`): the price per hour, and for a task
    whose data must move, that price x the data's hours plus the data's cost where comparable.
    """
    moving = data is not None and bool(data.located())
    costs = []
    for c in decision.candidates:
        if c.price_per_hour is None or not c.scores.get("Price"):
            continue
        if not moving or data is None:
            costs.append(c.price_per_hour)
            continue
        egress = c.data_cost if c.data_cost is not None and c.data_currency == c.currency else 0.0
        costs.append(c.price_per_hour * data.hours + egress)
    return min(costs, default=None)


def _score(decision: Decision) -> float:
    assert decision.chosen is not None
    return decision.chosen.score
