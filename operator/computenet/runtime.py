"""Everything the operator holds in memory while it runs, created at startup and shared by handlers.

kopf handlers are thin: they find the Runtime in kopf's memo and call into it. The Runtime owns
the hub client, the member connections, the Secret watch, the tracked identifiers and the
metrics, and it is the one place that knows how they are wired together.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from kubernetes.aio.client.exceptions import ApiException
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from computenet.api.constants import WORKLOAD_KIND
from computenet.api.pool import ComputePoolSpec
from computenet.api.workload_kind import declared_kind
from computenet.events import EventRecorder
from computenet.hub import Hub, connect
from computenet.inventory.facts import facts_of
from computenet.inventory.hub_profiles import HubProfiles
from computenet.inventory.imported import load_provider_file
from computenet.inventory.importer import ProfileImporter
from computenet.inventory.profile import IdentifierFacts
from computenet.inventory.publisher import ProfilePublisher
from computenet.logs.auth import Gate
from computenet.logs.live_snapshot import live_snapshot
from computenet.logs.server import Endpoint, serve
from computenet.logs.tls import endpoint_context
from computenet.members.identifiers import IdentifierSet
from computenet.members.pull_feed import PullFeed
from computenet.members.pull_registration import Registrar
from computenet.members.reflector import Reflector
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache, secret_data
from computenet.metric_views import identifier_views, pool_views
from computenet.metrics import Metrics
from computenet.settings import Settings
from computenet.statuses.identifiers import IdentifierStatusWriter
from computenet.statuses.pools import PoolStatusWriter
from computenet.tasks.access import MemberAccess
from computenet.tasks.service import TaskService
from computenet.workloads.kinds import declare

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    hub: Hub
    registry: MemberRegistry
    secrets: SecretCache
    identifiers: IdentifierSet
    metrics: Metrics
    tasks: TaskService
    events: EventRecorder
    pool_statuses: PoolStatusWriter
    pools: dict[str, ComputePoolSpec] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _metrics_runner: web.AppRunner | None = None
    _endpoint_runner: web.AppRunner | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        hub = Hub(await connect(settings.kubeconfig))
        registry = MemberRegistry()
        secrets = SecretCache()
        identifiers = IdentifierSet(registry, secrets, settings.namespace)
        metrics = Metrics.create()
        registry.pull = PullFeed(hub.client, settings.hub_id, on_report=metrics.agent_report_delay.observe)
        events = EventRecorder(hub.client)
        pools: dict[str, ComputePoolSpec] = {}
        tasks = TaskService(
            hub,
            identifiers,
            metrics,
            settings.hub_id,
            pools.get,
            events,
            sweep_interval_s=settings.sweep_interval_s,
            namespace=settings.namespace,
            image=settings.image,
        )
        writer = tasks.book.writer  # the one status writer of the hub, for every kind
        pool_statuses = PoolStatusWriter(
            identifiers,
            tasks.counts,
            writer,
            events,
            coalesce_s=settings.status_coalesce_s,
            refresh_s=settings.identifier_status_refresh_s,
            recheck_s=settings.heartbeat_refresh_s,
        )
        runtime = cls(
            settings=settings,
            hub=hub,
            registry=registry,
            secrets=secrets,
            identifiers=identifiers,
            metrics=metrics,
            tasks=tasks,
            events=events,
            pool_statuses=pool_statuses,
            pools=pools,
        )
        metrics.sources.identifiers = lambda: identifier_views(identifiers)
        metrics.sources.pools = lambda: pool_views(pools, identifiers)
        await _declare_kinds(hub)
        runtime.tasks.start()
        secret_watch = Reflector(
            f"hub secrets in {settings.namespace}",
            hub.secret_lister(settings.namespace),
            secret_data,
            secrets,
        )
        runtime._tasks.append(asyncio.create_task(secret_watch.run(), name="hub secret watch"))
        status_writer = IdentifierStatusWriter(
            identifiers,
            writer,
            events,
            coalesce_s=settings.status_coalesce_s,
            writes_per_s=settings.identifier_status_writes_per_s,
            refresh_s=settings.identifier_status_refresh_s,
        )
        runtime._tasks.append(asyncio.create_task(status_writer.run(), name="identifier status"))
        runtime._tasks.append(asyncio.create_task(pool_statuses.run(), name="pool status"))
        runtime._tasks.append(asyncio.create_task(Registrar(hub.client).run(), name="agent registration"))
        if settings.cluster_profiles:
            runtime._tasks.append(asyncio.create_task(runtime._profile_publisher().run(), name="ClusterProfiles"))
        if settings.cluster_profile_provider_file:
            runtime._tasks.append(asyncio.create_task(runtime._profile_importer().run(), name="ClusterProfile import"))
        await runtime._serve_metrics()
        await runtime.serve_endpoint()
        return runtime

    def _profile_publisher(self) -> ProfilePublisher:
        """The Cluster Inventory API publisher (computenet.inventory), reading the tracked identifiers."""
        namespace = self.settings.cluster_profile_namespace or self.settings.namespace
        identifiers = self.identifiers

        def facts() -> Iterator[IdentifierFacts]:
            for item in list(identifiers.items.values()):
                found = facts_of(item)
                if found is not None:
                    yield found

        hub = HubProfiles(self.hub.client, namespace)
        return ProfilePublisher(hub, facts, identifiers.changed, self.settings.cluster_manager_name)

    def _profile_importer(self) -> ProfileImporter:
        """Another manager's ClusterProfiles as identifiers (computenet.inventory.importer)."""
        s = self.settings
        providers = load_provider_file(Path(s.cluster_profile_provider_file).read_text())
        return ProfileImporter.create(
            self.hub.client,
            source_namespace=s.cluster_profile_import_namespace or s.cluster_profile_namespace or s.namespace,
            operator_namespace=s.namespace,
            manager=s.cluster_manager_name,
            providers=providers,
        )

    async def _serve_metrics(self) -> None:
        async def metrics(_: web.Request) -> web.Response:
            body = generate_latest(self.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", self.settings.metrics_port).start()
        self._metrics_runner = runner
        logger.info("serving metrics on :%d/metrics", self.settings.metrics_port)

    async def serve_endpoint(self) -> None:
        """The HTTPS logs and snapshot endpoint (computenet.logs), when TLS is configured."""
        context = await endpoint_context(self.settings, self.hub.client)
        if context is None:
            logger.info("logs and snapshot endpoint off: set --endpoint-tls-secret, or the cert and key files")
            return
        endpoint = Endpoint(
            Gate(self.hub.client),
            self.tasks.book,
            MemberAccess(self.identifiers),
            lambda: live_snapshot(self.identifiers, self.tasks.view.assumptions, self.pools),
        )
        self._endpoint_runner = await serve(endpoint, self.settings.endpoint_port, context)

    def pool_changed(self, name: str, spec: ComputePoolSpec | None) -> None:
        """A pool's spec, new or changed (None: invalid or deleted): placement uses it from now on."""
        if spec is None:
            self.pools.pop(name, None)
        else:
            self.pools[name] = spec
        self.tasks.book.wake.fire()

    async def stop(self) -> None:
        await self.tasks.close()
        await self.events.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
        if self._endpoint_runner is not None:
            await self._endpoint_runner.cleanup()
        await self.registry.close()
        await self.hub.close()


DECLARE_KINDS_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
"""Waits between tries to list the hub's ComputeWorkloadKinds at start (the last one repeats)."""


def transient_hub_answer(status: int | None) -> bool:
    """Whether a hub's answer to a list passes by itself: no answer, 429 or 5xx.

    A kube-apiserver answers 429 while a new CRD's watch cache initializes (k8s.io/apiserver
    v0.36.3 pkg/storage/cacher/cacher.go, ``NewTooManyRequests`` with "storage is (re)initializing")
    and under API Priority and Fairness; 401 and 403 are its setup and do not change by waiting.
    """
    return status is None or status == 429 or status >= 500


async def _declare_kinds(hub: Hub, backoff_s: tuple[float, ...] = DECLARE_KINDS_BACKOFF_S) -> None:
    """Declare the hub's valid ComputeWorkloadKinds before the first task is read.

    A task of a declared kind read before its declaration would be refused as of an unsupported
    kind; the ComputeWorkloadKind handlers (computenet.handlers.workload_kinds) keep the
    declarations current from then on. A transient answer (:func:`transient_hub_answer`) is tried
    again after ``backoff_s`` (seconds, the last repeating) until the hub answers: tasks cannot be
    read from a hub that does not answer either. A hub the operator may not list them on starts
    without them.
    """
    for attempt in itertools.count():
        try:
            declarations = await hub.list_cluster(WORKLOAD_KIND)
            break
        except ApiException as e:
            status: int | None = e.status
            error = f"({e.status}) {e.reason}"
        except (aiohttp.ClientError, TimeoutError) as e:
            status, error = None, f"{type(e).__name__}: {e}"
        if not transient_hub_answer(status):
            logger.warning("could not list ComputeWorkloadKinds at start, going on without them: %s", error)
            return
        delay = backoff_s[min(attempt, len(backoff_s) - 1)]
        logger.info("could not list ComputeWorkloadKinds at start yet (%s): trying again in %.1fs", error, delay)
        await asyncio.sleep(delay)
    for body in declarations:
        kind, _ = declared_kind(body.get("spec") or {})
        if kind is not None:
            declare(kind)
