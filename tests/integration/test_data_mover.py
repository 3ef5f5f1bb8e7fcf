"""The mover (`computenet stage copy|fetch`) against real S3-compatible stores (SeaweedFS), one per region.

Each test runs the command as a process, exactly as a mover Job or an init step would, and checks the
bytes that arrive: intact with the SHA-256 the mover reports, resumed after a kill without copying a
finished part again, and a wrong credential reported in the store's own words without the secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from computenet.data.plan import MiB
from computenet.testing.stores import Store

pytestmark = pytest.mark.timeout(300)

PART = 5 * MiB


def _client(store: Store) -> Any:
    return store.client_store().client  # type: ignore[attr-defined]


def _put(store: Store, key: str, data: bytes) -> str:
    _client(store).put_object(Bucket=store.bucket, Key=key, Body=data)
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _get(store: Store, key: str) -> bytes:
    body: bytes = _client(store).get_object(Bucket=store.bucket, Key=key)["Body"].read()
    return body


def _copy_argv(src: Store, src_key: str, dst: Store, dst_key: str, *extra: str, creds: str | None = None) -> list[str]:
    return [
        sys.executable, "-m", "computenet", "stage", "copy",
        f"--from=s3://{src.bucket}/{src_key}", f"--from-endpoint={src.endpoint}",
        f"--from-credentials={src.credentials_dir}",
        f"--to=s3://{dst.bucket}/{dst_key}", f"--to-endpoint={dst.endpoint}",
        f"--to-credentials={creds or dst.credentials_dir}",
        f"--part-size-mib={PART // MiB}", "--progress-interval=0", *extra,
    ]  # fmt: skip


def _run(argv: list[str]) -> tuple[int, list[dict[str, Any]], str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_copy_between_regions_arrives_intact_with_its_checksum(stores: dict[str, Store]) -> None:
    east, west = stores["cn-east"], stores["cn-west"]
    data = os.urandom(23 * MiB + 12345)
    checksum = _put(east, "intact/model.bin", data)

    code, lines, stderr = _run(_copy_argv(east, "intact/model.bin", west, "staged/model.bin", f"--checksum={checksum}"))

    assert code == 0, stderr
    progress = [line for line in lines if line["event"] == "progress"]
    assert progress[-1]["bytesDone"] == progress[-1]["bytesTotal"] == len(data)
    assert [p["bytesDone"] for p in progress] == sorted(p["bytesDone"] for p in progress)
    (result,) = lines[-1]["objects"]
    assert result == {
        "key": "staged/model.bin",
        "size": len(data),
        "checksum": checksum,
        "partsCopied": 5,
        "partsKept": 0,
        "bytesCopied": len(data),
    }
    assert _get(west, "staged/model.bin") == data
    head = _client(west).head_object(Bucket=west.bucket, Key="staged/model.bin")
    assert head["Metadata"]["computenet-sha256"] == checksum


def test_a_prefix_copies_every_object_under_it(stores: dict[str, Store]) -> None:
    east, north = stores["cn-east"], stores["cn-north"]
    files = {"set/a.txt": b"alpha", "set/sub/b.bin": os.urandom(6 * MiB), "set/empty": b""}
    for key, body in files.items():
        _put(east, key, body)

    code, lines, stderr = _run(_copy_argv(east, "set/", north, "copies/set/"))

    assert code == 0, stderr
    assert sorted(o["key"] for o in lines[-1]["objects"]) == [
        "copies/set/a.txt",
        "copies/set/empty",
        "copies/set/sub/b.bin",
    ]
    for key, body in files.items():
        assert _get(north, "copies/" + key) == body


def test_a_wrong_checksum_fails_and_completes_nothing(stores: dict[str, Store]) -> None:
    east, west = stores["cn-east"], stores["cn-west"]
    _put(east, "bad/x.bin", os.urandom(7 * MiB))

    code, lines, stderr = _run(_copy_argv(east, "bad/x.bin", west, "bad/x.bin", "--checksum=sha256:" + "0" * 64))

    assert code == 1
    assert lines[-1]["reason"] == "ChecksumMismatch"
    assert "expected sha256:000" in stderr
    listed = _client(west).list_objects_v2(Bucket=west.bucket, Prefix="bad/")
    assert listed.get("KeyCount", 0) == 0


def test_a_copy_killed_halfway_resumes_without_copying_finished_parts_again(stores: dict[str, Store]) -> None:
    east, west = stores["cn-east"], stores["cn-west"]
    data = os.urandom(20 * PART)
    checksum = _put(east, "resume/big.bin", data)
    argv = _copy_argv(east, "resume/big.bin", west, "resume/big.bin", "--concurrency=2")

    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    done_at_kill = 0
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = json.loads(raw)
        if line["event"] == "progress" and line["bytesDone"] >= len(data) // 2:
            proc.send_signal(signal.SIGKILL)
            done_at_kill = line["bytesDone"]
            break
    proc.stdout.close()
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < done_at_kill < len(data)

    code, lines, stderr = _run(argv)

    assert code == 0, stderr
    (result,) = lines[-1]["objects"]
    assert result["checksum"] == checksum
    # Every part reported done before the kill is kept; only parts in flight then (at most the
    # concurrency) can have been uploaded twice.
    assert result["partsKept"] >= done_at_kill // PART
    assert result["partsKept"] + result["partsCopied"] == 20
    assert result["bytesCopied"] <= len(data) - done_at_kill
    assert lines[0]["event"] == "progress"
    assert _get(west, "resume/big.bin") == data
    uploads = _client(west).list_multipart_uploads(Bucket=west.bucket, Prefix="resume/")
    assert not uploads.get("Uploads"), "the resumed upload is completed, none is left behind"


def test_a_wrong_credential_names_the_store_and_its_answer_but_never_the_secret(
    stores: dict[str, Store], tmp_path: Path
) -> None:
    east, west = stores["cn-east"], stores["cn-west"]
    _put(east, "cred/x.txt", b"hello")
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    (wrong / "AWS_ACCESS_KEY_ID").write_text(west.access_key)
    (wrong / "AWS_SECRET_ACCESS_KEY").write_text("not-the-secret-" + west.secret_key[:6])

    code, lines, stderr = _run(_copy_argv(east, "cred/x.txt", west, "cred/x.txt", creds=str(wrong)))

    assert code == 1
    failed = lines[-1]
    assert failed["event"] == "failed"
    assert failed["reason"] in ("SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId")
    for text in (failed["message"], stderr):
        assert f"store {west.endpoint} bucket {west.bucket}" in text
        assert failed["reason"] in text
    everything = stderr + json.dumps(lines)
    assert west.secret_key not in everything
    assert "not-the-secret" not in everything


def test_fetch_downloads_into_a_path_and_checks_it(stores: dict[str, Store], tmp_path: Path) -> None:
    west = stores["cn-west"]
    data = os.urandom(12 * MiB + 7)
    checksum = _put(west, "inputs/train.bin", data)
    target = tmp_path / "volume" / "train.bin"
    argv = [
        sys.executable, "-m", "computenet", "stage", "fetch",
        f"--from=s3://{west.bucket}/inputs/train.bin", f"--endpoint={west.endpoint}",
        f"--credentials={west.credentials_dir}", f"--to={target}", f"--checksum={checksum}",
        "--part-size-mib=5", f"--progress-file={tmp_path / 'progress.json'}",
    ]  # fmt: skip

    code, lines, stderr = _run(argv)

    assert code == 0, stderr
    assert target.read_bytes() == data
    assert lines[-1]["objects"][0]["checksum"] == checksum
    assert json.loads((tmp_path / "progress.json").read_text())["event"] == "done"

    bad = tmp_path / "volume" / "bad.bin"
    code, lines, _ = _run([*argv[:-3], f"--to={bad}", "--checksum=sha256:" + "1" * 64, "--part-size-mib=5"])
    assert code == 1
    assert lines[-1]["reason"] == "ChecksumMismatch"
    assert not bad.exists()
    assert not list((tmp_path / "volume").glob("*.partial"))


def test_a_transfer_past_its_deadline_stops_to_be_resumed(stores: dict[str, Store]) -> None:
    east, west = stores["cn-east"], stores["cn-west"]
    _put(east, "late/x.bin", os.urandom(6 * MiB))

    code, lines, stderr = _run(_copy_argv(east, "late/x.bin", west, "late/x.bin", "--deadline=0"))

    assert code == 3
    assert lines[-1]["reason"] == "DeadlineExceeded"
    assert "run the same command again to resume" in stderr


def test_a_missing_source_object_names_the_source_store(stores: dict[str, Store]) -> None:
    east, west = stores["cn-east"], stores["cn-west"]

    code, lines, stderr = _run(_copy_argv(east, "nowhere/x.bin", west, "nowhere/x.bin"))

    assert code == 1
    assert lines[-1]["reason"] == "NotFound"
    assert f"store {east.endpoint} bucket {east.bucket}: HeadObject nowhere/x.bin failed: NotFound" in stderr


def _as_local(argv: list[str], root: Path) -> list[str]:
    """A rendered command run here: this Python, and the pod's mount points under ``root``."""
    from computenet.data.render import CREDENTIALS_ROOT, DATA_ROOT

    assert argv[0] == "python"
    return [sys.executable] + [
        a.replace(CREDENTIALS_ROOT, str(root / "stores")).replace(DATA_ROOT, str(root / "data")) for a in argv[1:]
    ]


