"""What staging a task's inputs takes, decided before anything moves: copies and fetches.

For a task placed in a region with a store near its compute, each input is

- fetched straight from where it is when that is already the region's store, or a dataset replica
  in the region;
- otherwise first copied into the region's store (from a dataset's nearest replica, by latency from
  the region, or from the input's own URI), then fetched from there; a dataset copied this way gains
  a replica in the region (the next task there finds it near).

The plan is pure: stores, replicas and latencies come in as values. :mod:`computenet.data.render`
turns it into the mover's commands and the pods' init containers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from computenet.data.location import parse_s3_uri

__all__ = [
    "Copy",
    "Fetch",
    "NewReplica",
    "PlannedInput",
    "Replica",
    "StagingError",
    "StagingPlan",
    "StoreRef",
    "plan_staging",
]


class StagingError(ValueError):
    """An input cannot be staged as written; the message names the input and why."""


@dataclass(frozen=True)
class StoreRef:
    """A store: its endpoint, and the Secret (name) holding its keys."""

    endpoint: str
    secret: str


@dataclass(frozen=True)
class Replica:
    """A dataset's copy in a region (its store's endpoint, when it is not the region's store)."""

    region: str
    uri: str
    endpoint: str | None = None
    checksum: str | None = None


@dataclass(frozen=True)
class PlannedInput:
    """One input of the task, resolved: its URI's store, or the dataset's replicas."""

    index: int
    mount_path: str
    uri: str | None = None
    store: StoreRef | None = None
    dataset: str | None = None
    replicas: tuple[Replica, ...] = ()
    checksum: str | None = None


@dataclass(frozen=True)
class Copy:
    """A mover run: ``source_uri`` at ``source`` to ``dest_uri`` at ``dest``."""

    source_uri: str
    source: StoreRef
    dest_uri: str
    dest: StoreRef
    checksum: str | None


@dataclass(frozen=True)
class Fetch:
    """An init step: ``uri`` at ``store`` into the task's data volume for input ``index``."""

    index: int
    uri: str
    store: StoreRef
    mount_path: str
    checksum: str | None


@dataclass(frozen=True)
class NewReplica:
    """A replica the copies add to a dataset, once they succeed."""

    dataset: str
    region: str
    uri: str
    checksum: str | None


@dataclass(frozen=True)
class StagingPlan:
    copies: tuple[Copy, ...]
    fetches: tuple[Fetch, ...]
    new_replicas: tuple[NewReplica, ...]


def _staged_uri(bucket: str, prefix: str, source_uri: str) -> str:
    """Where a copy lands in the region's bucket: under ``prefix``, keeping the source's last name."""
    loc = parse_s3_uri(source_uri)
    if loc.is_prefix:
        return f"s3://{bucket}/{prefix}/"
    return f"s3://{bucket}/{prefix}/{loc.key.rsplit('/', 1)[-1]}"


def plan_staging(
    inputs: Sequence[PlannedInput],
    region: str,
    store: StoreRef,
    bucket: str,
    region_stores: Mapping[str, StoreRef],
    latency_ms: Callable[[str, str], float],
    task: str,
) -> StagingPlan:
    """Plan the copies and fetches that bring ``inputs`` to the store (``store``, ``bucket``) of ``region``.

    ``region_stores`` are the stores of the other regions (for a replica that names no endpoint);
    ``task`` names the task's own staging area (``tasks/<task>/inputs/<index>``). A dataset lands
    under ``datasets/<dataset>``. Raises StagingError for an input that names no store, or a dataset
    whose replicas no store serves.
    """
    copies: list[Copy] = []
    fetches: list[Fetch] = []
    replicas: list[NewReplica] = []
    for item in inputs:
        if item.dataset is not None:
            here = next((r for r in item.replicas if r.region == region), None)
            if here is not None:
                fetches.append(Fetch(item.index, here.uri, _replica_store(item, here, region_stores, store, region),
                                     item.mount_path, item.checksum or here.checksum))  # fmt: skip
                continue
            if not item.replicas:
                raise StagingError(f"input {item.index} (dataset {item.dataset}): the dataset has no replica")
            nearest = min(item.replicas, key=lambda r: (latency_ms(region, r.region), r.region))
            source = _replica_store(item, nearest, region_stores, store, region)
            dest_uri = _staged_uri(bucket, f"datasets/{item.dataset}", nearest.uri)
            checksum = item.checksum or nearest.checksum
            copies.append(Copy(nearest.uri, source, dest_uri, store, checksum))
            replicas.append(NewReplica(item.dataset, region, dest_uri, checksum))
            fetches.append(Fetch(item.index, dest_uri, store, item.mount_path, checksum))
            continue
        if item.uri is None or item.store is None:
            raise StagingError(f"input {item.index}: no credentials name the store of {item.uri}")
        if item.store.endpoint == store.endpoint:
            fetches.append(Fetch(item.index, item.uri, item.store, item.mount_path, item.checksum))
            continue
        dest_uri = _staged_uri(bucket, f"tasks/{task}/inputs/{item.index}", item.uri)
        copies.append(Copy(item.uri, item.store, dest_uri, store, item.checksum))
        fetches.append(Fetch(item.index, dest_uri, store, item.mount_path, item.checksum))
    return StagingPlan(tuple(copies), tuple(fetches), tuple(replicas))


def _replica_store(
    item: PlannedInput, replica: Replica, region_stores: Mapping[str, StoreRef], store: StoreRef, region: str
) -> StoreRef:
    if replica.region == region and replica.endpoint in (None, store.endpoint):
        return store
    known = region_stores.get(replica.region)
    if known is None or (replica.endpoint is not None and replica.endpoint != known.endpoint):
        raise StagingError(
            f"input {item.index} (dataset {item.dataset}): no store is known for its replica in {replica.region}"
        )
    return known
