"""A local federation: one hub and N member clusters, real control planes on loopback.

One etcd serves every API server, each under its own `--etcd-prefix`. The hub runs
kube-apiserver and kube-controller-manager (namespace deletion and garbage collection need it);
each member also runs kube-scheduler and kwok, which simulates the nodes described in
`topology` and plays pod lifecycles. Everything lives in one state directory; the processes
started are recorded there so `down` stops exactly those.

    python -m computenet.testing.federation up --dir .dev --members 2
    python -m computenet.testing.federation down --dir .dev
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from computenet.testing import controllers, pki, podlogs
from computenet.testing.localapi import ApiError, LocalApi
from computenet.testing.processes import ComponentFailed, Record, Supervisor
from computenet.testing.topology import MemberShape, default_shape, load_shapes, node_manifests

START_TIMEOUT_S = 90.0
_POLL_S = 0.1
OPERATOR_USER = "computenet-operator"
BIN_DIR_ENV = "COMPUTENET_BIN_DIR"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def find_bin_dir() -> Path:
    """Where the pinned binaries are: $COMPUTENET_BIN_DIR, else built (or found cached) by hack/."""
    env = os.environ.get(BIN_DIR_ENV)
    if env:
        return Path(env)
    script = Path(__file__).resolve().parents[3] / "hack" / "build-binaries.sh"
    if not script.exists():
        raise RuntimeError(f"set {BIN_DIR_ENV} to a directory holding {', '.join(BINARIES)}")
    out = subprocess.run(["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float, alive: Callable[[], None]) -> None:
    """Poll `check` until true; `alive` raises as soon as the component behind it has died."""
    deadline = time.monotonic() + timeout
    while not check():
        alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(_POLL_S)


def _kubeconfig(name: str, server: str, ca: bytes, user: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": name,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca).decode()},
            }
        ],
        "users": [{"name": f"{name}-user", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-user"}}],
        "current-context": name,
    }


@dataclass
class Cluster:
    """One local cluster: its API server address, credentials and the components it runs."""

    name: str
    role: str  # "hub" or "member"
    dir: Path
    port: int
    kubeconfig: Path
    operator_kubeconfig: Path
    region: str = ""
    controllers: tuple[str, ...] = ()  # upstream workload controllers it runs (members only)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def api(self) -> LocalApi:
        pki_dir = self.dir / "pki"
        return LocalApi("127.0.0.1", self.port, pki_dir / "ca.crt", pki_dir / "admin.crt", pki_dir / "admin.key")

    @property
    def components(self) -> list[str]:
        extra = ["kube-scheduler", "kwok", *self.controllers] if self.role == "member" else []
        return [f"{self.name}/{c}" for c in ["kube-apiserver", "kube-controller-manager", *extra]]

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster as the admin."""
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            text=True,
            capture_output=True,
            check=check,
            timeout=timeout,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "dir": str(self.dir),
            "port": self.port,
            "kubeconfig": str(self.kubeconfig),
            "operator_kubeconfig": str(self.operator_kubeconfig),
            "region": self.region,
            "controllers": list(self.controllers),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Cluster:
        return cls(
            name=raw["name"],
            role=raw["role"],
            dir=Path(raw["dir"]),
            port=raw["port"],
            kubeconfig=Path(raw["kubeconfig"]),
            operator_kubeconfig=Path(raw["operator_kubeconfig"]),
            region=raw.get("region", ""),
            controllers=tuple(raw.get("controllers", ())),
        )


