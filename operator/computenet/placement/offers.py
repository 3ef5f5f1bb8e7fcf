"""Offers: for a suspended task, the best few places it could run now, with price and fit.

Nothing is dispatched or assumed for a suspended task: the user reads the offers in the task's
status and lifts `suspend` (possibly after narrowing constraints) when one suits. Offers are a
view of a decision, so they rank and explain exactly as placement would.
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

    def as_status(self) -> dict[str, object]:
        """The offer as a status entry: camelCase keys, rounded numbers, absent values left out."""
        fields: dict[str, object | None] = {
            "identifier": self.identifier,
            "uri": self.uri or None,
            "score": round(self.score, 1),
            "pricePerHour": None if self.price_per_hour is None else round(self.price_per_hour, 4),
            "currency": self.currency,
            "acceleratorModel": self.model,
            "fit": round(self.fit, 1),
            "variant": self.variant,
            "acceleratorCount": self.devices or None,
        }
        return {k: v for k, v in fields.items() if v is not None}


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
        )
        for c in decision.top(k)
    )
