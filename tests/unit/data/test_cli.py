"""`computenet stage` argument handling: bad input is refused before anything moves, naming what is wrong."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from computenet.__main__ import main


def test_a_bad_uri_is_a_usage_error_naming_the_bucket(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["stage", "fetch", "--from=s3://Bad_Bucket/x", "--endpoint=http://127.0.0.1:1"]
    with pytest.raises(SystemExit) as info:
        main([*argv, f"--credentials={tmp_path}", f"--to={tmp_path / 'x'}"])
    assert info.value.code == 2
    assert "bucket 'Bad_Bucket' is not a valid bucket name" in capsys.readouterr().err


def test_missing_credentials_name_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["stage", "fetch", "--from=s3://bucket/x", "--endpoint=http://127.0.0.1:1",
              f"--credentials={tmp_path}", f"--to={tmp_path / 'x'}"])  # fmt: skip
    assert info.value.code == 2
    assert f"cannot read {tmp_path}/AWS_ACCESS_KEY_ID" in capsys.readouterr().err


def test_a_bad_checksum_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["stage", "push", f"--from={tmp_path}", "--to=s3://bucket/x/", "--endpoint=http://127.0.0.1:1",
              f"--credentials={tmp_path}", "--checksum=md5:00"])  # fmt: skip
    assert "must be sha256: followed by 64 lowercase hex digits" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "result"),
    [
        pytest.param(
            {"event": "done", "objects": [{"key": "a", "size": 7, "checksum": "sha256:x", "bytesCopied": 5}]},
            {"event": "done", "objects": 1, "bytes": 7, "bytesCopied": 5, "checksum": "sha256:x"},
            id="one object keeps its checksum",
        ),
        pytest.param(
            {"event": "done", "objects": [{"size": 7, "bytesCopied": 7}, {"size": 3, "bytesCopied": 0}]},
            {"event": "done", "objects": 2, "bytes": 10, "bytesCopied": 7, "checksum": None},
            id="a prefix is summed, no single checksum",
        ),
        pytest.param(
            {"event": "failed", "reason": "AccessDenied", "message": "m" * 5000},
            {"event": "failed", "reason": "AccessDenied", "message": "m" * 2045 + "..."},
            id="a long failure is cut to fit a termination message",
        ),
    ],
)
def test_the_result_line_fits_a_termination_message(line: dict[str, object], result: dict[str, object]) -> None:
    from computenet.data.cli import result_line

    assert result_line(line) == result


def test_the_outputs_sidecar_reports_its_push_whenever_sigterm_comes(tmp_path: Path) -> None:
    """The kubelet's SIGTERM may reach any thread of the process: it must start the push, never end it.

    The store does not answer (nothing listens on the port), so each push fails at once, in its own words.
    Caught only in the main thread, a signal delivered to another thread ended the process silently.
    """
    (tmp_path / "keys").mkdir()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        (tmp_path / "keys" / key).write_text("k")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.bin").write_bytes(b"x" * 100)
    argv = [
        sys.executable, "-m", "computenet", "stage", "push", "--on-termination", f"--from={tmp_path / 'out'}",
        "--endpoint=http://127.0.0.1:9", f"--credentials={tmp_path / 'keys'}", "--to=s3://results/r/",
        "--deadline=5", f"--result-file={tmp_path / 'result'}",
    ]  # fmt: skip
    for _ in range(4):  # the old handling lost about one run in three
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"event": "waiting"}
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, f"exit {proc.returncode}: {err}"
        assert json.loads(out.splitlines()[-1])["reason"] == "Unreachable"
        assert json.loads((tmp_path / "result").read_text())["event"] == "failed"
