"""The local development environment: a federation with the operator installed and running on it.

`make dev-up` = start the federation, install the CRDs on the hub, give each member the RBAC the
operator needs and register it (a kubeconfig Secret, a ComputeIdentifier, a pool), then start the
operator in the background with its logs and snapshot endpoint on (a throwaway CA in
`<dir>/endpoint/`), and write `<dir>/user.kubeconfig` for a plugin user (a hub ServiceAccount token)
so every `kubectl computenet` verb works on the local federation. With stores (the default; `--no-stores`
skips them) it also starts one S3-compatible object store per region (:mod:`computenet.testing.stores`).
Every member runs the upstream workload controllers (JobSet, LeaderWorkerSet, KubeRay: `--controllers`,
see computenet.testing.controllers) with their CRDs and admission webhooks. The same steps serve the
integration tests.

    python -m computenet.testing.devenv up --dir .dev --members 2 [--replicas 2]

Each operator process has a name (`operator`, `operator-2`, ...) that names its log file and is its
leader election identity, so a replica restarted under the same name re-takes a Lease it held and
two replicas compete for it like two pods.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from computenet.api.constants import APPROVED_LABEL
from computenet.testing import pki
from computenet.testing.controllers import CONTROLLERS, WORKLOAD_CONTROLLERS
from computenet.testing.federation import Cluster, Federation, free_port, wait_for
from computenet.testing.processes import ComponentFailed
from computenet.testing.stores import Store, start_stores
from computenet.testing.topology import MemberShape, default_shape, levels_of

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "computenet-system"
POOL = "default"
POOL_LABEL = "pool.computenet.io/default"
OPERATOR = "operator"

# Prices per device-hour of the simulated models, so cost-aware placement has something to weigh.
PRICES = {
    "NVIDIA-H100-80GB-HBM3": 4.00,
    "NVIDIA-L4": 0.80,
    "AMD-Instinct-MI300X": 3.20,
    "NVIDIA-A100-SXM4-80GB": 2.50,
    "NVIDIA-GH200-480GB": 3.60,
    "NVIDIA-L40S": 1.50,
}
PROVIDERS = ("east-cloud", "west-cloud", "north-cloud")
LATENCY_MS = {
    ("cn-east", "cn-west"): 45,
    ("cn-east", "cn-north"): 25,
    ("cn-west", "cn-north"): 35,
}


def latency(a: str, b: str) -> int:
    if a == b:
        return 1
    return LATENCY_MS.get((a, b)) or LATENCY_MS.get((b, a)) or 80


def identifier_manifest(index: int, member: Cluster, shape: MemberShape, all_regions: Sequence[str]) -> dict[str, Any]:
    provider = PROVIDERS[(index - 1) % len(PROVIDERS)]
    models = sorted({g.accelerators.product for g in shape.groups if g.accelerators})
    archs = sorted({g.arch for g in shape.groups})
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeIdentifier",
        "metadata": {"name": member.name, "labels": {POOL_LABEL: "true"}},
        "spec": {
            "uri": f"cpi://{provider}/{shape.region}/{member.name}",
            "provider": provider,
            "region": shape.region,
            "zone": shape.zone,
            "computeClass": "ai",
            "architectures": archs,
            "connection": {
                "secretRef": {
                    "name": f"{member.name}-kubeconfig",
                    "namespace": NAMESPACE,
                    "key": "kubeconfig",
                },
                "targetNamespace": "computenet-workloads",
            },
            "pricing": {
                "currency": "USD",
                "perCpuCoreHour": 0.04,
                "perGiBHour": 0.005,
                "perAcceleratorHour": {m: PRICES.get(m, 2.0) for m in models},
            },
            "network": {
                "latencyMs": {r: latency(shape.region, r) for r in sorted(set(all_regions))},
                "bandwidthGbps": 10,
            },
            **({"topology": {"levels": levels}} if (levels := levels_of(shape)) else {}),
        },
    }


def pool_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputePool",
        "metadata": {"name": POOL},
        "spec": {"identifierSelector": {"matchLabels": {POOL_LABEL: "true"}}},
    }


def secret_manifest(member: Cluster) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"{member.name}-kubeconfig", "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {"kubeconfig": base64.b64encode(member.operator_kubeconfig.read_bytes()).decode()},
    }


def apply(cluster: Cluster, *objects: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


def install_crds(hub: Cluster) -> None:
    hub.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    hub.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))


APPROVAL_POLICY = REPO / "deploy" / "hub-agent-approval.yaml"
_PROBE_NS, _PROBE_USER = "computenet-approval-probe", "computenet:approval-probe"


def install_approval_policy(hub: Cluster, timeout: float = 60.0) -> None:
    """Apply `deploy/hub-agent-approval.yaml` and return once the API server enforces it.

    A ValidatingAdmissionPolicy is enforced only after the API server's policy informer has seen it
    and the binding (seconds under load), so this probes with a server-side dry run as a user allowed
    to create agents but not to approve them, until that dry run is refused with the policy's message.
    Raises TimeoutError when the policy is not enforced within `timeout` seconds.
    """
    hub.kubectl("apply", "-f", str(APPROVAL_POLICY))
    role = {"apiGroups": ["computenet.io"], "resources": ["computeagents"], "verbs": ["create"]}
    meta = {"name": "probe", "namespace": _PROBE_NS}
    apply(
        hub,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": _PROBE_NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": [role]},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "probe"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": _PROBE_USER}],
        },
    )
    agent = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeAgent",
        "metadata": {"name": "probe", "namespace": _PROBE_NS, "labels": {APPROVED_LABEL: "true"}},
        "spec": {},
    }

    def refused() -> bool:
        probe = hub.kubectl(
            "create", "--dry-run=server", f"--as={_PROBE_USER}", "-f", "-", input=json.dumps(agent), check=False
        )
        return probe.returncode != 0 and "only a hub administrator" in probe.stderr

    wait_for("the agent approval policy to be enforced", refused, timeout, lambda: None)


def register_members(fed: Federation, shapes: Sequence[MemberShape]) -> None:
    """Member RBAC, kubeconfig Secrets, identifiers and the default pool."""
    hub = fed.hub
    apply(hub, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    regions = [s.region for s in shapes]
    for index, (member, shape) in enumerate(zip(fed.members, shapes, strict=True), start=1):
        member.kubectl("apply", "-f", str(REPO / "deploy" / "member-rbac.yaml"))
        apply(hub, secret_manifest(member))
        apply(hub, identifier_manifest(index, member, shape, regions))
    apply(hub, pool_manifest())


STORE_EGRESS_PER_GIB = {"cn-east": 0.08, "cn-west": 0.05, "cn-north": 0.06}
"""Egress prices of the regions' stores (per GiB moved out), so data-aware placement has something to weigh."""


