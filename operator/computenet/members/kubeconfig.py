"""Turn the kubeconfig held in a Secret into a client, refusing what we will not use.

Errors here end up in conditions and events on the ComputeIdentifier, so their messages describe
what is wrong with the kubeconfig's shape and never quote its content: a kubeconfig carries
tokens and private keys.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml
from kubernetes.aio import config as aio_config
from kubernetes.aio.client import ApiClient


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message is safe to show."""


def fingerprint(text: str) -> str:
    """A stable key for connection sharing: identifiers with the same kubeconfig share one."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse(text: str) -> dict[str, Any]:
    """Parse and check a kubeconfig: one current context, a server, TLS verification on."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigError("is not valid YAML") from None
    if not isinstance(raw, dict):
        raise KubeconfigError("is not a kubeconfig (expected a mapping with clusters, users and contexts)")
    contexts = {c.get("name"): c.get("context") or {} for c in raw.get("contexts") or [] if isinstance(c, dict)}
    current = raw.get("current-context") or (next(iter(contexts)) if len(contexts) == 1 else None)
    if not current or current not in contexts:
        raise KubeconfigError("has no usable current-context")
    cluster_name = contexts[current].get("cluster")
    clusters = {c.get("name"): c.get("cluster") or {} for c in raw.get("clusters") or [] if isinstance(c, dict)}
    cluster = clusters.get(cluster_name)
    if cluster is None:
        raise KubeconfigError(f"context {current!r} names cluster {cluster_name!r}, which is not defined")
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise KubeconfigError(f"cluster {cluster_name!r} needs an https:// server address")
    if cluster.get("insecure-skip-tls-verify"):
        raise KubeconfigError(
            f"cluster {cluster_name!r} sets insecure-skip-tls-verify; TLS to members is always verified"
        )
    if any(isinstance(u, dict) and (u.get("user") or {}).get("exec") for u in raw.get("users") or []):
        raise KubeconfigError("uses an exec credential plugin, which the operator does not run")
    raw["current-context"] = current
    return raw


async def client_from(text: str) -> ApiClient:
    """An async client for the member described by a kubeconfig (checked by `parse`)."""
    raw = parse(text)
    try:
        client: ApiClient = await aio_config.new_client_from_config_dict(raw)
    except Exception as e:  # the loader's own errors may quote fields; keep only their kind
        raise KubeconfigError(f"cannot be loaded ({type(e).__name__})") from None
    # Member requests are small and frequent; keep the connection pool modest and bounded.
    limit_connections(client, 16)
    return client


def limit_connections(client: ApiClient, limit: int) -> None:
    """Cap a client's connection pool (each idle TLS connection holds a 256 KiB read buffer).

    The REST client reads the limit when it is built, so both places are set; the pool itself is
    created on the first request.
    """
    client.configuration.connection_pool_maxsize = limit
    client.rest_client.maxsize = limit


def server_of(text: str) -> str:
    """The API server address of a (parsed, valid) kubeconfig, for messages and metrics."""
    raw = parse(text)
    ctx = next(c["context"] for c in raw["contexts"] if c["name"] == raw["current-context"])
    cluster = next(c["cluster"] for c in raw["clusters"] if c["name"] == ctx["cluster"])
    return str(cluster["server"])
