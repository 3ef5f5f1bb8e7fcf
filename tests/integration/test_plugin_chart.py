"""The chart's side of the plugin, rendered by the real helm: the endpoint's Service, env and RBAC, on and off."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.testing.federation import find_bin_dir

CHART = Path(__file__).resolve().parents[2] / "charts" / "computenet"
ON = ["--set", "endpoint.enabled=true", "--set", "endpoint.tlsSecretName=computenet-logs-tls"]
REVIEWS = [
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
]


def render(*args: str) -> list[dict[str, Any]]:
    helm = find_bin_dir() / "helm"
    out = subprocess.run(
        [str(helm), "template", "cn", str(CHART), "-n", "computenet-system", *args],
        text=True,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_endpoint_off_renders_nothing_of_it() -> None:
    docs = render()
    assert not [d for d in docs if d["metadata"]["name"] in ("computenet-logs", "cn-computenet-task-logs")]
    rules = one(docs, "ClusterRole", "cn-computenet")["rules"]
    assert not [r for r in rules if r in REVIEWS]
    container = one(docs, "Deployment", "cn-computenet")["spec"]["template"]["spec"]["containers"][0]
    assert not [e for e in container["env"] if e["name"].startswith("COMPUTENET_ENDPOINT")]


def test_endpoint_on_serves_https_behind_the_service_the_plugin_looks_for() -> None:
    docs = render(*ON)
    service = one(docs, "Service", "computenet-logs")
    deployment = one(docs, "Deployment", "cn-computenet")
    pod = deployment["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]
    container = pod["spec"]["containers"][0]
    assert {"name": "https", "containerPort": 8443, "protocol": "TCP"} in container["ports"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["COMPUTENET_ENDPOINT_PORT"] == "8443"
    assert env["COMPUTENET_ENDPOINT_TLS_SECRET"] == "computenet-logs-tls"
    rules = one(docs, "ClusterRole", "cn-computenet")["rules"]
    assert all(r in rules for r in REVIEWS)


def test_users_get_log_access_with_view_and_pool_access_by_binding() -> None:
    docs = render(*ON)
    logs = one(docs, "ClusterRole", "cn-computenet-task-logs")
    assert logs["rules"] == [{"apiGroups": ["computenet.io"], "resources": ["computetasks/log"], "verbs": ["get"]}]
    for role in ("view", "edit", "admin"):
        assert logs["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{role}"] == "true"
    pool = one(docs, "ClusterRole", "cn-computenet-pool-reader")
    assert "rbac.authorization.k8s.io/aggregate-to-view" not in pool["metadata"]["labels"]
    proxy = one(docs, "Role", "cn-computenet-endpoint-proxy")
    assert proxy["rules"][0]["resourceNames"] == ["computenet-logs", "https:computenet-logs:443"]
    assert not [d for d in render(*ON, "--set", "endpoint.userRoles=false") if "task-logs" in d["metadata"]["name"]]


def test_endpoint_without_a_certificate_is_refused() -> None:
    with pytest.raises(subprocess.CalledProcessError) as failed:
        render("--set", "endpoint.enabled=true")
    assert "endpoint.enabled needs endpoint.tlsSecretName" in failed.value.stderr
