"""Create, adopt and delete Jobs in a member: the only code that writes to member clusters.

Creation is idempotent by name: a 409 means this (task, attempt) was created before, by us
before a restart or by a retry, and the existing Job is adopted if its origin labels say it is
ours. Connection failures surface as `MemberUnavailable` so callers can retry or fail over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
from kubernetes.aio.client import ApiClient, BatchV1Api, CoreV1Api, V1Job, V1Namespace, V1ObjectMeta
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import TASK_UID_LABEL


class MemberUnavailable(Exception):
    """The member could not be reached or answered with a server error; worth retrying."""


class DispatchRejected(Exception):
    """The member refused the Job for good (invalid, forbidden, or a name owned by someone else)."""


_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError)
_TIMEOUT_S = 15


def _message(e: ApiException) -> str:
    try:
        return str(json.loads(e.body or "{}").get("message") or e.reason)
    except ValueError:
        return str(e.reason)


class RemoteJobs:
    """Job operations against one member cluster."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._batch = BatchV1Api(client)
        self._core = CoreV1Api(client)
        self._namespaces: set[str] = set()

    async def ensure_namespace(self, name: str) -> None:
        if name in self._namespaces:
            return
        try:
            await self._core.read_namespace(name, _request_timeout=_TIMEOUT_S)
        except ApiException as e:
            if e.status != 404:
                raise self._translate(e) from None
            try:
                await self._core.create_namespace(
                    V1Namespace(metadata=V1ObjectMeta(name=name)), _request_timeout=_TIMEOUT_S
                )
            except ApiException as e2:
                if e2.status != 409:
                    raise self._translate(e2) from None
        except _TRANSIENT as e:
            raise MemberUnavailable(f"{type(e).__name__}: {e}") from None
        self._namespaces.add(name)

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        """Create the Job or adopt the one already there; returns (uid, adopted)."""
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        await self.ensure_namespace(namespace)
        try:
            created = await self._batch.create_namespaced_job_without_preload_content(
                namespace, cast(V1Job, V1Job.from_dict(dict(manifest))), _request_timeout=_TIMEOUT_S
            )
            body = json.loads(await created.read())
            status = created.status
            created.release()
        except _TRANSIENT as e:
            raise MemberUnavailable(f"{type(e).__name__}: {e}") from None
        if status < 300:
            return str(body["metadata"]["uid"]), False
        if status == 409:
            return await self._adopt(namespace, name, meta["labels"][TASK_UID_LABEL]), True
        if status == 404:  # the namespace vanished under us
            self._namespaces.discard(namespace)
        message = body.get("message", f"HTTP {status}")
        if status >= 500 or status == 429 or status == 404:
            raise MemberUnavailable(message)
        raise DispatchRejected(message)

    async def _adopt(self, namespace: str, name: str, task_uid: str) -> str:
        try:
            existing = await self._batch.read_namespaced_job_without_preload_content(
                name, namespace, _request_timeout=_TIMEOUT_S
            )
            body = json.loads(await existing.read())
            existing.release()
        except _TRANSIENT as e:
            raise MemberUnavailable(f"{type(e).__name__}: {e}") from None
        labels = (body.get("metadata") or {}).get("labels") or {}
        if labels.get(TASK_UID_LABEL) != task_uid:
            raise DispatchRejected(f"Job {namespace}/{name} exists in the member and belongs to someone else")
        return str(body["metadata"]["uid"])

    async def delete(self, namespace: str, name: str) -> bool:
        """Delete a Job and, in the background, its pods; False if it was already gone."""
        try:
            await self._batch.delete_namespaced_job(
                name, namespace, propagation_policy="Background", _request_timeout=_TIMEOUT_S
            )
        except ApiException as e:
            if e.status == 404:
                return False
            raise self._translate(e) from None
        except _TRANSIENT as e:
            raise MemberUnavailable(f"{type(e).__name__}: {e}") from None
        return True

    @staticmethod
    def _translate(e: ApiException) -> Exception:
        if e.status is None or e.status >= 500 or e.status == 429:
            return MemberUnavailable(_message(e))
        return DispatchRejected(_message(e))
