"""The endpoint's serving certificate: from files, or from a kubernetes.io/tls Secret on the hub.

In a cluster the certificate usually lives in a Secret (cert-manager writes one) in the operator's
own namespace, which the operator may already read; naming it (``--endpoint-tls-secret``) is all the
chart needs. Its ``tls.crt`` and ``tls.key`` are written to a private temporary directory for the
TLS library, and never logged. Files (``--endpoint-cert-file``, ``--endpoint-key-file``) serve a
process run outside a cluster, such as the local federation's operator.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from pathlib import Path

from kubernetes.aio.client import ApiClient, CoreV1Api

from computenet.logs.server import tls_context
from computenet.settings import Settings

CERT_KEY, KEY_KEY = "tls.crt", "tls.key"


class TlsSecretError(ValueError):
    """The named Secret lacks a certificate or key."""


async def secret_files(client: ApiClient, namespace: str, name: str) -> tuple[str, str]:
    """Write the Secret's certificate and key to a private directory; returns (cert file, key file)."""
    secret = await CoreV1Api(client).read_namespaced_secret(name, namespace)
    data = secret.data or {}
    missing = [k for k in (CERT_KEY, KEY_KEY) if not data.get(k)]
    if missing:
        raise TlsSecretError(f"Secret {namespace}/{name} has no {' or '.join(missing)}: it must be a kubernetes.io/tls")
    directory = Path(tempfile.mkdtemp(prefix="computenet-endpoint-"))
    paths = []
    for key in (CERT_KEY, KEY_KEY):
        path = directory / key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64decode(data[key]))
        paths.append(str(path))
    return paths[0], paths[1]


async def endpoint_context(settings: Settings, client: ApiClient) -> ssl.SSLContext | None:
    """The endpoint's TLS context from the Secret or the files; None when neither is configured."""
    if settings.endpoint_tls_secret:
        cert, key = await secret_files(client, settings.namespace, settings.endpoint_tls_secret)
        return tls_context(cert, key)
    if settings.endpoint_cert_file and settings.endpoint_key_file:
        return tls_context(settings.endpoint_cert_file, settings.endpoint_key_file)
    return None
