"""Upstream workload controllers in a member: JobSet, LeaderWorkerSet and KubeRay, as upstream ships them.

Each controller manager is built from its pinned Go module by hack/build-binaries.sh, which also
copies the module's manifests beside the binary (`<name>.config`, the module's own `config/`), so
a member installs exactly the CRDs and admission webhooks of the version it runs and a version
bump needs no copy in this repository to be kept in step.

A member runs a controller as a loopback process, like its kube-scheduler: leader election off,
health and metrics on free ports, its webhook server on a free port with a serving certificate of
a CA made for it (`pki.write_webhook_pki`), and the controller's own certificate rotation turned
off (each writes a Secret and patches the webhook configurations in-cluster, which a process
outside the cluster does not need). The webhook configurations are upstream's after its own
kustomize patches, with each `clientConfig.service` rewritten into
`url: https://127.0.0.1:<port><path>` and the CA as `caBundle`; the CRDs get the same rewrite of
the conversion webhook upstream's kustomization adds. Defaulting therefore happens as in a real
cluster: a JobSet created without `successPolicy` is stored with one.

Upstream files read (relative to the module root):
- JobSet (sigs.k8s.io/jobset v0.10.1): config/components/crd/bases/, crd/patches/webhook_in_jobsets.yaml,
  webhook/manifests.yaml with webhook/patches/{mutating,validating}-patch.yaml; its component
  configuration is api/config/v1alpha1/configuration_types.go.
- LeaderWorkerSet (sigs.k8s.io/lws v0.7.0): config/crd/bases/, crd/patches/webhook_in_leaderworkersets.yaml,
  webhook/manifests.yaml with webhook/{mutating,validating}-patch.yaml; api/config/v1alpha1.
- KubeRay (github.com/ray-project/kuberay/ray-operator v1.5.0): config/crd/bases/ only: its default
  install (config/default) runs without webhooks, which it enables by ENABLE_WEBHOOKS=true. It runs
  with `--use-kubernetes-proxy` (main.go), as an operator outside the pod network must: its RayJob
  controller then calls a head's dashboard (Ray's Jobs REST API, controllers/ray/utils/dashboardclient)
  at `<API server>/api/v1/namespaces/<ns>/services/<head service>:dashboard/proxy` with its own
  credentials (utils/util.go, GetRayDashboardClientFunc) instead of `http://<service>.<ns>.svc.cluster.local`,
  which no resolver of this machine knows. The API server forwards to an address of the Service's
  Endpoints, which the endpoints controller takes from the head pod's IP (storage.go, ResourceLocation,
  Kubernetes v1.36.3); an endpoint may not be a loopback or link-local address (validation.go,
  ValidateEndpointIP), so whoever plays a head's dashboard listens on an address of this machine's
  network (computenet.testing.rayhead).
- Kubeflow trainer (github.com/kubeflow/trainer/v2 v2.0.0, module directory manifests/): base/crds/,
  base/webhook/manifests.yaml with base/webhook/patch.yaml. Its manager has no switch for its
  certificate rotation (cmd/trainer-controller-manager/main.go always calls pkg/util/cert.ManageCerts,
  open-policy-agent/cert-controller v0.12.0), so it is handed a rotation that has nothing to do: the
  Secret the rotator reads (`kubeflow-trainer-webhook-cert` in `kubeflow-system`, the namespace it
  falls back to outside a pod) already holds a CA and a serving pair that the rotator accepts as
  valid (an RSA CA valid for the name `kubeflow-trainer-ca`; a serving certificate for
  `kubeflow-trainer-controller-manager.kubeflow-system.svc`, and for 127.0.0.1, which the API server
  calls), and it keeps them. The webhook server reads the pair from `$TMPDIR/k8s-webhook-server/serving-certs`
  (controller-runtime's default), pointed at the member's own directory; the rotator only checks that
  `/tmp/k8s-webhook-server/serving-certs/tls.crt` exists (a mounted Secret in a pod), so that file is
  written when absent.
"""

from __future__ import annotations

import base64
import copy
import functools
import socket
import ssl
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from computenet.testing.pki import WebhookPki

WEBHOOK_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


@dataclass(frozen=True)
class Ports:
    """The loopback ports one controller process listens on."""

    webhook: int
    health: int
    metrics: int


@dataclass(frozen=True)
class Launch:
    """What a controller process needs: its kubeconfig, a directory of its own, ports, serving pair."""

    binary: Path
    kubeconfig: Path
    workdir: Path
    cert_dir: Path  # holds tls.crt and tls.key, the webhook serving pair
    ports: Ports


