"""docs/metrics.md lists exactly the metrics the registry exposes, with their types and labels.

Every metric is made to yield samples (the collector from fake views, the counters and histograms by
one event each), so the exposed names and label sets are read from a real exposition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from computenet.metrics import (
    AcceleratorView,
    IdentifierView,
    Metrics,
    PoolView,
    QueueView,
    ResourceView,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
ROW = re.compile(r"^\|\s*`(?P<name>computenet_\w+)`\s*\|\s*(?P<type>\w+)\s*\|[^|]*\|\s*(?P<labels>[^|]*)\|")
HISTOGRAM_LABEL = "le"
GIB = 2**30


@dataclass(frozen=True)
class Documented:
    type: str
    labels: frozenset[str]


def documented() -> dict[str, Documented]:
    rows: dict[str, Documented] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            assert match["name"] not in rows, f"{match['name']} is documented twice"
            labels = frozenset(re.findall(r"`(\w+)`", match["labels"]))
            rows[match["name"]] = Documented(match["type"], labels)
    return rows


def resources() -> ResourceView:
    amounts = {"cpu": 64.0, "memory": 256.0 * GIB, "nvidia.com/gpu": 8.0}
    return ResourceView(dict(amounts), dict(amounts), {"cpu": 8.0}, dict(amounts))


def filled() -> Metrics:
    """A registry where every metric has at least one series."""
    metrics = Metrics.create()
    h100 = AcceleratorView(capacity=8, allocatable=8, allocated=2, free=6, largest_free_slot=6)
    metrics.sources.identifiers = lambda: [
        IdentifierView(
            name="member-1",
            region="cn-east",
            ready=True,
            reachable=True,
            nodes={"total": 2, "ready": 2, "schedulable": 1},
            resources=resources(),
            accelerators={"NVIDIA-H100-80GB-HBM3": h100},
            watch_restarts=3,
            watch_errors=1,
        )
    ]
    metrics.sources.pools = lambda: [
        PoolView(
            name="default",
            members_ready=1,
            members_total=1,
            resources=resources(),
            accelerators={"NVIDIA-H100-80GB-HBM3": h100},
            tflops={"bf16": 7916.0},
            unknown_models=0,
        )
    ]
    metrics.sources.queue = lambda: QueueView({("team-a", "Running"): 2}, depth=1, oldest_pending_age_s=12.0)
    for f in fields(metrics):
        metric = getattr(metrics, f.name)
        if isinstance(metric, MetricWrapperBase):
            child = metric.labels(*["x"] * len(metric._labelnames)) if metric._labelnames else metric
            if hasattr(child, "observe"):
                child.observe(1.0)
            else:
                child.inc()
    return metrics


def exposed() -> dict[str, Documented]:
    """Exposed metric name (counters with `_total`) -> type and labels, from a real exposition."""
    text = generate_latest(filled().registry).decode()
    found: dict[str, Documented] = {}
    for family in text_string_to_metric_families(text):
        if family.name.endswith("_created"):
            continue  # prometheus-client's start-time series, documented as a group
        name = f"{family.name}_total" if family.type == "counter" else family.name
        assert family.samples, f"{name} yielded no sample: fill it in filled()"
        labels = frozenset(k for s in family.samples for k in s.labels if k != HISTOGRAM_LABEL)
        found[name] = Documented(family.type, labels)
    return found


def test_the_doc_lists_exactly_the_exposed_metrics() -> None:
    docs, real = documented(), exposed()
    assert sorted(set(real) - set(docs)) == [], "exposed but not documented"
    assert sorted(set(docs) - set(real)) == [], "documented but not exposed"


@pytest.mark.parametrize("name", sorted(exposed()))
def test_documented_type_and_labels(name: str) -> None:
    assert documented()[name] == exposed()[name]


def test_memory_usage_is_exported_in_bytes() -> None:
    metrics = Metrics.create()
    metrics.usage_memory_gib_seconds.labels("default", "member-1", "team-a").inc(1.5)  # callers pass GiB-seconds
    text = generate_latest(metrics.registry).decode()
    value = next(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "computenet_usage_memory_byte_seconds_total"
    )
    assert value == 1.5 * GIB


def test_every_phase_of_a_namespace_is_exported() -> None:
    metrics = Metrics.create()
    metrics.sources.queue = lambda: QueueView({("team-a", "Running"): 2}, depth=0, oldest_pending_age_s=0.0)
    text = generate_latest(metrics.registry).decode()
    tasks = {
        s.labels["phase"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "computenet_tasks"
    }
    assert tasks["Running"] == 2
    assert tasks["Succeeded"] == 0
    assert set(tasks) >= {"Pending", "Running", "Succeeded", "Failed", "Cancelled"}
