"""Status writes keep their TLS connection to the hub.

aiohttp closes a connection whose answer was released unread, so a writer that skips the hub's
answer (the whole object, which nothing reads) would open a new TLS connection for many of its
writes: a handshake on both sides each time. Against the real hub API server, with an answer long
enough to arrive in several reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from computenet.api.constants import DATASET
from computenet.hub import Hub, connect
from computenet.testing.federation import Cluster

ROOT = Path(__file__).resolve().parents[2]
WRITES = 40
NAME = "connection-reuse"


@pytest.fixture(scope="module")
def dataset(hub: Cluster) -> str:
    hub.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    hub.kubectl("wait", "--for=condition=Established", f"crd/{DATASET.crd_name}", "--timeout=60s")
    replicas = [{"region": f"r-{i:02d}", "uri": f"s3://store-{i:02d}/datasets/x.bin", "size": "1Gi"} for i in range(64)]
    body = {"apiVersion": "computenet.io/v1alpha1", "kind": "ComputeDataset", "metadata": {"name": NAME}}
    body["spec"] = {"replicas": replicas}
    hub.kubectl("apply", "-n", "default", "-f", "-", input=json.dumps(body))
    return NAME


def status(write: int) -> dict[str, Any]:
    """A status of 64 replicas with long messages: an answer of about 100 KB."""
    replicas = [
        {"region": f"r-{i:02d}", "state": "Failed", "message": f"write {write}: " + "the store did not answer " * 30}
        for i in range(64)
    ]
    return {"observedGeneration": 1, "replicas": replicas}


async def test_status_writes_reuse_their_connection(hub: Cluster, dataset: str) -> None:
    opened: list[object] = []

    async def on_open(_session: object, _context: object, params: aiohttp.TraceConnectionCreateEndParams) -> None:
        opened.append(params)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_open)
    client = await connect(str(hub.kubeconfig))
    client.configuration.trace_configs = [trace]  # read when the pool is created, on the first request
    async with client:
        writer = Hub(client)
        for write in range(WRITES):
            await writer.replace_status(DATASET, dataset, status(write), namespace="default")
    assert len(opened) == 1, f"{len(opened)} connections opened for {WRITES} sequential status writes"
    written = json.loads(hub.kubectl("get", DATASET.plural, dataset, "-n", "default", "-o", "json").stdout)
    assert written["status"]["replicas"][0]["message"].startswith(f"write {WRITES - 1}: ")
