"""A foreign manager's ClusterProfile mapped onto a ComputeIdentifier, and the kubeconfig that reaches it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.inventory.imported import (
    ExecProvider,
    NotImportable,
    choose_access,
    identifier_for,
    kubeconfig_for,
    load_provider_file,
)
from computenet.inventory.model import ClusterProfile

PROVIDER_FILE = json.dumps(
    {
        "providers": [
            {
                "name": "secretreader",
                "execConfig": {"apiVersion": "client.authentication.k8s.io/v1", "command": "/bin/secretreader"},
            },
            {
                "name": "google",
                "execConfig": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "gke-gcloud-auth-plugin",
                    "provideClusterInfo": True,
                },
            },
        ]
    }
)
PROVIDERS = load_provider_file(PROVIDER_FILE)
CA = "LS0tLS1CRUdJTi=="


def ocm_profile(
    *,
    properties: dict[str, str] | None = None,
    access: list[dict[str, Any]] | None = None,
    name: str = "spoke-1",
    credential: list[dict[str, Any]] | None = None,
) -> ClusterProfile:
    return ClusterProfile.model_validate(
        {
            "apiVersion": "multicluster.x-k8s.io/v1alpha1",
            "kind": "ClusterProfile",
            "metadata": {
                "name": name,
                "namespace": "open-cluster-management",
                "labels": {"x-k8s.io/cluster-manager": "ocm"},
            },
            "spec": {"displayName": name, "clusterManager": {"name": "ocm"}},
            "status": {
                "conditions": None,
                "properties": [
                    {"name": k, "value": v}
                    for k, v in (properties if properties is not None else {"location": "cn-east"}).items()
                ],
                "accessProviders": access
                if access is not None
                else [
                    {
                        "name": "google",
                        "cluster": {"server": "https://spoke-1.example:6443", "certificate-authority-data": CA},
                    }
                ],
                **({"credentialProviders": credential} if credential is not None else {}),
            },
        }
    )


def test_a_profile_with_a_region_and_a_known_access_provider_becomes_an_identifier() -> None:
    found = identifier_for(ocm_profile(), PROVIDERS, namespace="computenet-system")
    assert found.name == "ocm-spoke-1"
    assert found.labels == {"computenet.io/imported-from": "open-cluster-management.spoke-1"}
    assert found.spec == {
        "uri": "cpi://ocm/cn-east/spoke-1",
        "provider": "ocm",
        "region": "cn-east",
        "computeClass": "general",
        "connection": {
            "secretRef": {"name": "ocm-spoke-1-kubeconfig", "namespace": "computenet-system", "key": "kubeconfig"},
            "targetNamespace": "computenet-workloads",
        },
    }
    assert found.secret_name == "ocm-spoke-1-kubeconfig"


def test_computenet_properties_are_read_back_as_they_were_published() -> None:
    props = {
        "computenet.io/provider": "east-cloud",
        "computenet.io/region": "cn-east",
        "computenet.io/zone": "cn-east-a",
        "computenet.io/compute-class": "ai",
        "computenet.io/currency": "USD",
        "computenet.io/price.accelerator-hour.NVIDIA-H100-80GB-HBM3": "2.5",
        "computenet.io/price.cpu-core-hour": "0.04",
        "computenet.io/price.gib-hour": "0.005",
    }
    spec = identifier_for(ocm_profile(properties=props), PROVIDERS, namespace="ns").spec
    assert spec["uri"] == "cpi://east-cloud/cn-east/spoke-1"
    assert (spec["zone"], spec["computeClass"]) == ("cn-east-a", "ai")
    assert spec["pricing"] == {
        "currency": "USD",
        "perAcceleratorHour": {"NVIDIA-H100-80GB-HBM3": 2.5},
        "perCpuCoreHour": 0.04,
        "perGiBHour": 0.005,
    }


@pytest.mark.parametrize(
    ("properties", "region"),
    [
        pytest.param({"computenet.io/region": "cn-north", "location": "apac"}, "cn-north", id="our property wins"),
        pytest.param(
            {"topology.kubernetes.io/region": "eu-west", "location": "apac"}, "eu-west", id="the well-known label next"
        ),
        pytest.param({"location": "apac"}, "apac", id="the KEP's location last"),
    ],
)
def test_where_the_region_comes_from(properties: dict[str, str], region: str) -> None:
    assert identifier_for(ocm_profile(properties=properties), PROVIDERS, namespace="ns").spec["region"] == region


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        pytest.param(ocm_profile(properties={}), "states no region", id="no region"),
        pytest.param(
            ocm_profile(properties={"location": "Asia Pacific"}),
            "not a DNS label",
            id="a region that is no URI segment",
        ),
        pytest.param(ocm_profile(name="Spoke_1"), "not a DNS label", id="a name that is no URI segment"),
        pytest.param(
            ocm_profile(properties={"location": "x", "computenet.io/compute-class": "quantum"}),
            "compute-class",
            id="an unknown class",
        ),
        pytest.param(
            ocm_profile(access=[{"name": "aws", "cluster": {"server": "https://x"}}]),
            "none of which",
            id="no configured provider",
        ),
        pytest.param(
            ocm_profile(access=[{"name": "google", "cluster": {"server": "http://x"}}]), "https://", id="plain http"
        ),
        pytest.param(
            ocm_profile(
                access=[{"name": "google", "cluster": {"server": "https://x", "insecure-skip-tls-verify": True}}]
            ),
            "TLS",
            id="TLS not verified",
        ),
    ],
)
def test_a_profile_that_cannot_be_an_identifier_says_why(profile: ClusterProfile, message: str) -> None:
    with pytest.raises(NotImportable, match=message):
        identifier_for(profile, PROVIDERS, namespace="ns")


def test_the_first_provider_of_the_file_that_the_profile_offers_is_used() -> None:
    both = ocm_profile(
        access=[
            {"name": "google", "cluster": {"server": "https://a"}},
            {"name": "secretreader", "cluster": {"server": "https://b"}},
        ]
    )
    access, provider = choose_access(both, PROVIDERS)
    assert (access.name, provider.name, access.cluster["server"]) == ("secretreader", "secretreader", "https://b")


def test_access_providers_win_over_deprecated_credential_providers_of_the_same_name() -> None:
    profile = ocm_profile(
        access=[{"name": "google", "cluster": {"server": "https://new"}}],
        credential=[{"name": "google", "cluster": {"server": "https://old"}}],
    )
    access, _ = choose_access(profile, PROVIDERS)
    assert access.cluster["server"] == "https://new"


def test_the_kubeconfig_runs_the_files_plugin_never_interactively_and_holds_no_credential() -> None:
    profile = ocm_profile()
    access, provider = choose_access(profile, PROVIDERS)
    config = kubeconfig_for(profile, access, provider)
    (user,) = config["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        }
    }
    assert config["clusters"] == [
        {"name": "spoke-1", "cluster": {"server": "https://spoke-1.example:6443", "certificate-authority-data": CA}}
    ]
    assert config["current-context"] == "spoke-1"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{", id="not JSON"),
        pytest.param(json.dumps({"providers": [{"name": "x"}]}), id="no execConfig"),
        pytest.param(json.dumps({"providers": [{"execConfig": {"command": "c"}}]}), id="no name"),
    ],
)
def test_a_bad_provider_file_is_refused(text: str) -> None:
    with pytest.raises(NotImportable):
        load_provider_file(text)


def test_the_provider_file_keeps_its_order() -> None:
    assert [p.name for p in PROVIDERS] == ["secretreader", "google"]
    assert PROVIDERS[1] == ExecProvider(
        "google",
        {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        },
    )
