"""What a finished attempt's outputs did: read from its pods' push sidecars, judged, and priced. Pure.

Each pod of a workload with outputs runs one sidecar per output (``computenet-stage-out-<i>``,
``data.render.stage_out``) that pushes what the main containers left once they ended, and writes
its outcome to its termination message: ``{"event":"done","bytes":N,"bytesCopied":M,...}`` or the
``failed`` line in the store's words (``data.cli.result_line``). The kubelet stops sidecars only
after the main containers ended and reports the pod Succeeded or Failed only once they too have
stopped, so when the workload reads finished, its pods' statuses hold every push's outcome
(``initContainerStatuses[].state.terminated.message``, core/v1, Kubernetes v1.36.3).

- **Judged.** An output arrived when every pod whose work counts pushed it: the pods that
  Succeeded when the workload succeeded (a pod that failed and was replaced made no result), every
  finished pod when it failed. A push that failed, or that said nothing (killed at the end of the
  grace period, a pod gone), fails the output; with no such pod at all nothing says the output
  arrived, and that fails it too.
- **Refused or not.** A store's refusal (an S3 error such as ``AccessDenied`` or ``NoSuchBucket``,
  a checksum mismatch, a local file that cannot be read) meets the same answer when the work runs
  again: ``refused``. A deadline, a store that did not answer or answered that it is busy, or a push
  that said nothing may pass.
- **Priced.** Every byte a push sent is moved (``bytesMoved``; parts kept by a resume are not sent
  again). An output that leaves the compute's region, i.e. whose store is not one an identifier of
  that region declares, costs egress at the price of that region's store: the first identifier by
  name of the region that declares one (the rule placement and input copies price by).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from computenet.api.data import OutputStatus, TaskDataStatus
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.data.render import push_container
from computenet.tasks.staging.transfers import GIB, MESSAGE_MAX, Charge, EgressPrice, egress_prices, last_report

__all__ = [
    "PASSING",
    "OutputTarget",
    "OutputsVerdict",
    "book",
    "charges",
    "judge",
    "region_stores",
]

PASSING = frozenset(
    {"DeadlineExceeded", "Unreachable", "Timeout", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"}
)
"""Reasons of a failed push that may pass when the work runs again (the mover's own; S3's 5xx and throttling)."""


@dataclass(frozen=True)
class OutputTarget:
    """Output ``index`` of the task: its destination and the endpoint of the store that holds it."""

    index: int
    uri: str
    endpoint: str


@dataclass(frozen=True)
class OutputsVerdict:
    """Per output what its pushes did; ``failure`` names the first output that did not arrive, and why."""

    outputs: tuple[OutputStatus, ...]
    failure: str | None
    refused: bool
    """The failure is a store's refusal that running the work again would meet again."""


@dataclass(frozen=True)
class _Pod:
    name: str
    phase: str
    statuses: Mapping[str, Mapping[str, Any]]


def _pods(pods: Iterable[Mapping[str, Any]]) -> list[_Pod]:
    out = []
    for pod in pods:
        status = pod.get("status") or {}
        by_name = {str(s.get("name")): s for s in status.get("initContainerStatuses") or () if isinstance(s, Mapping)}
        out.append(_Pod(str((pod.get("metadata") or {}).get("name") or "?"), str(status.get("phase") or ""), by_name))
    return sorted(out, key=lambda p: p.name)


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."


def _silent(pod: _Pod, terminated: Mapping[str, Any] | None) -> str:
    if terminated is None:
        return f"pod {pod.name}: its push never ended (the pod stopped before it did)"
    code, reason = terminated.get("exitCode"), terminated.get("reason") or "Error"
    return f"pod {pod.name}: its push said nothing of how it ended (exit code {code}, {reason})"


