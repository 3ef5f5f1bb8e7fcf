"""The HTTPS endpoint: ``/logs/<namespace>/<task>``, ``/snapshot`` and ``/healthz``, TLS only.

Each request is admitted by the hub first (see `auth`): a log needs ``get`` on
``computetasks/log`` in the task's namespace (named), the snapshot ``list`` on
``computeidentifiers``. Only then is the task looked up, so a caller without access learns
nothing, not even whether the task exists. The log is read from the member with the operator's
own connection and streamed back chunk by chunk; ``follow=true`` keeps the stream open as the
member's does. Answers that are not a log are JSON ``{"message": ...}`` with the HTTP status.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from kubernetes.aio.client import CoreV1Api
from kubernetes.aio.client.exceptions import ApiException

from computenet.dispatch.naming import label_value
from computenet.logs.auth import Access, Gate, Refused
from computenet.logs.pods import choose_pod, pods_selector, roles_of
from computenet.snapshot_export import SnapshotDocument
from computenet.tasks.access import MemberAccess
from computenet.tasks.book import TaskBook
from computenet.tasks.record import TaskRecord

logger = logging.getLogger(__name__)

FOLLOW_TIMEOUT_S = 24 * 3600.0
"""Longest a followed log stays open; a plain read gets the client's default (5 minutes)."""
CHUNK = 64 * 1024


class Answer(Exception):
    """A non-log answer: HTTP `status` with a one-line `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Endpoint:
    gate: Gate
    book: TaskBook
    members: MemberAccess
    snapshot: Callable[[], SnapshotDocument]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/snapshot", self.get_snapshot)
        app.router.add_get("/logs/{namespace}/{name}", self.get_logs)
        return app

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def get_snapshot(self, request: web.Request) -> web.StreamResponse:
        try:
            await self.gate.admit(request.headers, Access("list", "computeidentifiers"))
        except Refused as e:
            return _json(e.status, e.message)
        body = self.snapshot().model_dump_json(by_alias=True)
        return web.Response(text=body, content_type="application/json")

    async def get_logs(self, request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        try:
            await self.gate.admit(request.headers, Access("get", "computetasks", "log", namespace, name))
            query = _Query.of(request.query)
            return await self._stream(request, self._record(namespace, name), query)
        except Refused as e:
            return _json(e.status, e.message)
        except Answer as e:
            return _json(e.status, e.message)

    def _record(self, namespace: str, name: str) -> TaskRecord:
        for record in self.book:
            if record.namespace == namespace and record.name == name and not record.gone:
                return record
        raise Answer(404, f'computetask "{name}" not found in namespace "{namespace}"')

    def _where(self, record: TaskRecord, attempt: int) -> tuple[str, str]:
        """(identifier, member namespace) of the task's Job of `attempt`."""
        remote = record.status.remote
        if remote is not None and attempt == record.status.attempt:
            return remote.identifier, remote.namespace
        for conn, job in self.members.jobs_of(record.uid):
            if job.attempt == attempt:
                for item in self.members.identifiers.items.values():
                    if item.connection is conn:
                        return item.name, job.namespace
        if attempt == record.status.attempt and record.status.placement is not None:
            raise Answer(404, f"{record.key} has no Job yet (phase {record.phase}): try again once it runs")
        raise Answer(404, f"attempt {attempt} of {record.key} has no Job in any member")

    async def _stream(self, request: web.Request, record: TaskRecord, q: _Query) -> web.StreamResponse:
        attempt = record.status.attempt if q.attempt is None else q.attempt
        if attempt < 1:
            raise Answer(404, f"{record.key} has not been dispatched yet (phase {record.phase})")
        if q.role is None and q.replica >= record.spec.replicas:
            raise Answer(400, f"replica {q.replica} out of range: {record.key} has {record.spec.replicas}")
        identifier, member_ns = self._where(record, attempt)
        conn = self.members.connection_of(identifier)
        if conn is None:
            raise Answer(503, f"identifier {identifier} is not connected: its member cannot be reached now")
        if not conn.serves_logs:
            raise Answer(501, f"{identifier} is a pull member: its agent does not serve logs to the hub")
        core = CoreV1Api(conn.client)
        try:
            pods = await core.list_namespaced_pod(member_ns, label_selector=pods_selector(record.uid, attempt))
        except ApiException as e:
            raise Answer(502, f"member of {identifier} answered HTTP {e.status} listing the pods") from e
        except (TimeoutError, OSError) as e:
            raise Answer(503, f"member of {identifier} cannot be reached: {type(e).__name__}") from e
        items = [_pod_mapping(p) for p in pods.items]
        roles = roles_of(items)
        role = label_value(q.role) if q.role is not None else None
        if role is not None and role not in roles:
            raise Answer(404, f"{record.key} has no pods of role {q.role!r} (its roles: {', '.join(roles) or 'none'})")
        if role is None and roles:
            raise Answer(400, f"{record.key} runs several roles: choose one with --role ({', '.join(roles)})")
        pod = choose_pod(items, q.replica, role)
        if pod is None:
            raise Answer(404, f"no pod of replica {q.replica} of {record.key} (attempt {attempt}) in {identifier} yet")
        try:
            upstream = await core.read_namespaced_pod_log_without_preload_content(
                pod.name,
                member_ns,
                container=q.container,
                follow=q.follow,
                _request_timeout=FOLLOW_TIMEOUT_S if q.follow else None,
            )
        except (TimeoutError, OSError) as e:
            raise Answer(503, f"member of {identifier} cannot be reached: {type(e).__name__}") from e
        try:
            if upstream.status != 200:
                text = (await upstream.read()).decode("utf-8", "replace")
                raise Answer(
                    502,
                    f"member of {identifier} answered HTTP {upstream.status} for pod {pod.name}: "
                    f"{_member_message(text)}",
                )
            response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
            response.headers["X-Computenet-Pod"] = f"{identifier}/{member_ns}/{pod.name}"
            await response.prepare(request)
            async for chunk in upstream.content.iter_chunked(CHUNK):
                await response.write(chunk)
            await response.write_eof()
            return response
        finally:
            upstream.release()


