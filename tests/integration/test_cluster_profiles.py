"""The Cluster Inventory API on the real hub: the operator publishes its identifiers as ClusterProfiles.

The upstream ClusterProfile CRD (hack/upstream/, sigs.k8s.io/cluster-inventory-api v0.1.2) is installed
while the session's operator already runs without it: the operator starts publishing on its own.
A kubectl watch records every event of the published profiles from then on, so the tests count the
operator's writes instead of sleeping: the rate KEP-4322 asks (one update per 30 s per profile) is
checked over everything the module saw.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.aio import config as aio_config

from computenet.inventory.imported import IMPORTED_LABEL, load_provider_file
from computenet.inventory.importer import RESYNC_S, ProfileImporter
from computenet.inventory.model import (
    CRD_NAME,
    LABEL_CLUSTER_MANAGER,
    PROPERTY_ACCELERATOR_MODELS,
    PROPERTY_ACCELERATORS_PREFIX,
    PROPERTY_COMPUTE_CLASS,
    PROPERTY_CURRENCY,
    PROPERTY_PRICE_ACCELERATOR_PREFIX,
    PROPERTY_PRICE_CPU,
    PROPERTY_PROVIDER,
    PROPERTY_REGION,
    PROPERTY_URI,
)
from computenet.inventory.publisher import CRD_POLL_MAX_S
from computenet.inventory.throttle import KEP_MIN_UPDATE_INTERVAL_S
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV
from support.tasks import apply, phase_is, task, unique
from support.timeouts import JOB_S, STATE_S
from support.wait import eventually

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_CRD = REPO / "hack" / "upstream" / "multicluster.x-k8s.io_clusterprofiles.yaml"
NAMESPACE = devenv.NAMESPACE
MANAGER = "computenet"
TIME_RESOLUTION_S = 1.0
"""Writes are timed by the API server's managedFields entry, which has whole seconds."""
UPDATE_S = KEP_MIN_UPDATE_INTERVAL_S + STATE_S
"""An update the rate holds back is written within one interval, then seen within STATE_S."""


@dataclass
class Event:
    at: float
    """When the watch delivered it (monotonic)."""
    type: str
    name: str
    resource_version: str
    obj: dict[str, Any]

    @property
    def status_written_at(self) -> float:
        """When this manager last applied the status, as the API server recorded it (epoch seconds)."""
        for entry in self.obj["metadata"].get("managedFields") or ():
            if entry.get("manager") == MANAGER and entry.get("subresource") == "status":
                return dt.datetime.fromisoformat(entry["time"]).timestamp()
        raise AssertionError(f"{self.name}: no status entry of manager {MANAGER} in managedFields")


@dataclass
class Recorder:
    """Every watch event of this manager's ClusterProfiles, as `kubectl get -w` delivers them."""

    process: subprocess.Popen[str]
    events: list[Event] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self) -> None:
        decoder = json.JSONDecoder()
        buffer = ""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            buffer += line
            try:
                event, end = decoder.raw_decode(buffer.lstrip())
            except ValueError:
                continue
            buffer = buffer.lstrip()[end:]
            obj = event["object"]
            meta = obj["metadata"]
            with self.lock:
                self.events.append(
                    Event(time.monotonic(), event["type"], meta["name"], meta.get("resourceVersion", ""), obj)
                )

    def of(self, name: str, *types: str) -> list[Event]:
        with self.lock:
            return [e for e in self.events if e.name == name and (not types or e.type in types)]

    def names(self) -> set[str]:
        with self.lock:
            return {e.name for e in self.events}


def status_writes(events: list[Event]) -> list[float]:
    """When the status changed, event by event (an event that leaves the status as it was is not one)."""
    found, last = [], None
    for event in events:
        status = event.obj.get("status")
        if status != last:
            found.append(event.status_written_at)
            last = status
    return found


def profile(hub: Cluster, name: str) -> dict[str, Any] | None:
    out = hub.kubectl("get", "clusterprofiles", "-n", NAMESPACE, name, "-o", "json", check=False)
    if out.returncode != 0:
        assert "NotFound" in out.stderr, out.stderr
        return None
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def properties(obj: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in (obj.get("status") or {}).get("properties") or ()}