def store_secret_name(store: Store) -> str:
    return f"store-{store.region}"


def register_stores(fed: Federation, shapes: Sequence[MemberShape], stores: Sequence[Store]) -> None:
    """Point every identifier at its region's store.

    Each store's keys go into a Secret in the operator's namespace, and each identifier's
    ``spec.storage`` names the store's endpoint, bucket, that Secret and an egress price.
    """
    by_region = {s.region: s for s in stores}
    for store in stores:
        apply(
            fed.hub,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": store_secret_name(store), "namespace": NAMESPACE},
                "type": "Opaque",
                "stringData": store.secret_data(),
            },
        )
    for member, shape in zip(fed.members, shapes, strict=True):
        near = by_region.get(shape.region)
        if near is None:
            continue
        storage = {
            "endpoint": near.endpoint,
            "bucket": near.bucket,
            "secretRef": {"name": store_secret_name(near), "namespace": NAMESPACE},
            "egressPricePerGiB": STORE_EGRESS_PER_GIB.get(near.region, 0.05),
        }
        fed.hub.kubectl(
            "patch", "computeidentifier", member.name, "--type=merge", "-p", json.dumps({"spec": {"storage": storage}})
        )


# ---- pull members: an agent in the member reports to the hub ----

AGENT_TIMING_ENV = {
    "COMPUTENET_AGENT_REPORT_INTERVAL_S": "1",
    "COMPUTENET_AGENT_LEASE_DURATION_S": "6",
    "COMPUTENET_AGENT_RENEW_INTERVAL_S": "1.5",
}
"""Agents of the dev environment and the tests report every second and count as lost 6 s after their
last renewal or report, so a loss is seen within a test; production defaults are 25 s, 60 s and 25 s."""


