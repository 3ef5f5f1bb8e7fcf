"""What a mover Job says about its transfer, read from the member: state, progress, bytes, failure.

The mover (``computenet stage copy``) prints one JSON line per progress step on stdout and writes
its outcome, short, to its container's termination message (``--result-file``): ``done`` with the
bytes it holds and the bytes it sent, or ``failed`` with the store's own words. The operator reads
the Job's conditions, the pod's termination message and, while it runs, the tail of the pod's log.
This module turns those into a :class:`~computenet.api.data.TransferStatus` and decides what the
staging of a task as a whole is at: pure, over plain JSON.

A Job's terminal conditions (``k8s.io/kubernetes@v1.36.3/pkg/controller/job/job_controller.go``):
``SuccessCriteriaMet`` then ``Complete`` on success, ``FailureTarget`` then ``Failed`` on failure;
the first of each pair is enough to know the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from computenet.api.constants import DEFAULT_CURRENCY
from computenet.api.data import TransferStatus
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.data.staging import Copy

__all__ = [
    "MoverReport",
    "StagingVerdict",
    "job_state",
    "last_report",
    "newly_moved",
    "transfer_status",
    "verdict",
]

State = Literal["Pending", "Running", "Succeeded", "Failed"]
MESSAGE_MAX = 2048


@dataclass(frozen=True)
class MoverReport:
    """One line of the mover: ``progress``, ``done`` or ``failed``, with what it carries (bytes, words)."""

    event: Literal["progress", "done", "failed"]
    bytes_done: int | None = None
    bytes_total: int | None = None
    bytes_moved: int | None = None
    rate: int | None = None
    eta_s: float | None = None
    reason: str | None = None
    message: str | None = None


def _report(obj: Mapping[str, Any]) -> MoverReport | None:
    event = obj.get("event")
    if event == "progress":
        return MoverReport(
            "progress",
            bytes_done=_int(obj.get("bytesDone")),
            bytes_total=_int(obj.get("bytesTotal")),
            rate=_int(obj.get("rateBytesPerSecond")),
            eta_s=_float(obj.get("etaSeconds")),
        )
    if event == "done":
        objects = obj.get("objects")
        if isinstance(objects, list):  # the full stdout line: per object
            size = sum(_int(o.get("size")) or 0 for o in objects if isinstance(o, dict))
            moved = sum(_int(o.get("bytesCopied")) or 0 for o in objects if isinstance(o, dict))
        else:  # the result line: totals
            size, moved = _int(obj.get("bytes")) or 0, _int(obj.get("bytesCopied")) or 0
        return MoverReport("done", bytes_done=size, bytes_total=size, bytes_moved=moved, eta_s=0.0)
    if event == "failed":
        return MoverReport("failed", reason=str(obj.get("reason") or "Failed"), message=str(obj.get("message") or ""))
    return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 else None


def last_report(text: str | None) -> MoverReport | None:
    r"""The last mover line in ``text`` (a log tail, a termination message); other lines are skipped.

    ``'noise\n{"event":"progress","bytesDone":5,...}\n'`` -> MoverReport("progress", bytes_done=5, ...).
    A line cut by a log tail or not JSON is not a report; None when there is none.
    """
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and (found := _report(obj)) is not None:
            return found
    return None


def _condition(job: Mapping[str, Any], *types: str) -> Mapping[str, Any] | None:
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("type") in types and cond.get("status") == "True":
            found: Mapping[str, Any] = cond
            return found
    return None


def job_state(job: Mapping[str, Any] | None) -> tuple[State, str | None]:
    """A mover Job's state and, when it failed, the Job controller's words (reason: message).

    None (not created yet, or gone) is Pending; a Job with a pod active is Running.
    """
    if job is None:
        return "Pending", None
    if _condition(job, "SuccessCriteriaMet", "Complete"):
        return "Succeeded", None
    failed = _condition(job, "FailureTarget", "Failed")
    if failed is not None:
        return "Failed", f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}".rstrip(": ")
    return ("Running" if (job.get("status") or {}).get("active") else "Pending"), None


def transfer_status(
    index: int, job_name: str, copy: Copy, job: Mapping[str, Any] | None, result: str | None, log_tail: str | None
) -> TransferStatus:
    """One transfer as the task's status shows it.

    ``result`` is the mover pod's termination message (its outcome), ``log_tail`` the last lines of
    its log while it runs. A failed Job says why in the store's words when the mover said them, else
    in the Job controller's (a deadline, a pod that could not start).
    """
    state, job_words = job_state(job)
    report = last_report(result) if state in ("Succeeded", "Failed") else None
    if report is None and state == "Running":
        report = last_report(log_tail)
    message = None
    if state == "Failed":
        words = report.message if report is not None and report.event == "failed" and report.message else job_words
        message = _clip(words or "the mover Job failed")
    done = report if report is not None and report.event in ("progress", "done") else None
    return TransferStatus(
        input=index,
        job=job_name,
        source=copy.source_uri,
        destination=copy.dest_uri,
        state=state,
        bytes_done=done.bytes_done if done else None,
        bytes_total=done.bytes_total if done else None,
        bytes_moved=done.bytes_moved if done else None,
        rate_bytes_per_second=done.rate if done else None,
        eta_seconds=done.eta_s if done else None,
        message=message,
    )


def _clip(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 3] + "..."


@dataclass(frozen=True)
class StagingVerdict:
    """Where a task's staging is: every copy done, some still running, or one failed (``message`` says which)."""

    outcome: Literal["done", "running", "failed"]
    message: str


