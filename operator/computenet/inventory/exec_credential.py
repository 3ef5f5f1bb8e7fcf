"""Credentials for an imported cluster: run the access provider's exec plugin, as client-go does.

The Cluster Inventory API leaves credentials to the consumer's access-provider file: an exec
credential plugin per provider (KEP-5339, sigs.k8s.io/cluster-inventory-api v0.1.2
``pkg/access/config.go``). The operator's member connections take a kubeconfig with a token or a
client certificate and refuse exec users (``members/kubeconfig.py``), so the importer runs the
plugin here, in one place, and puts what it returns into the identifier's kubeconfig Secret,
refreshed before it expires.

The protocol is client-go's (k8s.io/client-go v0.36.3 ``plugin/pkg/client/auth/exec/exec.go``):
the plugin runs with the configured ``args`` and ``env`` added to the operator's environment, and
``KUBERNETES_EXEC_INFO`` holding an ExecCredential whose ``spec.interactive`` is false and, when the
provider sets ``provideClusterInfo``, whose ``spec.cluster`` describes the cluster (server, CA and
the ``client.authentication.k8s.io/exec`` extension as ``config``). It prints an ExecCredential of
the same apiVersion with ``status.token``, or ``status.clientCertificateData`` and
``status.clientKeyData``, and optionally ``status.expirationTimestamp``.

Nothing here logs a credential; errors name the provider and what was wrong, never the output.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXEC_INFO_ENV = "KUBERNETES_EXEC_INFO"
EXEC_EXTENSION = "client.authentication.k8s.io/exec"
API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
PLUGIN_TIMEOUT_S = 60.0
"""Longest a plugin may run before it counts as failed."""
REFRESH_FRACTION = 0.8
"""A credential is fetched again once this share of its lifetime has passed (client-go waits for
expiry; a Secret read by another component needs the new one before the old one ends)."""
REFRESH_WITHOUT_EXPIRY_S = 3600.0
"""A credential that states no expiry is fetched again this often (seconds)."""


class CredentialError(RuntimeError):
    """The plugin could not give a credential; the message is safe to log (it quotes no output)."""


@dataclass(frozen=True)
class Credential:
    """What a plugin returned: a bearer token, or a client certificate and key (PEM)."""

    token: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    expires: dt.datetime | None = None

    def refresh_at(self, issued: dt.datetime) -> dt.datetime:
        """When to run the plugin again: 80 % into the lifetime, or an hour on when none is stated."""
        if self.expires is None:
            return issued + dt.timedelta(seconds=REFRESH_WITHOUT_EXPIRY_S)
        lifetime = max((self.expires - issued).total_seconds(), 0.0)
        return issued + dt.timedelta(seconds=lifetime * REFRESH_FRACTION)


def _only(kubeconfig: Mapping[str, Any], section: str, key: str) -> dict[str, Any]:
    entries = kubeconfig.get(section) or []
    if len(entries) != 1 or not isinstance(entries[0].get(key), dict):
        raise CredentialError(f"the imported kubeconfig needs exactly one {section[:-1]}")
    found: dict[str, Any] = entries[0][key]
    return found


def exec_config_of(kubeconfig: Mapping[str, Any]) -> dict[str, Any]:
    """The exec plugin configuration of the (one) user of an imported kubeconfig."""
    user = _only(kubeconfig, "users", "user")
    exec_config = user.get("exec")
    if not isinstance(exec_config, dict) or not exec_config.get("command"):
        raise CredentialError("the imported kubeconfig's user has no exec plugin with a command")
    return exec_config


def cluster_info(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.cluster`` of the ExecCredential a plugin receives (client-go's clientauthentication Cluster)."""
    info: dict[str, Any] = {"server": cluster.get("server")}
    for key in ("tls-server-name", "insecure-skip-tls-verify", "certificate-authority-data", "proxy-url"):
        if cluster.get(key):
            info[key] = cluster[key]
    for extension in cluster.get("extensions") or ():
        if isinstance(extension, dict) and extension.get("name") == EXEC_EXTENSION:
            info["config"] = extension.get("extension")
    return info


