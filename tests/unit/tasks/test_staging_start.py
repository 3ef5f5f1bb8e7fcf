"""The bound on a mover Job's start (tasks.staging.start): pods never created, never placed, never started."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from computenet.tasks.staging.start import mover_stall

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def _at(seconds_ago: float) -> str:
    return (NOW - dt.timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _job(age_s: float, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "t-1-m0", "creationTimestamp": _at(age_s)}, "status": status}


def _pod(phase: str = "Pending", node: str | None = None, waiting: str | None = None, **cond: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if waiting:
        status["containerStatuses"] = [{"name": "mover", "state": {"waiting": {"reason": waiting, "message": "m"}}}]
    if cond:
        status["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", **cond}]
    spec: dict[str, Any] = {"containers": [{"name": "mover"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": "t-1-m0-abc"}, "spec": spec, "status": status}


UNPLACED = {"lastTransitionTime": _at(130), "message": "0/6 nodes are available: 6 Insufficient cpu."}


@pytest.mark.parametrize(
    ("job", "pods", "expected"),
    [
        pytest.param(_job(30), [], None, id="no pod yet, within the minute the job controller has"),
        pytest.param(_job(61), [], "the member created no pod for it in 61s", id="no pod after a minute: refused"),
        pytest.param(_job(500), [_pod("Running", "n1")], None, id="a pod running on a node is starting"),
        pytest.param(_job(500), [_pod(node="n1")], None, id="a pod on a node creating its container is starting"),
        pytest.param(_job(130), [_pod(**UNPLACED)],
                     "its pod found no node for 130s: 0/6 nodes are available: 6 Insufficient cpu.",
                     id="a pod the scheduler cannot place for two minutes"),
        pytest.param(_job(61), [_pod(node="n1", waiting="CreateContainerConfigError")],
                     "its pod did not start in 61s: mover: CreateContainerConfigError: m",
                     id="a container refused for good, after a minute"),
        pytest.param(_job(120), [_pod(node="n1", waiting="ImagePullBackOff")], None,
                     id="an image pull is given five minutes"),
        pytest.param(_job(301), [_pod(node="n1", waiting="ImagePullBackOff")],
                     "its pod did not start in 301s: mover: ImagePullBackOff: m",
                     id="an image that could not be pulled in five minutes"),
        pytest.param(_job(500), [_pod("Failed", "n1")], None,
                     id="a pod that ended: the Job retries under its own backoff and deadline"),
        pytest.param(_job(500, conditions=[{"type": "Complete", "status": "True"}]), [], None,
                     id="a Job that finished is not starting"),
        pytest.param(None, [], None, id="no Job yet"),
    ],
)  # fmt: skip
def test_a_mover_that_never_starts_is_bounded_like_a_workloads_pods(
    job: dict[str, Any] | None, pods: list[dict[str, Any]], expected: str | None
) -> None:
    stall = mover_stall(job, pods, NOW)
    assert (stall.message if stall else None) == expected