@dataclass(frozen=True)
class Controller:
    """One upstream controller: where its manifests are in `<name>.config` and how it is started.

    `crds`: CRD files; `crd_patches`: strategic-merge patches upstream's kustomization applies to
    them (the conversion webhook); `webhooks`: the webhook configurations, patched by the JSON
    patches in `webhook_patches` (kind, file) as upstream's kustomization targets them; `kinds`: the
    (group, kind) pairs its CRDs serve; `argv`: the command line, given a Launch.
    """

    name: str
    crds: tuple[str, ...]
    crd_patches: tuple[str, ...]
    webhooks: str | None
    webhook_patches: tuple[tuple[str, str], ...]
    kinds: tuple[tuple[str, str], ...]
    argv: Callable[[Launch], list[str]]
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str = "/readyz"
    pki: WebhookPki | None = None
    """How its webhook CA and serving pair are made, when the controller checks them itself."""
    prerequisites: Callable[[Launch], list[dict[str, Any]]] = lambda launch: []
    """Objects created in the member before it starts (in order), given its launch."""
    own_webhook_names: bool = False
    """Keep upstream's webhook configuration names (the controller looks its own up by name)."""


def _component_config(api_version: str, launch: Launch, extra: Mapping[str, Any] | None = None) -> Path:
    """The component configuration of a kubebuilder-style manager (JobSet's and LWS's share its shape)."""
    p = launch.ports
    cfg: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": "Configuration",
        "leaderElection": {"leaderElect": False},
        "internalCertManagement": {"enable": False},
        "webhook": {"host": "127.0.0.1", "port": p.webhook, "certDir": str(launch.cert_dir)},
        "metrics": {"bindAddress": f"127.0.0.1:{p.metrics}"},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{p.health}"},
        **(extra or {}),
    }
    path = launch.workdir / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _jobset_argv(launch: Launch) -> list[str]:
    # JobSet serves metrics over TLS; with its cert management off it reads tls.crt/tls.key from
    # metrics.certDir (pkg/config/config.go, addTo).
    config = _component_config(
        "config.jobset.x-k8s.io/v1alpha1",
        launch,
        {"metrics": {"bindAddress": f"127.0.0.1:{launch.ports.metrics}", "certDir": str(launch.cert_dir)}},
    )
    return [str(launch.binary), f"--kubeconfig={launch.kubeconfig}", f"--config={config}", "--zap-log-level=info"]


def _lws_argv(launch: Launch) -> list[str]:
    config = _component_config("config.lws.x-k8s.io/v1alpha1", launch)
    return [str(launch.binary), f"--kubeconfig={launch.kubeconfig}", f"--config={config}", "--zap-log-level=info"]


def _kuberay_argv(launch: Launch) -> list[str]:
    p = launch.ports
    return [
        str(launch.binary),
        f"--kubeconfig={launch.kubeconfig}",
        "--enable-leader-election=false",
        f"--metrics-addr=127.0.0.1:{p.metrics}",
        f"--health-probe-bind-address=127.0.0.1:{p.health}",
        "--log-stdout-encoder=console",
        # Outside the member's pod network, KubeRay reaches a head's dashboard as it offers for that:
        # through the API server's service proxy (see the module docstring).
        "--use-kubernetes-proxy",
    ]


TRAINER_NAMESPACE = "kubeflow-system"
"""Where the trainer keeps its webhook Secret outside a pod (pkg/util/cert/cert.go, defaultNamespace)."""
TRAINER_PKI = WebhookPki("kubeflow-trainer-ca", (f"kubeflow-trainer-controller-manager.{TRAINER_NAMESPACE}.svc",))
"""cert.go's caName and its DNSName ``<webhook-service-name>.<namespace>.svc`` with the default service name."""
ROTATOR_CERT = Path("/tmp/k8s-webhook-server/serving-certs/tls.crt")
"""The file cert.go's rotator waits for (its certDir is fixed, not derived from $TMPDIR)."""


def _trainer_argv(launch: Launch) -> list[str]:
    p = launch.ports
    served = launch.workdir / "tmp" / "k8s-webhook-server"
    served.mkdir(parents=True, exist_ok=True)
    link = served / "serving-certs"
    if not link.exists():
        link.symlink_to(launch.cert_dir.resolve(), target_is_directory=True)
    if not ROTATOR_CERT.exists():
        ROTATOR_CERT.parent.mkdir(parents=True, exist_ok=True)
        ROTATOR_CERT.write_bytes((launch.cert_dir / "tls.crt").read_bytes())
    return [
        "env",
        f"TMPDIR={launch.workdir / 'tmp'}",
        str(launch.binary),
        f"--kubeconfig={launch.kubeconfig}",
        f"--health-probe-bind-address=127.0.0.1:{p.health}",
        f"--webhook-server-port={p.webhook}",
        "--metrics-bind-address=0",
        "--zap-log-level=info",
    ]


