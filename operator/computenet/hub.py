"""The operator's own client to the hub: status writes and the Secret watch.

kopf drives handlers from the hub's watch streams; status the operator computes outside a handler
(capacity, health, pool aggregates) is written here. A status write replaces the whole status
(JSON patch `add /status`), so a key that vanished (an accelerator model no node has any more)
vanishes from the object too.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import Any

from kubernetes.aio import config as aio_config
from kubernetes.aio.client import ApiClient, Configuration, CoreV1Api, CustomObjectsApi, ResourceV1Api
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import DATASET, GROUP, VERSION, KindInfo
from computenet.members.kubeconfig import limit_connections
from computenet.members.reflector import Lister


async def connect(kubeconfig: str = "") -> ApiClient:
    """A client for the hub: the given kubeconfig, else $KUBECONFIG, else in-cluster."""
    path = kubeconfig or os.environ.get("KUBECONFIG", "")
    if path:
        client: ApiClient = await aio_config.new_client_from_config(config_file=path)
    else:
        cfg = Configuration()
        aio_config.load_incluster_config(client_configuration=cfg)
        client = ApiClient(configuration=cfg)
    limit_connections(client, 32)
    return client


class Hub:
    """Writes status of our kinds and lists Secrets in the operator's namespace."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._custom = CustomObjectsApi(client)
        self._core = CoreV1Api(client)
        self._resource = ResourceV1Api(client)

    async def replace_status(
        self, kind: KindInfo, name: str, status: Mapping[str, Any], namespace: str | None = None
    ) -> None:
        """Replace an object's status. Raises ApiException with the hub's status and answer when refused.

        The hub answers with the whole object, which nothing here reads: the answer is not decoded
        (a JSON decode and a model per write, the largest part of a write's CPU in a burst). It is
        still read to its end: aiohttp closes a connection released with its answer unread, and the
        next write would pay a new TLS handshake (a fifth of the writes of a burst did).
        """
        patch = [{"op": "add", "path": "/status", "value": dict(status)}]
        content = "application/json-patch+json"
        if namespace is None:
            response = await self._custom.patch_cluster_custom_object_status_without_preload_content(
                GROUP, VERSION, kind.plural, name, patch, _content_type=content
            )
        else:
            response = await self._custom.patch_namespaced_custom_object_status_without_preload_content(
                GROUP, VERSION, namespace, kind.plural, name, patch, _content_type=content
            )
        try:
            answer = await response.read()
            if response.status >= 300:
                raise ApiException(status=response.status, reason=response.reason, body=answer.decode(errors="replace"))
        finally:
            response.release()

    async def remove_finalizers(self, kind: KindInfo, name: str, namespace: str, finalizers: list[str]) -> None:
        """Set an object's finalizers to `finalizers` (guarded by a test of the current list)."""
        patch = [{"op": "replace", "path": "/metadata/finalizers", "value": finalizers}]
        await self._custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, kind.plural, name, patch, _content_type="application/json-patch+json"
        )

    async def read(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        """A ConfigMap, Secret or ResourceClaimTemplate of the hub as JSON, or None when it does not exist.

        Raises PermissionError when the operator may not read it (Secrets: only where a tenant let it).
        A hub that does not serve resource.k8s.io/v1 holds no ResourceClaimTemplate (None).
        """
        if kind == "ResourceClaimTemplate":
            return await self._read_claim_template(namespace, name)
        read = self._core.read_namespaced_config_map if kind == "ConfigMap" else self._core.read_namespaced_secret
        try:
            obj = await read(name, namespace, _request_timeout=30)
        except ApiException as e:
            if e.status == 404:
                return None
            if e.status == 403:
                raise PermissionError(f"the operator may not read {kind} {name} in namespace {namespace}") from None
            raise
        body: Mapping[str, Any] = self.client.sanitize_for_serialization(obj)
        return body

    async def _read_claim_template(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """Read as JSON, as served: the client's typed models are not in the way of what the API holds."""
        response = await self._resource.read_namespaced_resource_claim_template_without_preload_content(
            name, namespace, _request_timeout=30
        )
        try:
            raw = await response.read()
            status = response.status
        finally:
            response.release()
        if status == 404:
            return None
        if status == 403:
            raise PermissionError(f"the operator may not read ResourceClaimTemplate {name} in namespace {namespace}")
        if status >= 300:
            raise ApiException(status=status, reason=response.reason, body=raw.decode(errors="replace"))
        body: Mapping[str, Any] = json.loads(raw)
        return body

    async def list_cluster(self, kind: KindInfo) -> list[Mapping[str, Any]]:
        """Every object of one of our cluster-scoped kinds; [] while the hub lacks its CRD."""
        try:
            listed = await self._custom.list_cluster_custom_object(GROUP, VERSION, kind.plural)
        except ApiException as e:
            if e.status == 404:
                return []
            raise
        items = listed.get("items") if isinstance(listed, Mapping) else None
        return [i for i in items or () if isinstance(i, Mapping)]

    async def read_dataset(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """A ComputeDataset as JSON, or None when it does not exist."""
        try:
            obj = await self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, DATASET.plural, name, _request_timeout=30
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return obj if isinstance(obj, dict) else None

    async def write_dataset_replicas(
        self, namespace: str, name: str, resource_version: str, replicas: list[dict[str, Any]]
    ) -> bool:
        """Set a ComputeDataset's ``status.replicas`` if it is still at `resource_version`; False on a conflict."""
        patch = {"metadata": {"resourceVersion": resource_version}, "status": {"replicas": replicas}}
        try:
            await self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, DATASET.plural, name, patch,
                _content_type="application/merge-patch+json", _request_timeout=30,
            )  # fmt: skip
        except ApiException as e:
            if e.status == 409:
                return False
            raise
        return True

    def lister(self, kind: KindInfo) -> Lister:
        """List+watch of one of our kinds across all namespaces."""
        return functools.partial(
            self._custom.list_cluster_custom_object_without_preload_content, GROUP, VERSION, kind.plural
        )

    def secret_lister(self, namespace: str) -> Lister:
        return functools.partial(self._core.list_namespaced_secret_without_preload_content, namespace)

    async def close(self) -> None:
        await self.client.close()