def judge(targets: Sequence[OutputTarget], pods: Iterable[Mapping[str, Any]], succeeded: bool) -> OutputsVerdict:
    """What each output's pushes did, from the attempt's pods (core/v1 Pod JSON) once its workload ended.

    ``succeeded``: whether the workload succeeded (see the module docstring for whose pushes count).
    """
    counted = {"Succeeded"} if succeeded else {"Succeeded", "Failed"}
    seen = _pods(pods)
    statuses: list[OutputStatus] = []
    failure: str | None = None
    refused = False
    for target in targets:
        done = size = moved = 0
        words: str | None = None
        passing = True
        considered = 0
        for pod in seen:
            container = pod.statuses.get(push_container(target.index))
            terminated = ((container or {}).get("state") or {}).get("terminated") if container else None
            report = last_report(str(terminated.get("message") or "")) if terminated else None
            if report is not None and report.event == "done":
                done += 1
                size += report.bytes_total or 0
                moved += report.bytes_moved or 0
            if pod.phase not in counted:
                continue
            considered += 1
            if words is not None or (report is not None and report.event == "done"):
                continue
            if report is not None and report.event == "failed":
                words = report.message or report.reason or "the push failed"
                passing = (report.reason or "") in PASSING
            else:
                words = _silent(pod, terminated)
        if words is None and considered == 0:
            words = "no pod of the workload is left to say whether it arrived"
        statuses.append(
            OutputStatus(
                output=target.index,
                uri=target.uri,
                state="Failed" if words else "Succeeded",
                pods=done,
                bytes=size if done else None,
                bytes_moved=moved if done else None,
                message=_clip(words) if words else None,
            )
        )
        if words and failure is None:
            failure, refused = f"output {target.index} ({target.uri}): {words}", not passing
    return OutputsVerdict(tuple(statuses), failure, refused)


def region_stores(specs: Iterable[tuple[str, ComputeIdentifierSpec]], region: str) -> tuple[str | None, frozenset[str]]:
    """(the region's store: its first identifier by name that declares one; every store declared in ``region``)."""
    first: str | None = None
    local: set[str] = set()
    for _, spec in sorted(specs, key=lambda item: item[0]):
        if spec.region != region or spec.storage is None:
            continue
        endpoint = str(spec.storage.endpoint)
        first = first or endpoint
        local.add(endpoint)
    return first, frozenset(local)


def charges(
    outputs: Sequence[OutputStatus],
    targets: Sequence[OutputTarget],
    specs: Iterable[tuple[str, ComputeIdentifierSpec]],
    region: str,
) -> tuple[int, list[Charge]]:
    """(bytes the pushes sent, the egress of those that left ``region``), one charge per output.

    An output whose store an identifier of ``region`` declares stays in the region: no egress. The
    others are priced at the region's store (``region_stores``); a region with no priced store charges
    nothing.
    """
    listed = list(specs)
    store, local = region_stores(listed, region)
    price: EgressPrice | None = egress_prices(listed).get(store) if store is not None else None
    endpoint_of = {t.index: t.endpoint for t in targets}
    moved = 0
    out: list[Charge] = []
    for o in outputs:
        sent = o.bytes_moved or 0
        moved += sent
        if not sent or endpoint_of.get(o.output) in local or price is None or price.per_gib <= 0:
            continue
        out.append(Charge(price.provider, sent / GIB * price.per_gib, price.currency))
    return moved, out


def book(
    previous: TaskDataStatus | None,
    identifier: str,
    attempt: int,
    outputs: Sequence[OutputStatus],
    moved: int,
    charged: Sequence[Charge],
) -> TaskDataStatus:
    """``status.data`` with the attempt's outputs, their bytes and their egress added (in the first priced currency).

    A charge in another currency than the status's is left out of ``cost`` (it is still metered).
    """
    base = previous if previous is not None and previous.attempt == attempt else None
    data = base or TaskDataStatus(
        identifier=identifier,
        attempt=attempt,
        bytes_moved=previous.bytes_moved if previous is not None else 0,
        cost=previous.cost if previous is not None else 0.0,
        currency=previous.currency if previous is not None else None,
    )
    cost, currency = data.cost, data.currency
    for charge in charged:
        currency = currency or charge.currency
        if charge.currency == currency:
            cost += charge.amount
    return data.model_copy(
        update={
            "outputs": list(outputs) or None,
            "bytes_moved": data.bytes_moved + moved,
            "cost": round(cost, 6),
            "currency": currency,
        }
    )
