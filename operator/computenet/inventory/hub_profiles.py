"""The hub's ClusterProfiles as the publisher reads and writes them: a thin client, no decisions.

Writes are server-side applies with the field manager ``computenet``, as the SIG-Multicluster docs
ask of every ClusterProfile writer, so another writer's fields (its conditions, access providers)
are left alone. A request that finds no ClusterProfile resource at all raises :class:`CrdGone`.
"""

from __future__ import annotations

import builtins
import json
from typing import Any, cast

from kubernetes.aio.client import ApiClient, ApiextensionsV1Api, CustomObjectsApi, V1DeleteOptions, V1Preconditions
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import GROUP as IDENTIFIER_GROUP
from computenet.api.constants import IDENTIFIER
from computenet.api.constants import VERSION as IDENTIFIER_VERSION
from computenet.inventory.model import API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, VERSION, ClusterProfile

FIELD_MANAGER = "computenet"
APPLY = "application/apply-patch+yaml"


class CrdGone(Exception):
    """The hub serves no multicluster.x-k8s.io/v1alpha1 ClusterProfile (the CRD was removed)."""


def _missing_resource(e: ApiException) -> bool:
    """A 404 about the resource type itself, not about one object (a named object's 404 names it)."""
    if e.status != 404:
        return False
    try:
        details = json.loads(e.body or "{}").get("details") or {}
    except (ValueError, AttributeError):
        return True
    return not details.get("name")


class HubProfiles:
    """ClusterProfiles in one namespace of the hub."""

    def __init__(self, client: ApiClient, namespace: str) -> None:
        self.namespace = namespace
        self._custom = CustomObjectsApi(client)
        self._crds = ApiextensionsV1Api(client)

    async def crd_served(self) -> bool:
        """Whether the ClusterProfile CRD is installed, Established and serves v1alpha1."""
        found = await self._crds.list_custom_resource_definition(field_selector=f"metadata.name={CRD_NAME}")
        for crd in found.items or ():
            established = any(
                c.type == "Established" and c.status == "True" for c in ((crd.status and crd.status.conditions) or ())
            )
            served = any(v.name == VERSION and v.served for v in crd.spec.versions)
            if established and served:
                return True
        return False

    async def list(self, label_selector: str) -> builtins.list[ClusterProfile]:
        try:
            body = cast(
                dict[str, Any],
                await self._custom.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, label_selector=label_selector
                ),
            )
        except ApiException as e:
            if _missing_resource(e):
                raise CrdGone from e
            raise
        return [ClusterProfile.model_validate(item) for item in body.get("items") or ()]

    async def get(self, name: str) -> ClusterProfile | None:
        try:
            body = cast(
                dict[str, Any],
                await self._custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name),
            )
        except ApiException as e:
            if _missing_resource(e):
                raise CrdGone from e
            if e.status == 404:
                return None
            raise
        return ClusterProfile.model_validate(body)

    async def apply(self, profile: ClusterProfile) -> ClusterProfile:
        """Apply labels and spec (creates the profile when it does not exist)."""
        meta = profile.metadata
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": meta.name, "namespace": self.namespace, "labels": dict(meta.labels)},
            "spec": profile.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
        }
        return await self._apply(meta.name or "", body, status=False)

    async def apply_status(self, profile: ClusterProfile) -> ClusterProfile:
        """Apply the conditions and properties this manager owns."""
        assert profile.status is not None
        status = profile.status.model_dump(by_alias=True, exclude_none=True, mode="json")
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": profile.metadata.name, "namespace": self.namespace},
            "status": {"conditions": status.get("conditions", []), "properties": status.get("properties", [])},
        }
        return await self._apply(profile.metadata.name or "", body, status=True)

    async def _apply(self, name: str, body: dict[str, Any], *, status: bool) -> ClusterProfile:
        # The generated client decodes only a 200; an apply that creates answers 201, so the object is
        # read from the raw body.
        call = (
            self._custom.patch_namespaced_custom_object_status_with_http_info
            if status
            else self._custom.patch_namespaced_custom_object_with_http_info
        )
        try:
            result = await call(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                name,
                body,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY,
            )
        except ApiException as e:
            if _missing_resource(e):
                raise CrdGone from e
            raise
        return ClusterProfile.model_validate_json(result.raw_data)

    async def identifier_exists(self, name: str) -> bool:
        """Whether the hub still has the ComputeIdentifier ``name`` (asked before deleting its profile)."""
        try:
            await self._custom.get_cluster_custom_object(IDENTIFIER_GROUP, IDENTIFIER_VERSION, IDENTIFIER.plural, name)
        except ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    async def delete(self, profile: ClusterProfile) -> None:
        """Delete exactly this profile (uid precondition): never one created since under the same name."""
        try:
            await self._custom.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                profile.metadata.name or "",
                body=V1DeleteOptions(preconditions=V1Preconditions(uid=profile.metadata.uid)),
            )
        except ApiException as e:
            if _missing_resource(e):
                raise CrdGone from e
            if e.status not in (404, 409):
                raise
