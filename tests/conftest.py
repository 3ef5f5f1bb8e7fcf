"""Session fixtures: the local federation (a real hub and members) for tests marked `cluster`.

A test is marked `cluster` by what it uses, wherever it lives: any of the fixtures below that
start or reach the federation (`CLUSTER_FIXTURES`), or an explicit `@pytest.mark.cluster` on a
test that starts control planes itself. Everything else (the chart rendered by helm, the values
schema, the dashboards, the wheel) runs with `-m "not cluster"`, and such a run never starts a
federation. Set COMPUTENET_FEDERATION_DIR to a running `make dev-up` state directory to reuse it
instead of starting a fresh one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes.aio import config as aio_config
from kubernetes.aio.client import ApiClient

from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation
from computenet.testing.processes import Supervisor
from computenet.testing.stores import Store, start_stores
from computenet.testing.topology import default_shape
from support.settings import OPERATOR_ENV

TEST_MEMBERS = 3
CLUSTER_FIXTURES = frozenset({"federation", "hub", "member", "hub_api", "member_apis", "operator", "stores"})
"""The fixtures of this module that start or reach the federation (or, like `stores`, run the pinned
binaries it is built with): a test using any of them, directly or through another fixture, needs a cluster."""


def _uses_the_federation(item: pytest.Item) -> bool:
    """Whether the test's fixture closure holds one of `CLUSTER_FIXTURES` as defined here: a test
    module's own fixture of the same name (a fake member served on loopback, say) does not count."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in CLUSTER_FIXTURES.intersection(info.names_closure):
        definitions = info.name2fixturedefs.get(name, ())
        if definitions and Path(definitions[-1].func.__code__.co_filename) == Path(__file__):
            return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _uses_the_federation(item):
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="session")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    existing = os.environ.get("COMPUTENET_FEDERATION_DIR")
    if existing:
        fed = Federation.attach(Path(existing))
        yield fed
        fed.supervisor.disown()
        return
    fed = Federation.start(tmp_path_factory.mktemp("federation"), members=TEST_MEMBERS)
    try:
        yield fed
    finally:
        fed.stop()


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    """One real S3-compatible store (SeaweedFS) per test member's region, by region; opt-in, apart
    from the federation, so tests that do not move bytes start no store."""
    state = tmp_path_factory.mktemp("stores")
    supervisor = Supervisor(state)
    try:
        regions = [default_shape(i).region for i in range(1, TEST_MEMBERS + 1)]
        yield {s.region: s for s in start_stores(supervisor, state, regions)}
    finally:
        supervisor.stop_all()


@pytest.fixture(scope="session")
def hub(federation: Federation) -> Cluster:
    return federation.hub


@pytest.fixture(scope="session")
def member(federation: Federation) -> Cluster:
    return federation.members[0]


async def _client(cluster: Cluster) -> ApiClient:
    return await aio_config.new_client_from_config(config_file=str(cluster.kubeconfig))


@pytest.fixture(scope="session")
async def hub_api(hub: Cluster) -> AsyncIterator[ApiClient]:
    client = await _client(hub)
    async with client:
        yield client


@pytest.fixture(scope="session")
async def member_apis(federation: Federation) -> AsyncIterator[dict[str, ApiClient]]:
    clients = {m.name: await _client(m) for m in federation.members}
    try:
        yield clients
    finally:
        for c in clients.values():
            await c.close()


@pytest.fixture(scope="session")
def operator(federation: Federation) -> Iterator[devenv.OperatorProcess]:
    """The operator as a real process on the federation, with CRDs installed and members registered."""
    shapes = [default_shape(i) for i in range(1, len(federation.members) + 1)]
    devenv.install_crds(federation.hub)
    devenv.register_members(federation, shapes)
    if devenv.OPERATOR in federation.supervisor.names():
        federation.supervisor.stop(devenv.OPERATOR)
    process = devenv.start_operator(federation, OPERATOR_ENV)
    try:
        yield process
    finally:
        if devenv.OPERATOR in federation.supervisor.names():
            devenv.stop_operator(federation)
