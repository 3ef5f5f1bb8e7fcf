"""ComputeIdentifier handlers: configure on spec changes, and a daemon that writes status.

Status is written by one daemon per identifier, woken by member changes and coalesced, so a busy
member cannot flood the hub with patches; an unchanged status is rewritten only to refresh the
heartbeat. Transitions a user cares about (Ready, Reachable, a bad Secret) also become events.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import kopf
from kubernetes.aio.client.exceptions import ApiException
from pydantic import ValidationError

from computenet.api.constants import GROUP, IDENTIFIER, VERSION, ConditionType, Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.conditions import find
from computenet.events import EventRecorder, ObjectRef, ref_of
from computenet.members.identifiers import Problem
from computenet.runtime import Runtime

KIND = (GROUP, VERSION, IDENTIFIER.plural)


def _runtime(memo: kopf.Memo) -> Runtime:
    runtime: Runtime = memo["runtime"]
    return runtime


def spec_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"spec.{where}: {first['msg']}" + (
        f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    )


@kopf.on.resume(*KIND)
@kopf.on.create(*KIND)
@kopf.on.update(*KIND)
async def configure(
    name: str, spec: kopf.Spec, meta: kopf.Meta, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    runtime = _runtime(memo)
    try:
        parsed = ComputeIdentifierSpec.model_validate(dict(spec))
    except ValidationError as e:
        item = runtime.identifiers.track(name)
        item.problem = Problem(Reason.INVALID_SPEC, spec_problem(e))
        item.dirty.set()
        return
    await runtime.identifiers.configure(name, parsed, dict(meta.get("labels") or {}), meta.get("generation"))


@kopf.on.delete(*KIND, optional=True)
async def forget(name: str, memo: kopf.Memo, **_: Any) -> None:
    await _runtime(memo).identifiers.forget(name)


def _essence(status: dict[str, Any]) -> dict[str, Any]:
    """Status without what changes on every write, to tell whether anything really changed."""
    out = {k: v for k, v in status.items() if k != "lastHeartbeatTime"}
    out["conditions"] = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in status["conditions"]]
    return out


@kopf.daemon(*KIND, cancellation_timeout=2.0)
async def write_status(
    name: str, body: kopf.Body, stopped: kopf.DaemonStopped, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    runtime = _runtime(memo)
    settings = runtime.settings
    item = runtime.identifiers.track(name)
    if not item.previous_conditions:
        item.previous_conditions = list((body.get("status") or {}).get("conditions") or [])
    last: dict[str, Any] | None = None
    last_write = 0.0
    loop = asyncio.get_running_loop()
    while not stopped:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(item.dirty.wait(), settings.heartbeat_refresh_s)
        await asyncio.sleep(settings.status_coalesce_s)  # merge the burst of changes behind this one
        item.dirty.clear()
        status = item.status(dt.datetime.now(dt.UTC))
        essence = _essence(status)
        if essence == last and loop.time() - last_write < settings.heartbeat_refresh_s:
            continue
        try:
            await runtime.hub.replace_status(IDENTIFIER, name, status)
        except ApiException as e:
            if e.status == 404:
                return
            logger.warning("status write failed (HTTP %s); will retry", e.status)
            item.dirty.set()
            continue
        except Exception as e:  # a dropped connection: try again with the next change or heartbeat
            logger.warning("status write failed (%s); will retry", type(e).__name__)
            item.dirty.set()
            continue
        _announce(runtime.events, ref_of(body), last, status)
        last, last_write = essence, loop.time()
        runtime.identifiers.changed.fire()


def _announce(events: EventRecorder, ref: ObjectRef, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    """Events for transitions of Ready and Reachable (and their reasons)."""
    for type_ in (ConditionType.READY, ConditionType.REACHABLE):
        new = find(after["conditions"], type_)
        old = find(before["conditions"], type_) if before else None
        if new is None or (old is not None and (old["status"], old["reason"]) == (new["status"], new["reason"])):
            continue
        if new["status"] == "True":
            again = "" if old is None else " again"
            events.record(ref, str(new["reason"]), f"{type_}{again}: {new['message']}")
        else:
            events.record(ref, str(new["reason"]), f"{type_} false: {new['message']}", warning=True)