def conditions(obj: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or ()}


def identifier(hub: Cluster, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(hub.kubectl("get", "computeidentifier", name, "-o", "json").stdout)
    return found


STARTED = "standing by: health on"
"""The first line every operator process logs; the log file is appended to across restarts."""


def this_run(operator: devenv.OperatorProcess) -> str:
    """The log of the running operator process only (earlier tests of the session restart it)."""
    text = operator.log_text()
    return text[text.rfind(STARTED) :] if STARTED in text else text


@pytest.fixture(scope="module")
def inventory(operator: devenv.OperatorProcess, federation: Federation) -> Iterator[Recorder]:
    """The upstream CRD installed after the operator started, and a watch on the published profiles."""
    hub = federation.hub
    said = "the hub has no clusterprofiles.multicluster.x-k8s.io CRD"
    eventually(lambda: said in this_run(operator), timeout=STATE_S)
    assert this_run(operator).count(said) == 1, "the missing CRD is said once, not on every look"
    hub.kubectl("apply", "--server-side", "-f", str(UPSTREAM_CRD))
    hub.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{CRD_NAME}")
    process = subprocess.Popen(
        [
            "kubectl",
            "--kubeconfig",
            str(hub.kubeconfig),
            "get",
            "clusterprofiles",
            "-n",
            NAMESPACE,
            "-l",
            f"{LABEL_CLUSTER_MANAGER}={MANAGER}",
            "--watch",
            "--output-watch-events",
            "--show-managed-fields",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    recorder = Recorder(process)
    reader = threading.Thread(target=recorder.read, daemon=True)
    reader.start()
    try:
        yield recorder
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        hub.kubectl("delete", "--ignore-not-found", "--wait=true", f"crd/{CRD_NAME}")
        gone = "CRD is gone from the hub: ClusterProfiles are no longer published"
        eventually(lambda: gone in operator.log_text(), timeout=STATE_S)


def test_every_ready_identifier_appears_as_a_cluster_profile(inventory: Recorder, federation: Federation) -> None:
    hub = federation.hub
    members = [m.name for m in federation.members]

    def all_published() -> dict[str, dict[str, Any]]:
        found = {name: profile(hub, name) for name in members}
        missing = [n for n, p in found.items() if p is None or not properties(p)]
        assert not missing, f"no profile (with properties) yet for {missing}"
        return {n: p for n, p in found.items() if p is not None}

    published = eventually(all_published, timeout=CRD_POLL_MAX_S + STATE_S)
    for name, obj in published.items():
        spec = identifier(hub, name)["spec"]
        assert obj["metadata"]["labels"][LABEL_CLUSTER_MANAGER] == MANAGER
        assert obj["spec"] == {"displayName": spec["uri"], "clusterManager": {"name": MANAGER}}
        props = properties(obj)
        assert props[PROPERTY_URI] == spec["uri"]
        assert props[PROPERTY_REGION] == spec["region"]
        assert props[PROPERTY_PRICE_CPU] == "0.04"
        assert conditions(obj) == {"ControlPlaneHealthy": "True", "Joined": "True"}

    # Accelerator counts are what the identifier's status says its nodes can allocate.
    status = identifier(hub, members[0])["status"]
    expected = {model: str(a["allocatable"]) for model, a in status["accelerators"].items() if a["allocatable"]}
    props = properties(published[members[0]])
    assert expected, "member-1 has accelerators in the test topology"
    assert {
        k.removeprefix(PROPERTY_ACCELERATORS_PREFIX): v
        for k, v in props.items()
        if k.startswith(PROPERTY_ACCELERATORS_PREFIX)
    } == expected
    assert props[PROPERTY_ACCELERATOR_MODELS] == ",".join(sorted(expected))
    # Prices per accelerator hour, provider, class and currency, as the identifier's spec states them.
    spec = identifier(hub, members[0])["spec"]
    assert {
        k.removeprefix(PROPERTY_PRICE_ACCELERATOR_PREFIX): float(v)
        for k, v in props.items()
        if k.startswith(PROPERTY_PRICE_ACCELERATOR_PREFIX)
    } == spec["pricing"]["perAcceleratorHour"]
    assert (props[PROPERTY_PROVIDER], props[PROPERTY_COMPUTE_CLASS], props[PROPERTY_CURRENCY]) == (
        spec["provider"],
        spec["computeClass"],
        spec["pricing"]["currency"],
    )


def test_a_changed_identifier_is_reflected_at_the_rate_the_kep_allows(
    inventory: Recorder, federation: Federation
) -> None:
    hub = federation.hub
    name = federation.members[1].name
    eventually(
        lambda: profile(hub, name) is not None and properties(profile(hub, name) or {}),
        timeout=CRD_POLL_MAX_S + STATE_S,
    )

    def price(value: float) -> None:
        patch = {"spec": {"pricing": {"perCpuCoreHour": value}}}
        hub.kubectl("patch", "computeidentifier", name, "--type=merge", "-p", json.dumps(patch))

    def says(value: str) -> Event:
        found = [e for e in inventory.of(name, "MODIFIED") if properties(e.obj).get(PROPERTY_PRICE_CPU) == value]
        assert found, f"no write of {name} with price {value} yet"
        return found[0]

    try:
        price(0.05)
        first = eventually(lambda: says("0.05"), timeout=UPDATE_S)
        price(0.06)  # at once: the rate must hold this one back
        second = eventually(lambda: says("0.06"), timeout=UPDATE_S)
        gap = second.status_written_at - first.status_written_at
        assert gap >= KEP_MIN_UPDATE_INTERVAL_S - TIME_RESOLUTION_S, gap
    finally:
        price(0.04)
    # Over everything the watch saw so far: at most one status write per interval and profile (the
    # create itself carries no status: its first status write is the first MODIFIED).
    for seen in sorted(inventory.names()):
        writes = status_writes(inventory.of(seen, "MODIFIED"))
        gaps = [b - a for a, b in itertools.pairwise(writes)]
        assert all(g >= KEP_MIN_UPDATE_INTERVAL_S - TIME_RESOLUTION_S for g in gaps), (seen, gaps)


def test_a_removed_identifier_takes_its_profile_with_it(
    inventory: Recorder, federation: Federation, member: Cluster
) -> None:
    hub = federation.hub
    name = "inventory-member-1-h100"
    manifest = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    manifest["metadata"] = {"name": name}  # no pool label: the partition overlaps member-1
    manifest["spec"]["uri"] = "cpi://east-cloud/cn-east/member-1/inventory-h100"
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"computenet.io/node-group": "h100"}}
    devenv.apply(hub, manifest)
    try:
        eventually(lambda: properties(profile(hub, name) or {}).get(PROPERTY_URI) == manifest["spec"]["uri"])
    finally:
        hub.kubectl("delete", "computeidentifier", name, "--ignore-not-found")
    eventually(lambda: profile(hub, name) is None)
    eventually(lambda: [e.type for e in inventory.of(name, "ADDED", "DELETED")] == ["ADDED", "DELETED"])


def test_another_managers_profiles_are_never_touched(
    inventory: Recorder, operator: devenv.OperatorProcess, federation: Federation
) -> None:
    hub = federation.hub
    name = "inventory-taken"
    # Another manager's profile under the name an identifier is about to get, and one more beside it.
    foreign = [
        {
            "apiVersion": "multicluster.x-k8s.io/v1alpha1",
            "kind": "ClusterProfile",
            "metadata": {"name": n, "namespace": NAMESPACE, "labels": {LABEL_CLUSTER_MANAGER: "other"}},
            "spec": {"displayName": n, "clusterManager": {"name": "other"}},
        }
        for n in (name, "other-cluster")
    ]
    devenv.apply(hub, *foreign)

    def versions() -> dict[str, str]:
        out = hub.kubectl(
            "get", "clusterprofiles", "-n", NAMESPACE, "-l", f"{LABEL_CLUSTER_MANAGER}=other", "-o", "json"
        )
        return {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in json.loads(out.stdout)["items"]}

    before = versions()
    manifest = devenv.identifier_manifest(3, federation.members[2], default_shape(3), ["cn-east"])
    manifest["metadata"] = {"name": name}
    manifest["spec"]["uri"] = manifest["spec"]["uri"] + "-taken"
    devenv.apply(hub, manifest)
    said = f"ClusterProfile {NAMESPACE}/{name} belongs to cluster manager 'other'"
    try:
        eventually(lambda: said in operator.log_text(), timeout=STATE_S)
        assert versions() == before
        assert inventory.of(name) == [], "nothing of this manager's was ever written under that name"
    finally:
        hub.kubectl("delete", "computeidentifier", name, "--ignore-not-found")
        hub.kubectl("delete", "clusterprofile", "-n", NAMESPACE, name, "other-cluster", "--ignore-not-found")
    assert operator.log_text().count(said) == 1, "the clash is said once, not on every pass"


def test_a_restarted_operator_keeps_the_published_profiles(
    inventory: Recorder, operator: devenv.OperatorProcess, federation: Federation, member: Cluster
) -> None:
    hub = federation.hub
    members = [m.name for m in federation.members]

    def uids() -> dict[str, str]:
        found = {n: profile(hub, n) for n in members}
        assert all(found.values()), f"not all published yet: {found.keys()}"
        return {n: p["metadata"]["uid"] for n, p in found.items() if p}

    before = eventually(uids, timeout=CRD_POLL_MAX_S + STATE_S)
    devenv.kill_and_restart_operator(operator, OPERATOR_ENV)
    # A profile the new process published proves it made passes over what it found.
    name = "inventory-after-restart"
    manifest = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    manifest["metadata"] = {"name": name}
    manifest["spec"]["uri"] = "cpi://east-cloud/cn-east/member-1/after-restart"
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"computenet.io/node-group": "h100"}}
    devenv.apply(hub, manifest)
    try:
        eventually(lambda: profile(hub, name) is not None, timeout=STATE_S)
    finally:
        hub.kubectl("delete", "computeidentifier", name, "--ignore-not-found")
    assert uids() == before, "a profile was deleted and created again across the restart"
    assert [e for n in members for e in inventory.of(n, "DELETED")] == []


