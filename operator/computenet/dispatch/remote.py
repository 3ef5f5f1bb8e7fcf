"""Create, adopt, read and delete workloads in a member: the only code that writes to member clusters.

Creation is idempotent by name: a 409 means this (task, attempt) was created before, by us
before a restart or by a retry, and the existing Job is adopted if its origin labels say it is
ours. Every failure surfaces as one :class:`MemberAnswer` carrying what the member said (HTTP
status and message) or why it could not be asked, so the lifecycle can name it as an event;
:func:`retryable` says which answers may change by themselves or by fixing the member's setup.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
from kubernetes.aio.client import ApiClient, CoreV1Api, V1Namespace, V1ObjectMeta
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import TASK_UID_LABEL, Reason
from computenet.dispatch import member_words
from computenet.dispatch.member_words import newest_warning
from computenet.dispatch.sharing import Step, decide, with_owner
from computenet.workloads.kinds import JOB, Kind, kind_of, known_kinds

_TRANSIENT = (aiohttp.ClientError, TimeoutError, OSError, asyncio.TimeoutError)
_TIMEOUT_S = 15
_OWN_TRIES = 5
"""How often ``own_dependencies`` reads a copy again whose owners changed between its read and its write."""


class MemberAnswer(Exception):
    """A member call did not succeed: ``status`` is the HTTP status, or None when no answer came.

    ``denied`` marks a 403 that an admission step gave (a policy, a webhook, a quota rule the object
    can never meet): unlike a 403 of authorization, fixing the member's RBAC cannot change it.
    """

    def __init__(self, status: int | None, message: str, denied: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.denied = denied

    @property
    def reason(self) -> Reason:
        return Reason.ADMISSION_DENIED if self.denied else answer_reason(self.status)

    @property
    def retryable(self) -> bool:
        return not self.denied and retryable(self.status)


class NamespaceProblem(MemberAnswer):
    """The identifier's target namespace could not be read or created: the member's setup, not the task's.

    Retryable whatever the answer: a member administrator creates the namespace, or grants the
    operator's identity ``create`` on namespaces (deploy/member-rbac.yaml).
    """

    def __init__(self, namespace: str, what: str, answer: MemberAnswer) -> None:
        super().__init__(answer.status, f"target namespace {namespace} {what}: {answer.message}")
        self.namespace = namespace

    @property
    def retryable(self) -> bool:
        return True


class DependencyInUse(MemberAnswer):
    """The member holds another task's copy of a dependency, and the hub's object changed since: wait for it.

    Retryable: the member removes that copy with the last workload that owns it (``dispatch.sharing``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(409, message)

    @classmethod
    def of(cls, kind: str, namespace: str, name: str) -> DependencyInUse:
        """The answer naming the member's object ``<kind> <namespace>/<name>``."""
        return cls(
            f"{kind} {namespace}/{name} in the member is the copy another task of this namespace runs with, "
            "and its content differs from the hub's now: it is not changed under that task, and this task "
            "waits until that copy is gone (the member removes it with the last workload that owns it)"
        )

    @property
    def reason(self) -> Reason:
        return Reason.DEPENDENCY_IN_USE

    @property
    def retryable(self) -> bool:
        return True


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


_AUTHORIZATION = re.compile(r'User ".*" cannot \S+ (resource|path) ')
"""The authorizer's refusal (``forbiddenMessage``, k8s.io/apiserver v0.36.3
pkg/endpoints/handlers/responsewriters/errors.go): ``User "u" cannot create resource "jobs" ...``."""
_PASSING_DENIALS = (
    "because it is being terminated",  # NamespaceLifecycle (apiserver pkg/admission/plugin/namespace/lifecycle)
    "exceeded quota:",  # ResourceQuota over its limit (kubernetes pkg/.../resourcequota/controller.go)
)
"""Admission refusals that pass by themselves: the namespace is gone soon and made again, quota frees."""


def _status_body(body: Any) -> Mapping[str, Any] | None:
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body or "{}")
        except ValueError:
            return None
    return body if isinstance(body, Mapping) else None


