"""The Helm chart, with the real helm: lint, every toggle rendered on and off, the values schema, the
CRD copies, and an install into the real hub API server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from computenet.api.crd import KINDS as GENERATED_KINDS
from computenet.testing.federation import Cluster, find_bin_dir
from support.timeouts import STATE_S

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "computenet"
SYNC_CRDS = REPO / "hack" / "sync-chart-crds.sh"
RELEASE = "cn"
NAMESPACE = "computenet-system"
FULLNAME = "cn-computenet"


# hack/build-binaries.sh stamps helm with the pinned Kubernetes (the ldflags of helm's own Makefile), so
# helm renders and lints for the version the hub runs without being told --kube-version.
def _pinned_kube_version() -> str:
    go_mod = (REPO / "hack/tools/kube/go.mod").read_text()
    match = re.search(r"^require k8s\.io/kubernetes v(\S+)$", go_mod, re.M)
    assert match, "hack/tools/kube/go.mod no longer pins k8s.io/kubernetes"
    return match.group(1)


KUBE_VERSION = _pinned_kube_version()

# The documented least privilege (charts/computenet/README.md), rule for rule.
CLUSTER_RULES = [
    {
        "apiGroups": ["computenet.io"],
        "resources": ["computeidentifiers", "computepools", "computetasks"],
        "verbs": ["get", "list", "watch", "patch", "update"],
    },
    {
        "apiGroups": ["computenet.io"],
        "resources": ["computeidentifiers/status", "computepools/status", "computetasks/status"],
        "verbs": ["get", "patch", "update"],
    },
    {"apiGroups": ["computenet.io"], "resources": ["computequeues"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["computenet.io"], "resources": ["computequeues/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": ["computenet.io"], "resources": ["computedatasets"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["computenet.io"], "resources": ["computedatasets/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": ["computenet.io"], "resources": ["computeworkloadkinds"], "verbs": ["get", "list", "watch", "patch"]},
    {
        "apiGroups": ["computenet.io"],
        "resources": ["computeworkloadkinds/status"],
        "verbs": ["get", "patch", "update"],
    },
    {
        "apiGroups": ["multicluster.x-k8s.io"],
        "resources": ["clusterprofiles"],
        "verbs": ["get", "list", "create", "patch", "delete"],
    },
    {"apiGroups": ["multicluster.x-k8s.io"], "resources": ["clusterprofiles/status"], "verbs": ["get", "patch"]},
    {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {
        "apiGroups": ["apiextensions.k8s.io"],
        "resources": ["customresourcedefinitions"],
        "verbs": ["list", "watch"],
    },
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    {"apiGroups": ["resource.k8s.io"], "resources": ["resourceclaimtemplates"], "verbs": ["get", "list", "watch"]},
]
PULL_RULES = [
    {"apiGroups": ["computenet.io"], "resources": ["computeagents"], "verbs": ["get", "list", "watch", "create"]},
    {
        "apiGroups": ["computenet.io"],
        "resources": ["computeworks"],
        "verbs": ["get", "list", "watch", "create", "delete"],
    },
    {
        "apiGroups": ["computenet.io"],
        "resources": ["computeagents/status", "computeworks/status"],
        "verbs": ["get", "patch", "update"],
    },
    {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "list", "watch", "create", "patch", "update"],
    },
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ["create", "update", "delete"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create", "delete"]},
]
"""With pullMode.enabled: what serving pull members takes (`members/pull_*`), in ClusterRole <fullname>-pull."""
SECRET_RULES = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]
LEASE_RULES = [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}]
DRY_RUN_RULES = [
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["podtemplates"], "verbs": ["create"]},
]
"""The Role <fullname>-dry-run: Kubernetes' validation of a task's workload by a dry run (`tasks/hub_check.py`)."""
IMPORT_CLUSTER_RULES = [
    {"apiGroups": ["computenet.io"], "resources": ["computeidentifiers"], "verbs": ["create", "delete"]}
]
"""With clusterProfileImport.enabled, added to the ClusterRole: what `inventory/hub_imports.py` does to identifiers."""
IMPORT_SECRET_RULES = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "patch", "delete"]}]
"""With clusterProfileImport.enabled, added to the Role <fullname>-secrets: the imported kubeconfig Secrets."""
PROVIDERS = [
    {
        "name": "google",
        "execConfig": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "gke-gcloud-auth-plugin",
            "provideClusterInfo": True,
        },
    }
]
IMPORT_ON = {"clusterProfileImport": {"enabled": True, "providers": PROVIDERS}}
PROVIDERS_DIR = "/etc/computenet/cluster-profile-import"

DEFAULT_KINDS = {
    "Deployment": 1,
    "ServiceAccount": 1,
    "ClusterRole": 1,
    "ClusterRoleBinding": 1,
    "Role": 3,
    "RoleBinding": 3,
    "Service": 1,
}
RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
SHIPPED_DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
KINDS = tuple(k.info for k in GENERATED_KINDS)
"""Every kind `make crds` generates a CRD for (the chart ships them all)."""


@dataclass(frozen=True)
class Helm:
    """The pinned helm binary with its own HOME and XDG directories, so it never touches the user's."""

    binary: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([str(self.binary), *args], env=self.env, text=True, capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc

    def template(
        self, values: dict[str, Any] | None = None, *, chart: Path = CHART, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`helm template` with `values` (a file, so types arrive exactly as written)."""
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE]
        if values is not None:
            values_file = self.env["HOME"] + f"/values-{uuid.uuid4().hex}.yaml"
            Path(values_file).write_text(yaml.safe_dump(values))
            args += ["--values", values_file]
        return self.run(*args, check=check)

    def render(self, values: dict[str, Any] | None = None, *, chart: Path = CHART) -> list[dict[str, Any]]:
        return [d for d in yaml.safe_load_all(self.template(values, chart=chart).stdout) if d]


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    binary = find_bin_dir() / "helm"
    assert binary.exists(), f"{binary} missing: run hack/build-binaries.sh"
    home = tmp_path_factory.mktemp("helm-home")
    env = {
        **os.environ,
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": os.devnull,  # rendering and linting must not depend on any cluster
    }
    return Helm(binary, env)


def kinds(docs: list[dict[str, Any]]) -> Counter[str]:
    return Counter(d["kind"] for d in docs)


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, rendered {len(found)}"
    return found[0]


ALL_ON = {
    "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    "dashboards": {"enabled": True},
    "operator": {"hubId": "hub-east"},
}


# --- lint ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="defaults lint clean"),
        pytest.param(ALL_ON, id="every toggle on lints clean"),
        pytest.param({**ALL_ON, "replicaCount": 2}, id="two replicas with every toggle on lint clean"),
        pytest.param(
            {"metrics": {"service": {"enabled": False}}, "rbac": {"create": False}, "replicaCount": 0},
            id="everything optional off lints clean",
        ),
        pytest.param(IMPORT_ON, id="ClusterProfile import on lints clean"),
    ],
)
def test_lint_is_clean(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    proc = helm.run("lint", "--strict", "--values", str(values_file), str(CHART))
    assert "1 chart(s) linted, 0 chart(s) failed" in proc.stdout
    assert "[WARNING]" not in proc.stdout, proc.stdout
    assert "[ERROR]" not in proc.stdout, proc.stdout


def test_helm_renders_for_the_pinned_kubernetes_without_being_told(helm: Helm, tmp_path: Path) -> None:
    chart = tmp_path / "capabilities"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: capabilities\nversion: 0.1.0\n")
    (chart / "templates" / "kube.yaml").write_text(
        "kind: Probe\nversion: {{ .Capabilities.KubeVersion.Version | quote }}\n"
        "minor: {{ .Capabilities.KubeVersion.Minor | quote }}\n"
    )
    (doc,) = helm.render(chart=chart)
    major, minor, _ = KUBE_VERSION.split(".")
    assert doc == {"kind": "Probe", "version": f"v{major}.{minor}.0", "minor": minor}


# --- toggles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        pytest.param({}, DEFAULT_KINDS, id="defaults render the operator, its RBAC and the metrics Service"),
        pytest.param(
            {"serviceMonitor": {"enabled": True}},
            {**DEFAULT_KINDS, "ServiceMonitor": 1},
            id="serviceMonitor on renders a ServiceMonitor",
        ),
        pytest.param({"serviceMonitor": {"enabled": False}}, DEFAULT_KINDS, id="serviceMonitor off renders none"),
        pytest.param(
            {"metrics": {"service": {"enabled": False}}},
            {k: v for k, v in DEFAULT_KINDS.items() if k != "Service"},
            id="metrics service off renders no Service",
        ),
        pytest.param(
            {"rbac": {"create": False}},
            {k: v for k, v in DEFAULT_KINDS.items() if k not in RBAC_KINDS},
            id="rbac off renders no roles or bindings",
        ),
        pytest.param(
            {"serviceAccount": {"create": False, "name": "existing"}},
            {k: v for k, v in DEFAULT_KINDS.items() if k != "ServiceAccount"},
            id="serviceAccount off renders no ServiceAccount",
        ),
        pytest.param(
            {"dashboards": {"enabled": True}},
            {**DEFAULT_KINDS, "ConfigMap": len(SHIPPED_DASHBOARDS)},
            id="dashboards on renders one ConfigMap per shipped dashboard",
        ),
        pytest.param(
            {"leaderElection": {"enabled": False}},
            {**DEFAULT_KINDS, "Role": 2, "RoleBinding": 2},
            id="leader election off renders no Lease role or binding",
        ),
        pytest.param(
            {"replicaCount": 2},
            DEFAULT_KINDS,
            id="two replicas render the same objects",
        ),
        pytest.param(
            IMPORT_ON,
            {**DEFAULT_KINDS, "ConfigMap": 1},
            id="ClusterProfile import on renders the access-provider ConfigMap",
        ),
    ],
)
def test_toggles_render_exactly_their_objects(helm: Helm, values: dict[str, Any], expected: dict[str, int]) -> None:
    assert kinds(helm.render(values)) == Counter(expected)


def test_app_version_is_the_package_version() -> None:
    """The image tag defaults to appVersion, so it must name the version the wheel is built as."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert chart["appVersion"] == project["version"]


def test_default_deployment_is_a_hardened_single_instance(helm: Helm) -> None:
    """The defaults the issue promises: a hardened single-instance Deployment on the appVersion image."""
    docs = helm.render()
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    deploy = one(docs, "Deployment")
    assert deploy["metadata"]["namespace"] == NAMESPACE
    assert deploy["spec"]["replicas"] == 1
    assert deploy["spec"]["strategy"] == {"type": "Recreate"}
    pod = deploy["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == FULLNAME
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == f"ghcr.io/computenet/computenet:{chart['appVersion']}"
    assert container["args"] == ["run"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 8080, "health": 8081}
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env == {
        "COMPUTENET_NAMESPACE": {"fieldRef": {"fieldPath": "metadata.namespace"}},
        "COMPUTENET_METRICS_PORT": "8080",
        "COMPUTENET_HEALTH_PORT": "8081",
        "COMPUTENET_LOG_LEVEL": "INFO",
        "COMPUTENET_IMAGE": container["image"],
        "COMPUTENET_LEADER_ELECT": "true",
        "COMPUTENET_LEADER_LEASE_NAME": FULLNAME,
        "COMPUTENET_LEADER_IDENTITY": {"fieldRef": {"fieldPath": "metadata.name"}},
        "COMPUTENET_LEADER_LEASE_DURATION_S": "10",
        "COMPUTENET_LEADER_RENEW_DEADLINE_S": "7",
        "COMPUTENET_LEADER_RETRY_PERIOD_S": "1",
    }
    assert "affinity" not in pod


def test_operator_settings_reach_the_container(helm: Helm) -> None:
    docs = helm.render(
        {
            "image": {"tag": "v9.9.9", "pullPolicy": "Always"},
            "operator": {"logLevel": "DEBUG", "hubId": "hub-east.1", "metricsPort": 9090, "healthPort": 9091},
            "metrics": {"service": {"port": 80, "type": "NodePort"}},
            "extraEnv": [{"name": "EXTRA", "value": "x"}],
        }
    )
    (container,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":v9.9.9")
    assert container["imagePullPolicy"] == "Always"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["COMPUTENET_LOG_LEVEL"] == "DEBUG"
    assert env["COMPUTENET_IMAGE"] == container["image"], "mover Jobs and data steps run the operator's own image"
    assert env["COMPUTENET_HUB_ID"] == "hub-east.1"
    assert (env["COMPUTENET_METRICS_PORT"], env["COMPUTENET_HEALTH_PORT"]) == ("9090", "9091")
    assert env["EXTRA"] == "x"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"metrics": 9090, "health": 9091}
    service = one(docs, "Service")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [{"name": "metrics", "port": 80, "targetPort": "metrics", "protocol": "TCP"}]


def test_two_replicas_roll_one_at_a_time_on_different_nodes(helm: Helm) -> None:
    docs = helm.render({"replicaCount": 2})
    deploy = one(docs, "Deployment")
    assert deploy["spec"]["replicas"] == 2
    assert deploy["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }
    pod = deploy["spec"]["template"]["spec"]
    (term,) = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert term["weight"] == 100
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    selector = term["podAffinityTerm"]["labelSelector"]["matchLabels"]
    assert selector == deploy["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deploy["spec"]["template"]["metadata"]["labels"].items()
    # Preferred only: a one-node cluster still runs both replicas.
    assert list(pod["affinity"]["podAntiAffinity"]) == ["preferredDuringSchedulingIgnoredDuringExecution"]


def test_two_replicas_keep_an_affinity_the_user_gave(helm: Helm) -> None:
    mine = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}
    pod = one(helm.render({"replicaCount": 2, "affinity": mine}), "Deployment")["spec"]["template"]["spec"]
    assert pod["affinity"] == mine


@pytest.mark.parametrize(
    ("values", "lease"),
    [
        pytest.param({}, FULLNAME, id="lease named after the release"),
        pytest.param({"leaderElection": {"leaseName": "ops.lease-1"}}, "ops.lease-1", id="lease name override"),
    ],
)
def test_leader_election_settings_reach_the_container(helm: Helm, values: dict[str, Any], lease: str) -> None:
    values = {**values, "leaderElection": {**values.get("leaderElection", {}), "renewDeadlineSeconds": 6.5}}
    (container,) = one(helm.render(values), "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["COMPUTENET_LEADER_LEASE_NAME"] == lease
    assert env["COMPUTENET_LEADER_RENEW_DEADLINE_S"] == "6.5"


def test_leader_election_off_says_so_and_grants_no_lease(helm: Helm) -> None:
    docs = helm.render({"leaderElection": {"enabled": False}})
    (container,) = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["COMPUTENET_LEADER_ELECT"] == "false"
    assert not [name for name in env if name.startswith("COMPUTENET_LEADER_") and name != "COMPUTENET_LEADER_ELECT"]
    assert not [d for d in docs if "leases" in str(d.get("rules", ""))]


def test_metrics_service_selects_the_operator_pod(helm: Helm) -> None:
    docs = helm.render()
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = one(docs, "Service")["spec"]["selector"]
    assert selector
    assert selector.items() <= pod_labels.items()


def test_service_monitor_scrapes_the_metrics_service(helm: Helm) -> None:
    docs = helm.render({"serviceMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prom"}}})
    monitor, service = one(docs, "ServiceMonitor"), one(docs, "Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert (endpoint["path"], endpoint["interval"]) == ("/metrics", "15s")


# --- dashboards ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in SHIPPED_DASHBOARDS])
def test_grafana_dashboard_linter_accepts_the_shipped_dashboard(path: Path) -> None:
    """Grafana's own linter, every rule strict (the same check as `make verify`, here for CI too)."""
    linter = find_bin_dir() / "dashboard-linter"
    assert linter.exists(), f"{linter} missing: run hack/build-binaries.sh"
    proc = subprocess.run(
        [str(linter), "lint", "--strict", str(path)], text=True, capture_output=True, timeout=60, cwd=path.parent
    )
    findings = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("Checks ")]
    assert proc.returncode == 0, "\n".join(findings)


DASHBOARDS = {
    "computenet-overview.json": {"title": "computenet: overview", "panels": []},
    "computenet_capacity.json": {"title": "computenet: capacity", "panels": [{"type": "timeseries"}]},
}


@pytest.fixture(scope="module")
def chart_with_dashboards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart with exactly two dashboards of known content."""
    chart = tmp_path_factory.mktemp("chart") / "computenet"
    shutil.copytree(CHART, chart)
    shutil.rmtree(chart / "dashboards", ignore_errors=True)
    (chart / "dashboards").mkdir()
    for name, dashboard in DASHBOARDS.items():
        (chart / "dashboards" / name).write_text(json.dumps(dashboard, indent=2))
    return chart


@pytest.mark.parametrize(
    ("values", "label", "namespace"),
    [
        pytest.param(
            {"dashboards": {"enabled": True}},
            ("grafana_dashboard", "1"),
            NAMESPACE,
            id="dashboards on renders one ConfigMap per file with the sidecar label",
        ),
        pytest.param(
            {
                "dashboards": {
                    "enabled": True,
                    "labelKey": "grafana.com/dashboard",
                    "labelValue": "computenet",
                }
            },
            ("grafana.com/dashboard", "computenet"),
            NAMESPACE,
            id="dashboard label key and value are configurable",
        ),
        pytest.param(
            {"dashboards": {"enabled": True, "namespace": "monitoring"}},
            ("grafana_dashboard", "1"),
            "monitoring",
            id="dashboard namespace override",
        ),
    ],
)
def test_dashboards_on(
    helm: Helm, chart_with_dashboards: Path, values: dict[str, Any], label: tuple[str, str], namespace: str
) -> None:
    maps = [d for d in helm.render(values, chart=chart_with_dashboards) if d["kind"] == "ConfigMap"]
    assert len(maps) == len(DASHBOARDS)
    loaded = {}
    for cm in maps:
        key, value = label
        assert cm["metadata"]["labels"][key] == value
        assert cm["metadata"]["namespace"] == namespace
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", cm["metadata"]["name"]), cm["metadata"]["name"]
        ((file, content),) = cm["data"].items()
        loaded[file] = json.loads(content)
    assert loaded == DASHBOARDS


def test_dashboards_off_renders_no_config_map(helm: Helm, chart_with_dashboards: Path) -> None:
    docs = helm.render({"dashboards": {"enabled": False}}, chart=chart_with_dashboards)
    assert kinds(docs) == Counter(DEFAULT_KINDS)


# --- RBAC ---------------------------------------------------------------------------------------


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, rendered {len(found)}"
    return found[0]


def test_rbac_is_exactly_the_documented_least_privilege(helm: Helm) -> None:
    docs = helm.render()
    cluster_role = one(docs, "ClusterRole")
    role = named(docs, "Role", f"{FULLNAME}-secrets")
    lease_role = named(docs, "Role", f"{FULLNAME}-leader-election")
    dry_run_role = named(docs, "Role", f"{FULLNAME}-dry-run")
    assert cluster_role["rules"] == CLUSTER_RULES
    assert role["rules"] == SECRET_RULES
    assert lease_role["rules"] == LEASE_RULES
    assert dry_run_role["rules"] == DRY_RUN_RULES
    namespaces = {r["metadata"]["namespace"] for r in (role, lease_role, dry_run_role)}
    assert namespaces == {NAMESPACE}
    for binding, kind, target in [
        (one(docs, "ClusterRoleBinding"), "ClusterRole", cluster_role),
        (named(docs, "RoleBinding", f"{FULLNAME}-secrets"), "Role", role),
        (named(docs, "RoleBinding", f"{FULLNAME}-leader-election"), "Role", lease_role),
        (named(docs, "RoleBinding", f"{FULLNAME}-dry-run"), "Role", dry_run_role),
    ]:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": kind,
            "name": target["metadata"]["name"],
        }
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]


def test_pull_mode_adds_exactly_the_documented_rules_and_is_off_by_default(helm: Helm) -> None:
    assert [d for d in helm.render() if d["metadata"]["name"] == f"{FULLNAME}-pull"] == []
    docs = helm.render({"pullMode": {"enabled": True}})
    role = named(docs, "ClusterRole", f"{FULLNAME}-pull")
    assert role["rules"] == PULL_RULES
    binding = named(docs, "ClusterRoleBinding", f"{FULLNAME}-pull")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": FULLNAME, "namespace": NAMESPACE}]
    assert named(docs, "ClusterRole", FULLNAME)["rules"] == CLUSTER_RULES  # the main role is unchanged


def test_cluster_profile_import_is_off_by_default_and_renders_none_of_it(helm: Helm) -> None:
    docs = helm.render()
    assert [d for d in docs if d["kind"] == "ConfigMap"] == []
    deploy = one(docs, "Deployment")
    pod = deploy["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert not [e for e in container["env"] if e["name"].startswith("COMPUTENET_CLUSTER_PROFILE")]
    assert [m["name"] for m in container["volumeMounts"]] == ["tmp"]
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["tmp"]
    assert "annotations" not in pod["metadata"]
    assert one(docs, "ClusterRole")["rules"] == CLUSTER_RULES
    assert named(docs, "Role", f"{FULLNAME}-secrets")["rules"] == SECRET_RULES


def test_cluster_profile_import_on_mounts_the_provider_file_and_adds_exactly_its_rules(helm: Helm) -> None:
    docs = helm.render(IMPORT_ON)
    config_map = named(docs, "ConfigMap", f"{FULLNAME}-cluster-profile-providers")
    assert config_map["metadata"]["namespace"] == NAMESPACE
    assert json.loads(config_map["data"]["providers.json"]) == {"providers": PROVIDERS}
    pod = one(docs, "Deployment")["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["COMPUTENET_CLUSTER_PROFILE_PROVIDER_FILE"] == f"{PROVIDERS_DIR}/providers.json"
    assert env["COMPUTENET_CLUSTER_PROFILE_IMPORT_NAMESPACE"] == NAMESPACE
    assert {"name": "cluster-profile-providers", "mountPath": PROVIDERS_DIR, "readOnly": True} in container[
        "volumeMounts"
    ]
    assert {
        "name": "cluster-profile-providers",
        "configMap": {"name": config_map["metadata"]["name"]},
    } in pod["spec"]["volumes"]
    # The operator reads the file at start: another file means another pod template, so the pods restart.
    other = helm.render({"clusterProfileImport": {**IMPORT_ON["clusterProfileImport"], "providers": PROVIDERS * 2}})
    checksum = "checksum/cluster-profile-providers"
    assert (
        pod["metadata"]["annotations"][checksum]
        != one(other, "Deployment")["spec"]["template"]["metadata"]["annotations"][checksum]
    )
    assert one(docs, "ClusterRole")["rules"] == CLUSTER_RULES + IMPORT_CLUSTER_RULES
    assert named(docs, "Role", f"{FULLNAME}-secrets")["rules"] == SECRET_RULES + IMPORT_SECRET_RULES
    assert named(docs, "Role", f"{FULLNAME}-leader-election")["rules"] == LEASE_RULES


def test_cluster_profile_import_reads_the_namespace_it_is_given(helm: Helm) -> None:
    docs = helm.render(
        {
            "clusterProfileImport": {**IMPORT_ON["clusterProfileImport"], "namespace": "fleet-system"},
            "podAnnotations": {"a": "b"},
        }
    )
    pod = one(docs, "Deployment")["spec"]["template"]
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["COMPUTENET_CLUSTER_PROFILE_IMPORT_NAMESPACE"] == "fleet-system"
    assert pod["metadata"]["annotations"]["a"] == "b"


def test_rbac_binds_an_existing_service_account(helm: Helm) -> None:
    docs = helm.render({"serviceAccount": {"create": False, "name": "platform-sa"}})
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "platform-sa"
    for binding in (d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        assert binding["subjects"][0]["name"] == "platform-sa"


def test_readme_documents_every_rule() -> None:
    readme = (CHART / "README.md").read_text()
    rules = CLUSTER_RULES + PULL_RULES + SECRET_RULES + LEASE_RULES + DRY_RUN_RULES
    for rule in rules + IMPORT_CLUSTER_RULES + IMPORT_SECRET_RULES:
        for resource in rule["resources"]:
            assert f"`{resource}`" in readme, f"{resource} is not documented in the chart README"


def test_readme_documents_every_value() -> None:
    readme = (CHART / "README.md").read_text()

    def leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[str]:
        for key, value in tree.items():
            path = f"{prefix}{key}"
            # Maps that are Kubernetes objects or free-form are documented as a whole.
            if isinstance(value, dict) and value and key not in ("resources", "podSecurityContext", "securityContext"):
                yield from leaves(value, f"{path}.")
            else:
                yield path

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    missing = [v for v in leaves(values) if f"`{v}`" not in readme]
    assert not missing, f"undocumented values in charts/computenet/README.md: {missing}"


# --- values schema ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        pytest.param({"replicaCount": "1"}, "at '/replicaCount': got string, want integer", id="string replicaCount"),
        pytest.param({"replicaCount": 3}, "at '/replicaCount'", id="three replicas"),
        pytest.param(
            {"leaderElection": {"leaseDurationSeconds": 10.5}},
            "at '/leaderElection/leaseDurationSeconds'",
            id="fractional lease duration",
        ),
        pytest.param(
            {"leaderElection": {"retryPeriodSeconds": 0}},
            "at '/leaderElection/retryPeriodSeconds'",
            id="zero retry period",
        ),
        pytest.param(
            {"leaderElection": {"leaseName": "Operator_Lease"}},
            "at '/leaderElection/leaseName'",
            id="lease name not a DNS subdomain",
        ),
        pytest.param(
            {"leaderElection": {"enabled": "true"}}, "at '/leaderElection/enabled'", id="string leader toggle"
        ),
        pytest.param(
            {"leaderElection": {"leaseDuration": 10}},
            "additional properties 'leaseDuration' not allowed",
            id="misspelt leader election key",
        ),
        pytest.param({"replicaCount": -1}, "at '/replicaCount'", id="negative replicaCount"),
        pytest.param({"operator": {"metricsPort": -1}}, "at '/operator/metricsPort'", id="negative metrics port"),
        pytest.param({"operator": {"healthPort": 70000}}, "at '/operator/healthPort'", id="health port above 65535"),
        pytest.param({"metrics": {"service": {"port": 0}}}, "at '/metrics/service/port'", id="service port 0"),
        pytest.param({"image": {"pullPolicy": "Sometimes"}}, "at '/image/pullPolicy'", id="unknown pullPolicy"),
        pytest.param({"operator": {"logLevel": "LOUD"}}, "at '/operator/logLevel'", id="unknown log level"),
        pytest.param({"operator": {"hubId": "hub east!"}}, "at '/operator/hubId'", id="hubId not a label value"),
        pytest.param({"operator": {"hubId": "h" * 64}}, "at '/operator/hubId'", id="hubId longer than a label value"),
        pytest.param(
            {"metrics": {"service": {"type": "ExternalName"}}},
            "at '/metrics/service/type'",
            id="bad service type",
        ),
        pytest.param({"serviceMonitor": {"interval": "often"}}, "at '/serviceMonitor/interval'", id="bad interval"),
        pytest.param({"serviceMonitor": {"enabled": "yes"}}, "at '/serviceMonitor/enabled'", id="string toggle"),
        pytest.param({"dashboards": {"labelValue": 1}}, "at '/dashboards/labelValue'", id="numeric label value"),
        pytest.param({"replicas": 1}, "additional properties 'replicas' not allowed", id="misspelt top-level key"),
        pytest.param({"rbac": {"extra": True}}, "additional properties 'extra' not allowed", id="unknown nested key"),
        pytest.param({"nodeSelector": {"gpu": True}}, "at '/nodeSelector/gpu'", id="non-string node selector"),
        pytest.param(
            {"clusterProfileImport": {"enabled": True, "providers": [{"name": "google", "execConfig": {}}]}},
            "at '/clusterProfileImport/providers/0/execConfig'",
            id="access provider without a command",
        ),
        pytest.param(
            {"clusterProfileImport": {"enabled": False, "namespace": "Fleet"}},
            "at '/clusterProfileImport/namespace'",
            id="import namespace not a namespace name",
        ),
    ],
)
def test_schema_rejects_bad_values(helm: Helm, values: dict[str, Any], complaint: str) -> None:
    proc = helm.template(values, check=False)
    assert proc.returncode != 0, f"accepted {values}"
    assert "values don't meet the specifications of the schema" in proc.stderr, proc.stderr
    assert complaint in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        pytest.param(
            {"operator": {"metricsPort": 9000, "healthPort": 9000}},
            "operator.metricsPort and operator.healthPort must differ",
            id="metrics and health on the same port",
        ),
        pytest.param(
            {"serviceMonitor": {"enabled": True}, "metrics": {"service": {"enabled": False}}},
            "serviceMonitor.enabled needs metrics.service.enabled",
            id="serviceMonitor without the Service it scrapes",
        ),
        pytest.param(
            {"serviceAccount": {"create": False}},
            "serviceAccount.name is required when serviceAccount.create is false",
            id="no ServiceAccount created and none named",
        ),
        pytest.param(
            {"replicaCount": 2, "leaderElection": {"enabled": False}},
            "replicaCount 2 needs leaderElection.enabled",
            id="two replicas without the Lease would both dispatch",
        ),
        pytest.param(
            {"leaderElection": {"leaseDurationSeconds": 10, "renewDeadlineSeconds": 8, "retryPeriodSeconds": 2}},
            "renewDeadlineSeconds + retryPeriodSeconds must be less than leaseDurationSeconds",
            id="a leader that cannot renew could still work when the standby takes over",
        ),
        pytest.param(
            {"leaderElection": {"leaseDurationSeconds": 10, "renewDeadlineSeconds": 2, "retryPeriodSeconds": 2}},
            "renewDeadlineSeconds must be greater than 1.2 x retryPeriodSeconds",
            id="renew deadline shorter than one jittered retry",
        ),
        pytest.param(
            {"clusterProfileImport": {"enabled": True}},
            "clusterProfileImport.enabled needs clusterProfileImport.providers",
            id="import without an access provider could import nothing",
        ),
    ],
)
def test_templates_reject_inconsistent_values(helm: Helm, values: dict[str, Any], complaint: str) -> None:
    proc = helm.template(values, check=False)
    assert proc.returncode != 0, f"accepted {values}"
    assert complaint in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"replicaCount": 0}, id="replicaCount 0 stops the operator"),
        pytest.param({"replicaCount": 2}, id="an active replica and a standby"),
        pytest.param({"replicaCount": 2, "leaderElection": {"enabled": True}}, id="two replicas, election explicit"),
        pytest.param(
            {"leaderElection": {"enabled": False, "renewDeadlineSeconds": 30}},
            id="timings are not checked with leader election off",
        ),
        pytest.param(
            {"leaderElection": {"leaseDurationSeconds": 15, "renewDeadlineSeconds": 10, "retryPeriodSeconds": 2}},
            id="client-go's default timings",
        ),
        pytest.param({"operator": {"hubId": "hub-east.cn_1"}}, id="hubId with dots and underscores"),
        pytest.param({"resources": {"requests": {"cpu": 1, "memory": "1Gi"}}}, id="numeric cpu request"),
        pytest.param(ALL_ON, id="every toggle on"),
    ],
)
def test_schema_accepts_good_values(helm: Helm, values: dict[str, Any]) -> None:
    assert helm.render(values)


# --- CRDs ---------------------------------------------------------------------------------------


def test_chart_crds_are_the_generated_crds() -> None:
    proc = subprocess.run(["bash", str(SYNC_CRDS), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    names = {
        doc["metadata"]["name"]
        for path in (CHART / "crds").glob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    }
    assert names == {k.crd_name for k in KINDS}


@pytest.mark.parametrize(
    ("source", "chart", "complaint"),
    [
        pytest.param({"a.yaml": "a"}, {"a.yaml": "a"}, None, id="identical copies pass"),
        pytest.param({"a.yaml": "a"}, {"a.yaml": "old"}, "a.yaml: differs", id="changed CRD is named"),
        pytest.param({"a.yaml": "a", "b.yaml": "b"}, {"a.yaml": "a"}, "b.yaml: missing", id="new CRD is named"),
        pytest.param({"a.yaml": "a"}, {"a.yaml": "a", "gone.yaml": "g"}, "gone.yaml: stale", id="removed CRD is named"),
    ],
)
def test_sync_chart_crds(tmp_path: Path, source: dict[str, str], chart: dict[str, str], complaint: str | None) -> None:
    src, dst = tmp_path / "crds", tmp_path / "chart-crds"
    for d, files in ((src, source), (dst, chart)):
        d.mkdir()
        for name, text in files.items():
            (d / name).write_text(text)

    def sync(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SYNC_CRDS), *flags, str(src), str(dst)], capture_output=True, text=True)

    check = sync("--check")
    if complaint is None:
        assert check.returncode == 0, check.stderr
    else:
        assert check.returncode == 1
        assert complaint in check.stderr
        assert {p.name: p.read_text() for p in dst.iterdir()} == chart, "--check must change nothing"
    assert sync().returncode == 0
    assert {p.name: p.read_text() for p in dst.iterdir()} == source
    assert sync("--check").returncode == 0


# --- install into the hub -----------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    namespace: str
    fullname: str
    install_output: str
    preexisting_crds: frozenset[str]
    """CRDs already on the hub (another test applied them); Helm leaves those alone."""


@pytest.fixture(scope="module")
def installed(helm: Helm, hub: Cluster) -> Iterator[Release]:
    """The chart installed into the real hub API server; uninstalled afterwards."""
    namespace = f"computenet-chart-{uuid.uuid4().hex[:6]}"
    name = f"chart-{uuid.uuid4().hex[:6]}"
    common = ["--kubeconfig", str(hub.kubeconfig), "--namespace", namespace]
    crds = hub.kubectl("get", "crd", "-o", "name").stdout.split()
    preexisting = frozenset(c.removeprefix("customresourcedefinition.apiextensions.k8s.io/") for c in crds)
    proc = helm.run("install", name, str(CHART), *common, "--create-namespace", "--set", "operator.hubId=chart-test")
    try:
        yield Release(namespace, f"{name}-computenet", proc.stdout, preexisting)
    finally:
        helm.run("uninstall", name, *common, "--wait", "--timeout", f"{int(STATE_S)}s")
        hub.kubectl("delete", "namespace", namespace, "--wait=true", f"--timeout={int(STATE_S)}s")
        # Helm never deletes CRDs. Leave the hub as we found it: CRDs created by Helm's client-side
        # create conflict with a later `kubectl apply --server-side` of the same files.
        created = [f"crd/{k.crd_name}" for k in KINDS if k.crd_name not in preexisting]
        if created:
            hub.kubectl("delete", *created, "--wait=true", f"--timeout={int(STATE_S)}s")


def test_install_establishes_the_crds(installed: Release, hub: Cluster) -> None:
    crds = [f"crd/{k.crd_name}" for k in KINDS]
    hub.kubectl("wait", "--for=condition=Established", *crds, f"--timeout={int(STATE_S)}s")
    for kind in KINDS:
        crd = json.loads(hub.kubectl("get", "crd", kind.crd_name, "-o", "json", "--show-managed-fields").stdout)
        if kind.crd_name not in installed.preexisting_crds:
            managers = {f["manager"] for f in crd["metadata"]["managedFields"]}
            assert "helm" in managers, f"{kind.crd_name} was not created by the chart: {managers}"
        shipped = yaml.safe_load((CHART / "crds" / f"{kind.crd_name}.yaml").read_text())
        assert crd["spec"]["names"] == shipped["spec"]["names"]
        assert [v["name"] for v in crd["spec"]["versions"]] == [v["name"] for v in shipped["spec"]["versions"]]
    for kind in KINDS:
        # The API serves each kind: an empty list, not "the server doesn't have a resource type".
        hub.kubectl("get", f"{kind.plural}.computenet.io", "--all-namespaces")


def test_install_creates_the_objects(installed: Release, hub: Cluster) -> None:
    ns, name = installed.namespace, installed.fullname
    for args in (
        ["-n", ns, "deployment", name],
        ["-n", ns, "serviceaccount", name],
        ["-n", ns, "service", f"{name}-metrics"],
        ["-n", ns, "role", f"{name}-secrets"],
        ["-n", ns, "rolebinding", f"{name}-secrets"],
        ["-n", ns, "role", f"{name}-leader-election"],
        ["-n", ns, "rolebinding", f"{name}-leader-election"],
        ["clusterrole", name],
        ["clusterrolebinding", name],
    ):
        hub.kubectl("get", *args)
    deploy = json.loads(hub.kubectl("-n", ns, "get", "deployment", name, "-o", "json").stdout)
    env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["COMPUTENET_HUB_ID"] == "chart-test"


def test_install_prints_next_steps(installed: Release) -> None:
    out = installed.install_output
    assert "STATUS: deployed" in out
    assert f"kubectl -n {installed.namespace} rollout status deployment/{installed.fullname}" in out
    assert f"kubectl -n {installed.namespace} create secret generic" in out
    assert "ComputeIdentifier" in out


@pytest.mark.parametrize(
    ("verb", "resource", "where", "allowed"),
    [
        pytest.param("list", "computetasks.computenet.io", "--all-namespaces", True, id="lists tasks everywhere"),
        pytest.param("patch", "computetasks.computenet.io/status", "-n=default", True, id="writes task status"),
        pytest.param("update", "computeidentifiers.computenet.io/status", "", True, id="writes identifier status"),
        pytest.param("create", "computetasks.computenet.io/status", "-n=default", False, id="creates no status"),
        pytest.param("watch", "computepools.computenet.io", "", True, id="watches pools"),
        pytest.param("create", "events", "-n=default", True, id="posts events"),
        pytest.param("watch", "customresourcedefinitions.apiextensions.k8s.io", "", True, id="watches CRDs"),
        pytest.param("get", "secrets", "-n={ns}", True, id="reads Secrets in its own namespace"),
        pytest.param("get", "secrets", "-n=default", False, id="cannot read Secrets elsewhere"),
        pytest.param("create", "computetasks.computenet.io", "-n=default", False, id="cannot create tasks"),
        pytest.param("delete", "computeidentifiers.computenet.io", "", False, id="cannot delete identifiers"),
        pytest.param("create", "pods", "-n={ns}", False, id="cannot create pods"),
        pytest.param("create", "jobs.batch", "-n=default", False, id="cannot create Jobs on the hub"),
        pytest.param("create", "jobs.batch", "-n={ns}", True, id="can create Jobs in its namespace for dry runs"),
        pytest.param("create", "deployments.apps", "-n=default", False, id="cannot create Deployments on the hub"),
        pytest.param("update", "customresourcedefinitions.apiextensions.k8s.io", "", False, id="cannot change CRDs"),
    ],
)
def test_installed_rbac_is_least_privilege(
    installed: Release, hub: Cluster, verb: str, resource: str, where: str, allowed: bool
) -> None:
    user = f"system:serviceaccount:{installed.namespace}:{installed.fullname}"
    scope = [where.format(ns=installed.namespace)] if where else []
    resource, _, subresource = resource.partition("/")
    if subresource:
        scope.append(f"--subresource={subresource}")
    proc = hub.kubectl("auth", "can-i", verb, resource, *scope, f"--as={user}", check=False)
    assert proc.stdout.strip() == ("yes" if allowed else "no"), proc.stdout + proc.stderr
