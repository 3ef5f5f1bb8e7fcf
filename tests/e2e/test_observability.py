"""Metrics and dashboards end to end: a real Prometheus scrapes the operator while tasks run.

Every query of every panel of every shipped Grafana dashboard is evaluated through Prometheus' HTTP
API with its template variables resolved from the live data, and must return a number: a panel that
shows "No data" on a working federation is a bug. promtool lints a live scrape, labels stay bounded,
and an identifier's gauges appear and disappear with the identifier itself.

Tasks run in two waves: the first creates the counter and histogram series, the second moves them.
A fresh operator's series are born at their first value, which `rate` cannot see; a long-running
operator's are not, and the dashboards are written for that one.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from computenet.api.constants import TASK_NAME_LABEL
from computenet.testing import devenv
from computenet.testing.federation import Cluster, Federation, free_port
from computenet.testing.topology import default_shape
from support.timeouts import JOB_S, STATE_S, STATUS_FOLLOW_S
from support.wait import eventually

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "charts" / "computenet" / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))
NAMESPACES = ("obs-a", "obs-b")
QUEUE = "obs"
TERMINAL = {"Succeeded", "Failed", "Cancelled"}
UNBOUNDED_LABELS = {"task", "pod", "node", "uid"}
REQUIRED_DASHBOARDS = {"pool-overview", "task-flow", "member-health", "spend", "tenants"}

# What Grafana puts in place of its built-in variables. Queries are evaluated at one instant right
# after the second wave, so a one-minute rate window always holds the wave's increments.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<match>.+?)\s*,\s*)?(?P<label>\w+)\s*\)\s*$")
PROMTOOL_TIMEOUT_S = 30.0
PROMETHEUS_STOP_S = 15.0


# --- dashboards as data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    dashboard: str
    title: str
    exprs: tuple[tuple[str, str], ...]  # (refId, expr)


def load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested (collapsed) panels included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def query_panels() -> list[Panel]:
    found = []
    for path in DASHBOARD_FILES:
        for panel in all_panels(load(path)):
            if panel["type"] == "row":
                continue
            exprs = tuple((t["refId"], t["expr"]) for t in panel.get("targets", []))
            found.append(Panel(path.stem, panel["title"], exprs))
    return found


PANELS = query_panels()


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard.get("templating", {}).get("list", []))


def variable_query(variable: dict[str, Any]) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, dict) else query)


def substitute(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        assert name in values, f"{name!r} is neither a built-in nor a variable of the dashboard"
        return values[name]

    return VARIABLE.sub(one, text)


def regex_alternation(values: list[str]) -> str:
    """Grafana's multi-value form when a variable has no allValue: (a|b), regex-escaped."""
    escaped = [re.sub(r"([\\^$*+?.()|\[\]{}])", r"\\\\\1", v) for v in values]
    return "(" + "|".join(escaped) + ")"


# --- Prometheus -----------------------------------------------------------------------------------


@dataclass
class Prometheus:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str, **params: str | list[str]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        data = self.api("query", **params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def label_values(self, label: str, match: str | None) -> list[str]:
        params: dict[str, str | list[str]] = {"start": f"{time.time() - 3600:.0f}", "end": f"{time.time():.0f}"}
        if match:
            params["match[]"] = [match]
        values: list[str] = self.api(f"label/{label}/values", **params)
        return values


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def prometheus(operator: devenv.OperatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Debian's Prometheus, scraping the operator every second, stopped with the module."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed: run hack/install-prometheus.sh"
    work = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "computenet", "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}]}
        ],
    }
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = work / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                "--storage.tsdb.retention.time=1h",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", process, log)
    try:

        def ready() -> bool:
            assert process.poll() is None, f"prometheus exited {process.returncode}:\n{log.read_text()}"
            return _ready(prom.url)

        eventually(ready, timeout=STATE_S)
        eventually(lambda: prom.value('up{job="computenet"}') == 1.0, timeout=STATE_S)
        yield prom
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=PROMETHEUS_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the operator's own scrape --------------------------------------------------------------------


def scrape(operator: devenv.OperatorProcess) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=10) as response:
        return str(response.read().decode())


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def total(text: str, name: str, **labels: str) -> float:
    return sum(v for n, ls, v in samples(text) if n == name and all(ls.get(k) == w for k, w in labels.items()))


