"""Reaching the operator's HTTPS endpoint (logs, snapshot) with the user's hub token.

Two ways, both TLS-verified:
- direct, ``--endpoint https://host:port`` (or ``$COMPUTENET_ENDPOINT``) with ``--ca-file`` (or
  ``$COMPUTENET_CA_FILE``) naming the CA that signed the endpoint's certificate; for a local
  federation, where the operator runs as a process on loopback;
- through the hub's service proxy (the default): ``/api/v1/namespaces/<ns>/services/
  https:computenet-logs:443/proxy/...`` with the kubeconfig's own TLS and credentials. The hub
  strips ``Authorization`` after authenticating the request (apiserver v0.36.3,
  ``pkg/endpoints/filters/authentication.go``), so the token also travels as
  ``X-Computenet-Authorization``; the user needs ``get`` on ``services/proxy`` for that Service.

The token is the kubeconfig user's bearer token; a user who authenticates with a client
certificate has none to present, and is told so.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode

import urllib3

from computenet.cli.errors import CliError
from computenet.cli.hub import Hub

SERVICE = "computenet-logs"
SERVICE_PORT = 443
DEFAULT_OPERATOR_NAMESPACE = "computenet-system"
TOKEN_HEADER = "X-Computenet-Authorization"
CHUNK = 4096


@dataclass
class Endpoint:
    hub: Hub
    url: str | None
    ca_file: str | None
    operator_namespace: str

    @classmethod
    def of(cls, hub: Hub, url: str | None, ca_file: str | None, operator_namespace: str | None) -> Endpoint:
        return cls(
            hub,
            url or os.environ.get("COMPUTENET_ENDPOINT") or None,
            ca_file or os.environ.get("COMPUTENET_CA_FILE") or None,
            operator_namespace or os.environ.get("COMPUTENET_OPERATOR_NAMESPACE") or DEFAULT_OPERATOR_NAMESPACE,
        )

    def _token(self) -> str:
        token = self.hub.token
        if not token:
            raise CliError(
                "the kubeconfig's user has no bearer token to present to the operator "
                "(a client certificate cannot be forwarded): use a token user, such as OIDC or a ServiceAccount"
            )
        return token

    def open(self, path: str, query: dict[str, str] | None = None, timeout: float | None = 60.0) -> Any:
        """GET `path`; the streaming urllib3 response on 200, a `CliError` with the endpoint's message otherwise."""
        token = self._token()
        suffix = f"{path}?{urlencode(query)}" if query else path
        headers = {"Authorization": f"Bearer {token}", TOKEN_HEADER: f"Bearer {token}"}
        try:
            if self.url:
                pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=self.ca_file)
                response = pool.request(
                    "GET",
                    self.url.rstrip("/") + suffix,
                    headers=headers,
                    preload_content=False,
                    timeout=urllib3.Timeout(connect=10.0, read=timeout),
                    retries=False,
                )
            else:
                response = self._through_hub(suffix, {TOKEN_HEADER: headers[TOKEN_HEADER]}, timeout)
        except urllib3.exceptions.SSLError as e:
            raise CliError(f"TLS verification of the operator's endpoint failed: {e}") from e
        except urllib3.exceptions.HTTPError as e:
            raise CliError(f"the operator's endpoint cannot be reached: {e}") from e
        if response.status != 200:
            raise CliError(_message(response))
        return response

    def _through_hub(self, suffix: str, headers: dict[str, str], timeout: float | None) -> Any:
        api = self.hub.api
        path = f"/api/v1/namespaces/{self.operator_namespace}/services/https:{SERVICE}:{SERVICE_PORT}/proxy{suffix}"
        method, url, header_params, _, _ = api.param_serialize(
            "GET", path, header_params=dict(headers), auth_settings=["BearerToken"]
        )
        result = api.call_api(method, url, header_params=header_params, _request_timeout=timeout)
        return result.response

    def json(self, path: str) -> Any:
        response = self.open(path)
        try:
            return json.loads(response.read())
        finally:
            response.release_conn()

    def stream(self, path: str, query: dict[str, str], follow: bool) -> Iterator[bytes]:
        response = self.open(path, query, timeout=None if follow else 60.0)
        try:
            yield from cast(Iterator[bytes], response.stream(CHUNK, decode_content=True))
        finally:
            response.release_conn()


def _message(response: Any) -> str:
    """One line for a refusal: the operator answers ``{"message"}``, the hub's proxy a ``Status``."""
    raw = response.read()
    who = "the operator"
    try:
        body = json.loads(raw)
        message = str(body.get("message") or "")
        if body.get("kind") == "Status":
            who = "the hub"
    except (ValueError, AttributeError):
        message = raw.decode("utf-8", "replace").strip()
    return f"{who} answered HTTP {response.status}: {message or response.reason}"
