"""Effective pod requests, table-tested against the cases of Kubernetes v1.36.3.

Rows are named after the upstream case they port:
- ``helpers_test.go`` of ``k8s.io/component-helpers@v0.36.3/resource``: TestPodRequestsAndLimits,
  TestPodResourceRequests, TestPodLevelResourceRequests, TestAggregateContainerRequestsAndLimits.
  ``UseStatusResources: true`` becomes passing the pod's status, ``false`` passing None. Cases that
  need options kube-scheduler does not use (``ExcludeOverhead``, ``SkipPodLevelResources: true``
  with pod-level resources, DRA node-allocatable claims, ``Reuse``) have no row.
- ``pkg/apis/core/v1/defaults_test.go`` of ``k8s.io/kubernetes@v1.36.3``: TestPodResourcesDefaults
  (pod-level rows), TestSetDefaultRequestsPod; the expected value is ``PodRequests`` of the pod as
  upstream defaults it.
Upstream's ``PodRequests`` runs on pods the API server has already defaulted; ``pod_requests`` applies
that defaulting itself, so where an upstream helper test feeds limits without requests the expected
requests are the limits (marked "limits imply requests").
"""

from __future__ import annotations

from typing import Any

import pytest

from computenet.podresources import container_requests, is_restartable, pod_requests

Mi = 1 << 20
Gi = 1 << 30
GPU = "nvidia.com/gpu"
HP2M = "hugepages-2Mi"
HP1G = "hugepages-1Gi"


def c(name: str = "", *, req: dict[str, Any] | None = None, lim: dict[str, Any] | None = None) -> dict[str, Any]:
    """A container; resources only as given."""
    resources: dict[str, Any] = {}
    if req is not None:
        resources["requests"] = req
    if lim is not None:
        resources["limits"] = lim
    return {"name": name, "image": "x", "resources": resources}


def sidecar(name: str = "", *, req: dict[str, Any] | None = None, lim: dict[str, Any] | None = None) -> dict[str, Any]:
    """A restartable init container (KEP-753)."""
    return {**c(name, req=req, lim=lim), "restartPolicy": "Always"}


def spec(
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    *,
    overhead: dict[str, Any] | None = None,
    pod_req: dict[str, Any] | None = None,
    pod_lim: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"containers": containers or []}
    if init is not None:
        out["initContainers"] = init
    if overhead is not None:
        out["overhead"] = overhead
    if pod_req is not None or pod_lim is not None:
        out["resources"] = {k: v for k, v in (("requests", pod_req), ("limits", pod_lim)) if v is not None}
    return out


def cs(name: str, *, actual: dict[str, Any] | None = None, allocated: dict[str, Any] | None = None) -> dict[str, Any]:
    """A container status reporting resources (``resources.requests``) and/or ``allocatedResources``."""
    out: dict[str, Any] = {"name": name}
    if actual is not None:
        out["resources"] = {"requests": actual}
    if allocated is not None:
        out["allocatedResources"] = allocated
    return out