# --- tasks ----------------------------------------------------------------------------------------


def task(
    name: str, namespace: str, *, gpus: int = 0, model: str | None = None, outcome: str | None = None
) -> dict[str, Any]:
    """A ComputeTask that kwok runs for a second and then succeeds (or ends as `outcome`)."""
    requests: dict[str, Any] = {"cpu": "500m", "memory": "1Gi"}
    resources: dict[str, Any] = dict(requests)
    container: dict[str, Any] = {"requests": dict(requests)}
    if gpus:
        resources["accelerators"] = {"count": gpus, "vendor": "nvidia", **({"models": [model]} if model else {})}
        container["limits"] = {"nvidia.com/gpu": gpus}
    annotations = {"sim.computenet.io/run-duration": "1s"}
    if outcome:
        annotations["sim.computenet.io/outcome"] = outcome
    pod = {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox", "resources": container}]}
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeTask",
        "metadata": {"name": name, "namespace": namespace, "labels": {"test": "observability"}},
        "spec": {
            "replicas": 1,
            "resources": resources,
            "template": {
                "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": annotations}, "spec": pod}}
            },
        },
    }


def wave(suffix: str) -> list[dict[str, Any]]:
    """GPU and CPU-only tasks that succeed in two namespaces, and one that fails."""
    a, b = NAMESPACES
    return [
        task(f"gpu-{suffix}", a, gpus=8, model="NVIDIA-H100-80GB-HBM3"),
        task(f"cpu-{suffix}", a),
        task(f"cpu-{suffix}", b),
        task(f"fails-{suffix}", b, outcome="Failed"),
    ]


def phases(hub: Cluster, namespace: str) -> dict[str, str]:
    out = hub.kubectl("get", "computetasks", "-n", namespace, "-l", "test=observability", "-o", "json").stdout
    return {t["metadata"]["name"]: (t.get("status") or {}).get("phase", "") for t in json.loads(out)["items"]}


def member_jobs(federation: Federation) -> list[str]:
    """Every Job the operator made in the members, with its counts and conditions (for failure messages)."""
    lines = []
    for member in federation.members:
        out = member.kubectl("get", "jobs", "-A", "-l", TASK_NAME_LABEL, "-o", "json", check=False).stdout
        for job in json.loads(out or '{"items": []}')["items"]:
            st = job.get("status") or {}
            conditions = [f"{c['type']}={c['status']}" for c in st.get("conditions") or []]
            counts = {k: st.get(k, 0) for k in ("active", "succeeded", "failed")}
            lines.append(f"{member.name} {job['metadata']['name']} {counts} {conditions}")
    return lines


def run_wave(
    federation: Federation, operator: devenv.OperatorProcess, prom: Prometheus, objects: list[dict[str, Any]]
) -> None:
    """Apply the tasks, wait until they end, then until Prometheus has scraped what they counted."""
    hub = federation.hub
    hub.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))
    names = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects}

    def all_terminal() -> bool:
        current = {(ns, n): p for ns in NAMESPACES for n, p in phases(hub, ns).items()}
        pending = {k: current.get(k) for k in names if current.get(k) not in TERMINAL}
        assert not pending, f"not terminal yet: {pending}"
        return True

    try:
        eventually(all_terminal, timeout=JOB_S)
    except AssertionError as e:
        raise AssertionError(f"{e}\nJobs in the members:\n" + "\n".join(member_jobs(federation))) from e
    text = scrape(operator)  # the operator's own count, which Prometheus must catch up with
    own = sum(total(text, "computenet_tasks_finished_total", namespace=ns) for ns in NAMESPACES)
    assert own >= len(objects), f"the operator counted {own} finished tasks in {NAMESPACES}"
    expr = f'sum(computenet_tasks_finished_total{{namespace=~"{"|".join(NAMESPACES)}"}})'
    eventually(lambda: prom.value(expr) == own, timeout=STATE_S)


@dataclass(frozen=True)
class Batch:
    at: float  # when Prometheus had scraped the second wave's results: panels are evaluated here


