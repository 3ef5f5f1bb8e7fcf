"""Turn the kubeconfig held in a Secret into a client, refusing what we will not use.

Errors here end up in conditions and events on the ComputeIdentifier, so their messages describe
what is wrong with the kubeconfig's shape and never quote its content: a kubeconfig carries
tokens and private keys.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
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
    """Cap a client's connection pool and resolve its proxy once, from the environment.

    The pool: each idle TLS connection holds a 256 KiB read buffer. The REST client reads the limit
    when it is built, so both places are set; the pool itself is created on the first request.

    The proxy: the REST client builds its aiohttp session with ``trust_env=True``, and aiohttp then
    reads ``~/.netrc`` in a worker thread on every request that carries no ``auth=`` (aiohttp 3.x,
    ``ClientSession._request``), which was 8% of the operator's CPU in a burst of 1,000 tasks
    (``bench/bench_dispatch.py``). Our requests authenticate with client certificates or bearer
    tokens, so netrc never applies; the other thing ``trust_env`` gives, a proxy from
    ``HTTPS_PROXY``/``HTTP_PROXY`` that ``NO_PROXY`` does not exempt, is resolved here once for the
    client's server by urllib's rules (:func:`proxy_for`) and set on the client, with
    ``trust_env`` off.
    """
    client.configuration.connection_pool_maxsize = limit
    client.rest_client.maxsize = limit
    extra = dict(getattr(client.configuration, "client_session_kwargs", None) or {})
    extra["trust_env"] = False
    client.configuration.client_session_kwargs = extra
    proxy = client.configuration.proxy or proxy_for(client.configuration.host)
    client.configuration.proxy = proxy
    client.rest_client.proxy = proxy


def proxy_for(server: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy the environment names for `server` (an ``https://host:port`` address), or None.

    urllib's own rules: ``https_proxy`` (any case) for an https server, ``http_proxy`` for http,
    none when ``no_proxy`` matches the host (``urllib.request.proxy_bypass_environment``).
    """
    env = os.environ if environ is None else environ
    proxies = {
        k[:-6].lower(): v for k, v in env.items() if k.lower().endswith("_proxy") and v and k.lower() != "no_proxy"
    }
    no_proxy = next((v for k, v in env.items() if k.lower() == "no_proxy"), "")
    parts = urllib.parse.urlsplit(server)
    if not parts.hostname:
        return None
    bypass: Callable[[str, dict[str, str]], bool] = getattr(urllib.request, "proxy_bypass_environment")  # noqa: B009
    if no_proxy and bypass(parts.hostname, {"no": no_proxy}):  # public in CPython, absent from typeshed
        return None
    return proxies.get(parts.scheme or "https")


def server_of(text: str) -> str:
    """The API server address of a (parsed, valid) kubeconfig, for messages and metrics."""
    raw = parse(text)
    ctx = next(c["context"] for c in raw["contexts"] if c["name"] == raw["current-context"])
    cluster = next(c["cluster"] for c in raw["clusters"] if c["name"] == ctx["cluster"])
    return str(cluster["server"])
