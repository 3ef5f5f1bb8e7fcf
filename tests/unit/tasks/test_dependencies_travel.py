"""Which copies of the hub's ConfigMaps and Secrets go with a workload, and when its dispatch waits instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from computenet.api.task import Dependencies
from computenet.tasks.dispatcher import MAX_DEPENDENCY_BYTES, DependencyProblem, dependencies_of
from tasks.builders import record


class Hub:
    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]], forbidden: set[str] | None = None) -> None:
        self.objects, self.forbidden = objects, forbidden or set()

    async def read(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        assert namespace == "research"
        if name in self.forbidden:
            raise PermissionError(f"the operator may not read {kind} {name} in namespace {namespace}")
        return self.objects.get((kind, name))


LABELS = {"computenet.io/task-uid": "task-uid-1", "computenet.io/attempt": "1", "app": "mine"}


def manifest(*env_from: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "train-1", "labels": LABELS},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "envFrom": list(env_from)}]}}},
    }


async def test_a_referenced_configmap_is_copied_with_the_workloads_origin_labels_only() -> None:
    hub = Hub({("ConfigMap", "cfg"): {"data": {"a": "1"}, "metadata": {"name": "cfg", "resourceVersion": "7"}}})
    (copy,) = await dependencies_of(record(), manifest({"configMapRef": {"name": "cfg"}}), hub)
    assert copy == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "labels": {"computenet.io/task-uid": "task-uid-1", "computenet.io/attempt": "1"}},
        "data": {"a": "1"},
    }


async def test_a_missing_required_one_keeps_the_dispatch_waiting_naming_it_an_optional_one_is_skipped() -> None:
    hub = Hub({})
    assert await dependencies_of(record(), manifest({"configMapRef": {"name": "opt", "optional": True}}), hub) == []
    with pytest.raises(
        DependencyProblem, match="ConfigMap cfg, which the workload needs, does not exist in namespace research"
    ) as e:
        await dependencies_of(record(), manifest({"configMapRef": {"name": "cfg"}}), hub)
    assert e.value.retryable


async def test_a_secret_travels_only_when_named_and_readable() -> None:
    task = record()
    hub = Hub({("Secret", "pw"): {"data": {"p": "eA=="}, "type": "Opaque"}}, forbidden={"locked"})
    assert await dependencies_of(task, manifest({"secretRef": {"name": "pw"}}), hub) == []
    task.spec = task.spec.model_copy(update={"dependencies": Dependencies(secrets=["pw"])})
    (copy,) = await dependencies_of(task, manifest({"secretRef": {"name": "pw"}}), hub)
    assert (copy["kind"], copy["type"], copy["data"]) == ("Secret", "Opaque", {"p": "eA=="})
    task.spec = task.spec.model_copy(update={"dependencies": Dependencies(secrets=["locked"])})
    with pytest.raises(DependencyProblem, match="may not read Secret locked in namespace research: let it with a Role"):
        await dependencies_of(task, manifest(), hub)


async def test_too_much_to_carry_is_refused_for_good() -> None:
    big = {"data": {"x": "a" * (MAX_DEPENDENCY_BYTES + 1)}}
    with pytest.raises(DependencyProblem, match="more than the") as e:
        await dependencies_of(record(), manifest({"configMapRef": {"name": "big"}}), Hub({("ConfigMap", "big"): big}))
    assert not e.value.retryable


def claiming(*templates: str) -> dict[str, Any]:
    claims = [{"name": f"c{i}", "resourceClaimTemplateName": t} for i, t in enumerate(templates)]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "train-1", "labels": LABELS},
        "spec": {"template": {"spec": {"resourceClaims": claims, "containers": [{"name": "m"}]}}},
    }


GPU_SPEC = {"spec": {"devices": {"requests": [{"name": "gpu", "exactly": {"deviceClassName": "gpu.example.com"}}]}}}


async def test_a_claim_template_the_hub_holds_is_copied_with_its_spec_and_the_origin_labels_only() -> None:
    found = {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {"name": "one-gpu", "namespace": "research", "uid": "u", "resourceVersion": "3"},
        "spec": GPU_SPEC,
    }
    (copy,) = await dependencies_of(record(), claiming("one-gpu"), Hub({("ResourceClaimTemplate", "one-gpu"): found}))
    assert copy == {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceClaimTemplate",
        "metadata": {
            "name": "one-gpu",
            "labels": {"computenet.io/task-uid": "task-uid-1", "computenet.io/attempt": "1"},
        },
        "spec": GPU_SPEC,
    }


async def test_a_claim_template_the_hub_lacks_is_the_members_own_and_stays_behind() -> None:
    hub = Hub({("ResourceClaimTemplate", "hub-gpu"): {"spec": GPU_SPEC}})
    copies = await dependencies_of(record(), claiming("member-gpu", "hub-gpu"), hub)
    assert [(c["kind"], c["metadata"]["name"]) for c in copies] == [("ResourceClaimTemplate", "hub-gpu")]


async def test_a_claim_template_the_operator_may_not_read_keeps_the_dispatch_waiting_naming_it() -> None:
    with pytest.raises(
        DependencyProblem,
        match="may not read ResourceClaimTemplate locked in namespace research: the operator's ClusterRole grants",
    ) as e:
        await dependencies_of(record(), claiming("locked"), Hub({}, forbidden={"locked"}))
    assert e.value.retryable