def provider_namespace(member: Cluster) -> str:
    return f"provider-{member.name}"


def agent_name(member: Cluster) -> str:
    return f"agent-{member.name}"


@dataclass(frozen=True)
class AgentProcess:
    """A member agent running as a real process: it holds the member and a hub credential for its namespace."""

    fed: Federation
    member: Cluster
    namespace: str
    name: str
    hub_kubeconfig: Path
    log: Path

    @property
    def process(self) -> str:
        return f"{self.member.name}/agent"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def token_kubeconfig(hub: Cluster, token: str, path: Path, user: str = "agent", namespace: str = "") -> Path:
    """A kubeconfig for the hub with a bearer token (the hub's server and CA, no other credential).

    `namespace`, when given, is the context's default namespace.
    """
    admin = yaml.safe_load(hub.kubeconfig.read_text())
    cluster = admin["clusters"][0]
    context: dict[str, str] = {"cluster": cluster["name"], "user": user}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "hub", "context": context}],
        "current-context": "hub",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def service_account_token(hub: Cluster, namespace: str, account: str, duration: str = "24h") -> str:
    """A token of a hub ServiceAccount through the TokenRequest API (`kubectl create token`)."""
    return hub.kubectl("create", "token", account, "-n", namespace, f"--duration={duration}").stdout.strip()


def grant_agent(hub: Cluster, namespace: str, name: str) -> None:
    """The provider namespace and the agent's ServiceAccount, Role and RoleBinding (as approval makes them)."""
    from computenet.members.pull_rbac import agent_access

    apply(hub, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    apply(hub, *agent_access(namespace, name))


def pull_identifier_manifest(
    index: int, member: Cluster, shape: MemberShape, all_regions: Sequence[str], namespace: str, agent: str
) -> dict[str, Any]:
    """The identifier of a member in pull mode: its agent instead of a kubeconfig Secret."""
    manifest = identifier_manifest(index, member, shape, all_regions)
    manifest["spec"]["connection"] = {
        "agent": {"namespace": namespace, "name": agent},
        "targetNamespace": "computenet-workloads",
    }
    return manifest


DEV_AGENT_KINDS = "Deployment,StatefulSet"
"""The workload kinds the dev agents run besides Jobs (``--workload-kinds``; their member RBAC allows them)."""


def start_agent(
    fed: Federation,
    member: Cluster,
    hub_kubeconfig: Path,
    namespace: str,
    name: str,
    kinds: str = DEV_AGENT_KINDS,
    secrets: bool = False,
) -> AgentProcess:
    """Start the member's agent (`computenet agent`) with the given hub credential.

    `kinds`: its ``--workload-kinds``; `secrets`: whether Secrets travel into its member (``--dependency-secrets``).
    """
    log = fed.state_dir / f"agent-{member.name}.log"
    argv = [
        sys.executable, "-m", "computenet", "agent",
        f"--hub-kubeconfig={hub_kubeconfig}",
        f"--kubeconfig={member.operator_kubeconfig}",
        f"--namespace={namespace}",
        f"--name={name}",
        f"--cluster={member.name}",
        f"--workload-kinds={kinds}",
        "--dependency-secrets" if secrets else "--no-dependency-secrets",
    ]  # fmt: skip
    agent = AgentProcess(fed, member, namespace, name, hub_kubeconfig, log)
    fed.supervisor.start(agent.process, argv, log, env={"PYTHONUNBUFFERED": "1", **AGENT_TIMING_ENV})
    return agent


def stop_agent(agent: AgentProcess, sig: signal.Signals = signal.SIGTERM) -> None:
    agent.fed.supervisor.stop(agent.process, sig)


def register_pull_member(fed: Federation, index: int, shape: MemberShape, regions: Sequence[str]) -> AgentProcess:
    """Member `index` (1-based) in pull mode: member RBAC, the agent's hub access, the agent, its identifier."""
    member = fed.members[index - 1]
    namespace, name = provider_namespace(member), agent_name(member)
    member.kubectl("apply", "-f", str(REPO / "deploy" / "member-rbac.yaml"))
    grant_agent(fed.hub, namespace, name)
    # Registered and approved by the administrator up front (the operator then issues its token Secret
    # too); the agent here runs with a TokenRequest token of the same ServiceAccount.
    approved = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeAgent",
        "metadata": {"name": name, "namespace": namespace, "labels": {APPROVED_LABEL: "true"}},
        "spec": {"cluster": member.name},
    }
    apply(fed.hub, approved)
    from computenet.members.pull_rbac import agent_account

    token = service_account_token(fed.hub, namespace, agent_account(name))
    hub_kubeconfig = token_kubeconfig(fed.hub, token, fed.state_dir / f"agent-{member.name}.hub.kubeconfig")
    agent = start_agent(fed, member, hub_kubeconfig, namespace, name)
    apply(fed.hub, pull_identifier_manifest(index, member, shape, regions, namespace, name))
    return agent


