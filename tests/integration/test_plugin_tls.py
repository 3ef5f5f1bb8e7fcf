"""The endpoint's certificate read from a kubernetes.io/tls Secret on the real hub."""

from __future__ import annotations

import base64
import os
import ssl
import stat
from pathlib import Path

import pytest
from kubernetes.aio.client import ApiClient, CoreV1Api, V1ObjectMeta, V1Secret

from computenet.logs.tls import TlsSecretError, endpoint_context, secret_files
from computenet.settings import Settings
from computenet.testing import pki
from computenet.testing.federation import Cluster
from support.tasks import unique

NAMESPACE = "default"


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def _secret(api: ApiClient, name: str, data: dict[str, bytes]) -> None:
    body = V1Secret(
        metadata=V1ObjectMeta(name=name, namespace=NAMESPACE),
        type="Opaque",
        data={k: base64.b64encode(v).decode() for k, v in data.items()},
    )
    await CoreV1Api(api).create_namespaced_secret(NAMESPACE, body)


async def test_the_certificate_comes_from_the_secret_into_private_files(hub: Cluster, hub_api: ApiClient) -> None:
    serving = pki.CertificateAuthority("endpoint-ca").serving("127.0.0.1")
    name = unique("endpoint-tls")
    await _secret(hub_api, name, {"tls.crt": serving.cert_pem, "tls.key": serving.key_pem})
    try:
        cert, key = await secret_files(hub_api, NAMESPACE, name)
        assert _read(cert) == serving.cert_pem
        assert _mode(key) == 0o600
        context = await endpoint_context(Settings(namespace=NAMESPACE, endpoint_tls_secret=name), hub_api)
        assert isinstance(context, ssl.SSLContext)
        assert await endpoint_context(Settings(namespace=NAMESPACE), hub_api) is None  # off without TLS
    finally:
        await CoreV1Api(hub_api).delete_namespaced_secret(name, NAMESPACE)


async def test_a_secret_without_a_key_is_refused_by_name(hub: Cluster, hub_api: ApiClient) -> None:
    name = unique("endpoint-tls")
    await _secret(hub_api, name, {"tls.crt": b"x"})
    try:
        with pytest.raises(TlsSecretError, match=f"Secret {NAMESPACE}/{name} has no tls.key"):
            await secret_files(hub_api, NAMESPACE, name)
    finally:
        await CoreV1Api(hub_api).delete_namespaced_secret(name, NAMESPACE)
