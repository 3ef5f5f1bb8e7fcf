"""An imported cluster's credential: the exec plugin protocol of client-go, and what the Secret holds."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from computenet.inventory.exec_credential import (
    EXEC_INFO_ENV,
    REFRESH_WITHOUT_EXPIRY_S,
    Credential,
    CredentialError,
    exec_info,
    parse_credential,
    plugin_environment,
    run_plugin,
    with_credential,
)
from computenet.inventory.imported import ExecProvider, choose_access, identifier_for, kubeconfig_for
from computenet.inventory.model import ClusterProfile

V1 = "client.authentication.k8s.io/v1"
CLUSTER = {
    "server": "https://spoke.example:6443",
    "certificate-authority-data": "Q0E=",
    "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "fleet"}}],
}
ISSUED = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def profile() -> ClusterProfile:
    return ClusterProfile.model_validate(
        {
            "metadata": {"name": "spoke", "namespace": "fleet", "labels": {"x-k8s.io/cluster-manager": "fleet"}},
            "spec": {"clusterManager": {"name": "fleet"}},
            "status": {
                "properties": [{"name": "location", "value": "cn-east"}],
                "accessProviders": [{"name": "token", "cluster": CLUSTER}],
            },
        }
    )


def kubeconfig(exec_config: dict[str, Any]) -> dict[str, Any]:
    p = profile()
    access, provider = choose_access(p, [ExecProvider("token", exec_config)])
    return kubeconfig_for(p, access, provider)


def credential_json(status: dict[str, Any], api_version: str = V1) -> bytes:
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status}).encode()


@pytest.mark.parametrize(
    ("provide", "expected"),
    [
        pytest.param(
            True,
            {
                "apiVersion": V1,
                "kind": "ExecCredential",
                "spec": {
                    "interactive": False,
                    "cluster": {
                        "server": "https://spoke.example:6443",
                        "certificate-authority-data": "Q0E=",
                        "config": {"audience": "fleet"},
                    },
                },
            },
            id="provideClusterInfo: the cluster, its exec extension as config",
        ),
        pytest.param(
            False,
            {"apiVersion": V1, "kind": "ExecCredential", "spec": {"interactive": False}},
            id="without provideClusterInfo: no cluster",
        ),
    ],
)
def test_the_plugin_learns_the_cluster_only_when_the_provider_asks(provide: bool, expected: dict[str, Any]) -> None:
    assert exec_info({"apiVersion": V1, "command": "x", "provideClusterInfo": provide}, CLUSTER) == expected


def test_the_plugin_runs_with_its_configured_env_and_the_exec_info() -> None:
    env = plugin_environment({"apiVersion": V1, "command": "x", "env": [{"name": "A", "value": "1"}]}, CLUSTER)
    assert env["A"] == "1"
    assert json.loads(env[EXEC_INFO_ENV])["kind"] == "ExecCredential"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        pytest.param(credential_json({"token": "t"}), Credential(token="t"), id="a token"),
        pytest.param(
            credential_json({"token": "t", "expirationTimestamp": "2026-12-01T13:00:00Z"}),
            Credential(token="t", expires=dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)),
            id="a token with an expiry",
        ),
        pytest.param(
            credential_json({"clientCertificateData": "CERT", "clientKeyData": "KEY"}),
            Credential(client_certificate="CERT", client_key="KEY"),
            id="a client certificate",
        ),
    ],
)
def test_what_a_plugin_prints_is_read(output: bytes, expected: Credential) -> None:
    assert parse_credential(output, V1, "token") == expected


@pytest.mark.parametrize(
    ("output", "message"),
    [
        pytest.param(b"not json", "no JSON", id="not JSON"),
        pytest.param(b'{"kind": "Secret"}', "no ExecCredential", id="another kind"),
        pytest.param(credential_json({"token": "t"}, "client.authentication.k8s.io/v1beta1"), "apiVersion", id="v"),
        pytest.param(credential_json({}), "neither status.token", id="no credential"),
        pytest.param(credential_json({"clientCertificateData": "C"}), "neither", id="a certificate without key"),
        pytest.param(credential_json({"token": "t", "expirationTimestamp": "soon"}), "RFC 3339", id="bad expiry"),
    ],
)
def test_a_bad_answer_is_refused_without_quoting_it(output: bytes, message: str) -> None:
    with pytest.raises(CredentialError, match=message) as caught:
        parse_credential(output, V1, "token")
    assert "secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("expires", "refresh"),
    [
        pytest.param(ISSUED + dt.timedelta(hours=1), ISSUED + dt.timedelta(minutes=48), id="80 % into an hour"),
        pytest.param(None, ISSUED + dt.timedelta(seconds=REFRESH_WITHOUT_EXPIRY_S), id="no expiry: hourly"),
        pytest.param(ISSUED - dt.timedelta(minutes=1), ISSUED, id="already expired: now"),
    ],
)
def test_when_a_credential_is_fetched_again(expires: dt.datetime | None, refresh: dt.datetime) -> None:
    assert Credential(token="t", expires=expires).refresh_at(ISSUED) == refresh


def test_the_secrets_kubeconfig_has_the_credential_instead_of_the_plugin() -> None:
    config = kubeconfig({"apiVersion": V1, "command": "x"})
    with_token = with_credential(config, Credential(token="t"))
    assert with_token["users"] == [{"name": "token", "user": {"token": "t"}}]
    assert with_token["clusters"][0]["cluster"] == {
        "server": "https://spoke.example:6443",
        "certificate-authority-data": "Q0E=",
    }
    assert "exec" in config["users"][0]["user"], "the input is left as it was"
    with_cert = with_credential(config, Credential(client_certificate="CERT", client_key="KEY"))
    user = with_cert["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == b"CERT"
    assert base64.b64decode(user["client-key-data"]) == b"KEY"


def _script(tmp_path: Path, body: str) -> dict[str, Any]:
    path = tmp_path / "plugin.py"
    path.write_text(body)
    return {"apiVersion": V1, "command": sys.executable, "args": [str(path)], "provideClusterInfo": True}


async def test_a_plugin_process_is_run_with_the_cluster_and_its_token_read(tmp_path: Path) -> None:
    exec_config = _script(
        tmp_path,
        "import json, os\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential',"
        " 'status': {'token': info['spec']['cluster']['server']}}))\n",
    )
    found = await run_plugin(kubeconfig(exec_config), "token")
    assert found == Credential(token="https://spoke.example:6443")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param("raise SystemExit(3)\n", "exited with code 3", id="a failing plugin"),
        pytest.param("print('{}')\n", "no ExecCredential", id="a plugin printing nothing useful"),
    ],
)
async def test_a_plugin_that_fails_says_so(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(CredentialError, match=message):
        await run_plugin(kubeconfig(_script(tmp_path, body)), "token")


async def test_a_missing_plugin_names_its_install_hint() -> None:
    config = kubeconfig({"apiVersion": V1, "command": "/nonexistent/plugin", "installHint": "install it"})
    with pytest.raises(CredentialError, match=r"cannot run: .*\(install it\)"):
        await run_plugin(config, "token")


def test_the_imported_identifier_carries_the_exec_kubeconfig_the_importer_resolves() -> None:
    found = identifier_for(profile(), [ExecProvider("token", {"apiVersion": V1, "command": "x"})], namespace="ns")
    assert found.kubeconfig["users"][0]["user"]["exec"]["command"] == "x"
