"""ComputePool handlers: keep every pool's spec for placement, and track it for its status pass.

The status itself is written by one pass for all pools (``statuses.pools``) through the one status
writer: a change of the pool's Ready condition (or of its spec) at once, a change of its counts alone
(capacity, free slots, task counts), which moves with every busy member, at most once per
``statuses.pools.COUNTS_INTERVAL_S``.
"""

from __future__ import annotations

from typing import Any

import kopf
from pydantic import ValidationError

from computenet.api.conditions import read_conditions
from computenet.api.constants import GROUP, POOL, VERSION
from computenet.api.pool import ComputePoolSpec
from computenet.api.problems import spec_problem
from computenet.events import ref_of
from computenet.runtime import Runtime

KIND = (GROUP, VERSION, POOL.plural)


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND, field="spec")
async def remember(name: str, body: kopf.Body, spec: kopf.Spec, memo: kopf.Memo, **_: Any) -> None:
    """Tasks are placed with their pool's policy: keep the latest valid spec of every pool."""
    runtime: Runtime = memo["runtime"]
    try:
        parsed: ComputePoolSpec | None = ComputePoolSpec.model_validate(dict(spec))
        problem = ""
    except ValidationError as e:
        parsed, problem = None, spec_problem(e)
    generation = body.get("metadata", {}).get("generation")
    runtime.pool_changed(name, parsed)
    runtime.pool_statuses.track(name, ref_of(body), generation, parsed, problem, read_conditions(body.get("status")))


@kopf.on.delete(*KIND, optional=True)
async def drop(name: str, memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    runtime.pool_changed(name, None)
    runtime.pool_statuses.forget(name)
