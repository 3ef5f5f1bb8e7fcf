"""Dispatch: make the current attempt's Job exist in the placed member, and name every answer.

The intent (phase Dispatching with the identifier and attempt) is on the hub before the Job is
created, so after a crash the same Job name is created again in the same member, which answers
409 and the Job is adopted: no task runs twice because of a restart. Whatever happens on the way
(no connection yet, a refusal, a timeout, an exception of our own) becomes one lifecycle event:
``DispatchCreated``, ``DispatchRetryable`` or ``DispatchRefused``; nothing is left unanswered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from computenet.api.constants import ACCELERATOR_RESOURCES, GROUP, AcceleratorSharing, Reason, Vendor
from computenet.api.contract import slice_resource_of
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.problems import ContractError
from computenet.api.task import ComputeTaskSpec, RemoteRef
from computenet.api.variants import as_variant, variant_named, with_variant_template
from computenet.dispatch.naming import origin_labels
from computenet.dispatch.remote import MemberAnswer, NamespaceProblem, OwnerRef
from computenet.dispatch.render import Target, TaskRef, render_job, render_workload
from computenet.placement.accelerators import lookup
from computenet.tasks.lifecycle import DispatchCreated, DispatchRefused, DispatchRetryable, Event
from computenet.tasks.record import TaskRecord
from computenet.tasks.staging.manifests import add_data_steps
from computenet.tasks.staging.stager import Ready, Stager
from computenet.workloads.dependencies import claim_templates, references, to_copy
from computenet.workloads.kinds import WorkloadError

logger = logging.getLogger(__name__)

CONCURRENCY = 64


class Creator(Protocol):
    async def create(self, manifest: Mapping[str, Any]) -> tuple[str, bool]: ...
    async def put_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]]) -> None: ...
    async def own_dependencies(self, namespace: str, objects: Sequence[Mapping[str, Any]], owner: OwnerRef) -> None: ...


class HubObjects(Protocol):
    """Reads the ConfigMaps, Secrets and ResourceClaimTemplates of a task's namespace on the hub."""

    async def read(self, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The object as JSON, or None when it does not exist (or the hub does not serve its kind)."""
        ...


MAX_DEPENDENCY_BYTES = 3 * 1024 * 1024
"""What a task's copied ConfigMaps, Secrets and ResourceClaimTemplates may weigh together (each object is
at most 1 MiB, etcd's limit)."""


class DependencyProblem(Exception):
    """A ConfigMap, Secret or ResourceClaimTemplate the workload needs cannot travel with it.

    `retryable` when creating it helps.
    """

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.message, self.retryable = message, retryable


async def dependencies_of(record: TaskRecord, manifest: Mapping[str, Any], hub: HubObjects) -> list[dict[str, Any]]:
    """The copies of the ConfigMaps, Secrets and ResourceClaimTemplates the workload needs, from the hub.

    Read from the task's namespace on the hub, labelled with the workload's origin labels. An optional
    reference that does not exist is left out, a required one raises :class:`DependencyProblem` naming
    it, as does a total above `MAX_DEPENDENCY_BYTES` (not retryable). A ResourceClaimTemplate the pods
    name travels when the hub holds it; one the hub lacks is the member's own (placement found it in
    the target namespace, or the task waits naming it). See ``workloads.dependencies``.
    """
    named = record.spec.dependencies.secrets if record.spec.dependencies else None
    wanted = to_copy(references(manifest), frozenset(named or ()))
    labels = {k: v for k, v in (manifest["metadata"].get("labels") or {}).items() if k.startswith(f"{GROUP}/")}
    copies: list[dict[str, Any]] = []
    for ref in wanted:
        try:
            found = await hub.read(ref.kind, record.namespace, ref.name)
        except PermissionError as e:
            raise DependencyProblem(
                f"{e}: let it with a Role granting get on {ref.kind.lower()}s in {record.namespace}, bound to the "
                "operator's ServiceAccount (charts/computenet/README.md)"
            ) from None
        if found is None:
            if ref.optional:
                continue
            raise DependencyProblem(
                f"{ref.kind} {ref.name}, which the workload needs, does not exist in namespace {record.namespace}: "
                "create it there, and it travels to the member with the workload"
            )
        copy: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": ref.kind,
            "metadata": {"name": ref.name, "labels": labels},
        }
        for key in ("data", "binaryData", "stringData", "type", "immutable"):
            if found.get(key) is not None:
                copy[key] = found[key]
        copies.append(copy)
    copies += await _claim_templates_of(record, manifest, hub, labels)
    weight = sum(len(json.dumps(c)) for c in copies)
    if weight > MAX_DEPENDENCY_BYTES:
        raise DependencyProblem(
            f"the ConfigMaps, Secrets and ResourceClaimTemplates the workload needs weigh {weight} bytes, "
            f"more than the {MAX_DEPENDENCY_BYTES} that travel with a task",
            retryable=False,
        )
    return copies


RESOURCE_CLAIM_TEMPLATE = "ResourceClaimTemplate"


