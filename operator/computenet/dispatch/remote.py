"""Create, adopt, read and delete Jobs in a member: the only code that writes to member clusters.

Creation is idempotent by name: a 409 means this (task, attempt) was created before, by us
before a restart or by a retry, and the existing Job is adopted if its origin labels say it is
ours. Every failure surfaces as one :class:`MemberAnswer` carrying what the member said (HTTP
status and message) or why it could not be asked, so the lifecycle can name it as an event;
:func:`retryable` says which answers may change by themselves or by fixing the member's setup.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from kubernetes.aio.client import ApiClient, BatchV1Api, CoreV1Api, V1Namespace, V1ObjectMeta
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import TASK_UID_LABEL, Reason

_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError, asyncio.TimeoutError)
_TIMEOUT_S = 15


class MemberAnswer(Exception):
    """A member call did not succeed: ``status`` is the HTTP status, or None when no answer came."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def reason(self) -> Reason:
        return answer_reason(self.status)

    @property
    def retryable(self) -> bool:
        return retryable(self.status)


def answer_reason(status: int | None) -> Reason:
    """The condition reason naming a member's answer (None: no answer at all)."""
    if status is None:
        return Reason.MEMBER_UNAVAILABLE
    if status in (401, 403):
        return Reason.FORBIDDEN
    if status == 429:
        return Reason.THROTTLED
    if status == 409:
        return Reason.NAME_CONFLICT
    if status >= 500:
        return Reason.MEMBER_ERROR
    if status == 404:
        return Reason.MEMBER_UNAVAILABLE
    return Reason.DISPATCH_FAILED


def retryable(status: int | None) -> bool:
    """Whether an answer may change without changing the task.

    No answer, 5xx and 429 pass by themselves; 401 and 403 are the member's setup (credentials,
    RBAC) and change when its administrator fixes them; 404 means the target namespace vanished
    and is created again. 400 and 422 (the Job is invalid) and 409 for a Job owned by someone else
    never change for the same task.
    """
    return status is None or status >= 500 or status in (401, 403, 404, 408, 429)


def _message(status: int | None, body: Any, fallback: str) -> str:
    text = ""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body or "{}")
        except ValueError:
            text = str(body)
    if isinstance(body, Mapping):
        text = str(body.get("message") or "")
    text = text or fallback
    return f"HTTP {status}: {text}" if status is not None else text


def _translate(e: ApiException) -> MemberAnswer:
    return MemberAnswer(e.status, _message(e.status, e.body, str(e.reason)))


def _unreachable(e: BaseException) -> MemberAnswer:
    return MemberAnswer(None, f"no answer ({type(e).__name__}: {e})".rstrip(": )") + ")")


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
                raise _translate(e) from None
            try:
                await self._core.create_namespace(
                    V1Namespace(metadata=V1ObjectMeta(name=name)), _request_timeout=_TIMEOUT_S
                )
            except ApiException as e2:
                if e2.status != 409:
                    raise _translate(e2) from None
            except _TRANSIENT as e2:
                raise _unreachable(e2) from None
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        self._namespaces.add(name)

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        """Create the Job or adopt the one already there; returns (uid, adopted). Raises MemberAnswer.

        The manifest is sent as JSON as it is: the client's typed models would refuse what the API
        server accepts (integer quantities, for one).
        """
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        await self.ensure_namespace(namespace)
        try:
            created = await self._batch.create_namespaced_job_without_preload_content(
                namespace,
                dict(manifest),  # type: ignore[arg-type]  # sent as JSON: V1Job would refuse integer quantities
                _request_timeout=_TIMEOUT_S,
            )
            raw = await created.read()
            status = created.status
            created.release()
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"message": raw[:512].decode(errors="replace")}
        if status < 300:
            return str(body["metadata"]["uid"]), False
        if status == 409:
            return await self._adopt(namespace, name, meta["labels"][TASK_UID_LABEL]), True
        if status == 404:  # the namespace vanished under us
            self._namespaces.discard(namespace)
        raise MemberAnswer(status, _message(status, body, f"HTTP {status}"))

    async def _adopt(self, namespace: str, name: str, task_uid: str) -> str:
        body = await self.read(namespace, name)
        if body is None:
            raise MemberAnswer(404, f"Job {namespace}/{name} was deleted while being adopted")
        labels = (body.get("metadata") or {}).get("labels") or {}
        if labels.get(TASK_UID_LABEL) != task_uid:
            raise MemberAnswer(409, f"Job {namespace}/{name} exists in the member and belongs to someone else")
        return str(body["metadata"]["uid"])

    async def read(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The Job as JSON, or None when the member says it does not exist. Raises MemberAnswer."""
        try:
            existing = await self._batch.read_namespaced_job_without_preload_content(
                name, namespace, _request_timeout=_TIMEOUT_S
            )
            raw = await existing.read()
            status = existing.status
            existing.release()
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        if status == 404:
            return None
        if status >= 300:
            raise MemberAnswer(status, _message(status, raw, f"HTTP {status}"))
        body: dict[str, Any] = json.loads(raw)
        return body

    async def delete(self, namespace: str, name: str) -> bool:
        """Delete a Job and, in the background, its pods; False if it was already gone."""
        try:
            await self._batch.delete_namespaced_job(
                name, namespace, propagation_policy="Background", _request_timeout=_TIMEOUT_S
            )
        except ApiException as e:
            if e.status == 404:
                return False
            raise _translate(e) from None
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        return True
