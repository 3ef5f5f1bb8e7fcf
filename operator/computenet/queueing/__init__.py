"""Tenants: queues with quotas per resource and accelerator model, fair share, preemption, reservations.

Pure, like placement (an import-linter contract keeps it so): no Kubernetes client, no kopf, no
pydantic, no clock. The scheduler (``tasks/scheduler.py``) turns ComputeQueues and tasks into these
plain values and runs ``admit`` on every pass; each ``Verdict`` becomes a lifecycle event.

- ``quota``: nominal quota, borrowing within the pool, the admission check (Kueue's arithmetic);
- ``ceiling``: the most a queue can ever hold, and the line for a task that asks for more;
- ``share``: dominant-resource fair share and the order it gives (Armada's fairness);
- ``preemption``: candidates and the fewest victims on one member (Kueue's classical preemption);
- ``reservation``: a member held for a starving task or a preemptor;
- ``budget``: spend per month against a queue's budget;
- ``cycle``: one admission cycle putting them together.
"""

from computenet.queueing.amounts import CPU, MEMORY, Amounts, request_of
from computenet.queueing.budget import Budget, over_budget, period_start
from computenet.queueing.ceiling import Ceiling, Ceilings, Exceeds, NeverFits
from computenet.queueing.cycle import Queues, Verdict, Waiting, admit
from computenet.queueing.holders import Holder, Slot
from computenet.queueing.preemption import Choice, candidates, choose
from computenet.queueing.quota import Blocked, Ledger, QueueQuota, ReclaimWithinPool, WithinQueue
from computenet.queueing.reservation import Reservation, Reservations
from computenet.queueing.share import dominant_share, fair

__all__ = [
    "CPU",
    "MEMORY",
    "Amounts",
    "Blocked",
    "Budget",
    "Ceiling",
    "Ceilings",
    "Choice",
    "Exceeds",
    "Holder",
    "Ledger",
    "NeverFits",
    "QueueQuota",
    "Queues",
    "ReclaimWithinPool",
    "Reservation",
    "Reservations",
    "Slot",
    "Verdict",
    "Waiting",
    "WithinQueue",
    "admit",
    "candidates",
    "choose",
    "dominant_share",
    "fair",
    "over_budget",
    "period_start",
    "request_of",
]
