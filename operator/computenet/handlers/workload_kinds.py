"""ComputeWorkloadKind handlers: declare the kind to this operator, and say whether it is accepted.

A valid declaration makes the kind supported (``computenet.workloads.kinds.declare``) and has every
connected member watch it; an invalid one is withdrawn and its ``Accepted`` condition is False
naming the field. The status (conditions, the member RBAC rule) is the typed
``ComputeWorkloadKindStatus``, written through the operator's one status writer (``statuses.writer``)
like every other kind's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from computenet.api.conditions import condition, read_conditions, set_conditions
from computenet.api.constants import GROUP, VERSION, WORKLOAD_KIND
from computenet.api.problems import summarize
from computenet.api.workload_kind import (
    ComputeWorkloadKindSpec,
    ComputeWorkloadKindStatus,
    declared_kind,
    member_rule,
)
from computenet.runtime import Runtime
from computenet.workloads.kinds import declare, withdraw

KIND = (GROUP, VERSION, WORKLOAD_KIND.plural)
ACCEPTED = "Accepted"

_declared: dict[str, tuple[str, str]] = {}
"""Which kind each ComputeWorkloadKind (by name) declared, so a change or a deletion withdraws it."""


def _withdraw(name: str) -> None:
    previous = _declared.pop(name, None)
    if previous is not None:
        withdraw(*previous)


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND, field="spec")
async def accept(name: str, body: kopf.Body, spec: kopf.Spec, memo: kopf.Memo, **_: Any) -> None:
    """Declare the kind, or withdraw it and say which field is wrong."""
    runtime: Runtime = memo["runtime"]
    generation = body.get("metadata", {}).get("generation")
    _withdraw(name)
    kind, problems = declared_kind(spec)
    rule = None
    if kind is None:
        cond = condition(ACCEPTED, False, "InvalidSpec", summarize(problems), generation=generation)
    else:
        declare(kind)
        _declared[name] = (kind.api_version, kind.kind)
        for conn in runtime.registry.connections:
            conn.watch_kind(kind)
        message = f"tasks may carry {kind.key}; members need the rule in status.memberRule"
        cond = condition(ACCEPTED, True, "Declared", message, generation=generation)
        rule = member_rule(ComputeWorkloadKindSpec.model_validate(dict(spec)))
    previous = read_conditions(body.get("status"))
    status = ComputeWorkloadKindStatus(
        observed_generation=generation,
        conditions=set_conditions(previous, [cond], dt.datetime.now(dt.UTC), generation),
        member_rule=rule,
    )
    runtime.tasks.book.writer.write(WORKLOAD_KIND, None, name, status)


@kopf.on.delete(*KIND, optional=True)
async def forget(name: str, **_: Any) -> None:
    """The kind is no longer supported: tasks of it are refused from now on (running ones are followed no more)."""
    _withdraw(name)
