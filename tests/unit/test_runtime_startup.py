"""Startup: the hub's declared kinds are read before any task, through a hub that is not ready yet."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

import aiohttp
import pytest
from kubernetes.aio.client.exceptions import ApiException

from computenet.hub import Hub
from computenet.runtime import _declare_kinds, transient_hub_answer
from computenet.workloads.kinds import WorkloadError, kind_of, withdraw

TRAINJOB = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "TrainJob",
    "plural": "trainjobs",
    "podSets": [{"role": "node", "count": "spec.trainer.numNodes", "resources": "spec.trainer.resourcesPerNode"}],
    "status": {
        "succeeded": {"path": "status.conditions[type=Complete].status", "equals": "True"},
        "running": {"cel": "true"},
    },
}


class ListingHub:
    """A hub whose list of ComputeWorkloadKinds answers ``answers`` in turn (an exception is raised)."""

    def __init__(self, *answers: BaseException | list[Mapping[str, Any]]) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def list_cluster(self, kind: object) -> list[Mapping[str, Any]]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def undeclared() -> Iterator[None]:
    withdraw(TRAINJOB["apiVersion"], TRAINJOB["kind"])
    yield
    withdraw(TRAINJOB["apiVersion"], TRAINJOB["kind"])


def declared() -> bool:
    try:
        kind_of({"apiVersion": TRAINJOB["apiVersion"], "kind": TRAINJOB["kind"]})
    except WorkloadError:
        return False
    return True


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        pytest.param(None, True, id="no answer passes"),
        pytest.param(429, True, id="429 while the CRD's watch cache initializes passes"),
        pytest.param(500, True, id="500 passes"),
        pytest.param(503, True, id="503 passes"),
        pytest.param(401, False, id="401 is the operator's credentials"),
        pytest.param(403, False, id="403 is its RBAC"),
        pytest.param(404, False, id="404 is a hub without the path"),
        pytest.param(400, False, id="400 does not change by waiting"),
    ],
)
def test_which_hub_answers_pass_by_themselves(status: int | None, transient: bool) -> None:
    assert transient_hub_answer(status) is transient


@pytest.mark.usefixtures("undeclared")
async def test_a_hub_that_answers_429_then_lists_declares_its_kinds() -> None:
    hub = ListingHub(
        ApiException(status=429, reason="Too Many Requests"),
        aiohttp.ClientConnectionError("connection reset"),
        ApiException(status=503, reason="Service Unavailable"),
        [{"spec": TRAINJOB}],
    )
    await _declare_kinds(cast(Hub, hub), backoff_s=(0.0,))
    assert hub.calls == 4
    assert declared()


@pytest.mark.usefixtures("undeclared")
async def test_a_hub_that_forbids_the_list_starts_without_declared_kinds_at_once() -> None:
    hub = ListingHub(ApiException(status=403, reason="Forbidden"), [{"spec": TRAINJOB}])
    await _declare_kinds(cast(Hub, hub), backoff_s=(0.0,))
    assert hub.calls == 1
    assert not declared()
