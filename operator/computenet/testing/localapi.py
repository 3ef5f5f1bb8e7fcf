"""A minimal, synchronous, TLS-verifying REST client for bootstrapping local clusters.

The launcher must create nodes and wait for readiness before any test client exists, and must
not depend on the code under test; plain `http.client` over a verified TLS context does that.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {body[:500]}")


@dataclass(frozen=True)
class LocalApi:
    """Talks to one kube-apiserver as the admin, with the cluster's own CA."""

    host: str
    port: int
    ca_file: Path
    cert_file: Path
    key_file: Path

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx

    def request(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self._context(), timeout=timeout)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json", "Accept": "application/json"}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            data = resp.read().decode()
            if resp.status >= 300:
                raise ApiError(resp.status, data)
            return json.loads(data) if data and data.lstrip().startswith("{") else data
        finally:
            conn.close()

    def ready(self) -> bool:
        """True when /readyz answers ok; any connection error means not yet."""
        try:
            return bool(self.request("GET", "/readyz", timeout=2.0) == "ok")
        except (OSError, ApiError, ssl.SSLError):
            return False