def test_the_rendered_commands_stage_a_dataset_into_the_chosen_region(stores: dict[str, Store], tmp_path: Path) -> None:
    from computenet.data.render import copy_argv, stage_in
    from computenet.data.staging import PlannedInput, Replica, StoreRef, plan_staging

    east, west = stores["cn-east"], stores["cn-west"]
    refs = {s.region: StoreRef(s.endpoint, f"store-{s.region}") for s in stores.values()}
    (tmp_path / "stores").mkdir()
    for s in stores.values():  # the Secret volumes, as mounted in the pod
        (tmp_path / "stores" / f"store-{s.region}").symlink_to(s.credentials_dir)
    data = os.urandom(9 * MiB + 3)
    checksum = _put(east, "datasets/tok.bin", data)
    replicas = (Replica("cn-east", f"s3://{east.bucket}/datasets/tok.bin", None, checksum),)
    item = PlannedInput(0, "/data/tok.bin", dataset="tok", replicas=replicas)

    def staged_in_west(*known: Replica) -> Any:
        return plan_staging(
            [PlannedInput(0, "/data/tok.bin", dataset="tok", replicas=known)],
            "cn-west", refs["cn-west"], west.bucket, refs, lambda a, b: 0.0 if a == b else 45.0, "uid-1",
        )  # fmt: skip

    plan = staged_in_west(*item.replicas)
    assert len(plan.copies) == 1
    code, lines, stderr = _run(_as_local(copy_argv(plan.copies[0]), tmp_path))  # the mover Job
    assert code == 0, stderr
    assert lines[-1]["objects"][0]["checksum"] == checksum
    (init,) = stage_in(plan, "computenet:test").init_containers
    code, lines, stderr = _run(_as_local(init["command"], tmp_path))  # the init container
    assert code == 0, stderr
    assert (tmp_path / "data" / "in-0").read_bytes() == data

    (replica,) = plan.new_replicas
    again = staged_in_west(*replicas, Replica(replica.region, replica.uri, None, replica.checksum))
    assert again.copies == (), "a second task in the region finds the replica and moves nothing between stores"
    assert again.fetches[0].uri == replica.uri


