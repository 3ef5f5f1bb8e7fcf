"""A Ray head's dashboard, played on this machine for the Ray head pods kwok simulates.

kwok's pods run no containers, so nothing serves the Ray Jobs REST API that KubeRay's RayJob
controller reads a job's end from. This module plays that one part of a head, and nothing else:

* **KubeRay** (the member's real ray-operator v1.5.0, run with ``--use-kubernetes-proxy``) calls
  the dashboard at ``<API server>/api/v1/namespaces/<ns>/services/<head service>:dashboard/proxy``
  (controllers/ray/utils/util.go, GetRayDashboardClientFunc): ``GET /api/jobs/<id>`` for a job's
  status, ``POST /api/jobs/`` to submit in ``HTTPMode``, ``POST /api/jobs/<id>/stop`` when a
  RayJob is deleted unfinished (controllers/ray/utils/dashboardclient/dashboard_httpclient.go).
* **The member's API server** forwards that request to an address of the head Service's
  Endpoints (pkg/registry/core/service/storage/storage.go, ResourceLocation, Kubernetes v1.36.3),
  which **the endpoints controller** wrote from the head pod's IP.
* **kwok** reports the head pod's IP as the address its template names in the annotation
  ``sim.computenet.io/pod-ip`` (kwok-stages.yaml), where a kubelet would report the address its
  container listens on. An endpoint may not be loopback or link-local (pkg/apis/core/validation/
  validation.go, ValidateEndpointIP), so :func:`host_address` is an address of this machine's own
  network, and the head's ``dashboard`` container port is the port :class:`RayHead` listens on.
* **RayHead** (this module) answers as Ray's job head does (ray 2.x dashboard/modules/job/job_head.py;
  the shapes are KubeRay's utils/types/dashboard_httpclient.go and Ray's JobDetails). It does not
  run the entrypoint: a job runs for the time its metadata says (``sim.computenet.io/run-duration``,
  default 2s) and then succeeds, or fails as Ray reports an entrypoint that exited 1 when its
  metadata says ``sim.computenet.io/outcome: Failed``, the way kwok plays a pod's end from its
  annotations.
* **A RayJob's submitter pod** in ``K8sJobMode`` runs ``ray job submit`` against the head Service's
  cluster DNS name. A pod annotated ``sim.computenet.io/played-by`` is started by kwok and ended by
  its player: :func:`parse_submitter` reads the command KubeRay wrote (controllers/ray/common/job.go,
  BuildJobSubmitCommand) and :class:`ServiceDashboard` reaches the same Service through the API
  server's service proxy, where a pod would go through cluster DNS and kube-proxy.

A real Ray head could listen at the same address: ``ray[default]`` 2.60.0 installs 384 MB and its
``ray start --head`` took 15 s to bring up its six processes (GCS, raylet, dashboard, agents) on the
2-core test machine, and ``ray stop`` stops every Ray process of the machine, not one test's; the
tests play the head instead, through the same route.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import re
import shlex
import socket
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from computenet.testing.localapi import ApiError, LocalApi

SIM_OUTCOME = "sim.computenet.io/outcome"
SIM_RUN_DURATION = "sim.computenet.io/run-duration"
SIM_POD_IP = "sim.computenet.io/pod-ip"
SIM_PLAYED_BY = "sim.computenet.io/played-by"
DEFAULT_RUN_MS = 2000
RAY_VERSION = "2.41.0"
"""The Ray version the player answers ``/api/version`` with (the samples' head image)."""
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED"})
"""Ray's terminal job statuses (KubeRay apis/ray/v1 rayjob_types.go, IsJobTerminal)."""


# ---- which address a pod may have --------------------------------------------------------------


def endpoint_address_allowed(ip: str) -> bool:
    """Whether the API server accepts `ip` as a Service endpoint, so its service proxy can lead there.

    Mirrors ValidateEndpointIP (pkg/apis/core/validation/validation.go, Kubernetes v1.36.3): not
    unspecified, loopback, link-local unicast or link-local multicast. Raises ValueError for text
    that is no IP address.
    """
    addr = ipaddress.ip_address(ip)
    link_local_multicast = (
        addr in ipaddress.ip_network("224.0.0.0/24")
        if addr.version == 4
        else addr.packed[0] == 0xFF and addr.packed[1] & 0x0F == 0x02
    )
    return not (addr.is_unspecified or addr.is_loopback or addr.is_link_local or link_local_multicast)


_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def host_address() -> str:
    """An IPv4 address of this machine that a Service endpoint may have (its first such interface).

    Raises RuntimeError when the machine has none (only a loopback interface).
    """
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            try:
                raw = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode()))
            except OSError:
                continue  # no IPv4 address on it
            found.append(socket.inet_ntoa(raw[20:24]))
    for ip in found:
        if endpoint_address_allowed(ip):
            return ip
    raise RuntimeError(
        f"no network address on this machine can be a Service endpoint (found only {found or 'none'}): "
        "the API server proxies only to a pod address that is not loopback or link-local"
    )