async def _claim_templates_of(
    record: TaskRecord, manifest: Mapping[str, Any], hub: HubObjects, labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Copies of the hub's ResourceClaimTemplates the pods name (resource.k8s.io/v1); those it lacks are skipped."""
    copies: list[dict[str, Any]] = []
    for name in claim_templates(manifest):
        try:
            found = await hub.read(RESOURCE_CLAIM_TEMPLATE, record.namespace, name)
        except PermissionError as e:
            raise DependencyProblem(
                f"{e}: the operator's ClusterRole grants get on resourceclaimtemplates (resource.k8s.io) "
                "on the hub (charts/computenet/templates/rbac.yaml)"
            ) from None
        if found is None:
            continue  # the member's own, or missing in both: placement said which
        copies.append(
            {
                "apiVersion": "resource.k8s.io/v1",
                "kind": RESOURCE_CLAIM_TEMPLATE,
                "metadata": {"name": name, "labels": dict(labels)},
                "spec": found.get("spec") or {},
            }
        )
    return copies


class Members(Protocol):
    """How the dispatcher reaches a member: None when the identifier is unknown or not connected."""

    def spec_of(self, identifier: str) -> ComputeIdentifierSpec | None: ...
    def creator_of(self, identifier: str) -> Creator | None: ...
    def existing(self, identifier: str, task_uid: str, attempt: int) -> RemoteRef | None:
        """A Job of this attempt the member's watch already lists, whatever its name."""
        ...

    def setup_problem(self, identifier: str, reason: str, message: str) -> None:
        """Say on the identifier that its member's setup stops dispatch (``Dispatchable=False``, an event)."""
        ...

    def setup_works(self, identifier: str) -> None:
        """Say on the identifier that a workload was created there (``Dispatchable=True``)."""
        ...


def as_placed(record: TaskRecord) -> tuple[ComputeTaskSpec, dict[str, Any], dict[str, Any]]:
    """The task's spec, Job template and workload as they run: with the variant placement chose, if any (pure)."""
    placement = record.status.placement
    variant = variant_named(record.spec, placement.variant if placement else None)
    if variant is None:
        return record.spec, record.template, record.workload
    template = with_variant_template(record.template, variant) if record.template else {}
    workload = with_variant_template(record.workload, variant) if record.workload else {}
    return as_variant(record.spec, variant), template, workload


def target_of(record: TaskRecord, identifier: str, spec: ComputeIdentifierSpec) -> Target:
    """Where the Job goes and how its pods are pinned to what placement chose (pure)."""
    placement = record.status.placement
    model = placement.accelerator_model if placement else None
    task, _, _ = as_placed(record)
    pinned_model = None if placement is not None and placement.device_class else model  # DRA nodes: no product label
    acc = task.resources.accelerators
    resource = None
    known = lookup(model) if model else None
    if acc is not None and (acc.sharing == AcceleratorSharing.SHARED or acc.partition is not None):
        resource = slice_resource_of(task)  # placement took units of this resource only, when it names one
    elif acc is not None and acc.resource is not None:
        resource = acc.resource  # the variant's (or task's) own device resource, such as habana.ai/gaudi2
    elif known is not None:
        resource = known.resource  # a role's devices too, when the task's own resources name none
    elif acc is not None:
        resource = ACCELERATOR_RESOURCES[Vendor(acc.vendor or "nvidia")]
    sel = spec.connection.node_selector
    return Target(
        identifier=identifier,
        namespace=spec.connection.target_namespace,
        match_labels=dict(sel.match_labels or {}) if sel else {},
        match_expressions=[(r.key, str(r.operator), list(r.values or ())) for r in (sel.match_expressions or ())]
        if sel
        else [],
        accelerator_resource=resource,
        accelerator_model=pinned_model,
        nodes=tuple(placement.nodes or ()) if placement else (),
        role_nodes={s.role: tuple(s.nodes or ()) for s in placement.pod_sets or ()} if placement else {},
    )


def manifest_of(record: TaskRecord, target: Target, hub_id: str) -> dict[str, Any]:
    """The workload to create: the chosen variant's, with the devices placement counted (a compute request's count)."""
    spec, template, workload = as_placed(record)
    acc = spec.resources.accelerators
    placement = record.status.placement
    task = TaskRef(record.namespace, record.name, record.uid)
    requests = {"cpu": str(spec.resources.cpu), "memory": str(spec.resources.memory)}
    devices = acc.count if acc and acc.count else 0
    if acc is not None and acc.compute is not None and placement is not None and placement.resources is not None:
        devices = placement.resources.accelerators  # the count placement chose for the model
    if workload:
        return render_workload(workload, task, spec.replicas, requests, devices, target, record.attempt, hub_id)
    return render_job(task, template, spec.replicas, requests, devices, target, record.attempt, hub_id)


async def dispatch_once(
    record: TaskRecord, members: Members, hub_id: str, hub: HubObjects | None = None, stager: Stager | None = None
) -> Event:
    """One try at creating the current attempt's Job; every outcome is an event. Never raises.

    With `hub`, the ConfigMaps, Secrets and ResourceClaimTemplates the workload needs travel with it:
    created first in the member, then owned by the workload, so that the member removes them with it.
    With `stager`, a task with ``spec.data`` has its inputs staged first: the workload is created only
    once its mover Jobs succeeded (until then the answer is a ``Staging`` event), with the pods' data
    steps added.
    """
    identifier = record.identifier or ""
    try:
        spec = members.spec_of(identifier)
        creator = members.creator_of(identifier)
        if spec is None or creator is None:
            return DispatchRetryable(
                Reason.MEMBER_NOT_CONNECTED,
                f"{identifier or 'the identifier'} is not connected (starting, or its kubeconfig Secret is "
                "missing or broken); failover applies if it stays so",
                _count(record),
            )
        found = members.existing(identifier, record.uid, record.attempt)
        if found is not None:  # made before a restart, perhaps under an older naming rule: adopt it
            record.failures = 0
            return DispatchCreated(found, adopted=True)
        target = target_of(record, identifier, spec)
        manifest = manifest_of(record, target, hub_id)
        ready: Ready | None = None
        if stager is not None and stager.wanted(record):
            origin = origin_labels(hub_id, record.namespace, record.name, record.uid, record.attempt, identifier)
            step = await stager.prepare(record, identifier, spec, creator, origin, manifest["metadata"]["name"])
            if not isinstance(step, Ready):
                return step
            ready = step
            add_data_steps(manifest, ready.inputs, ready.outputs)
        copies = await dependencies_of(record, manifest, hub) if hub is not None else []
        if copies:
            await creator.put_dependencies(target.namespace, copies)
        uid, adopted = await creator.create(manifest)
        owned = [*copies, *(ready.secrets if ready is not None else ())]
        if owned:
            owner = OwnerRef(manifest["apiVersion"], manifest["kind"], manifest["metadata"]["name"], uid)
            await creator.own_dependencies(target.namespace, owned, owner)
    except DependencyProblem as e:
        if e.retryable:
            return DispatchRetryable(Reason.DEPENDENCY_MISSING, e.message, _count(record))
        return DispatchRefused(Reason.INVALID_SPEC, e.message)
    except ContractError as e:  # admission refuses such specs; an edit that raced it ends here
        return DispatchRefused(Reason.INVALID_SPEC, f"the template cannot carry the reservation: {e}")
    except WorkloadError as e:  # likewise
        return DispatchRefused(Reason.INVALID_SPEC, f"the workload cannot be rendered: {e}")
    except NamespaceProblem as e:  # the member's setup: the identifier says so too, and the task waits
        members.setup_problem(identifier, Reason.TARGET_NAMESPACE_UNAVAILABLE, e.message)
        return DispatchRetryable(Reason.TARGET_NAMESPACE_UNAVAILABLE, e.message, _count(record))
    except MemberAnswer as e:
        if e.retryable:
            return DispatchRetryable(e.reason, e.message, _count(record))
        return DispatchRefused(e.reason, e.message)
    except asyncio.CancelledError:
        raise
    except Exception as e:  # our own fault: say so on the task and try again, never go silent
        logger.exception("%s: dispatch failed", record.key)
        return DispatchRetryable(Reason.INTERNAL_ERROR, f"operator error: {type(e).__name__}: {e}", _count(record))
    record.failures = 0
    members.setup_works(identifier)
    meta = manifest["metadata"]
    remote = RemoteRef(
        identifier=identifier,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        namespace=meta["namespace"],
        name=meta["name"],
        uid=uid,
    )
    return DispatchCreated(remote, adopted)


def _count(record: TaskRecord) -> int:
    if record.failures_attempt != record.attempt:
        record.failures_attempt, record.failures = record.attempt, 0
    record.failures += 1
    return record.failures


class Dispatcher:
    """Runs dispatches in the background, at most `CONCURRENCY` at once, one per task at a time."""

    def __init__(
        self,
        members: Members,
        hub_id: str,
        deliver: Callable[[TaskRecord, Event], object],
        flush: Callable[[TaskRecord], Any],
        spawn: Callable[[Any, str], None],
        hub: HubObjects | None = None,
        stager: Stager | None = None,
    ) -> None:
        """`hub` reads what travels with a workload, `stager` stages a task's data first (None: neither).

        `hub` reads the ConfigMaps, Secrets and ResourceClaimTemplates that travel with a workload;
        `stager` stages a task's inputs before its workload is created.
        """
        self.members = members
        self.hub = hub
        self.stager = stager
        self.hub_id = hub_id
        self.deliver = deliver
        self.flush = flush
        self.spawn = spawn
        self._slots = asyncio.Semaphore(CONCURRENCY)

    def start(self, record: TaskRecord) -> None:
        if record.dispatching or record.deleting:
            return
        record.dispatching = True
        self.spawn(self._dispatch(record), f"dispatch {record.key}")

    async def _dispatch(self, record: TaskRecord) -> None:
        event: Event | None = None
        try:
            async with self._slots:
                await self.flush(record)  # the intent is on the hub first
                event = await dispatch_once(record, self.members, self.hub_id, self.hub, self.stager)
        finally:
            record.dispatching = False
        if event is not None and not record.deleting:
            self.deliver(record, event)