# --- importing another cluster manager's profiles ---------------------------------------------------

FOREIGN = "fleet"
"""The other cluster manager whose profiles are imported."""
ACCESS_PROVIDER = "fleet-token"
IMPORTED_POOL_LABEL = "computenet.io/test-imported"
EXEC_PLUGIN = """\
import datetime, json, os, pathlib
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
pathlib.Path(os.environ["EXEC_INFO_FILE"]).write_text(json.dumps(info))
expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=int(os.environ["EXPIRES_S"]))
print(json.dumps({
    "apiVersion": "client.authentication.k8s.io/v1",
    "kind": "ExecCredential",
    "status": {
        "token": pathlib.Path(os.environ["TOKEN_FILE"]).read_text().strip(),
        "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    },
}))
"""


CREDENTIAL_S = 20
"""Lifetime the test plugin gives its credentials: fetched again after 16 s (80 %)."""


@dataclass
class Importing:
    """The importer running on its own event loop in a thread, against the real hub."""

    thread: threading.Thread
    stop: Callable[[], None]
    exec_info: Path
    token_file: Path
    new_token: Callable[[], str]
    """Issues another token of the member's ServiceAccount."""


@pytest.fixture
def importing(inventory: Recorder, federation: Federation, tmp_path: Path) -> Iterator[Importing]:
    """A ServiceAccount token of member-2 behind an exec plugin named in an access-provider file."""
    member = federation.members[1]
    account = "fleet-import"
    member.kubectl("create", "serviceaccount", account, "-n", "default", check=False)
    member.kubectl(
        "create",
        "clusterrolebinding",
        account,
        "--clusterrole=computenet-member",
        f"--serviceaccount=default:{account}",
        check=False,
    )

    def new_token() -> str:
        return member.kubectl("create", "token", account, "-n", "default").stdout.strip()

    (tmp_path / "token").write_text(new_token())
    (tmp_path / "plugin.py").write_text(EXEC_PLUGIN)
    provider_file = {
        "providers": [
            {
                "name": ACCESS_PROVIDER,
                "execConfig": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": sys.executable,
                    "args": [str(tmp_path / "plugin.py")],
                    "env": [
                        {"name": "TOKEN_FILE", "value": str(tmp_path / "token")},
                        {"name": "EXEC_INFO_FILE", "value": str(tmp_path / "exec-info.json")},
                        {"name": "EXPIRES_S", "value": str(CREDENTIAL_S)},
                    ],
                    "provideClusterInfo": True,
                },
            }
        ]
    }
    providers = load_provider_file(json.dumps(provider_file))
    loop = asyncio.new_event_loop()
    runner: asyncio.Future[None] | None = None

    async def main() -> None:
        nonlocal runner
        client = await aio_config.new_client_from_config(config_file=str(federation.hub.kubeconfig))
        async with client:
            importer = ProfileImporter.create(
                client,
                source_namespace=NAMESPACE,
                operator_namespace=NAMESPACE,
                manager=MANAGER,
                providers=providers,
                labels={IMPORTED_POOL_LABEL: "true"},
            )
            runner = asyncio.ensure_future(importer.run())
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()

    def stop() -> None:
        eventually(lambda: runner is not None)
        assert runner is not None
        loop.call_soon_threadsafe(runner.cancel)
        thread.join(timeout=STATE_S)
        loop.close()

    try:
        yield Importing(thread, stop, tmp_path / "exec-info.json", tmp_path / "token", new_token)
    finally:
        if thread.is_alive():
            stop()
        member.kubectl("delete", "clusterrolebinding", account, "--ignore-not-found")
        member.kubectl("delete", "serviceaccount", account, "-n", "default", "--ignore-not-found")