@dataclass(frozen=True)
class OperatorProcess:
    """The operator running as a real process against the hub, as `make dev-up` leaves it."""

    fed: Federation
    metrics_port: int
    health_port: int
    log: Path
    name: str = OPERATOR
    """Supervisor process name and leader election identity."""

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def replica_name(index: int) -> str:
    """The process name of the index-th operator replica (1-based): operator, operator-2, ..."""
    return OPERATOR if index == 1 else f"{OPERATOR}-{index}"


LEADING = "leading"
STANDBY = "standby"


def health_state(health_port: int) -> str | None:
    """What a replica's /healthz says, or None while nothing answers.

    `leading` when the operator's own endpoint answers (it works); otherwise the standby's state:
    `starting` while it loads, `standby` once it campaigns.
    """
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz", timeout=5) as response:
            body = json.loads(response.read() or b"{}")
    except (OSError, ValueError):
        return None
    if isinstance(body, dict) and body.get("leader") is False:
        return str(body.get("state", ""))
    return LEADING


def start_operator(
    fed: Federation,
    extra_env: dict[str, str] | None = None,
    ports: tuple[int, int] | None = None,
    name: str = OPERATOR,
    until: tuple[str, ...] = (LEADING, STANDBY),
) -> OperatorProcess:
    """Start one operator replica; returns once its health endpoint reports one of `until`.

    By default that is "working, or a warm standby ready to take over"; a lone operator restarted
    under its own name re-takes its Lease at once, so it comes back leading.
    """
    metrics_port, health_port = ports or (free_port(), free_port())
    log = fed.state_dir / f"{name}.log"
    argv = [
        sys.executable, "-m", "computenet", "run",
        f"--kubeconfig={fed.hub.kubeconfig}",
        f"--namespace={NAMESPACE}",
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
    ]  # fmt: skip
    env = {"PYTHONUNBUFFERED": "1", "COMPUTENET_LEADER_IDENTITY": name, **(extra_env or {})}
    fed.supervisor.start(name, argv, log, env=env)
    # Python and the operator's imports take seconds of CPU; on a machine running several federations
    # that stretches to a minute or more.
    wait_for(
        f"{name} to be {' or '.join(until)}",
        lambda: health_state(health_port) in until,
        180,
        lambda: fed.supervisor.check_running(name),
    )
    return OperatorProcess(fed, metrics_port, health_port, log, name)


def stop_operator(fed: Federation, name: str = OPERATOR) -> None:
    fed.supervisor.stop(name)


def kill_operator(op: OperatorProcess) -> None:
    """SIGKILL the operator replica and wait until it is gone (no cleanup runs, the Lease stays held)."""
    op.fed.supervisor.stop(op.name, signal.SIGKILL)


