"""The ClusterProfile API as the operator reads and writes it (multicluster.x-k8s.io/v1alpha1).

The fields follow the upstream Go types, sigs.k8s.io/cluster-inventory-api v0.1.2
``apis/v1alpha1/clusterprofile_types.go``; the CRD itself is upstream's (hack/upstream/), never
generated here. Names the operator gives properties are under ``computenet.io/``.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import Field

from computenet.api.common import ApiModel, Condition, ObjectMeta, StatusModel

GROUP: Final = "multicluster.x-k8s.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = "multicluster.x-k8s.io/v1alpha1"
KIND: Final = "ClusterProfile"
PLURAL: Final = "clusterprofiles"
CRD_NAME: Final = f"{PLURAL}.{GROUP}"

LABEL_CLUSTER_MANAGER: Final = "x-k8s.io/cluster-manager"
"""Upstream LabelClusterManagerKey: the owning cluster manager's name, set at creation."""
CONDITION_CONTROL_PLANE_HEALTHY: Final = "ControlPlaneHealthy"
"""Upstream ClusterConditionControlPlaneHealthy: the member's control plane answers."""
CONDITION_JOINED: Final = "Joined"
"""KEP-4322: the cluster is under management by the cluster manager."""

IDENTIFIER_LABEL: Final = "computenet.io/identifier"
"""On a published profile: the name of the ComputeIdentifier it describes."""

PROPERTY_URI: Final = "computenet.io/uri"
PROPERTY_PROVIDER: Final = "computenet.io/provider"
PROPERTY_REGION: Final = "computenet.io/region"
PROPERTY_ZONE: Final = "computenet.io/zone"
PROPERTY_COMPUTE_CLASS: Final = "computenet.io/compute-class"
PROPERTY_ACCELERATOR_MODELS: Final = "computenet.io/accelerator-models"
PROPERTY_ACCELERATORS_PREFIX: Final = "computenet.io/accelerators."
"""Followed by a model: how many devices of that model the identifier's nodes can allocate."""
PROPERTY_CURRENCY: Final = "computenet.io/currency"
PROPERTY_PRICE_ACCELERATOR_PREFIX: Final = "computenet.io/price.accelerator-hour."
"""Followed by a model: the price of one device of that model for one hour, in the currency."""
PROPERTY_PRICE_CPU: Final = "computenet.io/price.cpu-core-hour"
PROPERTY_PRICE_MEMORY: Final = "computenet.io/price.gib-hour"


class ClusterManager(ApiModel):
    name: str = Field(description="The cluster manager that owns the profile (immutable).")


class ClusterProfileSpec(ApiModel):
    display_name: str | None = Field(None, description="A human-readable name of the cluster.")
    cluster_manager: ClusterManager


class Property(StatusModel):
    """One name/value pair; upstream allows 1-253 characters of name and 1-1024 of value."""

    name: str = Field(min_length=1, max_length=253)
    value: str = Field(min_length=1, max_length=1024)


class ClusterVersion(StatusModel):
    kubernetes: str | None = None


class AccessProvider(StatusModel):
    """How to reach the cluster: a provider name and a clientcmd v1 Cluster (server, CA, extensions)."""

    name: str
    cluster: dict[str, Any] = Field(default_factory=dict)


class ClusterProfileStatus(StatusModel):
    """Lists may be null: upstream serializes an empty ``conditions`` as null (no omitempty)."""

    conditions: list[Condition] | None = None
    version: ClusterVersion | None = None
    properties: list[Property] | None = None
    credential_providers: list[AccessProvider] | None = None
    """Deprecated upstream in favour of accessProviders; read, never written."""
    access_providers: list[AccessProvider] | None = None


class ClusterProfile(ApiModel):
    api_version: Literal["multicluster.x-k8s.io/v1alpha1"] = API_VERSION
    kind: Literal["ClusterProfile"] = KIND
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ClusterProfileSpec
    status: ClusterProfileStatus | None = None

    @property
    def manager(self) -> str:
        return self.spec.cluster_manager.name

    def owned_by(self, manager: str) -> bool:
        """Both marks of ownership the KEP asks for: the label and spec.clusterManager.name."""
        return self.manager == manager and self.metadata.labels.get(LABEL_CLUSTER_MANAGER) == manager