def test_push_uploads_a_tasks_outputs_with_their_checksums(stores: dict[str, Store], tmp_path: Path) -> None:
    west = stores["cn-west"]
    out = tmp_path / "out"
    (out / "ckpt").mkdir(parents=True)
    files = {"metrics.json": b'{"loss": 0.1}', "ckpt/model.bin": os.urandom(11 * MiB + 5)}
    for name, body in files.items():
        (out / name).write_bytes(body)

    def push(source: Path, uri: str, *extra: str) -> tuple[int, list[dict[str, Any]], str]:
        return _run([
            sys.executable, "-m", "computenet", "stage", "push", f"--from={source}", f"--to={uri}",
            f"--endpoint={west.endpoint}", f"--credentials={west.credentials_dir}", "--part-size-mib=5", *extra,
        ])  # fmt: skip

    code, lines, stderr = push(out, f"s3://{west.bucket}/results/run-1/")

    assert code == 0, stderr
    reported = {o["key"]: o["checksum"] for o in lines[-1]["objects"]}
    for name, body in files.items():
        key = f"results/run-1/{name}"
        assert _get(west, key) == body
        assert reported[key] == "sha256:" + hashlib.sha256(body).hexdigest()

    code, lines, _ = push(out / "metrics.json", f"s3://{west.bucket}/results/bad.json", "--checksum=sha256:" + "2" * 64)
    assert code == 1
    assert lines[-1]["reason"] == "ChecksumMismatch"
    code, lines, _ = push(tmp_path / "missing", f"s3://{west.bucket}/results/x")
    assert code == 1
    assert lines[-1]["reason"] == "LocalIO"
