"""Staging, carried out: the dispatcher's step between placement and the workload's creation.

For a task with ``spec.data`` dispatched to a push member, :meth:`Stager.prepare` is called on every
dispatch try of the attempt. It plans the copies (``data.staging.plan_staging``), puts the store
Secrets the attempt needs in the member, creates one mover Job per copy (idempotent names: a retry
adopts them), reads them, and answers with one of:

- a :class:`~computenet.tasks.lifecycle.Staging` event while copies run (the lifecycle writes the
  progress and polls again in ``STAGING_POLL_S``);
- a :class:`~computenet.tasks.lifecycle.StagingFailed` event, in the store's words, for the
  failover policy to decide;
- :class:`Ready` once every input is in the region's store: the pods' data steps to add to the
  workload, which the dispatcher then creates. The datasets' replicas are recorded first.

The workload is thus dispatched only after its staging Jobs succeeded, and its init containers fetch
from the region's store only. :meth:`Stager.outputs` reads, when the workload ended, what its pods'
output pushes did (the follower delivers the attempt's end with it). :meth:`Stager.clean` removes an
attempt's mover Jobs and Secret copies from the member when the attempt ends (the lifecycle's
``Release``). Nothing here decides: the rules
are in :mod:`.manifests`, :mod:`.transfers`, :mod:`.replicas` and ``data.staging``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from computenet.api.constants import ATTEMPT_LABEL, STAGING_LABEL, TASK_UID_LABEL
from computenet.api.data import ComputeDataset, ReplicaStatus, TaskDataStatus, TransferStatus
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.data.location import parse_s3_uri
from computenet.data.render import Output, StageIn, stage_in, stage_out
from computenet.data.staging import Copy, PlannedInput, StagingError, StagingPlan, StoreRef, plan_staging
from computenet.dispatch.naming import label_value
from computenet.dispatch.remote import MemberAnswer
from computenet.metrics import Metrics
from computenet.tasks.lifecycle import Event, OutputsPushed, Staging, StagingFailed, clip
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging import outputs as output_rules
from computenet.tasks.staging import replicas as replica_rules
from computenet.tasks.staging.manifests import (
    OUTPUTS,
    mover_job,
    mover_name,
    secret_copy,
    secret_name,
    staging_labels,
    staging_selector,
)
from computenet.tasks.staging.start import mover_stall
from computenet.tasks.staging.transfers import (
    MESSAGE_MAX,
    egress_charges,
    egress_prices,
    newly_moved,
    transfer_status,
    verdict,
)
from computenet.workloads.kinds import JOB, Kind

logger = logging.getLogger(__name__)

FAR_MS = 1_000_000.0
"""Latency taken for a region an identifier declares none to (a replica there is chosen last)."""
DATASET_WRITE_TRIES = 3


@runtime_checkable
class StagingMember(Protocol):
    """What staging needs of a member: a push member's API server (``dispatch.remote.RemoteJobs``)."""

    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None: ...
    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]: ...
    async def read(self, namespace: str, name: str, kind: Kind = JOB) -> dict[str, Any] | None: ...
    async def pods_of_job(self, namespace: str, job: str) -> list[dict[str, Any]]: ...
    async def pods_labelled(self, namespace: str, selector: str) -> list[dict[str, Any]]: ...
    async def log_tail(self, namespace: str, pod: str, container: str, lines: int = 5) -> str | None: ...
    async def warnings(self, namespace: str, name: str, uid: str) -> str | None: ...
    async def delete_collection(self, namespace: str, selector: str) -> None: ...


