"""Kubernetes Events on our objects, posted by the operator's own hub client.

kopf can post events only from inside its handlers; the scheduler, the dispatcher and the status
daemons run outside them. Events are queued and posted by one worker, so a burst of transitions
never blocks the work that caused them, and a full queue drops events rather than memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.aio.client import ApiClient, CoreV1Api
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.fields import format_time

logger = logging.getLogger(__name__)

COMPONENT = "computenet"
QUEUE_LIMIT = 10_000
EVENT_NAMESPACE_FOR_CLUSTER_OBJECTS = "default"


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str
    uid: str
    namespace: str | None = None


class EventRecorder:
    def __init__(self, client: ApiClient) -> None:
        self._core = CoreV1Api(client)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._worker = asyncio.create_task(self._post_all(), name="event poster")

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        now = format_time(dt.datetime.now(dt.UTC))
        namespace = ref.namespace or EVENT_NAMESPACE_FOR_CLUSTER_OBJECTS
        involved = {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "uid": ref.uid}
        if ref.namespace:
            involved["namespace"] = ref.namespace
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{ref.name}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": involved,
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            logger.warning("event queue full; dropped %s event on %s", reason, ref.name)

    async def _post_all(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._core.create_namespaced_event(event["metadata"]["namespace"], event)  # type: ignore[arg-type]
            except ApiException as e:
                logger.info("event %s not posted (HTTP %s)", event["reason"], e.status)
            except Exception as e:  # events are best effort; the poster must outlive any failure
                logger.info("event %s not posted (%s)", event["reason"], type(e).__name__)

    async def close(self) -> None:
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker


def ref_of(body: Mapping[str, Any]) -> ObjectRef:
    meta = body["metadata"]
    return ObjectRef(body["apiVersion"], body["kind"], meta["name"], meta["uid"], meta.get("namespace"))
