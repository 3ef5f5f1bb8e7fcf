"""Benchmark: the mover (``computenet stage copy``) between two real stores on loopback.

Why: moving a task's data must not be much slower than the S3 library itself, and a copy killed
halfway must resume without moving again what was done. It starts two SeaweedFS stores (as the local
federation does), puts an object of ``--size-mib`` (1 GiB by default) of random bytes into the first
and prints, as one JSON line:

- ``plain_mb_s``: boto3's own managed copy between the stores in this run (``upload_fileobj`` of the
  source's streamed body, same part size and concurrency): the yardstick;
- ``mover_mb_s`` and ``mover_in_process_mb_s``: the mover as the command a Job runs (process start
  included) and as the function it calls; ``ratio`` = mover in process / plain (goal >= 0.8);
- ``resume_s``: the second run's time after the first was SIGKILLed at half the bytes, with the
  parts kept and copied, and ``bytes_uploaded_twice``: bytes of parts the killed run had finished
  that the resumed run uploaded again (goal: at most one part).

A second line, ``{"bench": "stage-placement", ...}``, is the placement decision with data-aware
scoring at ``--identifiers`` (1,000 by default) identifiers of 100 nodes each (the pool of
``bench_placement.py``, every identifier also declaring a store with an egress price): every task
reads 1 to 4 pieces of data (1 GiB to 2 TiB, each with copies in 1 to 3 of the twelve regions, as
datasets' replicas), a third of them capped (``maxTransferSeconds``, ``maxDataCost``).
``cpu_p50_ms`` / ``cpu_p99_ms`` are the process CPU time per decision (goal: p99 <= 5 ms; CPU time,
as the machine is often shared), ``baseline_cpu_p99_ms`` the same tasks without data, and
``figures_cpu_p99_us`` the data's figures alone (``placement.transfer.moves`` over every identifier).

    .venv/bin/python bench/bench_stage.py [--size-mib 1024] [--part-mib 16] [--concurrency 4]
                                          [--identifiers 1000] [--placement-only]

It is a benchmark, not a test: it prints numbers and never fails the build.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_placement import GIB, REGIONS, make_pool, make_tasks, percentile
from boto3.s3.transfer import TransferConfig

from computenet.data.location import ObjectLocation
from computenet.data.mover import CopyOptions, copy_object
from computenet.data.plan import MiB
from computenet.data.s3 import Store as MoverStore
from computenet.placement import Data, DataPiece, Demand, place
from computenet.placement import Store as PlacementStore
from computenet.placement.transfer import moves
from computenet.testing.processes import Supervisor
from computenet.testing.stores import Store, start_stores

KEY = "bench/object.bin"


def _client(store: Store) -> Any:
    return MoverStore(store.endpoint, store.access_key, store.secret_key).client


def _put_random(store: Store, size: int, part: int, workdir: Path) -> None:
    path = workdir / "object.bin"
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, 64 * MiB)
            out.write(os.urandom(n))
            left -= n
    config = TransferConfig(multipart_chunksize=part, multipart_threshold=part)
    _client(store).upload_file(str(path), store.bucket, KEY, Config=config)
    path.unlink()


def _mover_argv(src: Store, dst: Store, key: str, part_mib: int, concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "computenet", "stage", "copy",
        f"--from=s3://{src.bucket}/{KEY}", f"--from-endpoint={src.endpoint}",
        f"--from-credentials={src.credentials_dir}",
        f"--to=s3://{dst.bucket}/{key}", f"--to-endpoint={dst.endpoint}",
        f"--to-credentials={dst.credentials_dir}",
        f"--part-size-mib={part_mib}", f"--concurrency={concurrency}", "--progress-interval=0",
    ]  # fmt: skip


def _last_line(stdout: str) -> dict[str, Any]:
    line: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return line


def _data_tasks(count: int, seed: int) -> list[Demand]:
    """`bench_placement`'s task mix, each reading pieces of data with copies in a few regions."""
    rng = random.Random(seed)
    out = []
    for demand in make_tasks(count, seed):
        pieces = tuple(
            DataPiece(rng.choice([GIB, 20 * GIB, 500 * GIB, 2048 * GIB]), tuple(rng.sample(REGIONS, rng.randint(1, 3))))
            for _ in range(rng.randint(1, 4))
        )
        capped = rng.random() < 1 / 3
        data = Data(
            rng.choice(REGIONS),
            sum(p.size_bytes for p in pieces),
            pieces,
            hours=rng.choice([1.0, 4.0, 24.0]),
            max_transfer_seconds=rng.choice([600.0, 3600.0]) if capped else None,
            max_cost=rng.choice([5.0, 50.0]) if capped else None,
        )
        out.append(dataclasses.replace(demand, data=data))
    return out


