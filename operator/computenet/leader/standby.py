"""What a standby replica serves while it waits for the Lease: health, and `computenet_leader 0`.

The standby runs none of the operator's work, but Kubernetes still probes it and Prometheus still
scrapes it. Both endpoints close before the operator starts on the same ports (kopf's liveness
endpoint and the operator's metrics server).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from computenet.leader.gauge import leader_gauge

logger = logging.getLogger(__name__)


STARTING = "starting"
"""Alive, not yet able to take over (still loading, or has not read the Lease yet)."""
STANDBY = "standby"
"""Loaded and campaigning: takes over as soon as the Lease is free."""


def standby_app(state: Callable[[], str], health_path: str = "/healthz") -> web.Application:
    """`/healthz` always answers 200 (the process is alive) with `{"leader": false, "state": ...}`."""
    registry = CollectorRegistry(auto_describe=True)
    leader_gauge(registry).set(0)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"leader": False, "state": state()})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get(health_path, healthz)
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.asynccontextmanager
async def standby_endpoints(
    health_port: int, metrics_port: int, state: Callable[[], str] = lambda: STANDBY, host: str = "0.0.0.0"
) -> AsyncIterator[None]:
    """Serve `/healthz` on the health port and `/metrics` on the metrics port until the block ends."""
    runner = web.AppRunner(standby_app(state), access_log=None)
    await runner.setup()
    try:
        for port in dict.fromkeys((health_port, metrics_port)):
            await web.TCPSite(runner, host, port).start()
        logger.info("standing by: health on :%d/healthz, metrics on :%d/metrics", health_port, metrics_port)
        yield
    finally:
        await runner.cleanup()