# ---- the Jobs REST API, played -----------------------------------------------------------------


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000}


def duration_ms(text: str) -> int:
    """Milliseconds of a duration such as ``500ms``, ``2s`` or ``1m``; ValueError naming the text otherwise."""
    m = _DURATION.match(text.strip())
    if m is None:
        raise ValueError(f"{SIM_RUN_DURATION}: {text!r} is not a duration such as 500ms, 2s or 1m")
    return int(float(m.group(1)) * _UNIT_MS[m.group(2)])


@dataclass(frozen=True)
class Job:
    """One submitted job: what was asked, when, and how it is played to end."""

    submission_id: str
    entrypoint: str
    submitted_ms: int
    run_ms: int
    fails: bool
    metadata: Mapping[str, str] = field(default_factory=dict)
    runtime_env: Mapping[str, Any] | None = None
    stopped_ms: int | None = None

    def end_ms(self) -> int:
        return self.submitted_ms + self.run_ms if self.stopped_ms is None else self.stopped_ms

    def status(self, now_ms: int) -> str:
        """``RUNNING`` until its end, then ``STOPPED``, ``FAILED`` or ``SUCCEEDED``."""
        if now_ms < self.end_ms():
            return "RUNNING"
        if self.stopped_ms is not None:
            return "STOPPED"
        return "FAILED" if self.fails else "SUCCEEDED"

    def logs(self, now_ms: int) -> str:
        """The driver's log as Ray's job manager starts it, and a line saying who played it."""
        lines = [f"Running entrypoint for job {self.submission_id}: {self.entrypoint}"]
        if self.status(now_ms) in TERMINAL:
            code = 1 if self.fails else 0
            lines.append(f"(played by computenet.testing.rayhead: the entrypoint did not run; exit code {code})")
        return "".join(f"{line}\n" for line in lines)

    def details(self, now_ms: int) -> dict[str, Any]:
        """Ray's JobDetails of this job at `now_ms` (times in milliseconds since the epoch)."""
        status = self.status(now_ms)
        message, error_type, exit_code = {
            "RUNNING": ("Job is currently running.", None, None),
            "SUCCEEDED": ("Job finished successfully.", None, 0),
            "STOPPED": ("Job was intentionally stopped.", None, None),
            "FAILED": (
                "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n"
                + self.logs(now_ms),
                "JOB_ENTRYPOINT_COMMAND_ERROR",
                1,
            ),
        }[status]
        return {
            "type": "SUBMISSION",
            "job_id": None,
            "submission_id": self.submission_id,
            "driver_info": None,
            "status": status,
            "entrypoint": self.entrypoint,
            "message": message,
            "error_type": error_type,
            "start_time": self.submitted_ms,
            "end_time": self.end_ms() if status in TERMINAL else None,
            "metadata": dict(self.metadata) or None,
            "runtime_env": self.runtime_env,
            "driver_exit_code": exit_code,
        }


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status code and a JSON body, or text when `body` is a str."""

    status: int
    body: Any


def _job_from(request: Mapping[str, Any], submission_id: str, now_ms: int) -> Job:
    entrypoint = request.get("entrypoint")
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        raise ValueError("entrypoint: a job needs a non-empty entrypoint command")
    metadata = request.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError("metadata: a map of strings to strings")
    outcome = metadata.get(SIM_OUTCOME, "Succeeded")
    if outcome not in ("Succeeded", "Failed"):
        raise ValueError(f"metadata {SIM_OUTCOME}: {outcome!r} is neither Succeeded nor Failed")
    run = metadata.get(SIM_RUN_DURATION)
    runtime_env = request.get("runtime_env")
    return Job(
        submission_id=submission_id,
        entrypoint=entrypoint,
        submitted_ms=now_ms,
        run_ms=DEFAULT_RUN_MS if run is None else duration_ms(run),
        fails=outcome == "Failed",
        metadata=dict(metadata),
        runtime_env=dict(runtime_env) if isinstance(runtime_env, Mapping) else None,
    )


class Jobs:
    """The job table of one played head, and the REST routes over it (thread-safe).

    `route` is the whole API: the HTTP server only decodes requests and encodes its replies, so
    the routes are tested without a socket.
    """

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._made = 0

    def route(self, method: str, path: str, body: bytes, now_ms: int) -> Reply:
        """The reply of Ray's job head to `method` `path` with `body` at `now_ms`."""
        path = urlsplit(path).path.rstrip("/") or "/"
        parts = path.strip("/").split("/")
        with self._lock:
            if method == "GET" and path == "/api/version":
                return Reply(200, {"version": "4", "ray_version": RAY_VERSION, "ray_commit": "", "session_name": ""})
            if parts[:2] != ["api", "jobs"]:
                return Reply(404, f"404: Not Found ({path})")
            if len(parts) == 2:
                if method == "GET":
                    return Reply(200, [j.details(now_ms) for j in self._jobs.values()])
                if method == "POST":
                    return self._submit(body, now_ms)
            job = self._jobs.get(parts[2])
            if job is None:
                return Reply(404, f"Job {parts[2]} does not exist")
            if len(parts) == 3 and method == "GET":
                return Reply(200, job.details(now_ms))
            if len(parts) == 3 and method == "DELETE":
                if job.status(now_ms) not in TERMINAL:
                    return Reply(400, f"Attempted to delete job with status {job.status(now_ms)}.")
                del self._jobs[job.submission_id]
                return Reply(200, {"deleted": True})
            if parts[3:] == ["logs"] and method == "GET":
                return Reply(200, {"logs": job.logs(now_ms)})
            if parts[3:] == ["stop"] and method == "POST":
                if job.status(now_ms) in TERMINAL:
                    return Reply(200, {"stopped": False})
                self._jobs[job.submission_id] = replace(job, stopped_ms=now_ms)
                return Reply(200, {"stopped": True})
            return Reply(405, f"405: Method Not Allowed ({method} {path})")

    def _submit(self, body: bytes, now_ms: int) -> Reply:
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, Mapping):
                raise ValueError("the request is no JSON object")
            wanted = request.get("submission_id")
            if wanted is None:
                self._made += 1
                wanted = f"raysubmit_{self._made:016d}"
            job = _job_from(request, str(wanted), now_ms)
        except ValueError as e:
            return Reply(400, f"Failed to submit the job: {e}")
        if job.submission_id in self._jobs:
            # KubeRay recognises this text (dashboard_httpclient.go, SubmitJobReq).
            return Reply(
                500,
                f"ValueError: Job with submission_id {job.submission_id} already exists. "
                "Please use a different submission_id.",
            )
        self._jobs[job.submission_id] = job
        return Reply(200, {"job_id": job.submission_id, "submission_id": job.submission_id})

    def submitted(self) -> list[str]:
        """Submission ids in the order the jobs came."""
        with self._lock:
            return list(self._jobs)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.jobs.route(self.command, self.path, body, int(time.time() * 1000))
        text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        data = text.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/plain" if isinstance(reply.body, str) else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        self.server.requests.append(f"{self.command} {self.path}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], jobs: Jobs) -> None:
        super().__init__(address, _Handler)
        self.jobs = jobs
        self.requests: list[str] = []


