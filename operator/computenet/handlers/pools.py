"""ComputePool handlers: a daemon per pool that re-aggregates whenever an identifier changes.

A change of the pool's Ready condition (or of its spec) is written at once; a change of its counts
alone (capacity, free slots, task counts), which moves with every busy member, at most once per
`COUNTS_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any

import kopf
from kubernetes.aio.client.exceptions import ApiException
from pydantic import ValidationError

from computenet.api.constants import GROUP, POOL, VERSION, ConditionType, Reason
from computenet.api.pool import ComputePoolSpec
from computenet.conditions import Cond, find, merge
from computenet.events import ref_of
from computenet.handlers.identifiers import spec_problem
from computenet.placement.accelerators import lookup
from computenet.pools import aggregate, pool_selector, pool_status
from computenet.runtime import Runtime

KIND = (GROUP, VERSION, POOL.plural)

COUNTS_INTERVAL_S = 10.0
"""A pool's status is written at most this often when only its counts changed: Karmada's default
``--cluster-status-update-frequency`` for a cluster's resource summary (10 s)."""


def _peak(model: str) -> Mapping[str, float] | None:
    known = lookup(model)
    return known.tflops if known else None


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND, field="spec")
async def remember(name: str, spec: kopf.Spec, memo: kopf.Memo, **_: Any) -> None:
    """Tasks are placed with their pool's policy; keep the latest valid spec of every pool."""
    runtime: Runtime = memo["runtime"]
    try:
        runtime.pools[name] = ComputePoolSpec.model_validate(dict(spec))
    except ValidationError:
        runtime.pools.pop(name, None)
    runtime.tasks.book.wake.fire()


@kopf.on.delete(*KIND, optional=True)
async def drop(name: str, memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    runtime.pools.pop(name, None)


@kopf.daemon(*KIND, cancellation_timeout=2.0)
async def write_status(
    name: str,
    body: kopf.Body,
    spec: kopf.Spec,
    stopped: kopf.DaemonStopped,
    memo: kopf.Memo,
    logger: kopf.Logger,
    **_: Any,
) -> None:
    runtime: Runtime = memo["runtime"]
    conditions = list((body.get("status") or {}).get("conditions") or [])
    seen = -1
    last: dict[str, Any] | None = None
    said: tuple[Any, ...] | None = None  # (Ready's status and reason, observed generation) last written
    written_at = 0.0
    loop = asyncio.get_running_loop()
    patience = runtime.settings.heartbeat_refresh_s
    while not stopped:
        seen = await runtime.identifiers.changed.wait_past(seen, patience=patience)
        patience = runtime.settings.heartbeat_refresh_s
        await asyncio.sleep(runtime.settings.status_coalesce_s)
        now = dt.datetime.now(dt.UTC)
        try:
            parsed = ComputePoolSpec.model_validate(dict(body.get("spec") or {}))
        except ValidationError as e:
            status: dict[str, Any] = {}
            ready = Cond(ConditionType.READY, False, Reason.INVALID_SPEC, spec_problem(e))
        else:
            selector = pool_selector(parsed)
            totals = aggregate(selector, runtime.identifiers.items.values(), lambda i: i.capacity(), _peak)
            status, ready = pool_status(totals, runtime.tasks.counts(name))
        status["observedGeneration"] = body.get("metadata", {}).get("generation")
        if status == last:
            continue
        essence = (ready.status, ready.reason, status["observedGeneration"])
        hold = written_at + COUNTS_INTERVAL_S - loop.time()
        if essence == said and hold > 0:  # only counts changed: they wait for the interval
            patience = hold
            continue
        before = find(conditions, ConditionType.READY)
        conditions = merge(conditions, [ready], now, status["observedGeneration"])
        status["conditions"] = conditions
        try:
            await runtime.hub.replace_status(POOL, name, status)
        except ApiException as e:
            if e.status == 404:
                return
            logger.warning("status write failed (HTTP %s); will retry", e.status)
            continue
        except Exception as e:  # a dropped connection: the next change or heartbeat writes again
            logger.warning("status write failed (%s); will retry", type(e).__name__)
            last = None
            continue
        last = {k: v for k, v in status.items() if k != "conditions"}
        said, written_at = essence, loop.time()
        if before is None or before.get("status") != ready.status_text:
            runtime.events.record(ref_of(body), str(ready.reason), ready.message, warning=not ready.status)
