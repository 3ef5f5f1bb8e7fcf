"""Registration with consent, the hub's half: approve agents an administrator accepted, and only those.

An agent registers by creating its ComputeAgent in its provider namespace (its bootstrap credential
can do nothing else). Until a hub administrator approves it, the operator sets Approved=False with
the one command that approves it::

    kubectl label computeagent <name> -n <namespace> computenet.io/approved=true

(an admission policy, ``deploy/hub-agent-approval.yaml``, lets only those allowed ``update`` on
``computeagents/approval`` set that label, so an agent cannot approve itself). Once approved, the
operator creates the agent's ServiceAccount, Role and RoleBinding in that namespace
(:func:`~computenet.members.pull_rbac.agent_access`) and a token Secret for it, and names the Secret
in status. Removing the label revokes: the RoleBinding and the token Secret are deleted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.aio.client import ApiClient, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.common import Condition
from computenet.api.conditions import Cond, find, read_conditions, set_conditions, to_json
from computenet.api.constants import AGENT, APPROVED_LABEL, GROUP, VERSION, ConditionType, Reason
from computenet.members.pull_rbac import agent_access, agent_account, credential_secret
from computenet.members.reflector import Reflector

__all__ = ["Registrar", "approve_command"]

logger = logging.getLogger(__name__)

_MERGE = "application/merge-patch+json"


def approve_command(namespace: str, name: str) -> str:
    return f"kubectl label computeagent {name} -n {namespace} {APPROVED_LABEL}=true"


@dataclass(frozen=True)
class _Registration:
    approved: bool
    recorded: bool | None
    """What the Approved condition says now (None: no condition yet)."""
    secret: str | None
    conditions: tuple[Condition, ...]


def registration_of(obj: Mapping[str, Any]) -> _Registration:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    conditions = read_conditions(status)
    cond = find(conditions, ConditionType.APPROVED)
    recorded = None if cond is None else cond.status == "True"
    return _Registration(
        approved=(meta.get("labels") or {}).get(APPROVED_LABEL) == "true",
        recorded=recorded,
        secret=status.get("credentialSecret"),
        conditions=tuple(conditions),
    )


class _Sink:
    def __init__(self, registrar: Registrar) -> None:
        self.registrar = registrar
        self.items: dict[str, _Registration] = {}

    def replace(self, items: Mapping[str, _Registration]) -> None:
        self.items = dict(items)
        for key in items:
            self.registrar.queue.put_nowait(key)

    def upsert(self, key: str, item: _Registration) -> None:
        if self.items.get(key) != item:  # a report alone changes nothing here
            self.items[key] = item
            self.registrar.queue.put_nowait(key)

    def delete(self, key: str) -> None:
        self.items.pop(key, None)


class Registrar:
    """Watches ComputeAgents on the hub and issues or revokes their credentials."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._custom = CustomObjectsApi(client)
        self._core = CoreV1Api(client)
        self._rbac = RbacAuthorizationV1Api(client)
        self._sink = _Sink(self)

    async def run(self) -> None:
        watch = Reflector(
            "hub agent registrations",
            functools.partial(
                self._custom.list_cluster_custom_object_without_preload_content, GROUP, VERSION, AGENT.plural
            ),
            registration_of,
            self._sink,
        )
        task = asyncio.create_task(watch.run(), name="agent registration watch")
        try:
            while True:
                key = await self.queue.get()
                item = self._sink.items.get(key)
                if item is None:
                    continue
                namespace, _, name = key.partition("/")
                try:
                    await self.reconcile(namespace, name, item)
                except asyncio.CancelledError:
                    raise
                except Exception as e:  # one agent's failure must not stop the others; retried on its next change
                    logger.warning("agent %s: registration not settled: %s", key, getattr(e, "reason", None) or e)
        finally:
            task.cancel()

    async def reconcile(self, namespace: str, name: str, item: _Registration) -> None:
        secret = credential_secret(name)
        if item.approved:
            if item.recorded and item.secret == secret:
                return
            await self._grant(namespace, name)
            cond = Cond(
                ConditionType.APPROVED, True, Reason.APPROVED, "approved by a hub administrator; credential issued"
            )
            await self._status(namespace, name, item, cond, secret)
            logger.info("agent %s/%s approved: credential in Secret %s", namespace, name, secret)
            return
        if item.recorded is False and item.secret is None:
            return
        if item.recorded:
            await self._revoke(namespace, name)
            logger.info("agent %s/%s: approval withdrawn, credential revoked", namespace, name)
        message = f"waiting for a hub administrator to approve: {approve_command(namespace, name)}"
        await self._status(
            namespace, name, item, Cond(ConditionType.APPROVED, False, Reason.PENDING_APPROVAL, message), None
        )

    async def _status(self, namespace: str, name: str, item: _Registration, cond: Cond, secret: str | None) -> None:
        conditions = set_conditions(item.conditions, [cond.as_condition()], dt.datetime.now(dt.UTC))
        patch = {"status": {"conditions": to_json(conditions), "credentialSecret": secret}}
        await self._custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, AGENT.plural, name, patch, _content_type=_MERGE
        )

    async def _grant(self, namespace: str, name: str) -> None:
        account, role, binding = agent_access(namespace, name)
        await _create(self._core.create_namespaced_service_account(namespace, account))  # type: ignore[arg-type]  # sent as JSON
        try:
            await self._rbac.create_namespaced_role(namespace, role)  # type: ignore[arg-type]  # sent as JSON
        except ApiException as e:
            if e.status != 409:
                raise
            await self._rbac.replace_namespaced_role(role["metadata"]["name"], namespace, role)  # type: ignore[arg-type]  # sent as JSON
        await _create(self._rbac.create_namespaced_role_binding(namespace, binding))  # type: ignore[arg-type]  # sent as JSON
        token = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": credential_secret(name),
                "namespace": namespace,
                "labels": role["metadata"]["labels"],
                "annotations": {"kubernetes.io/service-account.name": agent_account(name)},
            },
        }
        await _create(self._core.create_namespaced_secret(namespace, token))  # type: ignore[arg-type]

    async def _revoke(self, namespace: str, name: str) -> None:
        for delete in (
            self._rbac.delete_namespaced_role_binding(agent_account(name), namespace),
            self._core.delete_namespaced_secret(credential_secret(name), namespace),
        ):
            try:
                await delete
            except ApiException as e:
                if e.status != 404:
                    raise


async def _create(call: Any) -> None:
    try:
        await call
    except ApiException as e:
        if e.status != 409:
            raise
