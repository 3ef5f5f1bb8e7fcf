"""Offers: for a suspended task, the best few places it could run now, with price, fit and the data's figures.

Nothing is dispatched or assumed for a suspended task: the user reads the offers in the task's
status and lifts `suspend` (possibly after narrowing constraints) when one suits. Offers are a
view of a decision, so they rank and explain exactly as placement would. How an offer reads in
the task's status is the operator's business (``tasks.candidates.offer_status``), not placement's.
"""

from __future__ import annotations

from dataclasses import dataclass

from computenet.placement.decision import Decision

DEFAULT_OFFERS = 3


@dataclass(frozen=True, slots=True)
class Offer:
    identifier: str
    uri: str
    score: float
    price_per_hour: float | None
    currency: str | None
    model: str | None
    fit: float
    """The Fit score (0-100): how well the task packs there under its strategy."""
    variant: str | None = None
    """The task's variant it would run there (``spec.variants[].name``); None without variants."""
    devices: int = 0
    """Devices per replica it would use there (a compute request's count is chosen per identifier)."""

    data_bytes: int | None = None
    """Bytes of the task's data moved into the identifier's region; None: the task has no data to move."""
    data_seconds: float | None = None
    """The data's ETA there in seconds; None: unknown, or no data."""
    data_cost: float | None = None
    """What moving the data there costs, in `data_currency`; None: unknown, or no data."""
    data_currency: str | None = None


def offers(decision: Decision, k: int = DEFAULT_OFFERS) -> tuple[Offer, ...]:
    return tuple(
        Offer(
            c.identifier,
            c.uri,
            c.score,
            c.price_per_hour,
            c.currency,
            c.model,
            c.scores.get("Fit", 0.0),
            c.variant,
            c.devices,
            c.data_bytes,
            c.data_seconds,
            c.data_cost,
            c.data_currency,
        )
        for c in decision.top(k)
    )
