"""ComputeTask handlers: admit on create, resume and spec changes; cancel through the finalizer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import kopf

from computenet.api.constants import GROUP, TASK, VERSION
from computenet.runtime import Runtime
from computenet.tasks.cleanup import CancelPending, cancel

KIND = (GROUP, VERSION, TASK.plural)
CANCEL_RETRY_S = 5.0


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND, field="spec")
async def admit(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    runtime.tasks.admit(body)


@kopf.on.delete(*KIND)
async def remove(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo["runtime"]
    record = runtime.tasks.book.get(body["metadata"]["uid"]) or runtime.tasks.record_of(body)
    if record is None:
        return
    since = body["metadata"].get("deletionTimestamp")
    started = (
        dt.datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC) if since else dt.datetime.now(dt.UTC)
    )
    try:
        await cancel(runtime.tasks.controller, record, started)
    except CancelPending as e:
        raise kopf.TemporaryError(f"members unreachable, retrying: {e}", delay=CANCEL_RETRY_S) from None
