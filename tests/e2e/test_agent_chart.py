"""The member agent's chart, with the real helm: lint, both ways to give it a hub credential, the schema."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.testing.federation import find_bin_dir

CHART = Path(__file__).resolve().parents[2] / "charts" / "computenet-agent"
BASE = ["--set", "hub.agentName=gpu-east-1", "--set", "hub.namespace=provider-a"]


def helm(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "c"),
        "XDG_CONFIG_HOME": str(tmp_path / "f"),
    }
    return subprocess.run([str(find_bin_dir() / "helm"), *args], capture_output=True, text=True, env=env, timeout=120)


def rendered(tmp_path: Path, *sets: str) -> dict[str, dict[str, Any]]:
    out = helm(tmp_path, "template", "agent", str(CHART), "--namespace", "computenet-agent", *BASE, *sets)
    assert out.returncode == 0, out.stderr
    return {f"{d['kind']}": d for d in yaml.safe_load_all(out.stdout) if d}


def env_of(objects: dict[str, dict[str, Any]]) -> dict[str, str]:
    (container,) = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_lint_is_clean(tmp_path: Path) -> None:
    out = helm(tmp_path, "lint", str(CHART), *BASE, "--set", "hub.bootstrapSecret=boot")
    assert out.returncode == 0, out.stdout + out.stderr


def test_bootstrap_credential_registers_and_keeps_the_issued_one_in_memory_only(tmp_path: Path) -> None:
    objects = rendered(tmp_path, "--set", "hub.bootstrapSecret=boot")
    env = env_of(objects)
    assert env["COMPUTENET_AGENT_BOOTSTRAP_KUBECONFIG"] == "/etc/computenet/bootstrap/kubeconfig"
    assert env["COMPUTENET_AGENT_HUB_KUBECONFIG"].startswith("/var/run/computenet/")
    volumes = {v["name"]: v for v in objects["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    assert volumes["bootstrap"]["secret"]["secretName"] == "boot"
    assert "emptyDir" in volumes["issued"]
    assert objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["agent"]


def test_issued_credential_is_used_as_it_is(tmp_path: Path) -> None:
    env = env_of(rendered(tmp_path, "--set", "hub.credentialSecret=cred"))
    assert env["COMPUTENET_AGENT_HUB_KUBECONFIG"] == "/etc/computenet/hub/kubeconfig"
    assert "COMPUTENET_AGENT_BOOTSTRAP_KUBECONFIG" not in env
    assert (env["COMPUTENET_AGENT_NAME"], env["COMPUTENET_AGENT_NAMESPACE"]) == ("gpu-east-1", "provider-a")


def test_member_rbac_is_the_documented_minimum(tmp_path: Path) -> None:
    rules = rendered(tmp_path, "--set", "hub.credentialSecret=cred")["ClusterRole"]["rules"]
    assert {(r["apiGroups"][0], tuple(r["resources"]), tuple(r["verbs"])) for r in rules} == {
        ("", ("nodes", "pods"), ("get", "list", "watch")),
        ("", ("namespaces",), ("get", "create")),
        ("batch", ("jobs",), ("get", "list", "watch", "create", "delete")),
        ("", ("events",), ("list",)),
        ("apps", ("replicasets", "statefulsets"), ("get",)),
        ("", ("configmaps",), ("get", "create", "update", "patch")),
        (
            "resource.k8s.io",
            ("resourceclaimtemplates",),
            ("get", "list", "watch", "create", "update", "patch", "delete"),
        ),
        ("resource.k8s.io", ("resourceslices", "deviceclasses", "resourceclaims"), ("get", "list", "watch")),
    }


def test_member_rbac_grows_by_exactly_the_enabled_kinds_and_secrets_only_when_asked(tmp_path: Path) -> None:
    objects = rendered(
        tmp_path,
        "--set", "hub.credentialSecret=cred",
        "--set", "workloadKinds={Deployment,trainjobs.trainer.kubeflow.org}",
        "--set", "dependencies.secrets=true",
    )  # fmt: skip
    rules = {(r["apiGroups"][0], tuple(r["resources"])): tuple(r["verbs"]) for r in objects["ClusterRole"]["rules"]}
    workload = ("get", "list", "watch", "create", "delete")
    assert rules[("apps", ("deployments",))] == workload
    assert rules[("trainer.kubeflow.org", ("trainjobs",))] == workload
    assert rules[("", ("configmaps", "secrets"))] == ("get", "create", "update", "patch")
    assert ("apps", ("statefulsets",)) not in rules
    env = env_of(objects)
    assert env["COMPUTENET_AGENT_WORKLOAD_KINDS"] == "Deployment,trainjobs.trainer.kubeflow.org"
    assert env["COMPUTENET_AGENT_DEPENDENCY_SECRETS"] == "true"
    assert env_of(rendered(tmp_path, "--set", "hub.credentialSecret=cred"))["COMPUTENET_AGENT_DEPENDENCY_SECRETS"] == (
        "false"
    )


@pytest.mark.parametrize(
    ("sets", "error"),
    [
        pytest.param([], "minLength", id="no hub credential at all"),
        pytest.param(["--set", "hub.credentialSecret=c", "--set", "hub.bootstrapSecret=b"], "maxLength", id="both"),
        pytest.param(
            ["--set", "hub.credentialSecret=c", "--set", "hub.agentName=Bad_Name"], "agentName", id="bad name"
        ),
        pytest.param(
            ["--set", "hub.credentialSecret=c", "--set", "timing.leaseDurationSeconds=0"],
            "leaseDuration",
            id="zero lease",
        ),
        pytest.param(
            ["--set", "hub.credentialSecret=c", "--set", "workloadKinds={trainjobs}"],
            "workloadKinds",
            id="a declared kind without its group",
        ),
    ],
)
def test_schema_refuses_bad_values(tmp_path: Path, sets: list[str], error: str) -> None:
    out = helm(tmp_path, "template", "agent", str(CHART), *BASE, *sets)
    assert out.returncode != 0
    assert error in out.stderr
