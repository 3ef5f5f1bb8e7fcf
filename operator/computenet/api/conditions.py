"""Conditions as Kubernetes expects them (metav1.Condition): one per type, transition times that move only on change.

The one helper for the typed status of every kind the operator writes (tasks, identifiers, pools,
queues). Status is rewritten often (capacity changes, heartbeats); a condition whose status did not
change keeps its ``lastTransitionTime``, so ``kubectl describe`` tells since when a member has been
down (``k8s.io/apimachinery/pkg/api/meta.SetStatusCondition``, v0.36.3, follows the same rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from computenet.api.common import Condition
from computenet.api.constants import ConditionStatus


def condition(
    type_: str, status: bool | None, reason: str, message: str, *, generation: int | None = None
) -> Condition:
    """A condition (``status`` None is Unknown) without a transition time: `set_conditions` gives it one."""
    return Condition(
        type=str(type_),
        status=ConditionStatus.UNKNOWN
        if status is None
        else (ConditionStatus.TRUE if status else ConditionStatus.FALSE),
        reason=str(reason),
        message=message,
        observed_generation=generation,
    )


def set_conditions(
    previous: Sequence[Condition] | None,
    updates: Sequence[Condition],
    now: dt.datetime,
    generation: int | None = None,
) -> list[Condition]:
    """One condition per type, sorted by type: ``updates`` replace their types, the others are kept.

    An updated condition whose status did not change keeps the previous transition time; one that
    changed (or is new, or had none) takes ``now``. With ``generation``, every updated condition
    records it as its ``observedGeneration``.
    """
    by_type = {c.type: c for c in previous or ()}
    for cond in updates:
        old = by_type.get(cond.type)
        kept = old is not None and old.status == cond.status and old.last_transition_time is not None
        update: dict[str, object] = {"last_transition_time": old.last_transition_time if kept and old else now}
        if generation is not None:
            update["observed_generation"] = generation
        by_type[cond.type] = cond.model_copy(update=update)
    return sorted(by_type.values(), key=lambda c: c.type)


def find(conditions: Sequence[Condition] | None, type_: str) -> Condition | None:
    """The condition of ``type_``, or None."""
    return next((c for c in conditions or () if c.type == type_), None)


def read_conditions(status: object) -> list[Condition]:
    """The conditions of a status as the hub holds it (camelCase JSON); any it cannot read are left out."""
    raw = status.get("conditions") if isinstance(status, Mapping) else None
    out = []
    for item in raw if isinstance(raw, list) else ():
        try:
            out.append(Condition.model_validate(item))
        except ValidationError:
            continue
    return out
