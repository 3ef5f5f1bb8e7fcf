"""``why TASK``: every identifier of the task's pool with its verdict, scores side by side.

Read from the task's status, nothing recomputed: a placed task's ``placement.explanation`` (the
chosen identifier and the best runners-up with their score components, and per rejected
identifier the filter that rejected it); a waiting or offered task's ``status.explanation`` (the
verdict of each identifier when its Placed condition last changed), after its offers.
``--live`` asks placement again, on the operator's live snapshot, what it would answer now
(`relive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from computenet.api.constants import ConditionType
from computenet.api.task import CandidateScore, ComputeTaskStatus, Explanation, Offer
from computenet.cli import data_figures
from computenet.cli.output import Column
from computenet.cli.simulate import datasets_of, record_of
from computenet.placement import place
from computenet.snapshot_export import SnapshotDocument, rebuild
from computenet.tasks.candidates import explanation
from computenet.tasks.demand import avoiding, demand_of, store_regions

CHOSEN, FITS, OFFER, REJECTED = "chosen", "fits", "offer", "rejected"


def _row(identifier: str, verdict: str, **fields: Any) -> dict[str, Any]:
    return {"identifier": identifier, "verdict": verdict, **{k: v for k, v in fields.items() if v is not None}}


def _data(entry: CandidateScore | Offer) -> dict[str, Any]:
    """The data's figures of one candidate or offer, with the keys of the status (absent: unknown)."""
    return {
        "dataBytes": entry.data_bytes,
        "dataTransferSeconds": entry.data_transfer_seconds,
        "dataCost": entry.data_cost,
        "dataCurrency": entry.data_currency,
    }


def _from_explanation(e: Explanation, chosen: str | None) -> list[dict[str, Any]]:
    rows = [
        _row(
            c.identifier,
            CHOSEN if c.identifier == chosen else FITS,
            score=c.score,
            scores=c.scores or {},
            acceleratorModel=c.accelerator_model,
            variant=c.variant,
            acceleratorCount=c.accelerator_count,
            pricePerHour=c.price_per_hour,
            currency=c.currency,
            **_data(c),
        )
        for c in e.candidates or []
    ]
    rows += [
        _row(r.identifier, REJECTED, filter=r.filter, reason=r.reason, message=r.message) for r in e.rejected or []
    ]
    return rows


def _from_offers(offers: Sequence[Offer]) -> list[dict[str, Any]]:
    return [
        _row(
            o.identifier,
            OFFER,
            score=o.score,
            scores=o.scores or ({"Fit": o.fit} if o.fit is not None else {}),
            acceleratorModel=o.accelerator_model,
            variant=o.variant,
            acceleratorCount=o.accelerator_count,
            pricePerHour=o.price_per_hour,
            currency=o.currency,
            **_data(o),
        )
        for o in offers
    ]


def explain(task: dict[str, Any]) -> dict[str, Any]:
    """The document `why` prints: the task, its one line, and one entry per identifier known."""
    status = ComputeTaskStatus.model_validate(task.get("status") or {})
    meta = task.get("metadata", {})
    placed = next((c for c in status.conditions or () if c.type == str(ConditionType.PLACED)), None)
    doc: dict[str, Any] = {
        "task": f"{meta.get('namespace', '')}/{meta.get('name', '')}",
        "phase": status.phase,
        "summary": placed.message if placed else None,
        "chosen": None,
        "considered": None,
        "fitting": None,
        "identifiers": [],
        "rejectedOmitted": 0,
    }
    if status.placement is not None:
        doc["chosen"] = status.placement.identifier
        e = status.placement.explanation
        if e is not None:
            doc.update(considered=e.considered, fitting=e.fitting, rejectedOmitted=e.rejected_omitted)
            doc["identifiers"] = _from_explanation(e, status.placement.identifier)
    else:  # waiting or offered: the verdicts written with its Placed condition, the offers first
        e = status.explanation
        rows = _from_offers(status.offers or [])
        if e is not None:
            doc.update(considered=e.considered, fitting=e.fitting, rejectedOmitted=e.rejected_omitted)
            offered = {r["identifier"] for r in rows}
            rows += [r for r in _from_explanation(e, None) if r["identifier"] not in offered]
        doc["identifiers"] = rows
    return doc