def admission_denied(status: int | None, body: Any) -> bool:
    """Whether a member's answer is a 403 that an admission step gave for good (pure).

    The API server answers 403 both when authorization refuses the caller and when admission
    (a ValidatingAdmissionPolicy with reason Forbidden, a webhook, a plugin) refuses the object:
    ``apierrors.NewForbidden`` (k8s.io/apimachinery v0.36.3 pkg/api/errors/errors.go) words the
    second as ``<resource> "<name>" is forbidden: <why>``. Only the authorizer writes
    ``User "..." cannot ...``: that one, a terminating namespace (cause ``NamespaceTerminating``)
    and exceeded quota are retryable; every other 403 is the object's own and never passes.
    """
    if status != 403:
        return False
    parsed = _status_body(body)
    if parsed is None:
        return False
    message = str(parsed.get("message") or "")
    causes = (parsed.get("details") or {}).get("causes") or ()
    if any(isinstance(c, Mapping) and c.get("reason") == "NamespaceTerminating" for c in causes):
        return False
    if _AUTHORIZATION.search(message) or any(p in message for p in _PASSING_DENIALS):
        return False
    return bool(message)


def _message(status: int | None, body: Any, fallback: str) -> str:
    parsed = _status_body(body)
    text = str(parsed.get("message") or "") if parsed is not None else str(body or "")
    text = text or fallback
    return f"HTTP {status}: {text}" if status is not None else text


def _answer(status: int | None, body: Any, fallback: str) -> MemberAnswer:
    return MemberAnswer(status, _message(status, body, fallback), admission_denied(status, body))


def _translate(e: ApiException) -> MemberAnswer:
    return _answer(e.status, e.body, str(e.reason))


def _unreachable(e: BaseException) -> MemberAnswer:
    return MemberAnswer(None, f"no answer ({type(e).__name__}: {e})".rstrip(": )") + ")")


@dataclass(frozen=True)
class OwnerRef:
    """The workload a dependency goes with (an ownerReference)."""

    api_version: str
    kind: str
    name: str
    uid: str


_DEPENDENCY_KINDS = {
    "ConfigMap": "/api/v1/namespaces/{namespace}/configmaps",
    "Secret": "/api/v1/namespaces/{namespace}/secrets",
    "ResourceClaimTemplate": "/apis/resource.k8s.io/v1/namespaces/{namespace}/resourceclaimtemplates",
}
"""Where each kind that travels with a workload lives in a namespace of the member."""


class RemoteWorkloads(Protocol):
    """What creates, reads and deletes a member's workloads; errors are :class:`MemberAnswer`.

    A push member's API server (:class:`RemoteJobs`), or ComputeWork on the hub for a pull member
    (``members.pull_works.WorkClient``).
    """

    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]:
        """Create the workload or adopt the one of the same attempt already there: (uid, adopted)."""
        ...

    async def read(self, namespace: str, name: str, kind: Kind = JOB) -> dict[str, Any] | None:
        """The workload as the member holds it, or None when it is gone."""
        ...

    async def warnings(self, namespace: str, name: str, uid: str) -> str | None:
        """The newest Warning event the member recorded about the workload, or None."""
        ...

    async def delete(self, namespace: str, name: str, kind: Kind = JOB) -> bool:
        """Delete the workload and its pods; False when it was already gone."""
        ...

    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None:
        """Create (or update, when they are this task's) the ConfigMaps, Secrets and ResourceClaimTemplates it needs."""
        ...

    async def own_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]], owner: OwnerRef) -> None:
        """Make the workload `owner` their owner, so that the member removes them with it."""
        ...