def status(
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    *,
    infeasible: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {"containerStatuses": containers or [], "initContainerStatuses": init or []}
    if infeasible:
        out["conditions"] = [{"type": "PodResizePending", "status": "True", "reason": "Infeasible"}]
    return out


def get_pod(
    *, cpu_req: str = "", cpu_lim: str = "", mem_req: str = "", mem_lim: str = "", **overhead: str
) -> dict[str, Any]:
    """Upstream's ``getPod``: one container and one init container with the same resources."""
    req = {k: v for k, v in (("cpu", cpu_req), ("memory", mem_req)) if v}
    lim = {k: v for k, v in (("cpu", cpu_lim), ("memory", mem_lim)) if v}
    over = {k: v for k, v in (("cpu", overhead.get("cpu_over")), ("memory", overhead.get("mem_over"))) if v}
    return spec([c("foo", req=req, lim=lim)], [c("init-foo", req=req, lim=lim)], overhead=over)


# ---- helpers_test.go: TestPodRequestsAndLimits ----

REQUESTS_AND_LIMITS = [
    pytest.param(get_pod(cpu_lim="9"), {"cpu": 9000}, id="just-limit-no-overhead (limits imply requests)"),
    pytest.param(get_pod(cpu_over="5", mem_over="5"), {"cpu": 5000, "memory": 5}, id="just-overhead"),
    pytest.param(
        get_pod(cpu_req="1", mem_req="10", cpu_over="5", mem_over="5"),
        {"cpu": 6000, "memory": 15},
        id="req-and-overhead",
    ),
    pytest.param(
        get_pod(cpu_req="1", cpu_lim="2", mem_req="10", mem_lim="12", cpu_over="5", mem_over="5"),
        {"cpu": 6000, "memory": 15},
        id="all-req-lim-and-overhead",
    ),
    pytest.param(
        get_pod(cpu_req="1", cpu_lim="2", mem_req="10", cpu_over="5", mem_over="5"),
        {"cpu": 6000, "memory": 15},
        id="req-some-lim-and-overhead",
    ),
]


@pytest.mark.parametrize(("pod_spec", "expected"), REQUESTS_AND_LIMITS)
def test_pod_requests_and_limits(pod_spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert pod_requests(pod_spec) == expected


# ---- helpers_test.go: TestPodResourceRequests ----

INFEASIBLE_SPEC = spec([c("container-1", req={"cpu": "4"})])
SIDECAR_4 = spec([], [sidecar("restartable-init-1", req={"cpu": "4"})])
SIDECAR_STATUS_2 = [cs("restartable-init-1", actual={"cpu": "2"})]

POD_RESOURCE_REQUESTS = [
    pytest.param(
        spec([c(req={"cpu": "1"})], [c(req={"cpu": "4"})]), None, {"cpu": 4000}, id="nil options, larger init container"
    ),
    pytest.param(
        spec([c(req={"cpu": "2"}), c(req={"cpu": "3"})], [c(req={"cpu": "2"})]),
        None,
        {"cpu": 5000},
        id="nil options, larger containers",
    ),
    pytest.param(
        spec(
            [c(req={"cpu": "2"}), c(req={"cpu": "3"})],
            [c(req={"cpu": "2"}, lim={"cpu": "2"})],
            overhead={"cpu": "1", "memory": "1Gi"},
        ),
        None,
        {"cpu": 6000, "memory": Gi},
        id="pod overhead included",
    ),
    pytest.param(
        INFEASIBLE_SPEC,
        status([cs("container-1", actual={"cpu": "2"})], infeasible=True),
        {"cpu": 2000},
        id="resized, infeasible",
    ),
    pytest.param(
        spec([c("container-1", req={"cpu": "6"})]),
        status([cs("container-1", actual={"cpu": "2"}, allocated={"cpu": "4"})], infeasible=True),
        {"cpu": 4000},
        id="resized, infeasible & in-progress",
    ),
    pytest.param(
        INFEASIBLE_SPEC, status([cs("container-1", actual={"cpu": "2"})]), {"cpu": 4000}, id="resized, no resize status"
    ),
    pytest.param(
        spec([c("container-1", req={"cpu": "30m", "memory": "20M", "ephemeral-storage": "10G"})]),
        status(
            [
                cs(
                    "container-1",
                    allocated={"cpu": "20m", "memory": "10M", "ephemeral-storage": "30G"},
                    actual={"cpu": "10m", "memory": "30M", "ephemeral-storage": "20G"},
                )
            ]
        ),
        {"cpu": 30, "memory": 30_000_000, "ephemeral-storage": 30_000_000_000},
        id="resized: per-resource 3-way maximum",
    ),
    pytest.param(INFEASIBLE_SPEC, None, {"cpu": 4000}, id="resized, infeasible, but don't use status"),
    pytest.param(
        SIDECAR_4,
        status(init=SIDECAR_STATUS_2, infeasible=True),
        {"cpu": 2000},
        id="resized, restartable init container, infeasible",
    ),
    pytest.param(
        SIDECAR_4,
        status(init=SIDECAR_STATUS_2),
        {"cpu": 4000},
        id="resized, restartable init container, no resize status",
    ),
    pytest.param(
        SIDECAR_4, None, {"cpu": 4000}, id="resized, restartable init container, infeasible, but don't use status"
    ),
    pytest.param(
        spec([c("container-1", req={"cpu": "1"})], [sidecar("restartable-init-1", req={"cpu": "1"})]),
        None,
        {"cpu": 2000},
        id="restartable init container",
    ),
    pytest.param(
        spec(
            [c("container-1", req={"cpu": "1"})],
            [
                c("init-1", req={"cpu": "5"}),
                sidecar("restartable-init-1", req={"cpu": "1"}),
                sidecar("restartable-init-2", req={"cpu": "2"}),
                sidecar("restartable-init-3", req={"cpu": "3"}),
            ],
        ),
        None,
        {"cpu": 7000},
        id="multiple restartable init containers",
    ),
    pytest.param(
        spec(
            [c("container-1", req={"cpu": "1"})],
            [
                c("init-1", req={"cpu": "5"}),
                sidecar("restartable-init-1", req={"cpu": "1"}),
                sidecar("restartable-init-2", req={"cpu": "2"}),
                c("init-2", req={"cpu": "5"}),
                sidecar("restartable-init-3", req={"cpu": "3"}),
            ],
        ),
        None,
        {"cpu": 8000},
        id="multiple restartable and regular init containers",
    ),
    pytest.param(
        spec(
            [c("container-1", req={"cpu": "100"})],
            [sidecar("restartable-init-1", req={"cpu": "10"}), c("init-1", req={"cpu": "200"})],
        ),
        None,
        {"cpu": 210_000},
        id="restartable-init, init and regular",
    ),
]


@pytest.mark.parametrize(("pod_spec", "pod_status", "expected"), POD_RESOURCE_REQUESTS)
def test_pod_resource_requests(
    pod_spec: dict[str, Any], pod_status: dict[str, Any] | None, expected: dict[str, int]
) -> None:
    assert pod_requests(pod_spec, pod_status) == expected


# ---- helpers_test.go: TestPodLevelResourceRequests ----

MEM3_CPU2 = c(req={"memory": "3Mi", "cpu": "2m"})

POD_LEVEL_RESOURCE_REQUESTS = [
    pytest.param(spec(pod_req={}), {}, id="nil"),
    pytest.param(
        spec(pod_req={"memory": "2Mi"}),
        {"memory": 2 * Mi},
        id="pod level memory resource with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([c(req={"cpu": "2m"})], pod_req={"memory": "2Mi"}),
        {"memory": 2 * Mi, "cpu": 2},
        id="pod level memory and container level cpu resources with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([c(req={"storage": "3Mi"})], pod_req={"storage": "2Mi"}),
        {"storage": 3 * Mi},
        id="pod level unsupported resources set at both pod-level and container-level with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([c(req={"memory": "3Mi"})], pod_req={"storage": "2Mi"}),
        {"memory": 3 * Mi},
        id="pod level unsupported resources set at pod-level with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([MEM3_CPU2]),
        {"memory": 3 * Mi, "cpu": 2},
        id="only container level resources set with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([MEM3_CPU2], pod_req={"memory": "6Mi", "cpu": "8m"}),
        {"memory": 6 * Mi, "cpu": 8},
        id="both container-level and pod-level resources set with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([MEM3_CPU2], [c(req={"memory": "5Mi", "cpu": "4m"})]),
        {"memory": 5 * Mi, "cpu": 4},
        id="container-level resources and init container set with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([MEM3_CPU2], [sidecar(req={"memory": "5Mi", "cpu": "4m"})]),
        {"memory": 8 * Mi, "cpu": 6},
        id="container-level resources and sidecar container set with SkipPodLevelResources false",
    ),
    pytest.param(
        spec([MEM3_CPU2], [sidecar(req={"memory": "5Mi", "cpu": "4m"}), c(req={"memory": "6Mi", "cpu": "8m"})]),
        {"memory": 11 * Mi, "cpu": 12},
        id="container-level resources, init and sidecar container set with SkipPodLevelResources false",
    ),
    pytest.param(
        spec(
            [MEM3_CPU2],
            [sidecar(req={"memory": "5Mi", "cpu": "4m"}), c(req={"memory": "6Mi", "cpu": "8m"})],
            pod_req={"memory": "15Mi", "cpu": "18m"},
        ),
        {"memory": 15 * Mi, "cpu": 18},
        id="pod-level resources, container-level resources, init and sidecar container set with "
        "SkipPodLevelResources false",
    ),
    pytest.param(
        spec(pod_lim={HP2M: "2Mi"}, pod_req={"memory": "10Mi", HP2M: "2Mi"}),
        {"memory": 10 * Mi, HP2M: 2 * Mi},
        id="pod-level resources, hugepage request/limit single page size",
    ),
    pytest.param(
        spec(pod_lim={HP2M: "2Mi", HP1G: "1Gi"}, pod_req={"cpu": "1", HP2M: "2Mi", HP1G: "1Gi"}),
        {"cpu": 1000, HP2M: 2 * Mi, HP1G: Gi},
        id="pod-level resources, hugepage request/limit multiple page sizes",
    ),
    pytest.param(
        spec(
            [c(lim={HP2M: "6Mi"}, req={HP2M: "6Mi"})],
            pod_lim={HP2M: "10Mi"},
            pod_req={"cpu": "1", HP2M: "10Mi"},
        ),
        {"cpu": 1000, HP2M: 10 * Mi},
        id="pod-level resources, container-level resources, hugepage request/limit single page size",
    ),
    pytest.param(
        spec(
            [c(lim={HP1G: "2Gi"}, req={"cpu": "1", HP1G: "2Gi"})],
            pod_lim={HP2M: "10Mi", HP1G: "2Gi"},
            pod_req={"cpu": "1", HP2M: "10Mi", HP1G: "2Gi"},
        ),
        {"cpu": 1000, HP2M: 10 * Mi, HP1G: 2 * Gi},
        id="pod-level resources, container-level resources, hugepage request/limit multiple page sizes",
    ),
    pytest.param(
        spec(
            [c(lim={HP1G: "1Gi"}, req={"memory": "4Mi", HP1G: "1Gi"})],
            pod_lim={HP2M: "10Mi"},
            pod_req={"cpu": "1", HP2M: "10Mi"},
        ),
        {"cpu": 1000, "memory": 4 * Mi, HP2M: 10 * Mi, HP1G: Gi},
        id="pod-level resources, container-level resources, hugepage request/limit multiple page sizes between "
        "pod-level and container-level",
    ),
]


@pytest.mark.parametrize(("pod_spec", "expected"), POD_LEVEL_RESOURCE_REQUESTS)
def test_pod_level_resource_requests(pod_spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert pod_requests(pod_spec) == expected


# ---- helpers_test.go: TestAggregateContainerRequestsAndLimits ----
# Rows with limits only expect upstream's aggregated limits: defaulting makes them the requests.

AGGREGATE_CONTAINER_REQUESTS = [
    pytest.param(
        spec([c(lim={"cpu": "9"})]), None, {"cpu": 9000}, id="one container with limits (limits imply requests)"
    ),
    pytest.param(
        spec([c(lim={"cpu": "9"}), c(lim={"cpu": "9"})]),
        None,
        {"cpu": 18_000},
        id="two containers with limits (limits imply requests)",
    ),
    pytest.param(spec([c(req={"cpu": "9"})]), None, {"cpu": 9000}, id="one container with requests"),
    pytest.param(
        spec([c(req={"cpu": "9"}), c(req={"cpu": "9"})]), None, {"cpu": 18_000}, id="two containers with requests"
    ),
    pytest.param(
        spec([c(req={"cpu": "9"})], [c(req={"cpu": "9"})]),
        None,
        {"cpu": 9000},
        id="regular and init containers with requests",
    ),
    pytest.param(
        spec([c(req={"cpu": "9"})], [sidecar(req={"cpu": "8"}), c(req={"cpu": "6"})]),
        None,
        {"cpu": 17_000},
        id="regular, init and sidecar containers with requests",
    ),
    pytest.param(
        spec([c(lim={"cpu": "9"})], [c(lim={"cpu": "9"})]),
        None,
        {"cpu": 9000},
        id="regular and init containers with limits (limits imply requests)",
    ),
    pytest.param(
        spec([c(lim={"cpu": "9"})], [sidecar(lim={"cpu": "8"}), c(lim={"cpu": "6"})]),
        None,
        {"cpu": 17_000},
        id="regular, init and sidecar containers with limits (limits imply requests)",
    ),
    pytest.param(
        spec([c("container-1")]),
        status([cs("container-1", actual={"cpu": "2"})]),
        {"cpu": 2000},
        id="regularcontainers with empty requests, but status with non-empty requests",
    ),
    pytest.param(
        spec([], [sidecar("container-1")]),
        status(init=[cs("container-1", actual={"cpu": "2"})]),
        {"cpu": 2000},
        id="always-restart init containers with empty requests, but status with non-empty requests",
    ),
]


@pytest.mark.parametrize(("pod_spec", "pod_status", "expected"), AGGREGATE_CONTAINER_REQUESTS)
def test_aggregate_container_requests(
    pod_spec: dict[str, Any], pod_status: dict[str, Any] | None, expected: dict[str, int]
) -> None:
    assert pod_requests(pod_spec, pod_status) == expected


# ---- defaults_test.go: TestPodResourcesDefaults, TestSetDefaultRequestsPod ----

LIMITS_2M_1MI_AND_1M_5MI = [c(lim={"cpu": "2m", "memory": "1Mi"}), c(lim={"cpu": "1m", "memory": "5Mi"})]

POD_RESOURCES_DEFAULTS = [
    pytest.param(spec([c(), c()]), {}, id="pod resources=unset, container resources=unset"),
    pytest.param(
        spec(LIMITS_2M_1MI_AND_1M_5MI),
        {"cpu": 3, "memory": 6 * Mi},
        id="pod resources=unset, container requests=unset limits=set",
    ),
    pytest.param(
        spec(pod_lim={"cpu": "2m", "memory": "1Mi"}),
        {"cpu": 2, "memory": Mi},
        id="pod requests=unset limits=set, container resources=unset",
    ),
    pytest.param(
        spec(LIMITS_2M_1MI_AND_1M_5MI, pod_lim={"cpu": "5m", "memory": "7Mi"}),
        {"cpu": 3, "memory": 6 * Mi},
        id="pod requests=unset limits=set, container requests=unset limits=set",
    ),
    pytest.param(
        spec(
            [c(req={"cpu": "1m", "memory": "1Mi"}), c(req={"cpu": "1m", "memory": "2Mi"})],
            pod_lim={"cpu": "4m", "memory": "8Mi"},
        ),
        {"cpu": 2, "memory": 3 * Mi},
        id="pod requests=unset limits=set, container requests=set limits=unset",
    ),
    pytest.param(
        spec([c(), c()], pod_lim={"cpu": "4m"}),
        {"cpu": 4},
        id="pod requests=unset cpu limits=set, container resources=unset",
    ),
    pytest.param(
        spec(
            [
                c(req={"cpu": "1m", "memory": "1Mi"}, lim={"cpu": "2m", "memory": "1Mi"}),
                c(req={"cpu": "1m", "memory": "2Mi"}, lim={"cpu": "1m", "memory": "5Mi"}),
            ],
            pod_lim={"cpu": "4m", "memory": "8Mi"},
        ),
        {"cpu": 2, "memory": 3 * Mi},
        id="pod requests=unset limits=set, container requests=set limits=set",
    ),
    pytest.param(
        spec([c(req={"memory": "1Mi"}), c(req={"memory": "5Mi"})], pod_lim={"cpu": "4m", "memory": "8Mi"}),
        {"cpu": 4, "memory": 6 * Mi},
        id="pod requests=unset limits=set, container memory requests=set limits=unset",
    ),
    pytest.param(
        spec([c(lim={"storage": "1Mi"}), c(lim={"ephemeral-storage": "5Mi"})], pod_lim={"cpu": "2m", "memory": "1Mi"}),
        {"cpu": 2, "memory": Mi, "storage": Mi, "ephemeral-storage": 5 * Mi},
        id="pod limits=set, container unsupported requests=set limits=set",
    ),
    pytest.param(
        spec(
            [c(lim={"storage": "1Mi"}), c(lim={"ephemeral-storage": "5Mi"})],
            pod_lim={"cpu": "2m", "memory": "1Mi", "storage": "1Mi"},
        ),
        {"cpu": 2, "memory": Mi, "storage": Mi, "ephemeral-storage": 5 * Mi},
        id="pod supported and unsupported resources limits=set, container unsupported requests=set limits=set",
    ),
    pytest.param(
        spec([c(lim={"cpu": "2m", HP2M: "4Mi"}), c(lim={"cpu": "1m", HP2M: "2Mi"})], pod_lim={"cpu": "5m"}),
        {"cpu": 3, HP2M: 6 * Mi},
        id="pod has cpu limit with hugepages requests=unset limits=unset, "
        "container hugepages requests=unset limits=set",
    ),
    pytest.param(
        spec(
            [c(req={"memory": "0"}, lim={"cpu": "100m", "memory": "1Gi"})],
            [c(req={"memory": "0"}, lim={"cpu": "100m", "memory": "1Gi"})],
        ),
        {"cpu": 100, "memory": 0},
        id="TestSetDefaultRequestsPod: a limit implies a request, an explicit request of 0 is kept",
    ),
]


@pytest.mark.parametrize(("pod_spec", "expected"), POD_RESOURCES_DEFAULTS)
def test_pod_resources_defaults(pod_spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert pod_requests(pod_spec) == expected


# ---- computenet's own cases: the reported bug, pod-level resize, and malformed input ----

CASES = [
    pytest.param(
        spec(
            [c("trainer", lim={GPU: 1})],
            [sidecar("telemetry-sidecar", lim={GPU: 1})],
        ),
        None,
        {GPU: 2},
        id="case 01: a sidecar's GPU adds to the main container's (limits only, YAML integers)",
    ),
    pytest.param(
        spec([c("trainer", lim={GPU: 1})], [c("setup", lim={GPU: 1})]),
        None,
        {GPU: 1},
        id="an ordinary init container's GPU is released before the main container starts",
    ),
    pytest.param(
        spec([c(req={"cpu": "1"})], pod_req={"cpu": "2"}),
        {"resources": {"requests": {"cpu": "3"}}, "allocatedResources": {"cpu": "1"}},
        {"cpu": 3000},
        id="pod-level resize in progress counts the larger actual pod requests",
    ),
    pytest.param(
        spec([c(req={"cpu": "1"})], pod_req={"cpu": "4", "memory": "1Gi"}),
        {
            "resources": {"requests": {"cpu": "2"}},
            "allocatedResources": {"cpu": "2"},
            "conditions": [{"type": "PodResizePending", "reason": "Infeasible"}],
        },
        {"cpu": 2000, "memory": 0},
        id="infeasible pod-level resize counts what is actuated or allocated only",
    ),
    pytest.param(
        spec([c(req={"cpu": "1"})], overhead={"cpu": "250m"}),
        {"containerStatuses": [{"name": "", "state": {"running": {}}}]},
        {"cpu": 1250},
        id="a status without resources leaves the spec in force",
    ),
    pytest.param(
        spec([c(req={"cpu": "0.5m"}), c(req={"cpu": "0.5m"})]),
        None,
        {"cpu": 1},
        id="amounts are summed exactly and rounded up once, as the scheduler does",
    ),
]


@pytest.mark.parametrize(("pod_spec", "pod_status", "expected"), CASES)
def test_cases(pod_spec: dict[str, Any], pod_status: dict[str, Any] | None, expected: dict[str, int]) -> None:
    assert pod_requests(pod_spec, pod_status) == expected


MALFORMED = [
    pytest.param(
        spec([c(req={"cpu": "lots", "memory": "1Gi"})]), {"memory": Gi}, id="an unparseable quantity is skipped"
    ),
    pytest.param(spec([c(req={"cpu": "-1", "memory": "1Gi"})]), {"memory": Gi}, id="a negative quantity is skipped"),
    pytest.param(
        spec([c(req={"cpu": "oops"}, lim={"cpu": "2"})]),
        {},
        id="a malformed request is not replaced by its limit (the key is present)",
    ),
    pytest.param(spec([c(req={"cpu": True, GPU: None})]), {}, id="booleans and nulls are not quantities"),
    pytest.param({"containers": "trainer", "initContainers": None}, {}, id="containers that are not a list"),
    pytest.param({"containers": [None, 7, {"resources": "big"}]}, {}, id="containers that are not objects"),
    pytest.param(
        {"containers": [{"resources": {"requests": ["cpu"], "limits": {3: "1"}}}]}, {}, id="maps that are not maps"
    ),
    pytest.param(
        spec([c(req={"memory": "6e23"}), c(req={"memory": "6e23"})]),
        {},
        id="a total beyond 10^24 base units is dropped",
    ),
    pytest.param({**spec([c(req={"cpu": "1"})]), "overhead": "cpu"}, {"cpu": 1000}, id="an overhead that is not a map"),
]


@pytest.mark.parametrize(("pod_spec", "expected"), MALFORMED)
def test_malformed_input_is_skipped_not_fatal(pod_spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert pod_requests(pod_spec) == expected


def test_malformed_status_is_ignored() -> None:
    pod_spec = spec([c("a", req={"cpu": "1"})], pod_req={"memory": "1Gi"})
    bad_status = {
        "containerStatuses": [{"name": "a", "resources": {"requests": "2"}}, "x"],
        "resources": None,
        "conditions": "Infeasible",
    }
    assert pod_requests(pod_spec, bad_status) == {"cpu": 1000, "memory": Gi}


def test_container_requests_apply_defaulting() -> None:
    assert container_requests(c(req={"cpu": "500m"}, lim={"cpu": "1", "memory": "2Gi", GPU: "1"})) == {
        "cpu": 500,
        "memory": 2 * Gi,
        GPU: 1,
    }


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        pytest.param(sidecar(), True, id="restartPolicy Always is a sidecar"),
        pytest.param(c(), False, id="no restartPolicy is an ordinary init container"),
        pytest.param({"restartPolicy": "OnFailure"}, False, id="any other policy is not a sidecar"),
    ],
)
def test_is_restartable(container: dict[str, Any], expected: bool) -> None:
    assert is_restartable(container) is expected


def test_input_is_not_modified() -> None:
    pod_spec = spec([c(lim={"cpu": "1"})], pod_lim={"cpu": "2"})
    before = repr(pod_spec)
    pod_requests(pod_spec)
    assert repr(pod_spec) == before