class Federation:
    """A running hub and members; `start` brings them up, `stop` takes down what was started."""

    def __init__(self, state_dir: Path, hub: Cluster, members: list[Cluster], etcd_port: int) -> None:
        self.state_dir = state_dir
        self.hub = hub
        self.members = members
        self.etcd_port = etcd_port
        self.supervisor = Supervisor(state_dir)
        self._stopped: dict[str, Record] = {}

    @property
    def clusters(self) -> list[Cluster]:
        return [self.hub, *self.members]

    def member(self, name: str) -> Cluster:
        return next(m for m in self.members if m.name == name)

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        state_dir: Path,
        members: int = 2,
        shapes: Sequence[MemberShape] | None = None,
        bin_dir: Path | None = None,
        log: Callable[[str], None] = lambda _: None,
    ) -> Federation:
        """Start a fresh federation in `state_dir`; on any failure stop what was started and raise."""
        state_dir = state_dir.resolve()
        if (state_dir / "processes.json").exists():
            raise RuntimeError(f"a federation already runs from {state_dir}; stop it first (make dev-down)")
        bins = bin_dir or find_bin_dir()
        shapes = list(shapes or [default_shape(i) for i in range(1, members + 1)])
        wanted = sorted({n for s in shapes for n in s.controllers})
        for name in wanted:
            controllers.controller(name)  # an unknown name fails here, naming the known ones
        needed = [*BINARIES, *wanted, *(f"{n}.config" for n in wanted)]
        missing = [b for b in needed if not (bins / b).exists()]
        if missing:
            raise RuntimeError(f"missing binaries in {bins}: {', '.join(missing)}")
        state_dir.mkdir(parents=True, exist_ok=True)
        hub = _new_cluster(state_dir, "hub", "hub", "")
        mems = [
            _new_cluster(state_dir, f"member-{i}", "member", s.region, s.controllers) for i, s in enumerate(shapes, 1)
        ]
        fed = cls(state_dir, hub, mems, free_port())
        try:
            fed._boot(bins, shapes, log)
        except BaseException:
            fed.stop()
            raise
        fed._save()
        return fed

    @classmethod
    def attach(cls, state_dir: Path) -> Federation:
        """Re-open a federation started by another process (for dev-down, tests reusing dev-up)."""
        raw = json.loads((state_dir / "federation.json").read_text())
        return cls(
            state_dir,
            Cluster.from_json(raw["hub"]),
            [Cluster.from_json(m) for m in raw["members"]],
            raw["etcd_port"],
        )

    def _save(self) -> None:
        raw = {
            "hub": self.hub.to_json(),
            "members": [m.to_json() for m in self.members],
            "etcd_port": self.etcd_port,
        }
        (self.state_dir / "federation.json").write_text(json.dumps(raw, indent=2))

    def stop(self) -> None:
        """Stop every process this federation started; state stays for inspection."""
        self.supervisor.stop_all()
        (self.state_dir / "federation.json").unlink(missing_ok=True)

    def stop_apiserver(self, cluster: Cluster) -> None:
        """Take one cluster's API server down (a member outage); its other components keep running."""
        name = f"{cluster.name}/kube-apiserver"
        self._stopped[name] = self.supervisor.stop(name, signal.SIGKILL)  # a crash, not a graceful drain

    def start_apiserver(self, cluster: Cluster) -> None:
        """Bring a stopped API server back on the same port, with the same certificates and data."""
        name = f"{cluster.name}/kube-apiserver"
        rec = self._stopped.pop(name)
        self.supervisor.start(name, rec.argv, Path(rec.log), rec.env)
        wait_for(f"{name} /readyz", cluster.api.ready, START_TIMEOUT_S, lambda: self.supervisor.check_running(name))

    # ---- boot --------------------------------------------------------------------------------

    def _boot(self, bins: Path, shapes: list[MemberShape], log: Callable[[str], None]) -> None:
        t0 = time.monotonic()
        self._start_etcd(bins)
        log(f"etcd ready on 127.0.0.1:{self.etcd_port} ({time.monotonic() - t0:.1f}s)")
        for c in self.clusters:
            self._write_pki(c)
            self._start_apiserver(bins, c)
        for c in self.clusters:
            self._wait_apiserver(c)
        log(f"API servers ready ({time.monotonic() - t0:.1f}s)")
        for c in self.clusters:
            self._start_controllers(bins, c)
        with ThreadPoolExecutor(max_workers=len(self.members) or 1) as pool:
            list(pool.map(lambda ms: self._populate_member(bins, *ms), zip(self.members, shapes, strict=True)))
        self._wait_hub_controllers()
        for name in self.supervisor.names():  # a component that died once its peers were ready
            self.supervisor.check_running(name)
        log(f"federation ready ({time.monotonic() - t0:.1f}s)")

    def _wait_apiserver(self, c: Cluster) -> None:
        name = f"{c.name}/kube-apiserver"
        wait_for(f"{name} /readyz", c.api.ready, START_TIMEOUT_S, lambda: self.supervisor.check_running(name))

    def _logfile(self, component: str) -> Path:
        return self.state_dir / "logs" / f"{component.replace('/', '-')}.log"

    def _start_etcd(self, bins: Path) -> None:
        peer = free_port()
        data = self.state_dir / "etcd"
        shutil.rmtree(data, ignore_errors=True)
        url = f"http://127.0.0.1:{self.etcd_port}"
        self.supervisor.start(
            "etcd",
            [
                str(bins / "etcd"),
                "--name=computenet",
                f"--data-dir={data}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=computenet=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=8589934592",
                "--log-level=warn",
            ],
            self._logfile("etcd"),
        )

        def healthy() -> bool:
            import urllib.request

            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
                    return bool(json.loads(resp.read()).get("health") == "true")
            except OSError:
                return False

        wait_for("etcd /health", healthy, START_TIMEOUT_S, lambda: self.supervisor.check_running("etcd"))

    def _write_pki(self, c: Cluster) -> None:
        d = c.dir / "pki"
        d.mkdir(parents=True, exist_ok=True)
        ca = pki.CertificateAuthority(f"{c.name}-ca")
        (d / "ca.crt").write_bytes(ca.cert_pem)
        serving = ca.serving()
        (d / "serving.crt").write_bytes(serving.cert_pem)
        pki.write_private(d / "serving.key", serving.key_pem)
        admin = ca.client("admin", "system:masters")
        (d / "admin.crt").write_bytes(admin.cert_pem)
        pki.write_private(d / "admin.key", admin.key_pem)
        sa = pki.service_account_keys()
        (d / "sa.pub").write_bytes(sa.cert_pem)
        pki.write_private(d / "sa.key", sa.key_pem)
        # A bearer token for the operator's own identity: it gets only the RBAC the docs ask for.
        token = secrets.token_urlsafe(32)
        pki.write_private(d / "tokens.csv", f"{token},{OPERATOR_USER},{OPERATOR_USER}\n".encode())
        admin_user = {
            "client-certificate-data": base64.b64encode(admin.cert_pem).decode(),
            "client-key-data": base64.b64encode(admin.key_pem).decode(),
        }
        pki.write_private(c.kubeconfig, yaml.safe_dump(_kubeconfig(c.name, c.server, ca.cert_pem, admin_user)).encode())
        pki.write_private(
            c.operator_kubeconfig,
            yaml.safe_dump(_kubeconfig(c.name, c.server, ca.cert_pem, {"token": token})).encode(),
        )

    def _start_apiserver(self, bins: Path, c: Cluster) -> None:
        d = c.dir / "pki"
        argv = [
            str(bins / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            f"--etcd-prefix=/computenet/{c.name}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={c.port}",
            f"--cert-dir={c.dir / 'certs'}",
            f"--tls-cert-file={d / 'serving.crt'}",
            f"--tls-private-key-file={d / 'serving.key'}",
            f"--client-ca-file={d / 'ca.crt'}",
            f"--token-auth-file={d / 'tokens.csv'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--max-requests-inflight=1000",
            "--max-mutating-requests-inflight=500",
            "--profiling=false",
            "--event-ttl=1h",
        ]
        if c.role == "member":
            # Pod logs: the API server dials a node's InternalIP (kwok's loopback server, see
            # podlogs.py) and verifies the kubelet serving certificate by its own CA.
            kubelet = pki.write_kubelet_pki(d / "kubelet")
            argv += ["--kubelet-preferred-address-types=InternalIP", f"--kubelet-certificate-authority={kubelet.ca}"]
        self.supervisor.start(f"{c.name}/kube-apiserver", argv, self._logfile(f"{c.name}/kube-apiserver"))

    def _start_controllers(self, bins: Path, c: Cluster) -> None:
        d = c.dir / "pki"
        kc = str(c.kubeconfig)
        self.supervisor.start(
            f"{c.name}/kube-controller-manager",
            [
                str(bins / "kube-controller-manager"),
                f"--kubeconfig={kc}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={d / 'sa.key'}",
                f"--root-ca-file={d / 'ca.crt'}",
                "--kube-api-qps=500",
                "--kube-api-burst=1000",
                "--concurrent-job-syncs=20",
                "--concurrent-gc-syncs=40",
                "--concurrent-namespace-syncs=20",
            ],
            self._logfile(f"{c.name}/kube-controller-manager"),
        )
        if c.role != "member":
            return
        self.supervisor.start(
            f"{c.name}/kube-scheduler",
            [str(bins / "kube-scheduler"), f"--kubeconfig={kc}", "--leader-elect=false", "--secure-port=0"],
            self._logfile(f"{c.name}/kube-scheduler"),
        )
        stages = resources.files("computenet.testing") / "kwok-stages.yaml"
        stages_path = c.dir / "kwok-stages.yaml"
        stages_path.write_text(stages.read_text())
        # kwok also serves the kubelet API (pod logs) on a loopback port its nodes advertise.
        kubelet_port = free_port()
        kubelet = d / "kubelet"
        self.supervisor.start(
            f"{c.name}/kwok",
            [
                str(bins / "kwok"),
                f"--kubeconfig={kc}",
                f"--config={stages_path}",
                f"--config={podlogs.write(c.dir / 'podlogs')}",
                "--manage-all-nodes=true",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.0/16",
                "--node-ip=127.0.0.1",
                f"--node-port={kubelet_port}",
                f"--server-address=127.0.0.1:{kubelet_port}",
                f"--tls-cert-file={kubelet / 'kubelet.crt'}",
                f"--tls-private-key-file={kubelet / 'kubelet.key'}",
            ],
            self._logfile(f"{c.name}/kwok"),
        )

    def _populate_member(self, bins: Path, c: Cluster, shape: MemberShape) -> None:
        api = c.api
        ready = self._start_workload_controllers(bins, c)
        for node in node_manifests(shape):
            api.request("POST", "/api/v1/nodes", node)
        count = len(node_manifests(shape))

        def alive() -> None:
            for comp in c.components:
                self.supervisor.check_running(comp)

        def nodes_ready() -> bool:
            items = api.request("GET", "/api/v1/nodes")["items"]
            ready = [
                n
                for n in items
                if any(cd["type"] == "Ready" and cd["status"] == "True" for cd in n["status"].get("conditions", []))
            ]
            return len(ready) == count

        wait_for(f"{c.name} nodes Ready (kwok)", nodes_ready, START_TIMEOUT_S, alive)
        # Pods are admitted only once the default ServiceAccount exists (the controller-manager makes it).
        wait_for(
            f"{c.name} default ServiceAccount",
            lambda: _exists(api, "/api/v1/namespaces/default/serviceaccounts/default"),
            START_TIMEOUT_S,
            alive,
        )
        for what, check in ready:
            wait_for(f"{c.name} {what}", check, START_TIMEOUT_S, alive)

    def _start_workload_controllers(self, bins: Path, c: Cluster) -> list[tuple[str, Callable[[], bool]]]:
        """Install each upstream controller's CRDs and webhooks in member `c` and start it.

        Returns the readiness checks to wait for (health, then the webhook server serving), so a
        member's controllers start side by side while its nodes come up.
        """
        api = c.api
        started: list[tuple[controllers.Controller, controllers.Ports, pki.WebhookFiles]] = []
        for name in c.controllers:
            ctl = controllers.controller(name)
            workdir = c.dir / name
            workdir.mkdir(parents=True, exist_ok=True)
            files = pki.write_webhook_pki(workdir / "webhook", pki=ctl.pki)
            ports = controllers.Ports(webhook=free_port(), health=free_port(), metrics=free_port())
            manifests = controllers.render(
                ctl, bins / f"{name}.config", f"https://127.0.0.1:{ports.webhook}", files.ca.read_bytes()
            )
            (workdir / "webhooks.json").write_text(
                json.dumps(manifests.webhooks, indent=1)
            )  # for a reader of the state
            for crd in manifests.crds:
                api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, timeout=60.0)
            names = [crd["metadata"]["name"] for crd in manifests.crds]
            wait_for(
                f"{c.name} CRDs of {name} Established",
                functools.partial(_established, api, names),
                START_TIMEOUT_S,
                functools.partial(self.supervisor.check_running, f"{c.name}/kube-apiserver"),
            )
            for hook in manifests.webhooks:
                api.request("POST", f"/apis/admissionregistration.k8s.io/v1/{hook['kind'].lower()}s", hook)
            launch = controllers.Launch(bins / name, c.kubeconfig, workdir, files.cert_dir, ports)
            for obj in ctl.prerequisites(launch):
                _create(api, obj)
            self.supervisor.start(f"{c.name}/{name}", ctl.argv(launch), self._logfile(f"{c.name}/{name}"), ctl.env)
            started.append((ctl, ports, files))
        checks: list[tuple[str, Callable[[], bool]]] = []
        for ctl, ports, files in started:
            checks.append(
                (f"{ctl.name} {ctl.ready_path}", functools.partial(controllers.healthy, ports.health, ctl.ready_path))
            )
            if ctl.webhooks is not None:
                checks.append(
                    (f"{ctl.name} webhook server", functools.partial(controllers.serving_tls, ports.webhook, files.ca))
                )
        return checks

    def _wait_hub_controllers(self) -> None:
        def alive() -> None:
            for comp in self.hub.components:
                self.supervisor.check_running(comp)

        wait_for(
            "hub default ServiceAccount",
            lambda: _exists(self.hub.api, "/api/v1/namespaces/default/serviceaccounts/default"),
            START_TIMEOUT_S,
            alive,
        )


