"""The hub objects an import writes: ComputeIdentifiers and their kubeconfig Secrets. A thin client.

Writes are server-side applies with the field manager ``computenet-import``, so what a person adds
to an imported identifier (a pool label, network facts) stays theirs. Every object the importer
writes carries ``computenet.io/imported-from``: only those it ever changes or deletes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, cast

import yaml
from kubernetes.aio.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import GROUP, IDENTIFIER, VERSION
from computenet.inventory.imported import IMPORTED_LABEL, ImportedIdentifier

FIELD_MANAGER = "computenet-import"
APPLY = "application/apply-patch+yaml"
KUBECONFIG_KEY = "kubeconfig"


class HubImports:
    """Imported identifiers (cluster-scoped) and their Secrets in the operator's namespace."""

    def __init__(self, client: ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._custom = CustomObjectsApi(client)
        self._core = CoreV1Api(client)

    async def imported(self) -> dict[str, str]:
        """Identifiers carrying the import label: name -> the profile it came from (``<ns>.<name>``)."""
        body = cast(
            dict[str, Any],
            await self._custom.list_cluster_custom_object(
                GROUP, VERSION, IDENTIFIER.plural, label_selector=IMPORTED_LABEL
            ),
        )
        return {i["metadata"]["name"]: i["metadata"]["labels"][IMPORTED_LABEL] for i in body.get("items") or ()}

    async def identifier_labels(self, name: str) -> Mapping[str, str] | None:
        """The labels of identifier ``name``, None when there is no such identifier."""
        try:
            body = cast(
                dict[str, Any], await self._custom.get_cluster_custom_object(GROUP, VERSION, IDENTIFIER.plural, name)
            )
        except ApiException as e:
            if e.status == 404:
                return None
            raise
        return cast(Mapping[str, str], body["metadata"].get("labels") or {})

    async def apply_secret(self, imported: ImportedIdentifier, kubeconfig: Mapping[str, Any]) -> None:
        text = yaml.safe_dump(dict(kubeconfig), sort_keys=False)
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": imported.secret_name, "namespace": self.namespace, "labels": dict(imported.labels)},
            "type": "Opaque",
            "data": {KUBECONFIG_KEY: base64.b64encode(text.encode()).decode()},
        }
        await self._core.patch_namespaced_secret(
            imported.secret_name, self.namespace, body, field_manager=FIELD_MANAGER, force=True, _content_type=APPLY
        )

    async def apply_identifier(self, imported: ImportedIdentifier, labels: Mapping[str, str]) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": IDENTIFIER.kind,
            "metadata": {"name": imported.name, "labels": {**labels, **imported.labels}},
            "spec": dict(imported.spec),
        }
        # The generated client decodes only a 200; an apply that creates answers 201.
        await self._custom.patch_cluster_custom_object_with_http_info(
            GROUP,
            VERSION,
            IDENTIFIER.plural,
            imported.name,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=APPLY,
        )

    async def delete(self, name: str) -> None:
        """Delete an imported identifier and its Secret (``<name>-kubeconfig``); gone already is fine."""
        try:
            await self._custom.delete_cluster_custom_object(GROUP, VERSION, IDENTIFIER.plural, name)
        except ApiException as e:
            if e.status != 404:
                raise
        try:
            await self._core.delete_namespaced_secret(f"{name}-kubeconfig"[:253], self.namespace)
        except ApiException as e:
            if e.status != 404:
                raise
