"""ComputeIdentifier handlers: configure on spec changes, forget on deletion (no finalizer is held).

Status is written by one pass for all identifiers (`statuses.identifiers`, through the one writer
`statuses.writer`), not by a handler here.
"""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import ValidationError

from computenet.api.conditions import read_conditions
from computenet.api.constants import GROUP, IDENTIFIER, VERSION, Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.problems import spec_problem
from computenet.events import ref_of
from computenet.members.identifier_status import Problem
from computenet.runtime import Runtime

KIND = (GROUP, VERSION, IDENTIFIER.plural)


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND)
async def configure(
    name: str, body: kopf.Body, spec: kopf.Spec, meta: kopf.Meta, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    runtime = _runtime(memo)
    item = runtime.identifiers.track(name)
    if item.ref is None:  # first seen by this process: events name it, and its conditions carry on
        item.ref = ref_of(body)
        item.previous_conditions = read_conditions(body.get("status"))
    try:
        parsed = ComputeIdentifierSpec.model_validate(dict(spec))
    except ValidationError as e:
        item.problem = Problem(Reason.INVALID_SPEC, spec_problem(e))
        item.mark_dirty()
        return
    await runtime.identifiers.configure(name, parsed, dict(meta.get("labels") or {}), meta.get("generation"))


@kopf.on.delete(*KIND, optional=True)
async def forget(name: str, memo: kopf.Memo, **_: Any) -> None:
    """An identifier marked for deletion (another controller's finalizer holds it): stop using it."""
    await _runtime(memo).identifiers.forget(name)


def _deleted(type: str, **_: Any) -> bool:
    """Only a deletion concerns `gone`: other events would run it (and log it) for nothing."""
    return type == "DELETED"


@kopf.on.event(*KIND, when=_deleted)
async def gone(name: str, type: str, memo: kopf.Memo, **_: Any) -> None:
    """An identifier deleted: stop using it, and its tasks fail over (`IdentifierSet.removed`).

    The operator holds no finalizer on identifiers (it has nothing to do before one goes), so the
    watch's DELETED event is what tells.
    """
    if type == "DELETED":
        await _runtime(memo).identifiers.forget(name)
