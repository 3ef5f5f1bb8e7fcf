"""The member watch of dispatched workloads sees the workloads, never the objects their controllers make."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.dispatch.jobs import job_facts, workload_facts
from computenet.workloads.kinds import KINDS

LABELS = {"computenet.io/task-uid": "uid-1", "computenet.io/attempt": "1"}


def obj(owners: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x", "namespace": "w", "labels": LABELS}
    if owners is not None:
        meta["ownerReferences"] = owners
    return {"metadata": meta}


@pytest.mark.parametrize(
    ("given", "seen"),
    [
        pytest.param(obj(), True, id="a workload the operator created (no owner)"),
        pytest.param(obj([]), True, id="an empty owner list"),
        pytest.param(
            obj([{"kind": "ConfigMap", "name": "c", "uid": "u", "apiVersion": "v1"}]),
            True,
            id="an owner that is not its controller",
        ),
        pytest.param(
            obj([{"kind": "Job", "name": "x", "uid": "u", "apiVersion": "batch/v1", "controller": True}]),
            False,
            id="a Job's pod carrying the task's labels",
        ),
        pytest.param(
            obj(
                [
                    {
                        "kind": "JobSet",
                        "name": "x",
                        "uid": "u",
                        "apiVersion": "jobset.x-k8s.io/v1alpha2",
                        "controller": True,
                    }
                ]
            ),
            False,
            id="a JobSet's child Job",
        ),
    ],
)
def test_only_what_the_operator_dispatched_is_a_workload(given: dict[str, Any], seen: bool) -> None:
    assert (job_facts(given) is not None) is seen
    for kind in KINDS.values():  # the push watch of every kind, and the pull works' reading, use this rule
        assert (workload_facts(kind, given) is not None) is seen, kind.kind