def kill_and_restart_operator(op: OperatorProcess, extra_env: dict[str, str] | None = None) -> OperatorProcess:
    """SIGKILL the operator (no cleanup runs) and start a fresh one on the same ports, under the same name."""
    kill_operator(op)
    return start_operator(op.fed, extra_env, ports=(op.metrics_port, op.health_port), name=op.name, until=(LEADING,))


ENDPOINT_HOST = "127.0.0.1"
PLUGIN_USER = "plugin-user"
"""The hub ServiceAccount (in NAMESPACE) `make dev-up` writes `user.kubeconfig` for."""
PLUGIN_USER_NAMESPACE = "default"
"""The default namespace of that kubeconfig: where samples/ puts its tasks."""


@dataclass(frozen=True)
class EndpointFiles:
    """A throwaway CA and the serving certificate and key it signed, for the endpoint on ENDPOINT_HOST."""

    ca: Path
    cert: Path
    key: Path

    def env(self, port: int) -> dict[str, str]:
        """The operator's environment that turns the endpoint on at `port` with these files."""
        return {
            "COMPUTENET_ENDPOINT_PORT": str(port),
            "COMPUTENET_ENDPOINT_CERT_FILE": str(self.cert),
            "COMPUTENET_ENDPOINT_KEY_FILE": str(self.key),
        }