def foreign_profile(name: str, member: Cluster, access_provider: str = ACCESS_PROVIDER) -> dict[str, Any]:
    cluster = yaml.safe_load(member.kubeconfig.read_text())["clusters"][0]["cluster"]
    return {
        "apiVersion": "multicluster.x-k8s.io/v1alpha1",
        "kind": "ClusterProfile",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {LABEL_CLUSTER_MANAGER: FOREIGN}},
        "spec": {"displayName": name, "clusterManager": {"name": FOREIGN}},
        "status": {
            "properties": [
                {"name": "location", "value": "cn-north"},
                {"name": "computenet.io/provider", "value": "fleet-cloud"},
                {"name": "computenet.io/compute-class", "value": "ai"},
                {"name": "computenet.io/currency", "value": "USD"},
                {"name": "computenet.io/price.cpu-core-hour", "value": "0.03"},
            ],
            "accessProviders": [
                {
                    "name": access_provider,
                    "cluster": {
                        "server": cluster["server"],
                        "certificate-authority-data": cluster["certificate-authority-data"],
                        "extensions": [
                            {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "fleet"}}
                        ],
                    },
                }
            ],
        },
    }


def create_profile(hub: Cluster, obj: dict[str, Any]) -> None:
    """Create the profile, then write its status as its cluster manager would (the status subresource)."""
    status = obj["status"]
    devenv.apply(hub, {k: v for k, v in obj.items() if k != "status"})
    hub.kubectl(
        "patch",
        "clusterprofile",
        "-n",
        NAMESPACE,
        obj["metadata"]["name"],
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


def get_json(hub: Cluster, *args: str) -> dict[str, Any] | None:
    out = hub.kubectl("get", *args, "-o", "json", check=False)
    if out.returncode != 0:
        assert "NotFound" in out.stderr, out.stderr
        return None
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def test_another_managers_profile_is_imported_as_a_ready_identifier_and_runs_work(
    importing: Importing, federation: Federation
) -> None:
    """From the ClusterProfile alone and the access-provider file: an identifier that connects and runs a task.

    The exec plugin is run with the profile's cluster in KUBERNETES_EXEC_INFO and returns a real token
    of the member; the operator (which knows nothing of the import) connects through the Secret the
    import wrote and places a task of a pool that selects the imported identifiers on it.
    """
    hub, member = federation.hub, federation.members[1]
    name = f"{FOREIGN}-spoke"
    # This operator's own profiles are in the namespace read too: published first, so that their not
    # being imported means something.
    own = [m.name for m in federation.members]
    eventually(lambda: all(profile(hub, n) for n in own), timeout=CRD_POLL_MAX_S + STATE_S)
    refused = "spoke-unknown-provider"
    create_profile(hub, foreign_profile("spoke", member))
    create_profile(hub, foreign_profile(refused, member, access_provider="elsewhere"))
    pool = {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputePool",
        "metadata": {"name": "imported"},
        "spec": {"identifierSelector": {"matchLabels": {IMPORTED_POOL_LABEL: "true"}}},
    }
    devenv.apply(hub, pool)
    task_name = unique("imported")
    try:

        def ready() -> dict[str, Any]:
            obj = get_json(hub, "computeidentifier", name)
            assert obj is not None, f"no identifier {name} yet"
            conds = {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or ()}
            assert conds.get("Ready") == "True", obj.get("status")
            return obj

        obj = eventually(ready, timeout=STATE_S + RESYNC_S)
        assert obj["metadata"]["labels"] == {IMPORTED_LABEL: f"{NAMESPACE}.spoke", IMPORTED_POOL_LABEL: "true"}
        spec = obj["spec"]
        assert (spec["uri"], spec["provider"], spec["region"], spec["computeClass"]) == (
            "cpi://fleet-cloud/cn-north/spoke",
            "fleet-cloud",
            "cn-north",
            "ai",
        )
        assert spec["pricing"] == {"perCpuCoreHour": 0.03, "currency": "USD"}
        assert spec["connection"]["secretRef"] == {
            "name": f"{name}-kubeconfig",
            "namespace": NAMESPACE,
            "key": "kubeconfig",
        }

        def secret_kubeconfig() -> dict[str, Any]:
            secret = get_json(hub, "secret", "-n", NAMESPACE, f"{name}-kubeconfig")
            assert secret is not None
            found: dict[str, Any] = yaml.safe_load(base64.b64decode(secret["data"]["kubeconfig"]))
            return found

        kubeconfig = secret_kubeconfig()
        [user] = kubeconfig["users"]
        assert user["user"] == {"token": importing.token_file.read_text().strip()}, "the plugin's, not an exec user"
        assert kubeconfig["clusters"][0]["cluster"]["server"] == member.server
        info = json.loads(importing.exec_info.read_text())
        assert info["spec"]["interactive"] is False
        assert info["spec"]["cluster"]["server"] == member.server  # provideClusterInfo
        assert info["spec"]["cluster"]["config"] == {"audience": "fleet"}

        # Own profiles (this manager's) and a profile offering no configured provider are not imported.
        names = {
            i["metadata"]["name"]
            for i in json.loads(hub.kubectl("get", "computeidentifiers", "-o", "json").stdout)["items"]
        }
        assert f"{FOREIGN}-{refused}" not in names
        assert not {n for n in names if n.startswith(f"{MANAGER}-")}

        # Before it expires the credential is fetched again: the plugin now answers another token,
        # which reaches the Secret; the operator reconnects with it and places work there.
        rotated = importing.new_token()
        importing.token_file.write_text(rotated)
        eventually(
            lambda: secret_kubeconfig()["users"][0]["user"] == {"token": rotated},
            timeout=CREDENTIAL_S + RESYNC_S + STATE_S,
        )
        body = task(task_name, cpu="1", run="1s")
        body["spec"]["pool"] = "imported"
        apply(hub, body)
        st = eventually(lambda: phase_is(hub, task_name, "Succeeded"), timeout=JOB_S)
        assert st["placement"]["identifier"] == name
        assert ready()["metadata"]["name"] == name
    finally:
        hub.kubectl("delete", "computetask", task_name, "--ignore-not-found", "--wait=false")
        hub.kubectl("delete", "clusterprofile", "-n", NAMESPACE, "spoke", refused, "--ignore-not-found")
    # The profile gone, the identifier and its Secret go too.
    eventually(lambda: get_json(hub, "computeidentifier", name) is None, timeout=STATE_S + RESYNC_S)
    assert get_json(hub, "secret", "-n", NAMESPACE, f"{name}-kubeconfig") is None
    hub.kubectl("delete", "computepool", "imported", "--ignore-not-found")
