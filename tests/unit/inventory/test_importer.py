"""Which foreign profiles an import pass turns into identifiers (the pure part of the importer)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from computenet.inventory.imported import ExecProvider
from computenet.inventory.importer import ProfileImporter
from computenet.inventory.model import ClusterProfile


def profile(name: str, manager: str, region: str | None = "cn-east") -> ClusterProfile:
    return ClusterProfile.model_validate(
        {
            "metadata": {"name": name, "namespace": "fleet", "labels": {"x-k8s.io/cluster-manager": manager}},
            "spec": {"clusterManager": {"name": manager}},
            "status": {
                "properties": [{"name": "location", "value": region}] if region else [],
                "accessProviders": [{"name": "token", "cluster": {"server": "https://x:6443"}}],
            },
        }
    )


def importer() -> ProfileImporter:
    hub: Any = SimpleNamespace(namespace="computenet-system")
    return ProfileImporter(
        profiles=SimpleNamespace(namespace="fleet"),  # type: ignore[arg-type]
        hub=hub,
        manager="computenet",
        providers=[ExecProvider("token", {"apiVersion": "client.authentication.k8s.io/v1", "command": "x"})],
    )


def test_own_profiles_are_left_out_and_foreign_ones_mapped() -> None:
    found = importer().mapped([profile("member-1", "computenet"), profile("spoke", "fleet")])
    assert list(found) == ["fleet-spoke"]
    assert found["fleet-spoke"][1].spec["connection"]["secretRef"]["namespace"] == "computenet-system"


def test_an_unmappable_profile_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    imp = importer()
    caplog.set_level(logging.WARNING, "computenet.inventory.importer")
    for _ in range(3):
        assert imp.mapped([profile("spoke", "fleet", region=None)]) == {}
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1
    assert "fleet/spoke is not imported" in said[0]
    assert "states no region" in said[0]


def test_two_profiles_mapping_to_one_name_keep_the_first() -> None:
    first, second = profile("spoke", "fleet"), profile("spoke", "fleet", region="cn-west")
    found = importer().mapped([first, second])
    assert found["fleet-spoke"][0] is first