def endpoint_files(directory: Path) -> EndpointFiles:
    """Write `ca.crt`, `tls.crt` and `tls.key` (mode 0600) into `directory`; a fresh CA every call."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = pki.CertificateAuthority("computenet-dev-endpoint-ca")
    serving = ca.serving(ENDPOINT_HOST)
    files = EndpointFiles(directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    files.ca.write_bytes(ca.cert_pem)
    files.cert.write_bytes(serving.cert_pem)
    pki.write_private(files.key, serving.key_pem)
    return files


def plugin_user_manifests(namespace: str = NAMESPACE, account: str = PLUGIN_USER) -> list[dict[str, Any]]:
    """A ServiceAccount that may do what every `kubectl computenet` verb asks (docs/plugin.md).

    `view` everywhere, and on the computenet kinds what the chart's user roles and `edit` would give:
    tasks (submit, read, `accept` patches), their logs, and reading the pool (`top`, `simulate`).
    """
    role = f"computenet-dev-{account}"
    subject = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": [
                {
                    "apiGroups": ["computenet.io"],
                    "resources": ["computetasks"],
                    "verbs": ["get", "list", "watch", "create", "patch", "delete"],
                },
                {"apiGroups": ["computenet.io"], "resources": ["computetasks/log"], "verbs": ["get"]},
                {
                    "apiGroups": ["computenet.io"],
                    "resources": ["computeidentifiers", "computepools", "computedatasets"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{role}-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": subject,
        },
    ]


def plugin_user_kubeconfig(hub: Cluster, path: Path) -> Path:
    """Create the plugin user on the hub and write a kubeconfig with its token (valid 24 h) to `path`."""
    apply(hub, *plugin_user_manifests())
    token = service_account_token(hub, NAMESPACE, PLUGIN_USER)
    return token_kubeconfig(hub, token, path, user=PLUGIN_USER, namespace=PLUGIN_USER_NAMESPACE)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m computenet.testing.devenv", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up"])
    parser.add_argument("--dir", type=Path, default=Path(".dev"))
    parser.add_argument("--members", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=1, help="operator replicas (one leads, the rest stand by)")
    parser.add_argument(
        "--stores",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start one S3-compatible object store (SeaweedFS) per region",
    )
    parser.add_argument(
        "--member-modes",
        default="push",
        help="comma-separated push or pull per member, the last repeated (push,pull: member-2 onwards run an agent)",
    )
    parser.add_argument(
        "--controllers",
        default=",".join(WORKLOAD_CONTROLLERS),
        help="comma-separated upstream workload controllers every member runs, with their CRDs and webhooks "
        f"(of {', '.join(CONTROLLERS)}; empty for none)",
    )
    args = parser.parse_args(argv)
    wanted = tuple(c.strip() for c in args.controllers.split(",") if c.strip())
    if unknown := [c for c in wanted if c not in CONTROLLERS]:
        parser.error(f"--controllers: unknown {', '.join(unknown)} (known: {', '.join(CONTROLLERS)})")
    modes = [m.strip() for m in args.member_modes.split(",") if m.strip()] or ["push"]
    if any(m not in ("push", "pull") for m in modes):
        parser.error(f"--member-modes takes push and pull, not {args.member_modes!r}")
    t0 = time.monotonic()
    shapes = [dataclasses.replace(default_shape(i), controllers=wanted) for i in range(1, args.members + 1)]
    try:
        fed = Federation.start(args.dir, shapes=shapes, log=lambda m: print(f"[dev-up] {m}", file=sys.stderr))
    except (ComponentFailed, TimeoutError, RuntimeError) as e:
        print(f"[dev-up] start failed: {e}", file=sys.stderr)
        return 1
    try:
        install_crds(fed.hub)
        register_members(fed, shapes)
        install_approval_policy(fed.hub)
        regions = [s.region for s in shapes]
        stores: list[Store] = start_stores(fed.supervisor, fed.state_dir, regions) if args.stores else []
        register_stores(fed, shapes, stores)
        agents = [
            register_pull_member(fed, index, shape, regions)
            for index, shape in enumerate(shapes, start=1)
            if modes[min(index, len(modes)) - 1] == "pull"
        ]
        # Every replica serves the endpoint on its own port; only the leader answers with live state.
        files = endpoint_files(fed.state_dir / "endpoint")
        endpoints = [free_port() for _ in range(max(1, args.replicas))]
        ops = [start_operator(fed, files.env(port), name=replica_name(i)) for i, port in enumerate(endpoints, 1)]
        user_kc = plugin_user_kubeconfig(fed.hub, fed.state_dir / "user.kubeconfig")
    except (subprocess.CalledProcessError, ComponentFailed, TimeoutError, RuntimeError) as e:
        detail = e.stderr if isinstance(e, subprocess.CalledProcessError) else str(e)
        print(f"[dev-up] setup failed: {detail}", file=sys.stderr)
        fed.stop()
        return 1
    elapsed = time.monotonic() - t0
    hub_kc = os.path.relpath(fed.hub.kubeconfig)
    print(f"federation up in {elapsed:.1f}s (state and logs in {os.path.relpath(fed.state_dir)}/)")
    for c in fed.clusters:
        where = f"  region {c.region}" if c.region else ""
        kc = os.path.relpath(c.kubeconfig)
        print(f"  {c.name:<9} {c.server}{where}   kubectl --kubeconfig {kc} get nodes")
    for store in stores:
        print(
            f"  store     {store.endpoint}  region {store.region}, bucket {store.bucket}, "
            f"keys in {os.path.relpath(store.credentials_dir)}/"
        )
    for agent in agents:
        print(f"  {agent.member.name:<9} pull: agent {agent.namespace}/{agent.name}, log {os.path.relpath(agent.log)}")
    for op, port in zip(ops, endpoints, strict=True):
        print(
            f"  {op.name:<9} log {os.path.relpath(op.log)}, metrics http://127.0.0.1:{op.metrics_port}/metrics, "
            f"endpoint https://{ENDPOINT_HOST}:{port}"
        )
    print(f"try:  kubectl --kubeconfig {hub_kc} get cid,cpool")
    print(f"      kubectl --kubeconfig {hub_kc} apply -f samples/ ; make dev-down when done")
    print(f"as a user of the pool (kubectl computenet why|offers|accept|logs|top|simulate), {PLUGIN_USER}:")
    print(f"  export KUBECONFIG={user_kc}")
    print(f"  export COMPUTENET_ENDPOINT=https://{ENDPOINT_HOST}:{endpoints[0]}")
    print(f"  export COMPUTENET_CA_FILE={files.ca}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
