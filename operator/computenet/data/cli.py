r"""``computenet stage``: the mover's command, run by the mover Job and the init step in a member.

    computenet stage copy  --from s3://b/k --from-endpoint URL --from-credentials DIR \\
                           --to s3://b2/k --to-endpoint URL2 --to-credentials DIR2 [--checksum sha256:...]
    computenet stage fetch --from s3://b/k --endpoint URL --credentials DIR --to /data/in/k [--checksum ...]
    computenet stage push  --from /data/out --endpoint URL --credentials DIR --to s3://b/results/

A credentials DIR holds the files AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a Secret mounted as a
volume). Stdout carries one JSON object per line: ``{"event": "progress", ...}`` at most once per
``--progress-interval`` seconds and after the last byte, then ``{"event": "done", "objects": [...]}``
or ``{"event": "failed", "reason": ..., "message": ...}``. With ``--progress-file`` the latest line is
also written (atomically) to that file; with ``--result-file`` the outcome, short, is written to that
file (a container's termination message). ``push --on-termination`` waits for SIGTERM first (the
outputs sidecar of a task's pods). Exit codes: 0 done, 1 failed (the store's answer or a
checksum mismatch; running again will not help), 2 bad arguments, 3 deadline passed (running the
same command again resumes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from computenet.data.location import InvalidLocation, ObjectLocation, parse_checksum, parse_s3_uri
from computenet.data.plan import MiB
from computenet.data.progress import Progress

__all__ = ["EXIT_DEADLINE", "EXIT_FAILED", "EXIT_USAGE", "add_arguments", "main"]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DEADLINE = 3


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checksum", help="expected sha256:<hex> of the object; a mismatch fails the transfer")
    p.add_argument("--part-size-mib", type=int, default=16, help="part size in MiB (5 to 5120; default 16)")
    p.add_argument("--concurrency", type=int, default=4, help="parts in flight at once (default 4)")
    p.add_argument("--deadline", type=float, default=3600.0, help="seconds the whole transfer may take")
    p.add_argument("--progress-file", type=Path, help="also write the latest progress line to this file")
    p.add_argument("--progress-interval", type=float, default=1.0, help="seconds between progress lines")
    p.add_argument(
        "--result-file",
        type=Path,
        help="write the outcome, one short JSON line (done: objects, bytes, bytesCopied, checksum; or failed), "
        "to this file: a container's terminationMessagePath, where the operator reads it",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="stage_command", required=True)
    copy = sub.add_parser("copy", help="copy an object or prefix from one store to another (resumable)")
    copy.add_argument("--from", dest="source", required=True, help="s3://bucket/key (or prefix/)")
    copy.add_argument("--from-endpoint", required=True, help="the source store's URL")
    copy.add_argument("--from-credentials", type=Path, required=True, help="directory with the source's keys")
    copy.add_argument("--to", dest="dest", required=True, help="s3://bucket/key (or prefix/)")
    copy.add_argument("--to-endpoint", required=True, help="the destination store's URL")
    copy.add_argument("--to-credentials", type=Path, required=True, help="directory with the destination's keys")
    _common(copy)
    fetch = sub.add_parser("fetch", help="download an object or prefix into a local path (the init step)")
    fetch.add_argument("--from", dest="source", required=True, help="s3://bucket/key (or prefix/)")
    fetch.add_argument("--endpoint", required=True, help="the store's URL")
    fetch.add_argument("--credentials", type=Path, required=True, help="directory with the store's keys")
    fetch.add_argument("--to", dest="dest", type=Path, required=True, help="file (or directory for a prefix)")
    _common(fetch)
    push = sub.add_parser("push", help="upload a file or directory to a store (a task's outputs; resumable)")
    push.add_argument("--from", dest="source", type=Path, required=True, help="file (or directory)")
    push.add_argument("--endpoint", required=True, help="the store's URL")
    push.add_argument("--credentials", type=Path, required=True, help="directory with the store's keys")
    push.add_argument("--to", dest="dest", required=True, help="s3://bucket/key (or prefix/ for a directory)")
    push.add_argument(
        "--on-termination",
        action="store_true",
        help="wait for SIGTERM (a pod's sidecar, stopped after its main containers end), then push",
    )
    _common(push)


class _Reporter:
    """Writes progress lines, at most one per interval plus the last one, to stdout and a file."""

    def __init__(
        self, out: TextIO, path: Path | None, interval: float, clock: Callable[[], float], result: Path | None = None
    ) -> None:
        self.out, self.path, self.interval, self.clock, self.result = out, path, interval, clock, result
        self.last = -float("inf")

    def outcome(self, line: dict[str, Any]) -> None:
        """The last line: on stdout like the others, and, short, in the result file."""
        self.emit(line)
        if self.result is not None:
            self.result.write_text(json.dumps(result_line(line), separators=(",", ":")) + "\n")

    def emit(self, line: dict[str, Any]) -> None:
        text = json.dumps(line, separators=(",", ":"))
        self.out.write(text + "\n")
        self.out.flush()
        if self.path is not None:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(text + "\n")
            tmp.replace(self.path)

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        if now - self.last >= self.interval or p.bytes_done == p.bytes_total:
            self.last = now
            self.emit({"event": "progress", **p.as_json()})


RESULT_MESSAGE_MAX = 2048
"""A failure's message in the result file is cut to this many characters: Kubernetes keeps at most
4096 bytes of a termination message (core/v1 ``TerminationMessagePath``, v1.36.3)."""


def result_line(line: dict[str, Any]) -> dict[str, Any]:
    """The outcome line cut to fit a termination message: a ``done`` line as totals, a failure's message clipped.

    ``{"event":"done","objects":[{size, checksum, bytesCopied}, ...]}`` ->
    ``{"event":"done","objects":2,"bytes":sum(size),"bytesCopied":sum(bytesCopied),"checksum":<one object's>|None}``.
    """
    if line.get("event") == "done":
        objects = line.get("objects") or []
        return {
            "event": "done",
            "objects": len(objects),
            "bytes": sum(int(o.get("size") or 0) for o in objects),
            "bytesCopied": sum(int(o.get("bytesCopied") or 0) for o in objects),
            "checksum": objects[0].get("checksum") if len(objects) == 1 else None,
        }
    message = str(line.get("message") or "")
    if len(message) > RESULT_MESSAGE_MAX:
        message = message[: RESULT_MESSAGE_MAX - 3] + "..."
    return {**line, "message": message}


class _Termination:
    """SIGTERM or SIGINT caught from the moment this is made, whichever thread the signal reaches.

    The kubelet sends SIGTERM to a sidecar once the main containers ended. The handlers run in the
    main thread (Python's rule for ``signal.signal``), so a signal the kernel delivers to another
    thread (one boto3 or the runtime started) is caught all the same; blocking it with
    ``pthread_sigmask`` covered the calling thread only, and the default action could end the
    process before it pushed anything. A signal that arrives before ``wait`` is not lost.
    """

    def __init__(self) -> None:
        import signal
        import threading

        self._stopped = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)

    def _stop(self, signum: int, frame: object) -> None:
        self._stopped.set()

    def wait(self, reporter: _Reporter) -> None:
        """``{"event":"waiting"}`` on stdout (the signals are caught), then block until one came."""
        reporter.emit({"event": "waiting"})
        while not self._stopped.wait(0.5):
            pass


def _fail(reporter: _Reporter, reason: str, message: str, code: int) -> int:
    reporter.outcome({"event": "failed", "reason": reason, "message": message})
    print(f"computenet stage: {message}", file=sys.stderr)
    return code


def main(args: argparse.Namespace, error: Callable[[str], None]) -> int:
    """Run ``computenet stage copy|fetch``; returns the exit code (see the module docstring)."""
    from computenet.data.mover import ChecksumMismatch, CopyOptions, DeadlineExceeded, copy, fetch, push
    from computenet.data.s3 import Store, StoreError

    command = args.stage_command
    termination = _Termination() if command == "push" and args.on_termination else None
    try:
        checksum = parse_checksum(args.checksum) if args.checksum else None
        options = CopyOptions(args.part_size_mib * MiB, args.concurrency, args.deadline)
        if command == "copy":
            src: ObjectLocation = parse_s3_uri(args.source)
            dst = parse_s3_uri(args.dest)
            source = Store.from_credentials_dir(args.from_endpoint, args.from_credentials)
            dest = Store.from_credentials_dir(args.to_endpoint, args.to_credentials)
        else:
            src = parse_s3_uri(args.dest if command == "push" else args.source)
            store = Store.from_credentials_dir(args.endpoint, args.credentials)
    except (InvalidLocation, ValueError) as e:
        error(str(e))
        return EXIT_USAGE
    reporter = _Reporter(sys.stdout, args.progress_file, args.progress_interval, time.monotonic, args.result_file)
    if termination is not None:
        termination.wait(reporter)
    try:
        if command == "copy":
            done = copy(source, src, dest, dst, options, checksum, reporter)
        elif command == "push":
            done = push(store, args.source, src, options, checksum, reporter)
        else:
            done = fetch(store, src, args.dest, options, checksum, reporter)
    except StoreError as e:
        return _fail(reporter, e.code, str(e), EXIT_FAILED)
    except ChecksumMismatch as e:
        return _fail(reporter, "ChecksumMismatch", str(e), EXIT_FAILED)
    except DeadlineExceeded as e:
        return _fail(reporter, "DeadlineExceeded", str(e), EXIT_DEADLINE)
    except ValueError as e:
        return _fail(reporter, "Invalid", str(e), EXIT_FAILED)
    except OSError as e:
        return _fail(reporter, "LocalIO", str(e), EXIT_FAILED)
    objects = [
        {
            "key": t.key,
            "size": t.size,
            "checksum": t.checksum,
            "partsCopied": t.parts_copied,
            "partsKept": t.parts_kept,
            "bytesCopied": t.bytes_copied,
        }
        for t in done
    ]
    reporter.outcome({"event": "done", "objects": objects})
    return 0