def exec_info(exec_config: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, Any]:
    """The ``KUBERNETES_EXEC_INFO`` document: never interactive, the cluster only when asked for."""
    spec: dict[str, Any] = {"interactive": False}
    if exec_config.get("provideClusterInfo"):
        spec["cluster"] = cluster_info(cluster)
    return {"apiVersion": exec_config.get("apiVersion"), "kind": "ExecCredential", "spec": spec}


def plugin_environment(exec_config: Mapping[str, Any], cluster: Mapping[str, Any]) -> dict[str, str]:
    """The variables a plugin runs with beyond the operator's own: its ``env`` and the exec info."""
    env = {str(e["name"]): str(e.get("value", "")) for e in exec_config.get("env") or () if e.get("name")}
    env[EXEC_INFO_ENV] = json.dumps(exec_info(exec_config, cluster))
    return env


def parse_credential(output: bytes, api_version: str, provider: str) -> Credential:
    """Read a plugin's stdout; raises CredentialError saying what is missing (never quoting it)."""
    try:
        doc = json.loads(output)
    except ValueError:
        raise CredentialError(f"the {provider} plugin printed no JSON ExecCredential") from None
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
        raise CredentialError(f"the {provider} plugin printed no ExecCredential")
    if doc.get("apiVersion") != api_version:
        raise CredentialError(
            f"the {provider} plugin answered apiVersion {doc.get('apiVersion')!r}, configured {api_version!r}"
        )
    status = doc.get("status") or {}
    expires = None
    if status.get("expirationTimestamp"):
        try:
            expires = dt.datetime.fromisoformat(str(status["expirationTimestamp"]).replace("Z", "+00:00"))
        except ValueError:
            raise CredentialError(f"the {provider} plugin's expirationTimestamp is not RFC 3339") from None
    token = status.get("token") or None
    cert, key = status.get("clientCertificateData") or None, status.get("clientKeyData") or None
    if token:
        return Credential(token=str(token), expires=expires)
    if cert and key:
        return Credential(client_certificate=str(cert), client_key=str(key), expires=expires)
    raise CredentialError(
        f"the {provider} plugin's ExecCredential has neither status.token nor a client certificate and key"
    )


def with_credential(kubeconfig: Mapping[str, Any], credential: Credential) -> dict[str, Any]:
    """The imported kubeconfig with its exec user replaced by the credential (what the Secret holds)."""
    resolved = copy.deepcopy(dict(kubeconfig))
    user: dict[str, Any]
    if credential.token is not None:
        user = {"token": credential.token}
    else:
        assert credential.client_certificate is not None
        assert credential.client_key is not None
        user = {
            "client-certificate-data": base64.b64encode(credential.client_certificate.encode()).decode(),
            "client-key-data": base64.b64encode(credential.client_key.encode()).decode(),
        }
    resolved["users"] = [{"name": resolved["users"][0]["name"], "user": user}]
    for entry in resolved.get("clusters") or ():
        entry["cluster"] = {k: v for k, v in entry["cluster"].items() if k != "extensions"}
    return resolved


async def run_plugin(kubeconfig: Mapping[str, Any], provider: str, timeout_s: float = PLUGIN_TIMEOUT_S) -> Credential:
    """Run the exec plugin of an imported kubeconfig once and return its credential."""
    exec_config = exec_config_of(kubeconfig)
    api_version = str(exec_config.get("apiVersion") or "")
    if api_version not in API_VERSIONS:
        raise CredentialError(f"the {provider} plugin's apiVersion {api_version!r} is not one of {list(API_VERSIONS)}")
    cluster = _only(kubeconfig, "clusters", "cluster")
    env = {**os.environ, **plugin_environment(exec_config, cluster)}
    try:
        process = await asyncio.create_subprocess_exec(
            str(exec_config["command"]),
            *(str(a) for a in exec_config.get("args") or ()),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as e:
        hint = exec_config.get("installHint")
        raise CredentialError(
            f"the {provider} plugin {exec_config['command']!r} cannot run: {e.strerror}{f' ({hint})' if hint else ''}"
        ) from None
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise CredentialError(f"the {provider} plugin did not answer within {timeout_s:.0f} s") from None
    if process.returncode != 0:
        raise CredentialError(f"the {provider} plugin exited with code {process.returncode}")
    return parse_credential(stdout, api_version, provider)