@dataclass(frozen=True)
class _Query:
    follow: bool = False
    replica: int = 0
    role: str | None = None
    attempt: int | None = None
    container: str | None = None

    @classmethod
    def of(cls, query: Any) -> _Query:
        def number(key: str) -> int | None:
            raw = query.get(key)
            if raw is None:
                return None
            if not raw.isdigit():
                raise Answer(400, f"{key} must be a whole number, not {raw!r}")
            return int(raw)

        follow = str(query.get("follow", "false")).lower()
        if follow not in ("true", "false", "1", "0"):
            raise Answer(400, f"follow must be true or false, not {follow!r}")
        return cls(
            follow=follow in ("true", "1"),
            replica=number("replica") or 0,
            role=query.get("role") or None,
            attempt=number("attempt"),
            container=query.get("container") or None,
        )


def _pod_mapping(pod: Any) -> dict[str, Any]:
    """The few fields `choose_pod` reads, as the API spells them."""
    meta = pod.metadata
    created = meta.creation_timestamp
    return {
        "metadata": {
            "name": meta.name,
            "namespace": meta.namespace,
            "labels": dict(meta.labels or {}),
            "annotations": dict(meta.annotations or {}),
            "creationTimestamp": created.isoformat() if created is not None else "",
        },
        "status": {"phase": pod.status.phase if pod.status is not None else ""},
    }


def _member_message(text: str) -> str:
    try:
        return str(json.loads(text).get("message") or text).strip()[:512]
    except ValueError:
        return text.strip()[:512]


def _json(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context with the given certificate; TLS 1.2 at least."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


async def serve(endpoint: Endpoint, port: int, context: ssl.SSLContext, host: str = "0.0.0.0") -> web.AppRunner:
    runner = web.AppRunner(endpoint.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=context).start()
    logger.info("serving logs and the placement snapshot on https://%s:%d", host, port)
    return runner