def _trainer_secret(launch: Launch) -> list[dict[str, Any]]:
    """The namespace and the Secret the trainer's rotator reads, holding our CA and serving pair."""

    def b64(name: str) -> str:
        return base64.b64encode((launch.cert_dir / name).read_bytes()).decode()

    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TRAINER_NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kubeflow-trainer-webhook-cert", "namespace": TRAINER_NAMESPACE},
            "data": {k: b64(k) for k in ("ca.crt", "ca.key", "tls.crt", "tls.key")},
        },
    ]


JOBSET = Controller(
    name="jobset",
    crds=("components/crd/bases/jobset.x-k8s.io_jobsets.yaml",),
    crd_patches=("components/crd/patches/webhook_in_jobsets.yaml",),
    webhooks="components/webhook/manifests.yaml",
    webhook_patches=(
        ("MutatingWebhookConfiguration", "components/webhook/patches/mutating-patch.yaml"),
        ("ValidatingWebhookConfiguration", "components/webhook/patches/validating-patch.yaml"),
    ),
    kinds=(("jobset.x-k8s.io", "JobSet"),),
    argv=_jobset_argv,
)
LWS = Controller(
    name="lws",
    crds=("crd/bases/leaderworkerset.x-k8s.io_leaderworkersets.yaml",),
    crd_patches=("crd/patches/webhook_in_leaderworkersets.yaml",),
    webhooks="webhook/manifests.yaml",
    webhook_patches=(
        ("MutatingWebhookConfiguration", "webhook/mutating-patch.yaml"),
        ("ValidatingWebhookConfiguration", "webhook/validating-patch.yaml"),
    ),
    kinds=(("leaderworkerset.x-k8s.io", "LeaderWorkerSet"),),
    argv=_lws_argv,
)
KUBERAY = Controller(
    name="kuberay",
    crds=("crd/bases/ray.io_rayclusters.yaml", "crd/bases/ray.io_rayjobs.yaml", "crd/bases/ray.io_rayservices.yaml"),
    crd_patches=(),
    webhooks=None,
    webhook_patches=(),
    kinds=(("ray.io", "RayCluster"), ("ray.io", "RayJob"), ("ray.io", "RayService")),
    argv=_kuberay_argv,
)
TRAINER = Controller(
    name="trainer",
    crds=(
        "base/crds/trainer.kubeflow.org_clustertrainingruntimes.yaml",
        "base/crds/trainer.kubeflow.org_trainingruntimes.yaml",
        "base/crds/trainer.kubeflow.org_trainjobs.yaml",
    ),
    crd_patches=(),
    webhooks="base/webhook/manifests.yaml",
    webhook_patches=(("ValidatingWebhookConfiguration", "base/webhook/patch.yaml"),),
    kinds=(
        ("trainer.kubeflow.org", "TrainJob"),
        ("trainer.kubeflow.org", "TrainingRuntime"),
        ("trainer.kubeflow.org", "ClusterTrainingRuntime"),
    ),
    argv=_trainer_argv,
    pki=TRAINER_PKI,
    prerequisites=_trainer_secret,
    own_webhook_names=True,  # validator.trainer.kubeflow.org, which its rotator updates with the same CA
)
"""Builds a JobSet per TrainJob: runs only in a member that runs the JobSet controller too."""
CONTROLLERS: dict[str, Controller] = {c.name: c for c in (JOBSET, LWS, KUBERAY, TRAINER)}
WORKLOAD_CONTROLLERS: tuple[str, ...] = ("jobset", "lws", "kuberay")  # what the dev federation's members run


def controller(name: str) -> Controller:
    """The controller called `name`; a KeyError names the known ones."""
    try:
        return CONTROLLERS[name]
    except KeyError:
        raise KeyError(f"unknown workload controller {name!r}; known: {', '.join(CONTROLLERS)}") from None


# ---- rendering (pure) -------------------------------------------------------------------------


def _pointer(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for raw in path.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(token) if token.isdigit() else token)
    return parts