def _create(api: LocalApi, obj: dict[str, Any]) -> None:
    """Create a core object (a Namespace, a Secret) in the member, leaving one that exists as it is."""
    plural = f"{obj['kind'].lower()}s"
    namespace = obj["metadata"].get("namespace")
    path = f"/api/v1/namespaces/{namespace}/{plural}" if namespace else f"/api/v1/{plural}"
    try:
        api.request("POST", path, obj)
    except ApiError as e:
        if e.status != 409:
            raise


def _established(api: LocalApi, names: Sequence[str]) -> bool:
    prefix = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    return all(controllers.crd_established(api.request("GET", f"{prefix}/{n}")) for n in names)


def _exists(api: LocalApi, path: str) -> bool:
    try:
        api.request("GET", path)
        return True
    except ApiError as e:
        if e.status == 404:
            return False
        raise
    except OSError:
        return False


def _new_cluster(
    state_dir: Path, name: str, role: str, region: str, workload_controllers: tuple[str, ...] = ()
) -> Cluster:
    return Cluster(
        name=name,
        role=role,
        dir=state_dir / name,
        port=free_port(),
        kubeconfig=state_dir / f"{name}.kubeconfig",
        operator_kubeconfig=state_dir / name / "operator.kubeconfig",
        region=region,
        controllers=workload_controllers,
    )


