"""Budgets: spend per period against a queue's limit; a queue over its budget admits nothing more.

The period is the calendar month in UTC (``period_start``). Spend is what settlement accrued for the
queue's tasks in the period (price x dispatched resources x run time, see ``tasks/settlement.py``);
a task already admitted keeps running when its queue goes over: the budget stops new admissions,
it does not evict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    amount: float
    currency: str = "USD"


def period_start(now: dt.datetime) -> dt.datetime:
    """The start of the budget period holding ``now``: the first of its month, 00:00 UTC."""
    t = now.astimezone(dt.UTC)
    return dt.datetime(t.year, t.month, 1, tzinfo=dt.UTC)


def over_budget(queue: str, budget: Budget | None, spent: float) -> str | None:
    """Why ``queue`` may admit nothing more this period, or None while it is within its budget."""
    if budget is None or spent < budget.amount:
        return None
    return f"queue {queue} over budget: spent {spent:.2f} of {budget.amount:.2f} {budget.currency} this month"
