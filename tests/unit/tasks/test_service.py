"""How the task service takes a task in: validation, the hub's verdict, holding, edits, counts.

The hub's verdict (``HubCheck``) is given, and the hub only records the statuses written to it:
what is tested is the service's own decisions. The real watch, dry run and writes run against real
API servers in tests/integration (test_tasks.py, test_hub_validation.py, test_task_edits.py).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from computenet.api.constants import TASK, KindInfo, Phase, Reason
from computenet.api.problems import Problem
from computenet.api.task import ComputeTaskSpec
from computenet.events import ObjectRef
from computenet.members.identifiers import IdentifierSet
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache
from computenet.metrics import Metrics
from computenet.placement.devices import ClaimTemplate, DeviceRequest
from computenet.tasks.hub_validation import VALID, Result, Verdict
from computenet.tasks.service import TaskService, status_of


class Hub:
    client = None

    def __init__(self) -> None:
        self.written: list[tuple[str, dict[str, Any]]] = []

    async def replace_status(
        self, kind: KindInfo, name: str, status: Mapping[str, Any], namespace: str | None = None
    ) -> None:
        self.written.append((name, dict(status)))


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.recorded.append((reason, message))


class Checks:
    """The hub's verdict on the workload a task would dispatch, as given by each test."""

    def __init__(self, verdict: Verdict | None) -> None:
        self.given = verdict
        self.asked = 0
        self.on_ready: list[Callable[[], None]] = []

    def verdict(
        self,
        spec: ComputeTaskSpec,
        template: Any,
        workload: Any,
        on_ready: Callable[[], None],
        written: Any = None,
    ) -> Verdict | None:
        self.asked += 1
        if self.given is None:
            self.on_ready.append(on_ready)
        return self.given


def body(generation: int = 1, cpu: str = "1", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"uid": "uid-1", "namespace": "research", "name": "train", "generation": generation},
        "spec": {
            "pool": "gpus",
            "resources": {"cpu": cpu, "memory": "1Gi"},
            "template": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "main",
                                    "image": "busybox",
                                    "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}},
                                }
                            ]
                        }
                    }
                }
            },
        },
        **({"status": status} if status else {}),
    }


@pytest.fixture
async def service() -> AsyncIterator[tuple[TaskService, Hub, Checks]]:
    hub = Hub()
    identifiers = IdentifierSet(MemberRegistry(), SecretCache(), "computenet-system")
    svc = TaskService(hub, identifiers, Metrics.create(), "hub-1", {}.get, Events())  # type: ignore[arg-type]
    checks = Checks(VALID)
    svc.checks = checks  # type: ignore[assignment]
    try:
        yield svc, hub, checks
    finally:
        await svc.close()


async def written_valid(svc: TaskService, hub: Hub) -> dict[str, Any]:
    """The Valid condition of the last status written to the hub."""
    assert await asyncio.wait_for(svc.book.writer.flush(TASK, "research", "train"), 10)
    name, status = hub.written[-1]
    assert name == "train"
    return next(c for c in status["conditions"] if c["type"] == "Valid")


def valid(svc: TaskService) -> tuple[str, str]:
    record = svc.book.get("uid-1") or svc._held["uid-1"].record
    cond = next(c for c in record.status.conditions or () if c.type == "Valid")
    return str(cond.status), str(cond.reason)