def queue() -> dict[str, Any]:
    """The test namespaces' default ComputeQueue, roomy enough for a wave, with a budget: the tenancy
    figures (quota, usage, spend against budget) exist only while a queue does."""
    return {
        "apiVersion": "computenet.io/v1alpha1",
        "kind": "ComputeQueue",
        "metadata": {"name": QUEUE},
        "spec": {
            "namespaces": list(NAMESPACES),
            "default": True,
            "nominalQuota": {"cpu": "64", "memory": "256Gi", "accelerators": {"NVIDIA-H100-80GB-HBM3": 16}},
            "budget": {"amount": 100000, "currency": "USD"},
        },
    }


@pytest.fixture(scope="module")
def batch(operator: devenv.OperatorProcess, federation: Federation, prometheus: Prometheus) -> Iterator[Batch]:
    hub = federation.hub
    for ns in NAMESPACES:
        hub.kubectl(
            "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        )
    hub.kubectl("apply", "-f", "-", input=json.dumps(queue()))
    try:
        run_wave(federation, operator, prometheus, wave(uuid.uuid4().hex[:6]))
        run_wave(federation, operator, prometheus, wave(uuid.uuid4().hex[:6]))
        yield Batch(time.time())
    finally:
        for ns in NAMESPACES:
            hub.kubectl("delete", "computetasks", "-n", ns, "-l", "test=observability", "--wait=false", check=False)
        hub.kubectl("delete", "computequeue", QUEUE, "--wait=false", check=False)


# --- dashboards: shape ----------------------------------------------------------------------------


def test_the_dashboards_ship_with_the_chart() -> None:
    assert {p.stem for p in DASHBOARD_FILES} >= REQUIRED_DASHBOARDS


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in DASHBOARD_FILES])
def test_dashboard_queries_prometheus_through_the_datasource_variable(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"].startswith("computenet-")
    kinds = {v["name"]: v["type"] for v in variables(dashboard)}
    assert kinds.get("datasource") == "datasource"
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel.get("targets"), f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert "computenet_" in target["expr"], f"{panel['title']} reads no computenet metric"
    for variable in variables(dashboard):
        if variable["type"] == "query":
            assert LABEL_VALUES.match(variable_query(variable)), variable["name"]


@pytest.mark.parametrize(
    "metric",
    [
        pytest.param("computenet_tasks_stuck", id="stuck tasks"),
        pytest.param("computenet_queue_quota", id="quota per queue"),
        pytest.param("computenet_queue_spend", id="spend per queue"),
        pytest.param("computenet_queue_budget", id="budget per queue"),
    ],
)
def test_the_figures_operators_watch_have_a_panel(metric: str) -> None:
    shown = {expr for panel in PANELS for _, expr in panel.exprs}
    assert any(re.search(rf"\b{metric}\b", expr) for expr in shown), f"no dashboard panel reads {metric}"


def test_dashboard_uids_and_titles_are_unique() -> None:
    dashboards = [load(p) for p in DASHBOARD_FILES]
    assert len({d["uid"] for d in dashboards}) == len(dashboards)
    assert len({d["title"] for d in dashboards}) == len(dashboards)


# --- dashboards: every panel returns data ---------------------------------------------------------


@pytest.fixture(scope="module")
def substitutions(prometheus: Prometheus, batch: Batch) -> dict[str, dict[str, str]]:
    """Per dashboard, the text each variable stands for: its All form over the values it resolves to."""
    resolved: dict[str, dict[str, str]] = {}
    for path in DASHBOARD_FILES:
        values = dict(BUILTINS)
        for variable in variables(load(path)):
            name = variable["name"]
            if variable["type"] == "datasource":
                values[name] = "prometheus"
                continue
            assert variable["type"] == "query", f"{path.stem}: ${name} is a {variable['type']} variable"
            parsed = LABEL_VALUES.match(variable_query(variable))
            assert parsed, f"{path.stem}: ${name} is not label_values(...)"
            match = substitute(parsed["match"], values) if parsed["match"] else None
            found = prometheus.label_values(parsed["label"], match)
            assert found, f"{path.stem}: ${name} = {variable_query(variable)} resolves to nothing"
            if variable.get("includeAll"):
                values[name] = variable.get("allValue") or regex_alternation(found)
            else:
                current = (variable.get("current") or {}).get("value")
                values[name] = current if current in found else found[0]
        resolved[path.stem] = values
    return resolved


def finite(result: list[dict[str, Any]]) -> list[float]:
    return [float(r["value"][1]) for r in result if math.isfinite(float(r["value"][1]))]


@pytest.mark.parametrize("panel", [pytest.param(p, id=f"{p.dashboard}: {p.title}") for p in PANELS])
def test_panel_returns_data(
    panel: Panel, prometheus: Prometheus, batch: Batch, substitutions: dict[str, dict[str, str]]
) -> None:
    assert panel.exprs, "the panel has no query"
    empty = {}
    for ref, expr in panel.exprs:
        query = substitute(expr, substitutions[panel.dashboard])
        result = prometheus.query(query, at=batch.at)
        if not finite(result):
            empty[ref] = f"{query} -> {result}"
    assert not empty, f"queries without a number: {empty}"


# --- metrics --------------------------------------------------------------------------------------


def test_promtool_accepts_a_live_scrape(operator: devenv.OperatorProcess, batch: Batch) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is not installed: run hack/install-prometheus.sh"
    text = scrape(operator)
    assert "computenet_dispatch_latency_seconds_bucket" in text  # histograms and counters have samples
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, text=True, capture_output=True, timeout=PROMTOOL_TIMEOUT_S
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not (checked.stdout + checked.stderr).strip(), checked.stdout + checked.stderr


def test_labels_are_bounded_and_names_prefixed(operator: devenv.OperatorProcess, batch: Batch) -> None:
    found = samples(scrape(operator))
    assert found
    assert not [n for n, _, _ in found if not n.startswith("computenet_")]
    unbounded = {(n, k) for n, labels, _ in found for k in labels if k in UNBOUNDED_LABELS}
    assert not unbounded, unbounded


def test_usage_and_cost_are_counted_per_pool_identifier_and_namespace(
    operator: devenv.OperatorProcess, batch: Batch
) -> None:
    text = scrape(operator)
    a, b = NAMESPACES
    gpu = "computenet_usage_accelerator_seconds_total"
    assert total(text, gpu, pool="default", identifier="member-1", namespace=a, model="NVIDIA-H100-80GB-HBM3") >= 16
    assert total(text, gpu, namespace=b) == 0  # CPU-only tasks use no accelerator
    for ns in NAMESPACES:
        assert total(text, "computenet_usage_cpu_core_seconds_total", pool="default", namespace=ns) > 0
        assert total(text, "computenet_usage_memory_byte_seconds_total", namespace=ns) >= 2**30  # 1 GiB for >= 1 s
        assert total(text, "computenet_cost_total", namespace=ns, currency="USD") > 0
    assert total(text, "computenet_tasks_finished_total", namespace=b, phase="Failed") >= 2


def test_placement_duration_is_measured(operator: devenv.OperatorProcess, batch: Batch) -> None:
    text = scrape(operator)
    assert total(text, "computenet_placement_duration_seconds_count") >= 8
    assert total(text, "computenet_placement_duration_seconds_sum") > 0, "placement decisions observed as 0 s"


def test_identifier_gauges_follow_the_identifier(
    operator: devenv.OperatorProcess, hub: Cluster, member: Cluster
) -> None:
    name = "obs-member-1-h100"
    manifest = devenv.identifier_manifest(1, member, default_shape(1), ["cn-east"])
    manifest["metadata"] = {"name": name}  # no pool label: the partition overlaps member-1
    manifest["spec"]["uri"] = "cpi://east-cloud/cn-east/member-1/h100-x"
    manifest["spec"]["connection"]["nodeSelector"] = {"matchLabels": {"computenet.io/node-group": "h100"}}

    def series_of(identifier: str) -> list[tuple[str, dict[str, str], float]]:
        return [s for s in samples(scrape(operator)) if s[1].get("identifier") == identifier]

    def ready() -> list[tuple[str, dict[str, str], float]]:
        found = series_of(name)
        assert ("computenet_identifier_ready", {"identifier": name, "region": "cn-east"}, 1.0) in found
        return found

    devenv.apply(hub, manifest)
    try:
        found = eventually(ready, timeout=STATE_S)
        models = {ls["model"] for n, ls, _ in found if n == "computenet_identifier_accelerators"}
        assert models == {"NVIDIA-H100-80GB-HBM3"}
    finally:
        hub.kubectl("delete", "computeidentifier", name, "--ignore-not-found")
    eventually(lambda: series_of(name) == [], timeout=STATE_S + STATUS_FOLLOW_S)
    assert series_of("member-1"), "the whole member is still there"