class RayHead:
    """The played dashboard, listening on `address` and a free port until `stop`."""

    def __init__(self, address: str) -> None:
        self.jobs = Jobs()
        self._server = _Server((address, 0), self.jobs)
        self.address = address
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="rayhead", daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[str]:
        """``METHOD path`` of every request answered so far (who called what, through the proxy)."""
        return list(self._server.requests)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# ---- a K8sJobMode submitter's command, played --------------------------------------------------


@dataclass(frozen=True)
class SubmitCommand:
    """What KubeRay's submitter command does: ``ray job submit`` of this request, to `address`."""

    address: str
    submission_id: str
    entrypoint: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    runtime_env: Mapping[str, Any] | None = None

    def request(self) -> dict[str, Any]:
        """The body ``ray job submit`` posts to ``/api/jobs/`` (Ray's JobSubmitRequest)."""
        body: dict[str, Any] = {"entrypoint": self.entrypoint, "submission_id": self.submission_id}
        if self.metadata:
            body["metadata"] = dict(self.metadata)
        if self.runtime_env is not None:
            body["runtime_env"] = dict(self.runtime_env)
        return body


def parse_submitter(line: str) -> SubmitCommand:
    """The ``ray job submit`` in a K8sJobMode submitter's shell line (KubeRay's BuildJobSubmitCommand).

    The line reads ``if ! ray job status ... ; then ray job submit --address A [--runtime-env-json J]
    [--metadata-json M] --submission-id ID [...] -- ENTRYPOINT ; fi ; ray job logs --address A
    --follow ID``. Raises ValueError naming what is missing.
    """
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    tokens = list(lexer)
    for i in range(len(tokens) - 2):
        if tokens[i : i + 3] == ["ray", "job", "submit"]:
            start = i + 3
            break
    else:
        raise ValueError(f"no `ray job submit` in the submitter command {line!r}")
    try:
        dashdash = tokens.index("--", start)
    except ValueError:
        raise ValueError(f"no `--` before the entrypoint in {line!r}") from None
    options: dict[str, str] = {}
    flags = tokens[start:dashdash]
    i = 0
    while i < len(flags):
        if flags[i] == "--no-wait":
            i += 1
            continue
        if i + 1 >= len(flags):
            raise ValueError(f"option {flags[i]} has no value in {line!r}")
        options[flags[i]] = flags[i + 1]
        i += 2
    end = tokens.index(";", dashdash) if ";" in tokens[dashdash:] else len(tokens)
    entrypoint = " ".join(tokens[dashdash + 1 : end])
    for required in ("--address", "--submission-id"):
        if required not in options:
            raise ValueError(f"the submitter command has no {required}: {line!r}")
    metadata = json.loads(options["--metadata-json"]) if "--metadata-json" in options else {}
    runtime_env = json.loads(options["--runtime-env-json"]) if "--runtime-env-json" in options else None
    return SubmitCommand(options["--address"], options["--submission-id"], entrypoint, metadata, runtime_env)