@runtime_checkable
class HubData(Protocol):
    """The hub's side: the Secrets staging copies, and the datasets whose replicas it records."""

    async def read(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None: ...
    async def read_dataset(self, namespace: str, name: str) -> Mapping[str, Any] | None: ...
    async def write_dataset_replicas(
        self, namespace: str, name: str, resource_version: str, replicas: list[dict[str, Any]]
    ) -> bool: ...


@dataclass(frozen=True)
class Ready:
    """Every input is in the region's store: the pods' data steps, and the Secret copies they mount."""

    inputs: StageIn
    outputs: StageIn
    secrets: tuple[dict[str, Any], ...]


class _Refused(Exception):
    """The task's data cannot be staged as written; the message says why (becomes StagingFailed)."""


@dataclass
class _Attempt:
    """What one dispatch try of one attempt works with."""

    record: TaskRecord
    identifier: str
    spec: ComputeIdentifierSpec
    workload: str
    origin: Mapping[str, str]
    namespace: str
    hub_secrets: dict[str, tuple[str, str]]
    """Member Secret name -> the hub Secret (namespace, name) it copies."""

    def store_ref(self, endpoint: str, hub_namespace: str, hub_name: str) -> StoreRef:
        name = secret_name(self.workload, hub_namespace, hub_name)
        self.hub_secrets[name] = (hub_namespace, hub_name)
        return StoreRef(endpoint, name)


class Stager:
    def __init__(
        self,
        hub: HubData,
        specs: Callable[[], Iterable[tuple[str, ComputeIdentifierSpec]]],
        image: str,
        deliver: Callable[[TaskRecord, Event], object],
        metrics: Metrics | None,
        clock: Callable[[], dt.datetime],
        charge: Callable[[TaskRecord, str, float, str], None] | None = None,
    ) -> None:
        """`specs` lists every identifier's spec (the regions' stores); `image` is the operator's own.

        `charge(record, provider, amount, currency)` books a copy's egress (settlement's ``charge_data``).
        """
        self.hub = hub
        self.specs = specs
        self.image = image
        self.deliver = deliver
        self.metrics = metrics
        self.clock = clock
        self.charge = charge

    @staticmethod
    def wanted(record: TaskRecord) -> bool:
        data = record.spec.data
        return data is not None and bool(data.inputs or data.outputs)

    async def prepare(
        self,
        record: TaskRecord,
        identifier: str,
        spec: ComputeIdentifierSpec,
        member: object,
        origin: Mapping[str, str],
        workload: str,
    ) -> Ready | Event:
        """One staging step of the current attempt (see the module docstring). Raises MemberAnswer."""
        attempt = _Attempt(record, identifier, spec, workload, origin, spec.connection.target_namespace, {})
        previous = record.status.data
        try:
            if not isinstance(member, StagingMember):
                raise _Refused(f"{identifier} is a pull member: staging data runs in push members only (not built yet)")
            plan, outputs = await self._plan(attempt)
            secrets = await self._secrets(attempt, plan, outputs)
        except (_Refused, StagingError) as e:
            data = self._data(attempt, previous, [])
            return StagingFailed(identifier, record.attempt, data, str(e))
        if previous is None or (previous.identifier, previous.attempt) != (identifier, record.attempt):
            await member.put_dependencies(attempt.namespace, secrets)  # once per attempt: a poll does not rewrite them
        indexed = _indexed(plan)
        transfers = [await self._transfer(attempt, member, copy, index, previous) for index, copy in indexed]
        sources = {t.job: c.source.endpoint for t, (_, c) in zip(transfers, indexed, strict=True)}
        data = self._meter(record, spec, previous, self._data(attempt, previous, transfers), sources)
        outcome = verdict(transfers)
        if outcome.outcome == "failed":
            return StagingFailed(identifier, record.attempt, data, outcome.message)
        if outcome.outcome == "running":
            return Staging(identifier, record.attempt, data, outcome.message)
        await self._record_replicas(attempt, plan, transfers)
        self.deliver(record, Staging(identifier, record.attempt, data, outcome.message, done=True))
        return Ready(stage_in(plan, self.image), stage_out(outputs, self.image), tuple(secrets))

    async def _plan(self, attempt: _Attempt) -> tuple[StagingPlan, list[Output]]:
        record, spec = attempt.record, attempt.spec
        data = record.spec.data
        assert data is not None
        by_bucket = {
            c.bucket: attempt.store_ref(c.endpoint, record.namespace, c.secret_name) for c in data.credentials or ()
        }
        outputs = []
        for i, out in enumerate(data.outputs or ()):
            store = by_bucket.get(parse_s3_uri(out.uri).bucket)
            if store is None:
                raise _Refused(f"output {i}: no entry of spec.data.credentials names the store of {out.uri}")
            outputs.append(Output(i, out.mount_path, out.uri, store))
        if not data.inputs:
            return StagingPlan((), (), ()), outputs
        storage = spec.storage
        if storage is None:
            raise _Refused(f"{attempt.identifier} declares no store near its compute (spec.storage)")
        here = attempt.store_ref(storage.endpoint, storage.secret_ref.namespace, storage.secret_ref.name)
        inputs = []
        for i, item in enumerate(data.inputs):
            if item.uri is not None:
                store = by_bucket.get(parse_s3_uri(item.uri).bucket)
                inputs.append(PlannedInput(i, item.mount_path, uri=item.uri, store=store, checksum=item.checksum))
                continue
            assert item.dataset is not None
            found = await self.hub.read_dataset(record.namespace, item.dataset)
            if found is None:
                raise _Refused(f"input {i}: dataset {item.dataset} does not exist in namespace {record.namespace}")
            dataset = ComputeDataset.model_validate(found)
            status = dataset.status.replicas if dataset.status else None
            replicas = replica_rules.readable(dataset.spec.replicas, status)
            inputs.append(
                PlannedInput(i, item.mount_path, dataset=item.dataset, replicas=replicas, checksum=item.checksum)
            )
        stores = self._region_stores(attempt)
        latency = spec.network.latency_ms if spec.network and spec.network.latency_ms else {}

        def latency_ms(region: str, other: str) -> float:
            return 0.0 if region == other else float(latency.get(other, FAR_MS))

        task = f"{record.namespace}/{record.name}/{record.uid}"
        plan = plan_staging(inputs, spec.region, here, storage.bucket, stores, latency_ms, task)
        return plan, outputs

    def _region_stores(self, attempt: _Attempt) -> dict[str, StoreRef]:
        """Per region, the store its identifiers declare (the first by name when several do)."""
        stores: dict[str, StoreRef] = {}
        for _, other in sorted(self.specs(), key=lambda item: item[0]):
            if other.storage is not None and other.region not in stores:
                ref = other.storage.secret_ref
                stores[other.region] = attempt.store_ref(other.storage.endpoint, ref.namespace, ref.name)
        return stores

    async def _secrets(self, attempt: _Attempt, plan: StagingPlan, outputs: list[Output]) -> list[dict[str, Any]]:
        used = {c.source.secret for c in plan.copies} | {c.dest.secret for c in plan.copies}
        used |= {f.store.secret for f in plan.fetches} | {o.store.secret for o in outputs}
        labels = staging_labels(attempt.origin, "credentials")
        copies = []
        for name in sorted(used):
            hub_namespace, hub_name = attempt.hub_secrets[name]
            try:
                found = await self.hub.read("Secret", hub_namespace, hub_name)
            except PermissionError as e:
                raise _Refused(str(e)) from None
            if found is None:
                raise _Refused(f"Secret {hub_namespace}/{hub_name}, with a store's keys, does not exist")
            try:
                copies.append(secret_copy(name, attempt.namespace, labels, found.get("data") or {}))
            except ValueError as e:
                raise _Refused(f"Secret {hub_namespace}/{hub_name} {e}") from None
        return copies

    async def _transfer(
        self, attempt: _Attempt, member: StagingMember, copy: Copy, index: int, previous: TaskDataStatus | None
    ) -> TransferStatus:
        name = mover_name(attempt.workload, index)
        if previous is not None and previous.attempt == attempt.record.attempt:
            done = next((t for t in previous.transfers or () if t.job == name and t.state == "Succeeded"), None)
            if done is not None:  # finished on an earlier try: nothing to read again
                return done
        selector = (
            dict(attempt.spec.connection.node_selector.match_labels or {})
            if attempt.spec.connection.node_selector
            else {}
        )
        job = mover_job(name, attempt.namespace, staging_labels(attempt.origin, "mover"), copy, self.image, selector)
        await member.create(job)
        current = await member.read(attempt.namespace, name)
        result = log_tail = None
        pods = await member.pods_of_job(attempt.namespace, name) if current is not None else []
        if pods:
            pod = max(pods, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp") or ""))
            result = _termination_message(pod)
            if result is None and (pod.get("status") or {}).get("phase") == "Running":
                log_tail = await member.log_tail(attempt.namespace, pod["metadata"]["name"], "mover")
        status = transfer_status(index, name, copy, current, result, log_tail)
        stall = mover_stall(current, pods, self.clock())
        if stall is None or current is None:
            return status
        words = stall.message
        if stall.no_pods:  # the member's own words, such as a quota's refusal (FailedCreate)
            uid = str((current.get("metadata") or {}).get("uid") or "")
            try:
                said = await member.warnings(attempt.namespace, name, uid)
            except MemberAnswer:
                said = None
            words = f"{words}: {said}" if said else f"{words} (the member's events about it could not be read)"
        message = clip(f"mover Job {name}: {words}", MESSAGE_MAX)
        return status.model_copy(update={"state": "Failed", "message": message})

    async def outputs(
        self, record: TaskRecord, member: object, namespace: str, identifier: str, succeeded: bool
    ) -> OutputsPushed | None:
        """What the current attempt's output pushes did, read from its pods once its workload ended.

        None for a task without outputs or a member staging does not run in. The bytes and egress are
        added to ``status.data`` here and metered by the transition that takes them in (``MeterData``),
        once: an attempt whose outputs the status already holds is not booked again. Raises MemberAnswer.
        """
        data = record.spec.data
        if data is None or not data.outputs or not isinstance(member, StagingMember):
            return None
        endpoints = {c.bucket: str(c.endpoint) for c in data.credentials or ()}
        targets = [
            output_rules.OutputTarget(i, o.uri, endpoints.get(parse_s3_uri(o.uri).bucket, ""))
            for i, o in enumerate(data.outputs)
        ]
        selector = (
            f"{TASK_UID_LABEL}={label_value(record.uid)},{ATTEMPT_LABEL}={label_value(str(record.attempt))},"
            f"{STAGING_LABEL}={OUTPUTS}"
        )
        judged = output_rules.judge(targets, await member.pods_labelled(namespace, selector), succeeded)
        specs = list(self.specs())
        spec = next((s for name, s in specs if name == identifier), None)
        provider = spec.provider if spec is not None else ""
        previous = record.status.data
        if previous is not None and previous.attempt == record.attempt and previous.outputs is not None:
            return OutputsPushed(previous, provider, failure=judged.failure, refused=judged.refused)  # booked before
        region = spec.region if spec is not None else ""
        moved, charges = output_rules.charges(judged.outputs, targets, specs, region)
        booked = output_rules.book(previous, identifier, record.attempt, judged.outputs, moved, charges)
        return OutputsPushed(booked, provider, moved, tuple(charges), judged.failure, judged.refused)

    def _data(
        self, attempt: _Attempt, previous: TaskDataStatus | None, transfers: list[TransferStatus]
    ) -> TaskDataStatus:
        """The attempt's transfers, and its bytes moved added to those of earlier attempts."""
        before = previous.bytes_moved if previous is not None else 0
        if previous is not None and previous.attempt == attempt.record.attempt:
            before -= sum(t.bytes_moved or 0 for t in previous.transfers or () if t.state == "Succeeded")
        moved = sum(t.bytes_moved or 0 for t in transfers if t.state == "Succeeded")
        return TaskDataStatus(
            identifier=attempt.identifier,
            attempt=attempt.record.attempt,
            transfers=transfers or None,
            bytes_moved=max(before, 0) + moved,
        )  # cost and currency: ``_meter``

    def _meter(
        self,
        record: TaskRecord,
        spec: ComputeIdentifierSpec,
        previous: TaskDataStatus | None,
        data: TaskDataStatus,
        sources: Mapping[str, str],
    ) -> TaskDataStatus:
        """Count the copies that finished since ``previous``: bytes moved, and their egress charged.

        Each copy is metered once (by its Job): its bytes in ``computenet_data_moved_bytes_total``, its
        egress to the provider of its source store (``charge``: queue spend, ``computenet_spend_total``,
        ``computenet_data_cost_total``) and into ``status.data.cost``. Returns ``data`` with the cost.
        """
        before = previous.transfers or () if previous is not None and previous.attempt == record.attempt else ()
        cost = previous.cost if previous is not None else 0.0
        currency = previous.currency if previous is not None else None
        queue = record.status.placement.queue if record.status.placement else None
        moved = newly_moved(before, data.transfers or ())
        if moved and self.metrics is not None:
            self.metrics.data_moved_bytes.labels(spec.provider, queue or "").inc(moved)
        for charge in egress_charges(before, data.transfers or (), sources, egress_prices(self.specs())):
            currency = currency or charge.currency
            if charge.currency == currency:
                cost += charge.amount
            if self.charge is not None:
                self.charge(record, charge.provider, charge.amount, charge.currency)
        return data.model_copy(update={"cost": round(cost, 6), "currency": currency})

    async def _record_replicas(self, attempt: _Attempt, plan: StagingPlan, transfers: list[TransferStatus]) -> None:
        """Record the replicas the copies made, mark the ones read as used, evict the stale ones."""
        record = attempt.record
        data = record.spec.data
        datasets = sorted({i.dataset for i in (data.inputs if data else None) or () if i.dataset})
        size_of = {t.destination: t.bytes_total for t in transfers}
        storage = attempt.spec.storage
        for name in datasets:
            for _ in range(DATASET_WRITE_TRIES):
                found = await self.hub.read_dataset(record.namespace, name)
                if found is None:
                    break
                dataset = ComputeDataset.model_validate(found)
                now = self.clock()
                replicas: list[ReplicaStatus] = list(dataset.status.replicas or ()) if dataset.status else []
                new = [n for n in plan.new_replicas if n.dataset == name]
                for n in new:
                    endpoint = storage.endpoint if storage else ""
                    replicas = replica_rules.record(replicas, n, endpoint, size_of.get(n.uri), now)
                if not new:
                    replicas = replica_rules.touch(replicas, attempt.spec.region, now)
                replicas, evicted = replica_rules.evict(replicas, now)
                if evicted:
                    logger.info("dataset %s/%s: evicted the replicas in %s", record.namespace, name, evicted)
                body = [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in replicas]
                version = str(found.get("metadata", {}).get("resourceVersion") or "")
                if await self.hub.write_dataset_replicas(record.namespace, name, version, body):
                    break

    async def clean(self, record: TaskRecord, member: object, namespace: str) -> None:
        """Remove the mover Jobs (with their pods) and Secret copies of the attempt ``record.status.data`` names."""
        data = record.status.data
        if data is None or data.attempt is None or not isinstance(member, StagingMember):
            return
        selector = staging_selector(label_value(record.uid), label_value(str(data.attempt)))
        try:
            await member.delete_collection(namespace, selector)
        except MemberAnswer as e:
            logger.warning("%s: staging leftovers not removed from %s yet: %s", record.key, data.identifier, e)


def _indexed(plan: StagingPlan) -> list[tuple[int, Copy]]:
    """Each copy with the input it serves (the fetch reading its destination)."""
    index_of = {f.uri: f.index for f in plan.fetches}
    return [(index_of.get(c.dest_uri, i), c) for i, c in enumerate(plan.copies)]


def _termination_message(pod: Mapping[str, Any]) -> str | None:
    for status in (pod.get("status") or {}).get("containerStatuses") or ():
        if status.get("name") == "mover":
            terminated = (status.get("state") or {}).get("terminated") or {}
            message = terminated.get("message")
            return str(message) if message else None
    return None
