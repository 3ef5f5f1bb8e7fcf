"""`computenet stage` argument handling: bad input is refused before anything moves, naming what is wrong."""

from __future__ import annotations

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