@dataclass(frozen=True)
class Service:
    """A Service by cluster DNS name: ``http://<name>.<namespace>.svc.<domain>:<port>``."""

    namespace: str
    name: str
    port: int

    @classmethod
    def of(cls, address: str) -> Service:
        """The Service an in-cluster address names; ValueError when it names none."""
        url = urlsplit(address if "://" in address else f"http://{address}")
        labels = (url.hostname or "").split(".")
        if len(labels) < 3 or labels[2] != "svc" or url.port is None:
            raise ValueError(f"{address!r} is not <service>.<namespace>.svc.<domain>:<port>")
        return cls(labels[1], labels[0], url.port)

    def proxy_path(self, path: str) -> str:
        """`path` on this Service through the API server's service proxy."""
        return f"/api/v1/namespaces/{self.namespace}/services/{self.name}:{self.port}/proxy{path}"


@dataclass(frozen=True)
class ServiceDashboard:
    """Ray's Jobs REST API of a head Service, reached through a member's API server (as its admin)."""

    api: LocalApi
    service: Service

    def version(self) -> dict[str, Any]:
        """``GET /api/version``: what ``ray job submit`` asks first."""
        out: dict[str, Any] = self.api.request("GET", self.service.proxy_path("/api/version"))
        return out

    def job(self, submission_id: str) -> dict[str, Any] | None:
        """``ray job status``: the job's details, or None when the head has no such job."""
        try:
            out: dict[str, Any] = self.api.request("GET", self.service.proxy_path(f"/api/jobs/{submission_id}"))
        except ApiError as e:
            if e.status == 404:
                return None
            raise
        return out

    def submit(self, command: SubmitCommand) -> dict[str, Any]:
        """``ray job submit --no-wait``: post the command's request; the head's answer."""
        self.version()
        out: dict[str, Any] = self.api.request("POST", self.service.proxy_path("/api/jobs/"), command.request())
        return out