def json_patch(doc: dict[str, Any], ops: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """`doc` after the RFC 6902 operations `ops` (add, replace, remove: all upstream's patches use).

    Raises ValueError naming the operation it cannot apply.
    """
    out = copy.deepcopy(doc)
    for op in ops:
        *parents, last = _pointer(str(op["path"]))
        target: Any = out
        for part in parents:
            target = target[part]
        kind = op["op"]
        if kind == "replace" or (kind == "add" and isinstance(target, dict)):
            target[last] = copy.deepcopy(op["value"])
        elif kind == "add" and isinstance(target, list):
            target.insert(len(target) if last == "-" else int(last), copy.deepcopy(op["value"]))
        elif kind == "remove":
            del target[last]
        else:
            raise ValueError(f"unsupported JSON patch operation {kind!r} at {op['path']}")
    return out


def merge(doc: Any, patch: Any) -> Any:
    """`patch` merged into `doc` map by map (a strategic merge without list keys: upstream's CRD patches)."""
    if isinstance(doc, dict) and isinstance(patch, dict):
        out = dict(doc)
        for key, value in patch.items():
            out[key] = merge(doc.get(key), value)
        return out
    return copy.deepcopy(patch)


def _client_config(service_config: Mapping[str, Any], base_url: str, ca_bundle: str) -> dict[str, Any]:
    path = service_config.get("service", {}).get("path", "/")
    return {"url": f"{base_url}{path}", "caBundle": ca_bundle}


def point_webhooks(config: dict[str, Any], base_url: str, ca_pem: bytes) -> dict[str, Any]:
    """A webhook configuration whose every `clientConfig.service` is `url: <base_url><path>` with `ca_pem`."""
    ca = base64.b64encode(ca_pem).decode()
    hooks = [
        {**hook, "clientConfig": _client_config(hook["clientConfig"], base_url, ca)}
        for hook in config.get("webhooks", [])
    ]
    return {**config, "webhooks": hooks}


def point_conversion(crd: dict[str, Any], base_url: str, ca_pem: bytes) -> dict[str, Any]:
    """A CRD whose conversion webhook, if it has one, calls `<base_url><path>` trusting `ca_pem`.

    Only the path to the conversion webhook is copied: the rest (megabytes of schema) is shared.
    """
    spec = crd.get("spec", {})
    conversion = spec.get("conversion", {})
    webhook = conversion.get("webhook")
    if not webhook or "clientConfig" not in webhook:
        return crd
    client = _client_config(webhook["clientConfig"], base_url, base64.b64encode(ca_pem).decode())
    return {**crd, "spec": {**spec, "conversion": {**conversion, "webhook": {**webhook, "clientConfig": client}}}}


@dataclass(frozen=True)
class Manifests:
    """What a member installs for one controller: CRDs, then webhook configurations."""

    crds: list[dict[str, Any]]
    webhooks: list[dict[str, Any]]


@functools.cache
def _parsed(path: Path) -> tuple[dict[str, Any], ...]:
    # Upstream CRDs run to megabytes: parsed once per process, with libyaml (5x the pure loader).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(d for d in yaml.load_all(path.read_text(), Loader=loader) if d)  # a safe loader


def _docs(path: Path) -> list[dict[str, Any]]:
    # Shared with the cache: everything below builds new objects instead of changing these.
    return list(_parsed(path))


def render(ctl: Controller, config_dir: Path, base_url: str, ca_pem: bytes) -> Manifests:
    """The controller's manifests from its module's `config_dir`, pointed at `base_url`.

    Raises FileNotFoundError naming a file the pinned module no longer ships (a version bump
    that moved it), ValueError for a patch this reader cannot apply.
    """
    patches = [p for rel in ctl.crd_patches for p in _docs(config_dir / rel)]
    crds = []
    for rel in ctl.crds:
        for crd in _docs(config_dir / rel):
            for patch in patches:
                if patch.get("metadata", {}).get("name") == crd["metadata"]["name"]:
                    crd = merge(crd, {"spec": patch.get("spec", {})})
            crds.append(point_conversion(crd, base_url, ca_pem))
    webhooks = []
    if ctl.webhooks is not None:
        for config in _docs(config_dir / ctl.webhooks):
            for kind, rel in ctl.webhook_patches:
                if config["kind"] == kind:
                    ops = yaml.safe_load((config_dir / rel).read_text())
                    config = json_patch(config, ops)
            # Upstream names them generically (kustomize prefixes them per install): prefix here too.
            if not ctl.own_webhook_names:
                name = f"{ctl.name}-{config['metadata']['name']}"
                config = {**config, "metadata": {**config["metadata"], "name": name}}
            webhooks.append(point_webhooks(config, base_url, ca_pem))
    return Manifests(crds, webhooks)


# ---- readiness --------------------------------------------------------------------------------


def healthy(port: int, path: str = "/readyz") -> bool:
    """Whether the controller's health endpoint on loopback answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def serving_tls(port: int, ca_file: Path) -> bool:
    """Whether a TLS server trusted by `ca_file` accepts connections on loopback `port` (the webhook)."""
    ctx = ssl.create_default_context(cafile=str(ca_file))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as sock,
            ctx.wrap_socket(sock, server_hostname="127.0.0.1"),
        ):
            return True
    except OSError:
        return False


def crd_established(crd: Mapping[str, Any]) -> bool:
    """Whether a CRD read back from the API server is Established (its kind can be served)."""
    conditions = (crd.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)
