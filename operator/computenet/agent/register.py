"""Registration with consent: the agent asks to join with a bootstrap credential and waits for approval.

The bootstrap credential (made by the hub administrator for one agent name, see
:func:`~computenet.members.pull_rbac.bootstrap_access`) can only create this agent's ComputeAgent,
read it, and read the Secret holding the credential the hub issues. The agent creates its
ComputeAgent, waits until an administrator has approved it (``kubectl label computeagent ...
computenet.io/approved=true``) and the operator has issued the credential, and writes a kubeconfig
with that token to the agent's hub kubeconfig path; later starts use that file directly.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import yaml
from kubernetes.aio.client import CoreV1Api, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.conditions import find, read_conditions
from computenet.api.constants import AGENT, GROUP, VERSION, ConditionType
from computenet.hub import connect

__all__ = ["POLL_S", "register"]

logger = logging.getLogger(__name__)

POLL_S = 2.0


def issued_kubeconfig(bootstrap_path: str, token: str) -> dict[str, Any]:
    """The bootstrap kubeconfig's cluster (server and CA) with the issued token as the only credential."""
    bootstrap = yaml.safe_load(Path(bootstrap_path).read_text())
    context = next(c for c in bootstrap["contexts"] if c["name"] == bootstrap.get("current-context"))
    cluster = next(c for c in bootstrap["clusters"] if c["name"] == context["context"]["cluster"])
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": "computenet-agent", "user": {"token": token}}],
        "contexts": [{"name": "hub", "context": {"cluster": cluster["name"], "user": "computenet-agent"}}],
        "current-context": "hub",
    }


def _write(path: Path, config: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


async def register(bootstrap_path: str, hub_kubeconfig: str, namespace: str, name: str, cluster: str | None) -> None:
    """Create the ComputeAgent, wait for approval, and write the issued credential to `hub_kubeconfig`."""
    client = await connect(bootstrap_path)
    custom = CustomObjectsApi(client)
    core = CoreV1Api(client)
    agent: dict[str, Any] = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": AGENT.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"cluster": cluster} if cluster else {},
    }
    try:
        try:
            await custom.create_namespaced_custom_object(GROUP, VERSION, namespace, AGENT.plural, agent)
            logger.info("registered ComputeAgent %s/%s; waiting for a hub administrator to approve it", namespace, name)
        except ApiException as e:
            if e.status != 409:
                raise
        while True:
            obj = await custom.get_namespaced_custom_object(GROUP, VERSION, namespace, AGENT.plural, name)
            status = (obj.get("status") or {}) if isinstance(obj, dict) else {}
            approved = find(read_conditions(status), ConditionType.APPROVED)
            secret = status.get("credentialSecret")
            if approved is not None and approved.status == "True" and secret:
                try:
                    data = (await core.read_namespaced_secret(secret, namespace)).data or {}
                except ApiException as e:
                    if e.status not in (403, 404):
                        raise
                    data = {}
                if data.get("token"):
                    token = base64.b64decode(data["token"]).decode()
                    await asyncio.to_thread(_write, Path(hub_kubeconfig), issued_kubeconfig(bootstrap_path, token))
                    logger.info("approved: the hub's credential is in %s", hub_kubeconfig)
                    return
            await asyncio.sleep(POLL_S)
    finally:
        await client.close()  # type: ignore[no-untyped-call]