def bench_placement(size: int, seed: int, decisions: int = 400) -> dict[str, object]:
    """Placement decision CPU with data-aware scoring over `size` identifiers (see the module docstring)."""
    builder, _ = make_pool(size, seed)
    rng = random.Random(seed)
    for ident in builder.snapshot().identifiers:
        builder.upsert_identifier(
            dataclasses.replace(ident, store=PlacementStore(rng.choice([0.0, 0.02, 0.05, 0.09]), "USD"))
        )
    snapshot = builder.snapshot()
    tasks = _data_tasks(decisions + 10, seed + 2)
    for demand in tasks[:10]:  # warm up
        place(snapshot, demand)
    cpu, baseline, figures, placed, capped_out = [], [], [], 0, 0
    gc.disable()
    try:
        for demand in tasks[10:]:
            c0 = time.process_time()
            decision = place(snapshot, demand)
            cpu.append((time.process_time() - c0) * 1000)
            placed += decision.chosen is not None
            capped_out += sum(count for count, r in decision.reasons if r.code.startswith(("Transfer", "DataCost")))
            c0 = time.process_time()
            place(snapshot, dataclasses.replace(demand, data=None))
            baseline.append((time.process_time() - c0) * 1000)
            c0 = time.process_time()
            moves(snapshot, demand.data)
            figures.append((time.process_time() - c0) * 1e6)
    finally:
        gc.enable()
    return {
        "bench": "stage-placement",
        "identifiers": size,
        "nodes": len(snapshot.nodes.names),
        "decisions": len(cpu),
        "cpu_p50_ms": round(percentile(cpu, 50), 3),
        "cpu_p99_ms": round(percentile(cpu, 99), 3),
        "baseline_cpu_p99_ms": round(percentile(baseline, 99), 3),
        "figures_cpu_p99_us": round(percentile(figures, 99), 1),
        "placed_fraction": round(placed / len(cpu), 3),
        "rejected_by_caps_per_decision": round(capped_out / len(cpu), 1),
        "goal_p99_ms": 5.0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--identifiers", type=int, default=1000, help="Identifiers of the placement measurement.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--placement-only", action="store_true", help="Measure placement only (no stores).")
    args = parser.parse_args()
    if not args.placement_only:
        _mover(args)
    print(json.dumps(bench_placement(args.identifiers, args.seed)), flush=True)
    return 0


def _mover(args: argparse.Namespace) -> None:
    size, part = args.size_mib * MiB, args.part_mib * MiB
    mb = size / 1e6
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        workdir = Path(tmp)
        supervisor = Supervisor(workdir)
        try:
            east, west = start_stores(supervisor, workdir, ["cn-east", "cn-west"])
            _put_random(east, size, part, workdir)
            src, dst = _client(east), _client(west)

            t0 = time.perf_counter()
            body = src.get_object(Bucket=east.bucket, Key=KEY)["Body"]
            config = TransferConfig(multipart_chunksize=part, max_concurrency=args.concurrency)
            dst.upload_fileobj(body, west.bucket, "bench/plain.bin", Config=config)
            plain_s = time.perf_counter() - t0
            dst.delete_object(Bucket=west.bucket, Key="bench/plain.bin")

            t0 = time.perf_counter()
            copy_object(
                MoverStore(east.endpoint, east.access_key, east.secret_key),
                ObjectLocation(east.bucket, KEY),
                MoverStore(west.endpoint, west.access_key, west.secret_key),
                ObjectLocation(west.bucket, "bench/in-process.bin"),
                CopyOptions(part, args.concurrency),
            )
            in_process_s = time.perf_counter() - t0
            dst.delete_object(Bucket=west.bucket, Key="bench/in-process.bin")

            argv = _mover_argv(east, west, "bench/mover.bin", args.part_mib, args.concurrency)
            t0 = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            mover_s = time.perf_counter() - t0
            checksum = _last_line(done.stdout)["objects"][0]["checksum"]
            dst.delete_object(Bucket=west.bucket, Key="bench/mover.bin")

            argv = _mover_argv(east, west, "bench/resume.bin", args.part_mib, args.concurrency)
            killed = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert killed.stdout is not None
            for raw in killed.stdout:
                line = json.loads(raw)
                if line["event"] == "progress" and line["bytesDone"] >= size // 2:
                    killed.send_signal(signal.SIGKILL)
                    break
            killed.stdout.close()
            killed.wait()
            uploads = dst.list_multipart_uploads(Bucket=west.bucket, Prefix="bench/resume.bin")["Uploads"]
            parts = dst.list_parts(Bucket=west.bucket, Key="bench/resume.bin", UploadId=uploads[0]["UploadId"])
            finished = sum(int(p["Size"]) for p in parts.get("Parts", []))
            t0 = time.perf_counter()
            resumed = _last_line(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
            resume_s = time.perf_counter() - t0
            result = resumed["objects"][0]
            kept_bytes = size - result["bytesCopied"]
        finally:
            supervisor.stop_all()
    print(
        json.dumps(
            {
                "size_mib": args.size_mib,
                "part_mib": args.part_mib,
                "concurrency": args.concurrency,
                "plain_mb_s": round(mb / plain_s, 1),
                "mover_in_process_mb_s": round(mb / in_process_s, 1),
                "mover_mb_s": round(mb / mover_s, 1),
                "ratio": round(plain_s / in_process_s, 2),
                "ratio_command": round(plain_s / mover_s, 2),
                "checksum_matches_resumed": result["checksum"] == checksum,
                "killed_run_finished_bytes": finished,
                "resume_s": round(resume_s, 2),
                "resume_parts_kept": result["partsKept"],
                "resume_parts_copied": result["partsCopied"],
                "bytes_uploaded_twice": max(0, finished - kept_bytes),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
