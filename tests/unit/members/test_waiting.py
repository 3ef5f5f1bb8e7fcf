"""Which waiting containers mean a pod is not starting (``members.facts.waiting_problem``)."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.members.facts import waiting_problem


def waiting(name: str, reason: str, message: str = "") -> dict[str, Any]:
    return {"name": name, "state": {"waiting": {"reason": reason, "message": message}}}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param({"containerStatuses": [waiting("main", "ContainerCreating")]}, "", id="creating is normal"),
        pytest.param({"initContainerStatuses": [waiting("init", "PodInitializing")]}, "", id="initializing is normal"),
        pytest.param(
            {"containerStatuses": [waiting("main", "CreateContainerConfigError", 'configmap "settings" not found')]},
            'main: CreateContainerConfigError: configmap "settings" not found',
            id="a missing ConfigMap, in the kubelet's words",
        ),
        pytest.param(
            {
                "initContainerStatuses": [waiting("fetch", "ErrImagePull")],
                "containerStatuses": [waiting("main", "CrashLoopBackOff")],
            },
            "fetch: ErrImagePull",
            id="init containers are read first",
        ),
        pytest.param(
            {"containerStatuses": [{"name": "main", "state": {"running": {}}}, waiting("side", "CrashLoopBackOff")]},
            "side: CrashLoopBackOff",
            id="a container that keeps crashing",
        ),
        pytest.param({}, "", id="no statuses yet"),
    ],
)
def test_waiting_problem(status: dict[str, Any], expected: str) -> None:
    assert waiting_problem(status) == expected