class RemoteJobs:
    """Job operations against one member cluster."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._core = CoreV1Api(client)
        self._namespaces: set[str] = set()

    async def ensure_namespace(self, name: str) -> None:
        if name in self._namespaces:
            return
        try:
            await self._core.read_namespace(name, _request_timeout=_TIMEOUT_S)
        except ApiException as e:
            if e.status != 404:
                raise NamespaceProblem(name, "could not be read", _translate(e)) from None
            try:
                await self._core.create_namespace(
                    V1Namespace(metadata=V1ObjectMeta(name=name)), _request_timeout=_TIMEOUT_S
                )
            except ApiException as e2:
                if e2.status != 409:
                    raise NamespaceProblem(name, "does not exist and could not be created", _translate(e2)) from None
            except _TRANSIENT as e2:
                raise _unreachable(e2) from None
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        self._namespaces.add(name)

    async def create(self, manifest: Mapping[str, Any], kind: Kind | None = None) -> tuple[str, bool]:
        """Create the Job or adopt the one already there; returns (uid, adopted). Raises MemberAnswer.

        The manifest is sent as JSON as it is: the client's typed models would refuse what the API
        server accepts (integer quantities, for one). `kind`: the manifest's, where this process does
        not know it (an agent following a kind declared on the hub); by default read from the manifest.
        """
        meta = manifest["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        kind = kind or kind_of(manifest)
        await self.ensure_namespace(namespace)
        try:
            status, raw = await self._call("POST", self._path(kind, namespace), body=dict(manifest))
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"message": raw[:512].decode(errors="replace")}
        if status < 300:
            return str(body["metadata"]["uid"]), False
        if status == 409:
            return await self._adopt(namespace, name, meta["labels"][TASK_UID_LABEL], kind), True
        if status == 404:  # the namespace vanished under us
            self._namespaces.discard(namespace)
        raise _answer(status, body, f"HTTP {status}")

    async def _adopt(self, namespace: str, name: str, task_uid: str, kind: Kind) -> str:
        body = await self.read(namespace, name, kind)
        if body is None:
            raise MemberAnswer(404, f"{kind.kind} {namespace}/{name} was deleted while being adopted")
        labels = (body.get("metadata") or {}).get("labels") or {}
        if labels.get(TASK_UID_LABEL) != task_uid:
            raise MemberAnswer(409, f"{kind.kind} {namespace}/{name} exists in the member and belongs to someone else")
        return str(body["metadata"]["uid"])

    @staticmethod
    def _path(kind: Kind, namespace: str, name: str | None = None) -> str:
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"
        path = f"{base}/namespaces/{namespace}/{kind.plural}"
        return f"{path}/{name}" if name else path

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        """One request to the member's API server: (HTTP status, body). Raises what the transport raises.

        A PATCH is a JSON merge patch.
        """
        content = "application/merge-patch+json" if method == "PATCH" else "application/json"
        serialized = await self.client.param_serialize(
            method,
            path,
            header_params={"Accept": "application/json", "Content-Type": content},
            body=body,
            auth_settings=["BearerToken"],
        )
        http_method, url, headers, data, post = serialized
        response = await self.client.call_api(http_method, url, headers, data, post, _request_timeout=_TIMEOUT_S)
        http: aiohttp.ClientResponse = response.response
        try:
            raw = await http.read()
        finally:
            http.release()
        return http.status, raw

    async def read(self, namespace: str, name: str, kind: Kind = JOB) -> dict[str, Any] | None:
        """The object as JSON, or None when the member says it does not exist. Raises MemberAnswer."""
        try:
            status, raw = await self._call("GET", self._path(kind, namespace, name))
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        if status == 404:
            return None
        if status >= 300:
            raise _answer(status, raw, f"HTTP {status}")
        body: dict[str, Any] = json.loads(raw)
        return body

    async def warnings(self, namespace: str, name: str, uid: str) -> str | None:
        """The newest Warning the member recorded about the workload or what its controller made of it.

        ``FailedCreate: Error creating: pods "x" is forbidden: ...``, as ``<reason>: <message>``: the
        events on the workload itself and on its descendants (a Deployment's ReplicaSet, a JobSet's
        child Jobs, a LeaderWorkerSet's StatefulSets: the objects it owns, or owns through one more
        owner), see :mod:`computenet.dispatch.member_words`. One list of the namespace's Warning events,
        then at most ``2 x MAX_CANDIDATES`` reads of objects named after the workload to check their
        owners (one the member will not show is passed over). "" when there is none, None when the
        member's events cannot be read (no answer, or its RBAC lacks ``list events``).
        """
        selector = "type=Warning" if uid else f"involvedObject.name={name}"
        try:
            listed = await self._core.list_namespaced_event_without_preload_content(
                namespace, field_selector=selector, _request_timeout=_TIMEOUT_S
            )
            raw = await listed.read()
            status = listed.status
            listed.release()
        except _TRANSIENT:
            return None
        if status >= 300:
            return None
        events = json.loads(raw or b"{}").get("items") or ()
        if not uid:
            return newest_warning(events)
        ours = {uid}
        for candidate in member_words.to_read(events, name, uid):
            owners = await self._owners(namespace, candidate)
            if any(o.uid == uid for o in owners):
                ours.add(candidate.uid)
                continue
            parent = next((o for o in owners if member_words.named_after(o.name, name)), None)
            if parent is not None and any(o.uid == uid for o in await self._owners(namespace, parent)):
                ours |= {candidate.uid, parent.uid}
        return newest_warning(member_words.about(events, ours))

    async def _owners(self, namespace: str, obj: member_words.Involved) -> tuple[member_words.Involved, ...]:
        """The owners of a namespaced object; none when its kind is unknown or the member does not show it."""
        plural = member_words.plural_of(obj, [(k.api_version, k.kind, k.plural) for k in known_kinds()])
        if plural is None or not obj.name:
            return ()
        try:
            status, raw = await self._call("GET", member_words.object_path(obj, plural, namespace))
        except _TRANSIENT:
            return ()
        if status >= 300:
            return ()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return ()
        return member_words.owners(body) if isinstance(body, Mapping) else ()

    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None:
        """Create the ConfigMaps, Secrets and ResourceClaimTemplates the workload needs, or update or share them.

        What happens to an object of the same name already there is :func:`dispatch.sharing.decide`'s:
        this task's own copy is updated, this hub's copy of the same source with the same content is
        shared (``own_dependencies`` adds the workload as one more owner), one whose content differs
        makes the task wait (:class:`DependencyInUse`, retryable), and one that is not this hub's copy
        from the task's namespace is never overwritten (``MemberAnswer`` 409 naming it). Raises MemberAnswer.
        """
        await self.ensure_namespace(namespace)
        for obj in objects:
            meta = obj["metadata"]
            base, name = _DEPENDENCY_KINDS[str(obj["kind"])].format(namespace=namespace), meta["name"]
            try:
                status, raw = await self._call("POST", base, body=dict(obj))
                if status == 409:
                    status, raw = await self._call("GET", f"{base}/{name}")
                    if status < 300:
                        current = json.loads(raw or b"{}")
                        step = decide(current, obj)
                        if step is Step.REFUSE:
                            raise MemberAnswer(
                                409,
                                f"{obj['kind']} {namespace}/{name} exists in the member and is not this hub's copy "
                                "from the task's namespace: it is never overwritten (rename it in the task, or "
                                "remove it there)",
                            )
                        if step is Step.WAIT:
                            raise DependencyInUse.of(str(obj["kind"]), namespace, name)
                        if step is Step.SHARE:
                            continue
                        if obj.get("kind") == "ResourceClaimTemplate" and current.get("spec") != obj.get("spec"):
                            status, raw = await self._replace_immutable(base, name, current, obj)
                        else:
                            version = current["metadata"]["resourceVersion"]
                            owners = current["metadata"].get("ownerReferences")
                            kept = {"ownerReferences": owners} if owners else {}
                            body = {**obj, "metadata": {**meta, **kept, "resourceVersion": version}}
                            status, raw = await self._call("PUT", f"{base}/{name}", body=body)
            except _TRANSIENT as e:
                raise _unreachable(e) from None
            if status >= 300:
                raise _answer(status, raw, f"HTTP {status} for {obj['kind']} {namespace}/{name}")

    async def _replace_immutable(
        self, base: str, name: str, current: Mapping[str, Any], obj: Mapping[str, Any]
    ) -> tuple[int, bytes]:
        """Delete this task's copy (exactly that one: uid precondition) and create `obj` in its place.

        A ResourceClaimTemplate's spec is immutable (k8s.io/kubernetes v1.36.3
        ``pkg/apis/resource/validation/validation.go``, ``ValidateResourceClaimTemplateUpdate``): an
        earlier attempt's copy of a template since edited on the hub cannot be updated.
        """
        uid = current["metadata"]["uid"]
        body = {"preconditions": {"uid": uid}, "propagationPolicy": "Background"}
        status, raw = await self._call("DELETE", f"{base}/{name}", body=body)
        if status >= 300 and status != 404:
            return status, raw
        return await self._call("POST", base, body=dict(obj))

    async def own_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]], owner: OwnerRef) -> None:
        """Add `owner` to the owners of each copied dependency (the member removes it when its last owner goes).

        The owners it has are kept (a shared copy has one per workload): the new list is written with
        the read ``resourceVersion``, so a concurrent change is read again, not lost. A copy the member
        removed since ``put_dependencies`` (its last other owner went meanwhile) is created again, owned.
        Raises MemberAnswer.
        """
        ref = {"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.name, "uid": owner.uid}
        for obj in objects:
            base, name = _DEPENDENCY_KINDS[str(obj["kind"])].format(namespace=namespace), obj["metadata"]["name"]
            try:
                status, raw = await self._own(base, name, obj, ref)
            except _TRANSIENT as e:
                raise _unreachable(e) from None
            if status >= 300:
                raise _answer(status, raw, f"HTTP {status} for {obj['kind']} {namespace}/{name}")

    async def _own(self, base: str, name: str, obj: Mapping[str, Any], ref: Mapping[str, str]) -> tuple[int, bytes]:
        status, raw = 409, b'{"message": "the owners kept changing"}'
        for _ in range(_OWN_TRIES):
            status, raw = await self._call("GET", f"{base}/{name}")
            if status == 404:
                meta = {**obj["metadata"], "ownerReferences": [ref]}
                status, raw = await self._call("POST", base, body={**obj, "metadata": meta})
            elif status < 300:
                current = json.loads(raw or b"{}")["metadata"]
                owners = with_owner(current.get("ownerReferences") or (), ref)
                if owners is None:
                    return status, raw
                patch = {"metadata": {"ownerReferences": owners, "resourceVersion": current["resourceVersion"]}}
                status, raw = await self._call("PATCH", f"{base}/{name}", body=patch)
            if status != 409:
                return status, raw
        return status, raw

    async def delete(self, namespace: str, name: str, kind: Kind = JOB) -> bool:
        """Delete an object and, in the background, its pods; False if it was already gone."""
        try:
            status, raw = await self._call(
                "DELETE", self._path(kind, namespace, name), body={"propagationPolicy": "Background"}
            )
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        if status == 404:
            return False
        if status >= 300:
            raise _answer(status, raw, f"HTTP {status}")
        return True

    async def pods_of_job(self, namespace: str, job: str) -> list[dict[str, Any]]:
        """The pods the Job controller made for Job `job` (by their job-name label). Raises MemberAnswer."""
        return await self.pods_labelled(namespace, f"batch.kubernetes.io/job-name={job}")

    async def jobs_labelled(self, selector: str) -> list[dict[str, Any]]:
        """The Jobs of every namespace labelled `selector`. Raises MemberAnswer."""
        try:
            status, raw = await self._call("GET", f"/apis/batch/v1/jobs?labelSelector={quote(selector, safe='')}")
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        if status >= 300:
            raise _answer(status, raw, f"HTTP {status}")
        items: list[dict[str, Any]] = json.loads(raw or b"{}").get("items") or []
        return items

    async def pods_labelled(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """The pods of `namespace` labelled `selector`. Raises MemberAnswer."""
        try:
            status, raw = await self._call(
                "GET", f"/api/v1/namespaces/{namespace}/pods?labelSelector={quote(selector, safe='')}"
            )
        except _TRANSIENT as e:
            raise _unreachable(e) from None
        if status >= 300:
            raise _answer(status, raw, f"HTTP {status}")
        items: list[dict[str, Any]] = json.loads(raw or b"{}").get("items") or []
        return items

    async def log_tail(self, namespace: str, pod: str, container: str, lines: int = 5) -> str | None:
        """The last `lines` lines of a container's log, or None when the member cannot give them (yet)."""
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log?container={container}&tailLines={lines}"
        try:
            status, raw = await self._call("GET", path)
        except _TRANSIENT:
            return None
        return raw.decode(errors="replace") if status < 300 else None

    async def delete_collection(self, namespace: str, selector: str) -> None:
        """Delete the Jobs (with their pods) and the Secrets labelled `selector` in `namespace`. Raises MemberAnswer."""
        body = {"propagationPolicy": "Background"}
        for base in (f"/apis/batch/v1/namespaces/{namespace}/jobs", f"/api/v1/namespaces/{namespace}/secrets"):
            try:
                status, raw = await self._call("DELETE", f"{base}?labelSelector={quote(selector, safe='')}", body=body)
            except _TRANSIENT as e:
                raise _unreachable(e) from None
            if status >= 300 and status != 404:
                raise _answer(status, raw, f"HTTP {status}")