def names_datasets(task: dict[str, Any]) -> bool:
    """Whether the task (ComputeTask JSON) reads a ComputeDataset (``spec.data.inputs[].dataset``)."""
    inputs = ((task.get("spec") or {}).get("data") or {}).get("inputs") or ()
    return any(isinstance(i, dict) and i.get("dataset") for i in inputs)


def relive(
    doc: dict[str, Any],
    task: dict[str, Any],
    snapshot: SnapshotDocument,
    datasets: Sequence[dict[str, Any]] = (),
    note: str = "",
) -> dict[str, Any]:
    """`doc` with the identifiers placement would give the task now, on `snapshot` (nothing assumed).

    `datasets` are the ComputeDatasets of the task's namespace, read from the hub, as the operator
    knows them: their replicas say where the task's datasets already are. `note` says why they could
    not be read, if so; the recomputation then counts their bytes in ``spec.data.region``.
    """
    namespace = task.get("metadata", {}).get("namespace") or "default"
    record = record_of(task, 0, namespace)
    pool = next((p for p in snapshot.pools if p.name == record.spec.pool), None)
    if pool is None:
        return {**doc, "live": f"pool {record.spec.pool!r} does not exist"}
    live = rebuild(snapshot)
    known = datasets_of(datasets, namespace)
    demand = demand_of(record, pool.placement, frozenset(pool.members), known, store_regions(live))
    demand = avoiding(demand, record, snapshot.taken)
    decision = place(live, demand)
    e = explanation(decision, list_up_to=None)
    chosen = decision.chosen.identifier if decision.chosen is not None else None
    return {
        **doc,
        "considered": e.considered,
        "fitting": e.fitting,
        "rejectedOmitted": e.rejected_omitted,
        "identifiers": _from_explanation(e, chosen),
        "live": f"recomputed on the live snapshot of {snapshot.taken.isoformat()}: {decision.summary}"
        + (f" ({note})" if note else ""),
    }


def score_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({name for row in rows for name in row.get("scores", {})})


def table_rows(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Column]]:
    rows = doc["identifiers"]
    names = score_names(rows)
    columns = [Column("IDENTIFIER", "identifier"), Column("VERDICT", "verdict"), Column("SCORE", "score")]
    columns += [Column(name.upper(), f"score:{name}") for name in names]
    columns += [
        Column("MODEL", "acceleratorModel", wide=True),
        Column("VARIANT", "variant", wide=True),
        Column("PRICE/H", "price", wide=True),
        *data_figures.columns(rows, wide=True),
        Column("REASON", "why"),
    ]
    flat = []
    for row in rows:
        entry = dict(row)
        for name in names:
            entry[f"score:{name}"] = row.get("scores", {}).get(name)
        if "pricePerHour" in row:
            entry["price"] = f"{row['pricePerHour']:.2f} {row.get('currency') or ''}".strip()
        entry.update(data_figures.cells(row))
        entry["why"] = f"{row['filter']}: {row['message']}" if row["verdict"] == REJECTED else "-"
        flat.append(entry)
    return flat, columns


def footer(doc: dict[str, Any]) -> str:
    lines = []
    if doc["summary"]:
        lines.append(doc["summary"])
    if doc.get("live"):
        lines.append(doc["live"])
    if doc["rejectedOmitted"]:
        lines.append(
            f"{doc['rejectedOmitted']} more rejected identifiers are counted in the line above, not listed "
            "(--live lists every one)"
        )
    if not doc["identifiers"]:
        lines.append(
            f"no decision with runners-up on {doc['task']} yet (phase {doc['phase'] or 'Pending'}): "
            "--live asks placement again on the operator's live snapshot"
        )
    return "\n".join(lines)