def _print(msg: str) -> None:
    print(f"[federation] {msg}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m computenet.testing.federation", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a hub and members")
    up.add_argument("--dir", type=Path, default=Path(".dev"))
    up.add_argument("--members", type=int, default=2)
    up.add_argument("--topology", type=Path, help="YAML list of member shapes (overrides --members)")
    down = sub.add_parser("down", help="stop everything a previous `up` started")
    down.add_argument("--dir", type=Path, default=Path(".dev"))
    args = parser.parse_args(argv)

    if args.command == "down":
        Supervisor(args.dir.resolve()).stop_all()
        (args.dir / "federation.json").unlink(missing_ok=True)
        _print(f"stopped every process started from {args.dir}")
        return 0

    shapes = load_shapes(args.topology) if args.topology else None
    t0 = time.monotonic()
    try:
        fed = Federation.start(args.dir, members=args.members, shapes=shapes, log=_print)
    except (ComponentFailed, TimeoutError, RuntimeError) as e:
        _print(f"start failed: {e}")
        return 1
    _print(f"up in {time.monotonic() - t0:.1f}s; state and logs in {fed.state_dir}")
    for c in fed.clusters:
        where = f" region {c.region}" if c.region else ""
        kc = os.path.relpath(c.kubeconfig)
        print(f"  {c.name:<10} {c.server}{where}  kubectl --kubeconfig {kc} get nodes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
