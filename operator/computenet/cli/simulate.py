"""``simulate -f tasks.yaml``: where each task would go, and what would wait and why, in order.

The tasks are placed by the operator's own queue (`placement.queue.schedule`: priority, then the
order they appear in the file) on the snapshot the operator serves, or on a saved one, each
decision assuming the resources of the ones before it, exactly as one scheduling pass would.
ComputeDatasets in the same file say where the tasks' datasets have replicas. Nothing is created or
dispatched. Tasks already waiting in the pool are not part of the what-if; resources the operator
has just promised to placed tasks are (they ride in the snapshot).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from computenet.api.constants import DATASET, TASK
from computenet.api.data import ComputeDataset
from computenet.api.task import ComputeTaskSpec
from computenet.cli import data_figures
from computenet.cli.errors import CliError
from computenet.cli.output import Column
from computenet.placement import Assumptions, Decision, Demand, offers, schedule
from computenet.snapshot_export import PoolDoc, SnapshotDocument, rebuild
from computenet.tasks.demand import Datasets, demand_of, store_regions
from computenet.tasks.record import TaskRecord

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PLACED, OFFERED, WAITS = "placed", "offers", "waits"

COLUMNS = (
    Column("#", "order"),
    Column("TASK", "task"),
    Column("PRIORITY", "priority", wide=True),
    Column("RESULT", "result"),
    Column("IDENTIFIER", "identifier"),
    Column("SCORE", "score"),
    Column("MODEL", "acceleratorModel", wide=True),
    Column("PRICE/H", "price", wide=True),
    Column("DATA ETA", data_figures.ETA, wide=True),
    Column("DATA COST", data_figures.COST, wide=True),
    Column("NODES", "nodeList", wide=True),
    Column("REASON", "reason"),
)


def read_objects(path: str, stdin_text: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """ComputeTasks, and any ComputeDatasets beside them, from a YAML file; ``-`` reads `stdin_text`.

    The file holds several documents, or a List; the datasets tell placement where the tasks'
    datasets have replicas.
    """
    try:
        text = stdin_text if path == "-" else Path(path).read_text()
        docs = [d for d in yaml.safe_load_all(text or "") if d]
    except (OSError, yaml.YAMLError) as e:
        raise CliError(f"cannot read {path}: {e}") from e
    objects: list[dict[str, Any]] = []
    for doc in docs:
        items = doc.get("items", []) if doc.get("kind") == "List" else [doc]
        objects.extend(i for i in items if isinstance(i, dict))
    found = [o for o in objects if o.get("kind") == TASK.kind]
    if not found:
        raise CliError(f"{path} holds no ComputeTask")
    return found, [o for o in objects if o.get("kind") == DATASET.kind]


def read_tasks(path: str, stdin_text: str | None = None) -> list[dict[str, Any]]:
    """ComputeTasks from a YAML file (several documents, or a List); ``-`` reads `stdin_text`."""
    return read_objects(path, stdin_text)[0]


def datasets_of(objects: Sequence[dict[str, Any]], namespace: str) -> Datasets:
    """ComputeDatasets by (namespace, name); one that does not read is a CliError naming its field."""
    out: dict[tuple[str, str], ComputeDataset] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        try:
            dataset = ComputeDataset.model_validate(obj)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CliError(f"computedataset {meta.get('name')}: {where}: {first['msg']}") from e
        out[(meta.get("namespace") or namespace, meta.get("name") or "")] = dataset
    return out


def record_of(obj: dict[str, Any], index: int, namespace: str) -> TaskRecord:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or f"task-{index}"
    try:
        spec = ComputeTaskSpec.model_validate(obj.get("spec") or {})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CliError(f"computetask {name}: spec.{where}: {first['msg']}") from e
    return TaskRecord(
        uid=f"simulated-{index}",
        namespace=meta.get("namespace") or namespace,
        name=name,
        created=EPOCH + dt.timedelta(seconds=index),  # file order is submission order
        generation=1,
        spec=spec,
        template=(obj.get("spec") or {}).get("template") or {},
    )


def _entry(order: int, record: TaskRecord, decision: Decision | None, reason: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "order": order,
        "task": record.key,
        "priority": record.spec.priority,
        "result": WAITS,
        "reason": reason,
    }
    if decision is None:
        return entry
    if record.spec.suspend:
        found = offers(decision)
        if found:
            entry.update(result=OFFERED, identifier=", ".join(o.identifier for o in found))
        return entry
    chosen = decision.chosen
    if chosen is not None:
        entry.update(
            result=PLACED,
            identifier=chosen.identifier,
            score=round(chosen.score, 1),
            acceleratorModel=chosen.model,
            pricePerHour=None if chosen.price_per_hour is None else round(chosen.price_per_hour, 4),
            currency=chosen.currency,
            nodes=sorted({slot.node for slot in decision.assignment}),
            dataBytes=chosen.data_bytes,
            dataTransferSeconds=None if chosen.data_seconds is None else round(chosen.data_seconds, 1),
            dataCost=None if chosen.data_cost is None else round(chosen.data_cost, 4),
            dataCurrency=chosen.data_currency if chosen.data_cost is not None else None,
        )
    return {k: v for k, v in entry.items() if v is not None}


def simulate(
    tasks: Sequence[dict[str, Any]], doc: SnapshotDocument, namespace: str, datasets: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The what-if document: one entry per task, in the order the queue takes them."""
    records = [record_of(obj, i, namespace) for i, obj in enumerate(tasks)]
    known = datasets_of(datasets, namespace)
    pools: dict[str, PoolDoc] = {p.name: p for p in doc.pools}
    demands: list[Demand] = []
    missing: list[TaskRecord] = []
    by_uid = {r.uid: r for r in records}
    snapshot = rebuild(doc)
    stores = store_regions(snapshot)
    for record in records:
        pool = pools.get(record.spec.pool)
        if pool is None:
            missing.append(record)
            continue
        demands.append(demand_of(record, pool.placement, frozenset(pool.members), known, stores))
    entries: list[dict[str, Any]] = []
    for demand, decision in schedule(demands, snapshot, Assumptions(), now=0.0):
        record = by_uid[demand.uid]
        entries.append(_entry(len(entries) + 1, record, decision, decision.summary))
    for record in missing:
        line = f"pool {record.spec.pool!r} does not exist: create the ComputePool or set spec.pool"
        entries.append(_entry(len(entries) + 1, record, None, line))
    return {"snapshot": doc.taken.isoformat(), "tasks": entries}


def table_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for entry in doc["tasks"]:
        row = dict(entry)
        if "pricePerHour" in entry:
            row["price"] = f"{entry['pricePerHour']:.2f} {entry.get('currency') or ''}".strip()
        row["nodeList"] = ",".join(entry.get("nodes", []))
        row.update(data_figures.cells(entry))
        if entry["result"] == PLACED:
            row["reason"] = "-"
        rows.append(row)
    return rows


def footer(doc: dict[str, Any]) -> str:
    tasks = doc["tasks"]
    placed = sum(1 for t in tasks if t["result"] == PLACED)
    waits = sum(1 for t in tasks if t["result"] == WAITS)
    return f"{placed} would run, {waits} would wait (snapshot of {doc['snapshot']}); nothing was dispatched"