def verdict(transfers: Sequence[TransferStatus]) -> StagingVerdict:
    """The staging's outcome from its transfers: a failure wins, then any unfinished one, else done.

    The message reads like the condition it becomes: ``input 0: store http://...: AccessDenied ...``
    for a failure, ``1/2 copies done, 40% of 2.0 GiB, ETA 12s`` while running.
    """
    failed = [t for t in transfers if t.state == "Failed"]
    if failed:
        first = failed[0]
        return StagingVerdict("failed", f"input {first.input} ({first.source}): {first.message}")
    done = sum(1 for t in transfers if t.state == "Succeeded")
    if done == len(transfers):
        moved = sum(t.bytes_moved or 0 for t in transfers)
        what = (
            f"{len(transfers)} copies done, {moved} bytes moved"
            if transfers
            else "every input is in the region's store"
        )
        return StagingVerdict("done", what)
    total = sum(t.bytes_total or 0 for t in transfers)
    so_far = sum(t.bytes_done or 0 for t in transfers)
    etas = [t.eta_seconds for t in transfers if t.state != "Succeeded" and t.eta_seconds is not None]
    parts = [f"{done}/{len(transfers)} copies done"]
    if total:
        parts.append(f"{100 * so_far / total:.0f}% of {total} bytes")
    if etas and len(etas) == len(transfers) - done:
        parts.append(f"ETA {max(etas):.0f}s")
    return StagingVerdict("running", ", ".join(parts))


def newly_moved(before: Iterable[TransferStatus], after: Iterable[TransferStatus]) -> int:
    """Bytes of the transfers that succeeded in ``after`` but not in ``before`` (metered once each, by Job)."""
    was_done = {t.job for t in before if t.state == "Succeeded"}
    return sum(t.bytes_moved or 0 for t in after if t.state == "Succeeded" and t.job not in was_done)


GIB = 1 << 30


@dataclass(frozen=True)
class EgressPrice:
    """What a store charges per GiB moved out of it, and who provides it."""

    provider: str
    per_gib: float
    currency: str


@dataclass(frozen=True)
class Charge:
    """The egress one newly finished copy cost, to the provider of its source store."""

    provider: str
    amount: float
    currency: str


def egress_prices(specs: Iterable[tuple[str, ComputeIdentifierSpec]]) -> dict[str, EgressPrice]:
    """Store endpoint -> its egress price, from the identifiers' ``spec.storage``.

    The first identifier by name whose storage names the store and prices egress sets it, in that
    identifier's pricing currency (the rule placement prices data by, ``placement.transfer``).
    """
    prices: dict[str, EgressPrice] = {}
    for _, spec in sorted(specs, key=lambda item: item[0]):
        storage = spec.storage
        if storage is None or not storage.egress_price_per_gib or str(storage.endpoint) in prices:
            continue
        currency = spec.pricing.currency if spec.pricing is not None else DEFAULT_CURRENCY
        prices[str(storage.endpoint)] = EgressPrice(spec.provider, float(storage.egress_price_per_gib), currency)
    return prices


def egress_charges(
    before: Iterable[TransferStatus],
    after: Iterable[TransferStatus],
    source_of: Mapping[str, str],
    prices: Mapping[str, EgressPrice],
) -> list[Charge]:
    """What the copies that succeeded in ``after`` but not in ``before`` cost, each once (by Job).

    ``source_of`` maps a mover Job to its source store's endpoint. A copy from a store no identifier
    prices costs nothing here (its bytes are still counted in ``bytes_moved``).
    """
    was_done = {t.job for t in before if t.state == "Succeeded"}
    charges = []
    for t in after:
        if t.state != "Succeeded" or t.job in was_done or not t.bytes_moved:
            continue
        price = prices.get(source_of.get(t.job, ""))
        if price is not None and price.per_gib > 0:
            charges.append(Charge(price.provider, t.bytes_moved / GIB * price.per_gib, price.currency))
    return charges
