"""The mover Job, the Secret copies and the pods' data steps (tasks.staging.manifests)."""

from __future__ import annotations

import copy as deep
from typing import Any

import pytest

from computenet.data.render import Output, stage_in, stage_out
from computenet.data.staging import Copy, Fetch, StagingPlan, StoreRef
from computenet.tasks.staging.manifests import (
    add_data_steps,
    mover_job,
    secret_copy,
    secret_name,
    staging_labels,
    staging_selector,
)

EAST = StoreRef("http://east:8333", "t-1-s0a")
WEST = StoreRef("http://west:8333", "t-1-s0b")
COPY = Copy("s3://cn-east-data/a.bin", EAST, "s3://cn-west-data/datasets/d/a.bin", WEST, None)
ORIGIN = {"app.kubernetes.io/managed-by": "computenet", "computenet.io/task-uid": "u1", "computenet.io/attempt": "1"}


def test_the_mover_job_runs_the_copy_with_both_stores_keys_and_reports_in_its_termination_message() -> None:
    job = mover_job("t-1-m0", "work", staging_labels(ORIGIN, "mover"), COPY, "computenet:1", {"pool": "a"})
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][:5] == ["python", "-m", "computenet", "stage", "copy"]
    assert container["command"][-1] == "--result-file=/dev/termination-log"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert sorted(v["secret"]["secretName"] for v in pod["volumes"]) == ["t-1-s0a", "t-1-s0b"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {
        "/var/run/computenet/stores/t-1-s0a",
        "/var/run/computenet/stores/t-1-s0b",
    }
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"pool": "a"}
    assert pod["automountServiceAccountToken"] is False
    rule = job["spec"]["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"]["values"] == [1, 2]
    labels = job["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "computenet-staging"
    assert labels["computenet.io/staging"] == "mover"


def test_a_secret_copy_holds_the_two_keys_only() -> None:
    data = {"AWS_ACCESS_KEY_ID": "aWQ=", "AWS_SECRET_ACCESS_KEY": "c2s=", "other": "eA=="}
    copied = secret_copy("t-1-s0a", "work", {"a": "b"}, data)
    assert copied["data"] == {"AWS_ACCESS_KEY_ID": "aWQ=", "AWS_SECRET_ACCESS_KEY": "c2s="}
    with pytest.raises(ValueError, match="has no AWS_SECRET_ACCESS_KEY"):
        secret_copy("x", "work", {}, {"AWS_ACCESS_KEY_ID": "aWQ="})


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(("t-1", "ns", "keys"), ("t-1", "ns", "keys"), True, id="the same hub secret gets the same name"),
        pytest.param(("t-1", "ns", "keys"), ("t-1", "ns2", "keys"), False, id="another namespace another name"),
        pytest.param(("t-1", "ns", "keys"), ("t-2", "ns", "keys"), False, id="another attempt another name"),
    ],
)
def test_secret_names(a: tuple[str, str, str], b: tuple[str, str, str], same: bool) -> None:
    assert (secret_name(*a) == secret_name(*b)) is same


def test_the_selector_names_one_attempt_of_one_task() -> None:
    assert staging_selector("u1", "2") == (
        "app.kubernetes.io/managed-by=computenet-staging,computenet.io/task-uid=u1,computenet.io/attempt=2"
    )


def _job() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "t-1"},
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "users-init", "image": "x"}],
                    "containers": [{"name": "main", "image": "x", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
                    "volumes": [{"name": "v", "emptyDir": {}}],
                }
            }
        },
    }


def test_data_steps_fetch_first_push_last_and_mount_both_in_the_main_containers() -> None:
    plan = StagingPlan((), (Fetch(0, "s3://cn-west-data/a.bin", WEST, "/data/a.bin", None),), ())
    outputs = stage_out([Output(0, "/out", "s3://results/r/", EAST)], "computenet:1")
    manifest = add_data_steps(_job(), stage_in(plan, "computenet:1"), outputs)
    pod = manifest["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == [
        "computenet-stage-in-0",
        "users-init",
        "computenet-stage-out-0",
    ]
    assert [m["mountPath"] for m in pod["containers"][0]["volumeMounts"]] == ["/v", "/data/a.bin", "/out"]
    assert [v["name"] for v in pod["volumes"]].count("computenet-data") == 1
    assert pod["terminationGracePeriodSeconds"] >= 1800
    # The push says how it ended where the kubelet keeps it, and its pods can be found by it.
    sidecar = pod["initContainers"][-1]
    assert "--result-file=/dev/termination-log" in sidecar["command"]
    assert (sidecar["terminationMessagePath"], sidecar["terminationMessagePolicy"]) == (
        "/dev/termination-log",
        "FallbackToLogsOnError",
    )
    assert manifest["spec"]["template"]["metadata"]["labels"]["computenet.io/staging"] == "outputs"


def test_outputs_alone_still_get_the_data_volume_and_inputs_alone_keep_the_grace_period() -> None:
    only_out = add_data_steps(_job(), stage_in(StagingPlan((), (), ()), "c"), stage_out([], "c"))
    assert "terminationGracePeriodSeconds" not in only_out["spec"]["template"]["spec"]
    outputs = stage_out([Output(0, "/out", "s3://results/r/", EAST)], "c")
    empty_in = stage_in(StagingPlan((), (), ()), "c")
    manifest = add_data_steps(_job(), empty_in, outputs)
    assert "computenet-data" in [v["name"] for v in manifest["spec"]["template"]["spec"]["volumes"]]
    assert "computenet.io/staging" not in (only_out["spec"]["template"].get("metadata") or {}).get("labels", {})


def test_a_workload_of_several_roles_gets_the_steps_in_every_pod_template() -> None:
    template = deep.deepcopy(_job()["spec"]["template"])
    jobset = {
        "apiVersion": "jobset.x-k8s.io/v1alpha2",
        "kind": "JobSet",
        "metadata": {"name": "t-1"},
        "spec": {
            "replicatedJobs": [
                {"name": "leader", "replicas": 1, "template": {"spec": {"template": deep.deepcopy(template)}}},
                {"name": "workers", "replicas": 2, "template": {"spec": {"template": deep.deepcopy(template)}}},
            ]
        },
    }
    plan = StagingPlan((), (Fetch(0, "s3://cn-west-data/a.bin", WEST, "/data/a.bin", None),), ())
    add_data_steps(jobset, stage_in(plan, "c"), stage_out([], "c"))
    for rj in jobset["spec"]["replicatedJobs"]:
        assert rj["template"]["spec"]["template"]["spec"]["initContainers"][0]["name"] == "computenet-stage-in-0"