async def test_a_valid_task_the_hub_accepts_is_taken_in_pending_and_counted_once(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, _, _ = service
    svc.admit(body())
    record = svc.book.get("uid-1")
    assert record is not None
    assert record.phase == Phase.PENDING
    assert valid(svc) == ("True", Reason.VALID)
    assert svc.counts("gpus").queued == 1
    svc.admit(body())  # seen again (a resync): not a second submission
    assert svc.metrics.tasks_submitted.labels("research")._value.get() == 1


async def test_a_spec_that_does_not_validate_is_refused_naming_the_field(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, hub, checks = service
    bad = body()
    bad["spec"]["resources"]["cpu"] = "lots"
    svc.admit(bad)
    assert svc.book.get("uid-1") is None, "nothing to place"
    assert checks.asked == 0, "the hub is not asked about a spec that does not read"
    assert svc.counts("gpus").queued == 0
    valid = await written_valid(svc, hub)
    assert (valid["status"], valid["reason"]) == ("False", Reason.INVALID_SPEC)
    assert "spec.resources.cpu" in valid["message"]


async def test_a_task_waits_for_the_hubs_verdict_out_of_placement_and_is_admitted_when_it_comes(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, _, checks = service
    checks.given = None
    svc.admit(body())
    assert svc.book.get("uid-1") is None, "held: not placed before the verdict"
    assert valid(svc) == ("Unknown", Reason.VALIDATING)
    assert svc.counts("gpus").queued == 1, "a held task is still counted in its pool"
    checks.given = VALID
    (ready,) = checks.on_ready
    ready()
    assert svc.book.get("uid-1") is not None
    assert valid(svc) == ("True", Reason.VALID)


async def test_a_workload_kubernetes_refuses_is_invalid_with_the_fields(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, hub, checks = service
    field = "spec.template.spec.template.spec.tolerations[0].operator"
    checks.given = Verdict(Result.INVALID, (Problem(field, 'Unsupported value: "exists"'),))
    svc.admit(body())
    assert svc.book.get("uid-1") is None, "nothing to place"
    valid = await written_valid(svc, hub)
    assert (valid["status"], valid["reason"]) == ("False", Reason.INVALID_SPEC)
    assert field in valid["message"]
    assert "Kubernetes refuses the Job this task would dispatch" in valid["message"]


async def test_an_edit_of_what_a_running_task_runs_ends_the_attempt_and_places_it_again(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, _, _ = service
    svc.admit(body())
    record = svc.book.get("uid-1")
    assert record is not None
    running = copy.deepcopy(record.status.model_dump(mode="json", by_alias=True, exclude_none=True))
    record.status = status_of({"metadata": {}, "status": {**running, "phase": "Running", "attempt": 1}})
    record.status = record.status.model_copy(update={"placement": None})
    svc.admit(body(generation=2, cpu="2"))
    assert record.phase == Phase.PENDING, "spec and what runs never diverge"
    assert record.spec.resources.cpu == "2"


def test_a_status_someone_else_wrote_that_does_not_read_starts_afresh() -> None:
    status = status_of({"metadata": {"namespace": "research", "name": "train"}, "status": {"phase": "Exploded"}})
    assert status.phase is None
    assert status_of({"metadata": {}, "status": {"phase": "Running", "attempt": 2}}).attempt == 2


async def test_deleting_a_held_task_forgets_it(service: tuple[TaskService, Hub, Checks]) -> None:
    svc, _, checks = service
    checks.given = None
    svc.admit(body())
    assert svc.counts("gpus").queued == 1
    svc._gone("uid-1")
    await asyncio.sleep(0)
    assert svc.counts("gpus").queued == 0


def claiming(template: str) -> dict[str, Any]:
    task = body()
    pod = task["spec"]["template"]["spec"]["template"]["spec"]
    pod["resourceClaims"] = [{"name": "gpu", "resourceClaimTemplateName": template}]
    return task


async def test_a_task_is_placed_with_the_hubs_templates_its_pods_name_as_they_change(
    service: tuple[TaskService, Hub, Checks],
) -> None:
    svc, _, _ = service
    one = ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu.example.com"),))
    two = ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu.example.com", 2),))
    svc.claim_templates.upsert("research/one-gpu", one)
    svc.claim_templates.upsert("other/one-gpu", two)
    svc.admit(claiming("one-gpu"))
    record = svc.book.get("uid-1")
    assert record is not None
    assert record.claim_templates == (one,), "its own namespace's only"
    svc.claim_templates.upsert("research/one-gpu", two)
    assert record.claim_templates == (two,)
    svc.claim_templates.delete("research/one-gpu")
    assert record.claim_templates == (), "then the member's template of that name is used"
    svc._gone("uid-1")
    assert not svc._naming.get(("research", "one-gpu")), "a deleted task is told no more"
