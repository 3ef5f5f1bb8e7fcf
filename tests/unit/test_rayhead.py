"""The played Ray head (computenet.testing.rayhead): its Jobs REST API, addresses and submitter commands."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from computenet.testing import rayhead
from computenet.testing.rayhead import Jobs, Reply, Service, SubmitCommand

T0 = 1_796_640_000_000  # ms since the epoch


def _post(jobs: Jobs, body: dict[str, Any], now: int = T0) -> Reply:
    return jobs.route("POST", "/api/jobs/", json.dumps(body).encode(), now)


def _get(jobs: Jobs, path: str, now: int) -> Reply:
    return jobs.route("GET", path, b"", now)


@pytest.mark.parametrize(
    ("metadata", "at_ms", "status", "message_starts", "exit_code"),
    [
        pytest.param({}, 1999, "RUNNING", "Job is currently running.", None, id="a job runs 2s by default"),
        pytest.param({}, 2000, "SUCCEEDED", "Job finished successfully.", 0, id="and then succeeds"),
        pytest.param(
            {"sim.computenet.io/run-duration": "500ms"},
            500,
            "SUCCEEDED",
            "Job finished",
            0,
            id="a shorter run-duration",
        ),
        pytest.param(
            {"sim.computenet.io/run-duration": "1m"}, 59_999, "RUNNING", "Job is currently", None, id="or lengthens it"
        ),
        pytest.param(
            {"sim.computenet.io/outcome": "Failed"},
            2000,
            "FAILED",
            "Job entrypoint command failed with exit code 1, last available logs (truncated to 20,000 chars):\n"
            "Running entrypoint for job j: python main.py\n",
            1,
            id="outcome Failed ends as Ray reports an entrypoint that exited 1, with its logs",
        ),
    ],
)
def test_a_job_runs_for_its_duration_and_ends_as_its_metadata_says(
    metadata: dict[str, str], at_ms: int, status: str, message_starts: str, exit_code: int | None
) -> None:
    jobs = Jobs()
    assert _post(jobs, {"entrypoint": "python main.py", "submission_id": "j", "metadata": metadata}) == Reply(
        200, {"job_id": "j", "submission_id": "j"}
    )
    got = _get(jobs, "/api/jobs/j", T0 + at_ms)
    assert got.status == 200
    assert got.body["status"] == status
    assert got.body["message"].startswith(message_starts)
    assert got.body["driver_exit_code"] == exit_code
    assert got.body["start_time"] == T0
    assert got.body["end_time"] == (T0 + at_ms if status != "RUNNING" else None)
    assert got.body["metadata"] == (metadata or None)


def test_an_unknown_job_is_404_as_kuberay_expects_to_submit_in_http_mode() -> None:
    assert Jobs().route("GET", "/api/jobs/nope", b"", T0) == Reply(404, "Job nope does not exist")


def test_a_second_submission_of_one_id_is_refused_in_the_words_kuberay_recognises() -> None:
    jobs = Jobs()
    _post(jobs, {"entrypoint": "true", "submission_id": "j"})
    again = _post(jobs, {"entrypoint": "true", "submission_id": "j"})
    assert again.status == 500
    assert "Please use a different submission_id" in again.body
    assert jobs.submitted() == ["j"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param({"submission_id": "j"}, "entrypoint", id="no entrypoint"),
        pytest.param({"entrypoint": "x", "metadata": {"k": 1}}, "metadata", id="metadata of a non-string"),
        pytest.param(
            {"entrypoint": "x", "metadata": {"sim.computenet.io/outcome": "Crashed"}},
            "sim.computenet.io/outcome",
            id="an outcome the player does not know",
        ),
        pytest.param(
            {"entrypoint": "x", "metadata": {"sim.computenet.io/run-duration": "soon"}},
            "sim.computenet.io/run-duration",
            id="a duration it cannot read",
        ),
    ],
)
def test_a_bad_submission_is_a_400_naming_the_field(body: dict[str, Any], says: str) -> None:
    got = _post(Jobs(), body)
    assert got.status == 400
    assert says in got.body


def test_stop_ends_a_running_job_stopped_and_a_finished_one_stays_as_it_was() -> None:
    jobs = Jobs()
    _post(jobs, {"entrypoint": "true", "submission_id": "a"})
    _post(jobs, {"entrypoint": "true", "submission_id": "b", "metadata": {"sim.computenet.io/run-duration": "10ms"}})
    assert jobs.route("POST", "/api/jobs/a/stop", b"", T0 + 100) == Reply(200, {"stopped": True})
    assert jobs.route("POST", "/api/jobs/b/stop", b"", T0 + 100) == Reply(200, {"stopped": False})
    assert _get(jobs, "/api/jobs/a", T0 + 5000).body["status"] == "STOPPED"
    assert _get(jobs, "/api/jobs/b", T0 + 5000).body["status"] == "SUCCEEDED"


def test_list_logs_version_and_delete() -> None:
    jobs = Jobs()
    _post(jobs, {"entrypoint": "echo hi"})
    (listed,) = _get(jobs, "/api/jobs/", T0).body
    job_id = listed["submission_id"]
    assert job_id.startswith("raysubmit_")
    logs = _get(jobs, f"/api/jobs/{job_id}/logs", T0).body
    assert logs == {"logs": f"Running entrypoint for job {job_id}: echo hi\n"}
    assert _get(jobs, "/api/version", T0).body["version"] == "4"
    assert jobs.route("DELETE", f"/api/jobs/{job_id}", b"", T0).status == 400, "still running"
    assert jobs.route("DELETE", f"/api/jobs/{job_id}", b"", T0 + 2000) == Reply(200, {"deleted": True})
    assert _get(jobs, "/api/jobs/", T0).body == []


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        pytest.param("127.0.0.1", False, id="loopback"),
        pytest.param("169.254.10.1", False, id="link-local"),
        pytest.param("224.0.0.5", False, id="link-local multicast"),
        pytest.param("0.0.0.0", False, id="unspecified"),
        pytest.param("::1", False, id="IPv6 loopback"),
        pytest.param("fe80::1", False, id="IPv6 link-local"),
        pytest.param("10.244.0.7", True, id="a private pod address"),
        pytest.param("192.0.2.2", True, id="a documentation address is still global unicast"),
        pytest.param("fd00::2", True, id="IPv6 unique local"),
    ],
)
def test_which_addresses_a_service_endpoint_may_have(ip: str, allowed: bool) -> None:
    assert rayhead.endpoint_address_allowed(ip) is allowed


def test_the_host_address_is_one_an_endpoint_may_have() -> None:
    assert rayhead.endpoint_address_allowed(rayhead.host_address())


# KubeRay v1.5.0's K8sJobMode line (controllers/ray/common/job.go, BuildJobSubmitCommand), as it writes it.
ADDRESS = "http://ray-batch-abc-head-svc.team-a.svc.cluster.local:8265"
LINE = (
    f"if ! ray job status --address {ADDRESS} ray-batch-x7k2 >/dev/null 2>&1 ; then ray job submit --address {ADDRESS}"
    ' --no-wait --runtime-env-json "{\\"pip\\":[\\"numpy\\"]}"'
    ' --metadata-json "{\\"sim.computenet.io/outcome\\":\\"Failed\\"}"'
    " --submission-id ray-batch-x7k2 -- python /home/ray/samples/batch_inference.py --n 3 ; fi ;"
    f" ray job logs --address {ADDRESS} --follow ray-batch-x7k2"
)


def test_the_submitter_command_is_read_as_the_submission_it_makes() -> None:
    cmd = rayhead.parse_submitter(LINE)
    assert cmd == SubmitCommand(
        ADDRESS,
        "ray-batch-x7k2",
        "python /home/ray/samples/batch_inference.py --n 3",
        {"sim.computenet.io/outcome": "Failed"},
        {"pip": ["numpy"]},
    )
    assert cmd.request() == {
        "entrypoint": "python /home/ray/samples/batch_inference.py --n 3",
        "submission_id": "ray-batch-x7k2",
        "metadata": {"sim.computenet.io/outcome": "Failed"},
        "runtime_env": {"pip": ["numpy"]},
    }


@pytest.mark.parametrize(
    ("line", "says"),
    [
        pytest.param("ray job logs --follow x", "no `ray job submit`", id="no submission"),
        pytest.param("ray job submit --address a --submission-id x python x.py", "no `--`", id="no entrypoint"),
        pytest.param("ray job submit --address a -- python x.py", "--submission-id", id="no submission id"),
    ],
)
def test_a_submitter_command_it_cannot_read_is_an_error_saying_what_is_missing(line: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        rayhead.parse_submitter(line)


@pytest.mark.parametrize(
    ("address", "service"),
    [
        pytest.param(ADDRESS, Service("team-a", "ray-batch-abc-head-svc", 8265), id="KubeRay's dashboard URL"),
        pytest.param("h.ns.svc.example.org:9000", Service("ns", "h", 9000), id="without a scheme, another domain"),
    ],
)
def test_an_in_cluster_address_names_its_service(address: str, service: Service) -> None:
    assert Service.of(address) == service
    assert service.proxy_path("/api/jobs/") == (
        f"/api/v1/namespaces/{service.namespace}/services/{service.name}:{service.port}/proxy/api/jobs/"
    )


@pytest.mark.parametrize("address", ["http://10.0.0.1:8265", "http://h.ns.svc.cluster.local"])
def test_an_address_that_names_no_service_is_an_error(address: str) -> None:
    with pytest.raises(ValueError, match=r"<service>\.<namespace>\.svc"):
        Service.of(address)


def test_the_head_serves_the_api_over_http_and_records_who_called() -> None:
    head = rayhead.RayHead("127.0.0.1")
    try:
        req = urllib.request.Request(
            f"http://127.0.0.1:{head.port}/api/jobs/",
            data=json.dumps({"entrypoint": "true", "submission_id": "s"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.loads(resp.read()) == {"job_id": "s", "submission_id": "s"}
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{head.port}/api/jobs/nope", timeout=5)
        assert missing.value.code == 404
        missing.value.close()
        assert head.requests == ["POST /api/jobs/", "GET /api/jobs/nope"]
    finally:
        head.stop()
