"""A decision's explanation as the task's status keeps it: the best that fit, and why the rest did not.

`kubectl computenet why` reads it back without recomputing anything. Bounded so the status stays
small whatever the pool's size: the best ``MAX_RUNNERS_UP`` identifiers that fit (the chosen one
first) with their score components, and per rejected identifier the filter's verdict, the first
``MAX_VERDICTS`` by name, the rest counted.

Explaining a rejection costs a filter's detail pass over every rejected identifier (about 5 µs
each), on the scheduling loop, once per placed task. So rejections are listed only while a decision
rejected at most ``LIST_REJECTIONS_UP_TO`` identifiers (a few milliseconds); in a larger pool they
are only counted (``rejectedOmitted``, and grouped by reason in the Placed condition), and
``kubectl computenet why --live`` lists them, paying that cost on the client.
"""

from __future__ import annotations

from typing import Any

from computenet.api.task import MAX_RUNNERS_UP, MAX_VERDICTS, CandidateScore, Explanation, Offer, Verdict
from computenet.placement import Candidate, Decision
from computenet.placement import Offer as PlacementOffer

MESSAGE_LIMIT = 512
LIST_REJECTIONS_UP_TO = 500


def scores_of(candidate: Candidate) -> dict[str, float]:
    """Score components rounded to one decimal, by plugin name."""
    return {name: round(value, 1) for name, value in sorted(candidate.scores.items())}


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def data_fields(c: Candidate | PlacementOffer) -> dict[str, Any]:
    """The data's figures of a candidate or offer as status fields; none for a task without data to move.

    An unknown ETA or cost is left out (absent means unknown), bytes moved are always stated.
    """
    if c.data_bytes is None:
        return {}
    return {
        "data_bytes": c.data_bytes,
        "data_transfer_seconds": _rounded(c.data_seconds, 1),
        "data_cost": _rounded(c.data_cost, 4),
        "data_currency": c.data_currency if c.data_cost is not None else None,
    }


def candidate_score(candidate: Candidate) -> CandidateScore:
    return CandidateScore(
        identifier=candidate.identifier,
        score=round(candidate.score, 2),
        scores=scores_of(candidate) or None,
        accelerator_model=candidate.model,
        variant=candidate.variant,
        accelerator_count=candidate.devices or None,
        price_per_hour=_rounded(candidate.price_per_hour, 4),
        currency=candidate.currency,
        **data_fields(candidate),
    )


def offer_status(offer: PlacementOffer, candidate: Candidate) -> Offer:
    """One entry of ``status.offers``: the offer with its price, fit, score components and data figures.

    The data's figures are its ETA and egress cost there (`data_fields`).
    """
    return Offer(
        identifier=offer.identifier,
        uri=offer.uri or None,
        score=round(offer.score, 1),
        price_per_hour=_rounded(offer.price_per_hour, 4),
        currency=offer.currency,
        accelerator_model=offer.model,
        fit=round(offer.fit, 1),
        variant=offer.variant,
        accelerator_count=offer.devices or None,
        scores=scores_of(candidate) or None,
        **data_fields(offer),
    )


def explanation(
    decision: Decision,
    runners_up: int = MAX_RUNNERS_UP,
    verdicts: int = MAX_VERDICTS,
    list_up_to: int | None = LIST_REJECTIONS_UP_TO,
) -> Explanation:
    """The bounded explanation of `decision` (pure); `list_up_to=None` lists rejections whatever their number."""
    fitting = decision.top(runners_up)
    rejected = sum(count for count, _ in decision.reasons)
    listed = list_up_to is None or rejected <= list_up_to
    rejections = list(decision.rejections.values()) if listed else []
    kept = rejections[:verdicts]
    return Explanation(
        considered=decision.total,
        fitting=decision.total - rejected,
        candidates=[candidate_score(c) for c in fitting] or None,
        rejected=[
            Verdict(identifier=r.identifier, filter=r.filter, reason=r.reason, message=r.message[:MESSAGE_LIMIT])
            for r in kept
        ]
        or None,
        rejected_omitted=rejected - len(kept),
    )
