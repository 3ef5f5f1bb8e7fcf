"""Which supported workload kinds a member serves, from its API discovery (workloads.kinds.served_kinds)."""

from __future__ import annotations

import pytest

from computenet.workloads.kinds import DISCOVERED_GROUP_VERSIONS, KINDS, served_kinds

BUILT_IN = {
    "v1": ["Pod", "Service"],
    "apps/v1": ["Deployment", "StatefulSet", "DaemonSet"],
    "batch/v1": ["Job", "CronJob"],
}
BUILT_IN_KINDS = ("apps/v1 Deployment", "apps/v1 StatefulSet", "batch/v1 Job", "v1 Pod")


@pytest.mark.parametrize(
    ("discovered", "expected"),
    [
        pytest.param(BUILT_IN, BUILT_IN_KINDS, id="a bare member serves the built-in kinds only"),
        pytest.param(
            {**BUILT_IN, "jobset.x-k8s.io/v1alpha2": ["JobSet"]},
            tuple(sorted((*BUILT_IN_KINDS, "jobset.x-k8s.io/v1alpha2 JobSet"))),
            id="the JobSet CRD adds JobSet",
        ),
        pytest.param(
            {**BUILT_IN, "ray.io/v1": ["RayCluster"]},
            tuple(sorted((*BUILT_IN_KINDS, "ray.io/v1 RayCluster"))),
            id="a group version is read kind by kind: RayCluster without RayJob",
        ),
        pytest.param(
            {**BUILT_IN, "jobset.x-k8s.io/v1alpha1": ["JobSet"]},
            BUILT_IN_KINDS,
            id="another version of a supported group is not the supported kind",
        ),
        pytest.param({}, (), id="nothing discovered, nothing served"),
    ],
)
def test_served_kinds(discovered: dict[str, list[str]], expected: tuple[str, ...]) -> None:
    assert served_kinds(discovered) == expected


def test_every_supported_kind_has_its_group_version_discovered() -> None:
    assert {k.api_version for k in KINDS.values()} == set(DISCOVERED_GROUP_VERSIONS)
